"""How long Airflow takes to parse each generated DAG file: warm (imports done) and cold.

What is measured: every generated DAG file of three sets, laid out as the stack uploads
them (``<env>/<project>/<workflow>/dag.py`` per workflow, beside the runtime package and
its ``platform.json``, which lists every workflow of the folder):

* ``corpus``: the development manifests of ``../shared/corpus``, read where they are at run
  time (``python_dag`` ones bring their own code and are left out);
* ``220 tasks``: one synthetic workflow of exactly 220 tasks (44 datasets through five
  stages; up to four dependencies a task, 1.4 on average; 10 or 11 environment variables
  of its own, params among them, besides the platform's, and three secrets a task; six
  compute profiles, one of them GPU; SDP networking, inlets and outlets, Slack and email),
  deployed in the corpus's folder (a 7,800-line file);
* ``synthetic`` (not with ``--quick``): 1,000 workflows shaped like the corpus (most with
  one task, a few with 5 to 30), in a folder of their own.

How: ``tests/airflow_harness/load_dags.py`` parses each folder in the Airflow that MWAA
runs (``AIRFLOW_PYTHON``, default ``.venv-airflow/bin/python``), as Airflow's DAG
processor does: ``DagBag(<file>, include_examples=False, safe_mode=True)``, one file per
process.

* warm: a parent process first imports what the DAG processor has imported before it
  forks a parser per file: its own modules (``airflow.dag_processing.processor``: DAG,
  DagBag, serialization), the ``airflow.*`` modules the files name
  (``[scheduler] parsing_pre_import_modules``), the cncf.kubernetes pod operator and
  slack notifier modules and the runtime package
  (``analytical_platform.standard_operator``, ``.notifications``); it also loads the
  providers' configuration, as the ``airflow scheduler`` command does on start. It then
  forks once per file and times the DagBag in the child. ``platform.json`` is read in the
  child, as on MWAA. Each set's slowest files are parsed ``--repeat`` more times, their
  median replacing the first figure. ``gc s`` is the garbage collector's share: a full collection walks every object
  inherited from the parent (about 0.2 s here), and whether one falls within a parse
  depends on the parent's state, which here makes it fall in any parse that allocates as
  much as a 6-task DAG (the pessimistic case).
* cold, for a sample (each set's ``--cold`` slowest warm files and the slowest of each
  distinct set of import lines, which decide a cold parse's imports): a fresh interpreter
  per file, timed from ``import airflow`` to the end of the same DagBag.

Both include compiling the file (no bytecode cache, as on the first parse after an
upload). The target: the slowest warm parse at most 0.5 s. The full run also parses,
warm, the single-loader design for comparison: one file building every DAG of the folder
from a data literal, and the same reading one YAML file per workflow at every parse (the
design this project replaces). Prints figures per set; asserts nothing. Timings move
with the machine's load: run it on an idle machine.

    AIRFLOW_PYTHON=.venv-airflow/bin/python .venv/bin/python bench/dag_parse.py [--quick]

``--quick``: the corpus and the 220-task workflow only (about 50 s on two cores, the full
run about two and a half minutes; more on a busy machine). ``--json OUT`` writes every
file's figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.airflow_harness.client import (  # noqa: E402
    AIRFLOW_PYTHON,
    HarnessError,
    dags_folder_files,
    run_harness,
    write_folder,
)
from workflows.config import StackConfig, stack_file  # noqa: E402
from workflows.dags.environment import dag_env_vars, task_secrets  # noqa: E402
from workflows.model import (  # noqa: E402
    CronSchedule,
    Dag,
    DatasetSchedule,
    IntervalSchedule,
    Notifications,
    Task,
    Workflow,
    frozen_map,
)
from workflows.plan.naming import derive  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus" / "environments"
TARGET_SECONDS = 0.5
LARGE_TASKS = 220
# What the DAG processor's parent process has imported before it forks a parser per file
# (besides the airflow.* modules each file names, which the harness imports as Airflow does).
WARM_MODULES = (
    "airflow.dag_processing.processor",
    "airflow.providers.cncf.kubernetes.operators.pod",
    "airflow.providers.slack.notifications.slack",
    "analytical_platform.standard_operator",
    "analytical_platform.notifications",
)
RUNTIME_MODULES = WARM_MODULES[3:]
# Each set's slowest files are parsed --repeat times more: the REPEAT_TOP slowest, then (up to
# REPEAT_ROUNDS rounds) up to REPEAT_MORE files parsed once that look slower than the slowest median.
REPEAT_TOP, REPEAT_MORE, REPEAT_ROUNDS = 3, 10, 2


def corpus_workflows(config: StackConfig) -> list[Workflow]:
    """The corpus manifests that get a generated DAG (python_dag ones bring their own code)."""
    if not (CORPUS / "development").is_dir():
        return []
    from workflows.errors import ManifestError
    from workflows.manifest.discovery import discover
    from workflows.validate import load_workflow

    found = []
    for path in discover(CORPUS, "development"):
        try:
            workflow = load_workflow(path, config).workflow
        except ManifestError:
            continue
        if not workflow.dag.python_dag:
            found.append(workflow)
    return found


def synthetic_workflows(count: int, seed: int = 1000) -> list[Workflow]:
    """``count`` workflows shaped like the corpus: mostly one task, a few long pipelines."""
    rng = random.Random(seed)
    workflows = []
    for index in range(count):
        size = rng.choices([1, 3, 5, 12, 30], weights=[70, 15, 8, 5, 2])[0]
        base_env = {"MODE": "daily", "RUN_DATE": "{{ ds }}", "BUCKET": f"alpha-bucket-{index}"}
        tasks = []
        for t in range(size):
            name = "main" if size == 1 else f"step_{t}"
            deps = (f"step_{rng.randrange(t)}",) if t else ()
            profile = rng.choice(["general-spot-1vcpu-4gb", "general-on-demand-2vcpu-8gb", "general-spot-4vcpu-16gb"])
            env = frozen_map(base_env | {"STEP": str(t), "SCRIPT": f"scripts/step_{t}.py"})
            tasks.append(Task(name, profile, env, deps, hmcts_sdp_networking=rng.random() < 0.05))
        kind = rng.random()
        schedule: Any = None
        if kind < 0.6:
            schedule = CronSchedule(f"{rng.randrange(60)} {rng.randrange(24)} * * *")
        elif kind < 0.7:
            schedule = IntervalSchedule(3600 * rng.choice([1, 6, 12]))
        elif kind < 0.75:
            schedule = DatasetSchedule((f"s3://alpha-bucket-{rng.randrange(count)}/ready",))
        dag = Dag(
            repository=f"moj-analytical-services/pipeline_{index}",
            tag=f"v1.{index % 17}.0",
            tasks=tuple(tasks),
            schedule=schedule,
            timezone=rng.choice(["UTC", "Europe/London"]),
            start_date=date(2025, 1 + index % 12, 1),
            retries=rng.choice([0, 1, 3]),
            params=frozen_map({"output_name": "weekly"} if rng.random() < 0.2 else {}),
        )
        workflows.append(
            Workflow(
                path=Path(f"environments/development/project-{index % 150}/workflow-{index}/workflow.yml"),
                environment="development",
                project=f"project-{index % 150}",
                name=f"workflow-{index}",
                dag=dag,
                maintainers=("octo-analyst",),
                business_unit="HMPPS",
                owner="team@justice.gov.uk",
                secrets=tuple(f"secret-{s}" for s in range(rng.choice([0, 0, 1, 2]))),
                notifications=Notifications(
                    emails=("team@justice.gov.uk",) if rng.random() < 0.3 else (),
                    slack_channel="team-alerts" if rng.random() < 0.5 else None,
                ),
            )
        )
    return workflows


def large_workflow(tasks: int = LARGE_TASKS, seed: int = 220) -> Workflow:
    """One workflow of ``tasks`` tasks (a multiple of 5): datasets through five stages.

    ``extract`` (inlets on some, SDP networking on the courts' ones) -> ``validate`` ->
    ``transform`` (also after one or two other datasets' ``validate``; bigger profiles, a
    few on GPUs) -> ``load`` -> ``publish`` (also after up to three other ``load``s; an
    outlet dataset). Every task has the DAG's environment plus its own, params and three
    secrets.
    """
    rng = random.Random(seed)
    stages = ("extract", "validate", "transform", "load", "publish")
    areas = (
        "crown",
        "mags",
        "civil",
        "family",
        "prison",
        "probation",
        "tribunals",
        "legal_aid",
        "youth",
        "victims",
        "opg",
    )
    count = tasks // len(stages)
    datasets = [f"{areas[i % len(areas)]}_{i // len(areas) + 1}" for i in range(count)]
    profiles = {
        "extract": ["general-spot-1vcpu-4gb", "general-spot-2vcpu-8gb"],
        "validate": ["general-spot-2vcpu-8gb"],
        "transform": ["general-on-demand-8vcpu-32gb", "general-spot-16vcpu-64gb", "gpu-on-demand-8vcpu-32gb"],
        "load": ["general-spot-4vcpu-16gb"],
        "publish": ["general-spot-1vcpu-4gb"],
    }
    dag_env = {
        "PIPELINE_VERSION": "v3.4.1",
        "SNAPSHOT_DATE": "{{ ds }}",
        "OUTPUT_BUCKET": "alpha-justice-data-lake",
        "LOG_LEVEL": "INFO",
    }
    built = []
    for index, dataset in enumerate(datasets):
        for stage in stages:
            deps: list[str] = []
            if stage != "extract":
                deps.append(f"{stages[stages.index(stage) - 1]}_{dataset}")
            others = [d for d in datasets if d != dataset]
            if stage == "transform":
                deps += [f"validate_{d}" for d in rng.sample(others, rng.randint(1, 2))]
            if stage == "publish":
                deps += [f"load_{d}" for d in rng.sample(others, rng.randint(0, 3))]
            profile = profiles[stage][0 if stage != "transform" else rng.choices([0, 1, 2], [6, 3, 1])[0]]
            env = dag_env | {
                "PIPELINE_STAGE": stage,
                "PIPELINE_DATASET": dataset,
                "SCRIPT": f"pipelines/{stage}.py",
                "INPUT_PATH": f"s3://alpha-justice-data-lake/{dataset}/{{{{ ds_nodash }}}}/",
            }
            if stage == "transform":
                env["SPARK_EXECUTOR_MEMORY"] = "24g"
            built.append(
                Task(
                    f"{stage}_{dataset}",
                    profile if stage != "extract" else profiles[stage][index % 2],
                    frozen_map(env),
                    tuple(deps),
                    hmcts_sdp_networking=stage == "extract" and dataset.startswith(("crown", "mags")),
                    inlets=(f"s3://alpha-landing/{dataset}/ready",) if stage == "extract" and index % 4 == 0 else (),
                    outlets=(f"s3://alpha-justice-data-lake/{dataset}/published",) if stage == "publish" else (),
                )
            )
    assert len(built) == tasks, len(built)
    return Workflow(
        path=Path("environments/development/bench-large/pipeline-220/workflow.yml"),
        environment="development",
        project="bench-large",
        name=f"pipeline-{tasks}",
        dag=Dag(
            repository="moj-analytical-services/justice-data-pipeline",
            tag="v3.4.1",
            tasks=tuple(built),
            schedule=CronSchedule("0 4 * * MON-FRI"),
            timezone="Europe/London",
            start_date=date(2025, 1, 1),
            retries=2,
            retry_delay=600,
            params=frozen_map({"full_refresh": "false", "output_name": "weekly"}),
        ),
        maintainers=("octo-analyst",),
        business_unit="HMPPS",
        owner="data-engineering@justice.gov.uk",
        secrets=("warehouse-password", "api-token", "notify-key"),
        notifications=Notifications(emails=("data-engineering@justice.gov.uk",), slack_channel="de-pipeline-alerts"),
    )


# --------------------------------------------------------------------------- the single-loader design

LOADER = '''\
"""Every workflow's DAG, built by one file from data (the single-loader design, for comparison)."""

import datetime
import json

import pendulum
from airflow import DAG
from airflow.datasets import Dataset
from airflow.providers.cncf.kubernetes.secret import Secret
import airflow.providers.cncf.kubernetes.operators.pod
import airflow.providers.slack.notifications.slack

from analytical_platform import notifications
from analytical_platform.standard_operator import AnalyticalPlatformStandardOperator

SPECS = json.loads(SPECS_JSON)


def _schedule(spec):
    kind, value = spec
    if kind == "cron":
        return value
    if kind == "interval":
        return datetime.timedelta(seconds=value)
    if kind == "datasets":
        return [Dataset(uri) for uri in value]
    return None


for spec in SPECS:
    tz = spec["timezone"]
    default_args = dict(spec["default_args"], retry_delay=datetime.timedelta(seconds=spec["retry_delay"]))
    if spec["slack_failure"]:
        default_args["on_failure_callback"] = [notifications.task_failure(spec["slack_failure"])]
    with DAG(
        dag_id=spec["dag_id"],
        schedule=_schedule(spec["schedule"]),
        start_date=pendulum.datetime(*spec["start_date"], tz=tz),
        end_date=pendulum.datetime(*spec["end_date"], tz=tz) if spec["end_date"] else None,
        catchup=spec["catchup"],
        max_active_runs=spec["max_active_runs"],
        is_paused_upon_creation=spec["is_paused_upon_creation"],
        params=spec["params"],
        default_args=default_args,
        on_success_callback=[notifications.dag_success(spec["slack_success"])] if spec["slack_success"] else None,
        tags=spec["tags"],
        jinja_environment_kwargs={"keep_trailing_newline": True},
    ) as dag:
        tasks = {}
        for task in spec["tasks"]:
            tasks[task["task_id"]] = AnalyticalPlatformStandardOperator(
                task_id=task["task_id"],
                name=task["name"],
                image=spec["image"],
                compute_profile=task["compute_profile"],
                environment=spec["environment"],
                project=spec["project"],
                workflow=spec["workflow"],
                service_account_name=spec["service_account_name"],
                hmcts_sdp_networking=task["hmcts_sdp_networking"],
                env_vars=task["env_vars"],
                secrets=[Secret("env", variable, secret, "data") for variable, secret in spec["secrets"]],
                inlets=[Dataset(uri) for uri in task["inlets"]],
                outlets=[Dataset(uri) for uri in task["outlets"]],
            )
        for task in spec["tasks"]:
            for upstream in task["dependencies"]:
                tasks[upstream] >> tasks[task["task_id"]]
    globals()[spec["dag_id"]] = dag
'''


# The design actually being replaced reads every manifest at parse time: the same loader,
# taking its data from one YAML file per workflow (PyYAML's SafeLoader) instead of a literal.
LOADER_FROM_MANIFESTS = LOADER.replace(
    "SPECS = json.loads(SPECS_JSON)",
    "import pathlib\n\nimport yaml\n\n"
    "SPECS = [\n"
    "    yaml.safe_load(path.read_text())\n"
    "    for path in sorted((pathlib.Path(__file__).parent / 'manifests').glob('*/*.yml'))\n"
    "]",
)


def loader_spec(workflow: Workflow, config: StackConfig) -> dict[str, Any]:
    dag, notes = workflow.dag, workflow.notifications
    names = derive(workflow, config)
    schedule: list[Any] = ["none", None]
    if isinstance(dag.schedule, CronSchedule):
        schedule = ["cron", dag.schedule.expression]
    elif isinstance(dag.schedule, IntervalSchedule):
        schedule = ["interval", dag.schedule.seconds]
    elif isinstance(dag.schedule, DatasetSchedule):
        schedule = ["datasets", list(dag.schedule.uris)]
    slack = notes.slack_channel
    return {
        "dag_id": names.dag_id,
        "schedule": schedule,
        "timezone": dag.timezone,
        "start_date": [dag.start_date.year, dag.start_date.month, dag.start_date.day],
        "end_date": [dag.end_date.year, dag.end_date.month, dag.end_date.day] if dag.end_date else None,
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "is_paused_upon_creation": dag.is_paused_upon_creation,
        "params": dict(dag.params),
        "retry_delay": dag.retry_delay,
        "default_args": {
            "owner": workflow.owner,
            "depends_on_past": dag.depends_on_past,
            "retries": dag.retries,
            "email": list(notes.emails),
            "email_on_failure": bool(notes.emails),
            "email_on_retry": False,
        },
        "slack_failure": slack if slack and "failure" in notes.slack_events else None,
        "slack_success": slack if slack and "success" in notes.slack_events else None,
        "tags": [workflow.business_unit],
        "image": names.image,
        "environment": workflow.environment,
        "project": workflow.project,
        "workflow": workflow.name,
        "service_account_name": names.service_account,
        "secrets": sorted(task_secrets(workflow, names).items()),
        "tasks": [
            {
                "task_id": task.name,
                "name": f"{workflow.name}-{task.name}",
                "compute_profile": task.compute_profile,
                "hmcts_sdp_networking": task.hmcts_sdp_networking,
                "env_vars": dag_env_vars(workflow, task),
                "inlets": list(task.inlets),
                "outlets": list(task.outlets),
                "dependencies": list(task.dependencies),
            }
            for task in dag.tasks
        ],
    }


BASELINE = """\
import pendulum
from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG("baseline.empty", schedule=None, start_date=pendulum.datetime(2025, 1, 1, tz="UTC")):
    EmptyOperator(task_id="main")
"""
BASELINE_FILE = "_baseline/empty.py"
SINGLE_LOADER = "_single_loader/all_workflows.py"
SINGLE_LOADER_YAML = "_single_loader_yaml/all_workflows.py"


# --------------------------------------------------------------------------- measuring


@dataclass
class Figures:
    """One DAG file's parse times (seconds); ``cold`` only for the files parsed cold."""

    file: str
    set: str
    tasks: int
    warm: float
    imports: str
    cpu: float = 0.0  # the warm parse's CPU time (wall time on a busy machine also holds waiting)
    gc: float = 0.0  # of ``warm``: the garbage collector's time during the parse
    gc_full: int = 0  # full collections during the parse
    runs: list[float] = field(default_factory=list)  # every warm parse, when repeated (``warm`` is their median)
    cold: float | None = None
    cold_cpu: float | None = None
    cold_import: float | None = None


@dataclass
class Folder:
    """A dags folder as the stack would upload it, and which set each measured file belongs to."""

    name: str
    files: dict[str, str] = field(default_factory=dict)
    sets: dict[str, str] = field(default_factory=dict)
    comparison: dict[str, str] = field(default_factory=dict)  # loader file -> label


def dag_file(workflow: Workflow, config: StackConfig) -> str:
    return derive(workflow, config).dag_key.removeprefix(config.dags_prefix)


def add_workflows(folder: Folder, label: str, workflows: list[Workflow], config: StackConfig) -> None:
    for workflow in workflows:
        folder.sets[dag_file(workflow, config)] = label


def add_single_loaders(folder: Folder, workflows: list[Workflow], config: StackConfig) -> None:
    """The single-loader design over the same workflows, beside the per-file DAGs (parsed alone, in a fork)."""
    specs = [loader_spec(w, config) for w in workflows]
    folder.files[SINGLE_LOADER] = LOADER.replace(
        "json.loads(SPECS_JSON)", f"json.loads({json.dumps(specs, sort_keys=True)!r})"
    )
    folder.files[SINGLE_LOADER_YAML] = LOADER_FROM_MANIFESTS
    for workflow, spec in zip(workflows, specs, strict=True):
        manifest = f"_single_loader_yaml/manifests/{workflow.project}/{workflow.name}.yml"
        folder.files[manifest] = yaml.safe_dump(spec, sort_keys=True)
    count = len(workflows)
    folder.comparison = {
        SINGLE_LOADER: f"single loader: {count} workflows' DAGs built by one file from a literal",
        SINGLE_LOADER_YAML: f"single loader reading {count} YAML manifests at every parse",
    }


def import_lines(source: str) -> str:
    return "\n".join(sorted({line for line in source.splitlines() if line.startswith(("import ", "from "))}))


def harness(dags: Path, step: str, *options: str) -> dict[str, Any]:
    try:
        result = run_harness(dags, dags.parent / f"{dags.name}-{step}.json", *options)
    except HarnessError as error:
        raise SystemExit(str(error)) from None
    if result["import_errors"]:
        raise SystemExit(f"import errors in {dags}: {json.dumps(result['import_errors'], indent=1)[:3000]}")
    return result


def by_set(figures: list[Figures]) -> dict[str, list[Figures]]:
    """Each set's files, slowest warm parse first."""
    sets: dict[str, list[Figures]] = {}
    for f in figures:
        sets.setdefault(f.set, []).append(f)
    return {label: sorted(files, key=lambda f: -f.warm) for label, files in sets.items()}


def cold_sample(figures: list[Figures], count: int) -> list[str]:
    """Per set: its ``count`` slowest warm files (every file for 0), and the slowest warm file of each
    distinct set of import lines (a cold parse pays those imports)."""
    chosen: list[str] = []
    for ranked in by_set(figures).values():
        picked = list(ranked if count <= 0 else ranked[:count])
        seen = set()
        for f in ranked:
            if f.imports not in seen:
                seen.add(f.imports)
                picked.append(f)
        chosen += dict.fromkeys(f.file for f in picked)
    return chosen


def warm_parses(dags: Path, step: str, *options: str) -> dict[str, Any]:
    return harness(
        dags,
        step,
        "--fork-per-file=0",
        "--providers-configuration",
        *(f"--preimport-module={m}" for m in WARM_MODULES),
        *options,
    )


def measure(
    folder: Folder, root: Path, cold: int, repeat: int
) -> tuple[list[Figures], dict[str, float], dict[str, Any]]:
    """Warm figures for every file of ``folder``, cold ones for a sample; also the loaders' warm times.

    One warm parse of each file first; then each set's slowest files are parsed ``repeat`` more times,
    the median replacing the first figure, until no file parsed once looks slower than those (a single
    parse on a busy machine can be slow by chance)."""
    dags = write_folder(root / folder.name, folder.files)
    warm = warm_parses(dags, "warm")
    parsed = {f["file"]: f for f in warm["files"]}
    unexpected = sorted(set(parsed) - set(folder.sets) - set(folder.comparison))
    missing = sorted(set(folder.sets) - set(parsed))
    if unexpected or missing:
        raise SystemExit(f"{folder.name}: Airflow parsed unexpected files {unexpected}, missed {missing}")
    figures = [
        Figures(
            name,
            label,
            parsed[name]["tasks"],
            parsed[name]["seconds"],
            import_lines(folder.files[name]),
            parsed[name]["cpu_seconds"],
            parsed[name]["gc_seconds"],
            parsed[name]["gc_full"],
        )
        for name, label in folder.sets.items()
    ]
    by_file = {f.file: f for f in figures}
    for round_ in range(REPEAT_ROUNDS if repeat > 1 else 0):
        again = []
        for ranked in by_set(figures).values():
            # Files parsed once that look slower than the set's slowest median so far (all, at first).
            bar = max((f.warm for f in ranked if f.runs), default=0.0)
            again += [f.file for f in ranked if not f.runs and f.warm > bar][: REPEAT_TOP if not bar else REPEAT_MORE]
        if not again:
            break
        options = (f"--repeat={repeat}", *(f"--only={name}" for name in again))
        for report in warm_parses(dags, f"warm-again-{round_}", *options)["files"]:
            f = by_file[report["file"]]
            f.warm, f.cpu, f.runs = report["seconds"], report["cpu_seconds"], report["runs"]
            f.gc, f.gc_full = report["gc_seconds"], report["gc_full"]
    for report in harness(dags, "cold", *(f"--cold={name}" for name in cold_sample(figures, cold)))["files"]:
        by_file[report["file"]].cold = report["seconds"]
        by_file[report["file"]].cold_cpu = report["cpu_seconds"]
        by_file[report["file"]].cold_import = report["import_seconds"]
    loaders = {label: parsed[name]["seconds"] for name, label in folder.comparison.items()}
    return figures, loaders, warm


# --------------------------------------------------------------------------- reporting


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def verdict(seconds: float) -> str:
    return "meets" if seconds <= TARGET_SECONDS else "MISSES"


def report_set(label: str, figures: list[Figures], rows: int) -> None:
    ranked = sorted(figures, key=lambda f: -f.warm)
    warm = [f.warm for f in ranked]
    slowest = ranked[0]
    print(f"{label}: {len(ranked)} DAG file(s), {sum(f.tasks for f in ranked)} tasks")
    print(
        f"  warm: median {statistics.median(warm):.3f} s, p95 {p95(warm):.3f} s, slowest {slowest.warm:.3f} s "
        f"({slowest.file}, {slowest.tasks} tasks): {verdict(slowest.warm)} the {TARGET_SECONDS} s target"
    )
    colds = sorted((f for f in ranked if f.cold is not None), key=lambda f: -(f.cold or 0))
    if colds:
        worst = colds[0]
        print(
            f"  cold: slowest {worst.cold:.3f} s, cpu {worst.cold_cpu:.3f} s ({worst.file}, {worst.tasks} tasks; "
            f"importing Airflow {worst.cold_import:.2f} s of it), of {len(colds)} file(s) parsed cold"
        )
    shown = [f for f in ranked if f.cold is not None or f.runs][:rows]
    width = max(len(f.file) for f in shown)
    print(f"    {'file':<{width}}  tasks   warm s  cpu s   gc s   warm runs (min-max)   cold s")
    for f in shown:
        collector = f"{f.gc:.3f}{'*' if f.gc_full else ' '}"
        spread = f"{len(f.runs)}: {min(f.runs):.3f}-{max(f.runs):.3f}" if f.runs else "1"
        cold = f"{f.cold:7.3f}" if f.cold is not None else "      -"
        print(f"    {f.file:<{width}}  {f.tasks:>5}  {f.warm:7.3f}  {f.cpu:.3f}  {collector:>6}  {spread:<20}  {cold}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the corpus and the 220-task workflow only")
    parser.add_argument("--workflows", type=int, default=1000, help="size of the synthetic environment")
    parser.add_argument(
        "--cold",
        type=int,
        default=2,
        metavar="N",
        help="parse cold each set's N slowest warm files (0: every file, about 2 s each) and the slowest "
        "of each distinct set of import lines",
    )
    parser.add_argument(
        "--repeat", type=int, default=5, metavar="R", help="warm parses of each set's slowest files (median used)"
    )
    parser.add_argument("--rows", type=int, default=12, help="files listed per set")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write every file's figures to OUT")
    args = parser.parse_args()
    if not AIRFLOW_PYTHON.is_file():
        print(f"no Airflow interpreter at {AIRFLOW_PYTHON}: run `make bench` (it creates .venv-airflow)")
        return 2
    started = time.perf_counter()
    # Every parse compiles its file, as the first parse after an upload does (warm and cold alike).
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    config = StackConfig.from_stack_file(stack_file(REPO, "development"))
    corpus, large = corpus_workflows(config), large_workflow()
    if not corpus:
        print(f"corpus: not found at {CORPUS}, skipped")

    deployed = Folder("deployed", dags_folder_files([*corpus, large], config))
    add_workflows(deployed, "corpus", corpus, config)
    add_workflows(deployed, f"{LARGE_TASKS} tasks", [large], config)
    deployed.files[BASELINE_FILE] = BASELINE
    deployed.sets[BASELINE_FILE] = "baseline"
    folders = [deployed]
    if not args.quick:
        add_single_loaders(deployed, [*corpus, large], config)
        synthetic = synthetic_workflows(args.workflows)
        folder = Folder("synthetic", dags_folder_files(synthetic, config))
        add_workflows(folder, "synthetic", synthetic, config)
        add_single_loaders(folder, synthetic, config)
        folders.append(folder)

    figures: list[Figures] = []
    comparisons: list[str] = []
    with tempfile.TemporaryDirectory(prefix="dag-parse-") as tmp:
        for folder in folders:
            found, loaders, warm = measure(folder, Path(tmp), args.cold, args.repeat)
            figures += found
            comparisons += [
                f"  {label}: warm {seconds:.3f} s ({verdict(seconds)} the target)" for label, seconds in loaders.items()
            ]
            if folder is deployed:
                runtime = sum(warm["preimport_modules"][m] for m in RUNTIME_MODULES)
                base = next(f for f in found if f.set == "baseline")
                print(
                    f"Airflow {warm['airflow_version']}. Before the warm parses, once: imports and the providers' "
                    f"configuration, {warm['preimport_seconds']:.2f} s.\n"
                    f"Airflow's floor, a one-task EmptyOperator DAG: warm {base.warm:.3f} s, cold {base.cold:.3f} s "
                    f"(importing Airflow {base.cold_import:.2f} s of it).\n"
                    f"The runtime package imports in {runtime:.3f} s after Airflow's modules; MWAA's processor "
                    "pre-imports airflow.* modules only, so each parse there pays this too.\n"
                )

    for label in [label for label in dict.fromkeys(f.set for f in figures) if label != "baseline"]:
        report_set(label, [f for f in figures if f.set == label], args.rows)
        print()
    print(
        "  warm s: wall time (the median for files parsed more than once); cpu s: its CPU time (the gap is\n"
        "  waiting for a CPU); gc s: the garbage collector's share; * a full collection, which walks every\n"
        "  object inherited from the parent process (whether one falls in a parse depends on the parent's state).\n"
    )
    if comparisons:
        print("The single-loader design, for comparison (one file; parsed warm, alone):")
        print("\n".join(comparisons) + "\n")
    print(f"Target: the slowest warm parse at most {TARGET_SECONDS} s")
    for label, ranked in by_set(figures).items():
        if label != "baseline":
            top = ranked[0]
            print(f"  {label:<10} {top.warm:.3f} s  {verdict(top.warm):<6}  {top.file} ({top.tasks} tasks)")
    if args.json:
        args.json.write_text(json.dumps([vars(f) for f in figures], indent=1) + "\n")
    print(f"(bench: {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
