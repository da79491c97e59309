"""How long Airflow takes to parse the generated DAGs: one file per workflow against one loader file.

For the development corpus (``../shared/corpus``, when present) and for a synthetic
environment of 1,000 workflows (most with one task, some with 5 to 30), this writes
two dags folders and parses each in the Airflow that MWAA runs (``AIRFLOW_PYTHON``,
default ``.venv-airflow/bin/python``) with ``tests/airflow_harness/load_dags.py``:

* per-file: what the stack uploads, ``<project>/<workflow>.py`` per workflow plus the
  runtime package;
* single loader: the same DAGs, with the same operator and arguments, built by one
  ``.py`` file from a data literal;
* single loader reading YAML: the same file taking its data from one YAML file per
  workflow at every parse, as the design this project replaces does.

The harness first imports the ``airflow.*`` modules the files name, as Airflow's DAG
processor does once before forking a parser per file, so a file's time is what each
parse of it costs. Prints total and slowest-file figures; asserts nothing (the target
is a slowest file under 0.5 s).

    AIRFLOW_PYTHON=.venv-airflow/bin/python .venv/bin/python bench/dag_parse.py [--workflows 1000]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
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
from workflows.dags.runtime import runtime_files  # noqa: E402
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


def parse(dags: Path, *options: str) -> dict[str, Any]:
    try:
        result = run_harness(dags, dags.parent / f"{dags.name}{''.join(options)}.json", *options)
    except HarnessError as error:
        raise SystemExit(str(error)) from None
    if result["import_errors"]:
        raise SystemExit(f"import errors in {dags}: {json.dumps(result['import_errors'], indent=1)[:3000]}")
    return result


def report(label: str, result: dict[str, Any]) -> None:
    files = sorted(result["files"], key=lambda f: f["seconds"])
    seconds = [f["seconds"] for f in files]
    slowest = files[-1]
    verdict = "meets" if slowest["seconds"] < TARGET_SECONDS else "MISSES"
    p95 = seconds[min(len(seconds) - 1, int(len(seconds) * 0.95))]
    print(
        f"  {label:<30} {len(files):>5} file(s) {result['dag_count']:>5} DAGs {result['task_count']:>6} tasks | "
        f"total {sum(seconds):6.2f} s | median {statistics.median(seconds):.3f} s, p95 {p95:.3f} s, "
        f"slowest {slowest['seconds']:.3f} s ({verdict} the {TARGET_SECONDS} s target)"
    )
    if len(files) > 1:
        print(
            f"  {'':<30} slowest: "
            + ", ".join(f"{f['file']} ({f['tasks']} tasks) {f['seconds']:.3f} s" for f in reversed(files[-3:]))
        )


def bench(label: str, workflows: list[Workflow], config: StackConfig, root: Path, sample: int) -> None:
    runtime = runtime_files(config)
    per_file = dags_folder_files(workflows, config)
    specs = json.dumps([loader_spec(w, config) for w in workflows], sort_keys=True)
    loader = LOADER.replace("json.loads(SPECS_JSON)", f"json.loads({specs!r})")
    single = dict(runtime) | {"all_workflows.py": loader}
    tasks = sum(len(w.dag.tasks) for w in workflows)
    print(f"{label}: {len(workflows)} workflows, {tasks} tasks")
    per_file_dir = write_folder(root / f"{label}-per-file", per_file)
    single_dir = write_folder(root / f"{label}-single", single)
    from_manifests = dict(runtime) | {"all_workflows.py": LOADER_FROM_MANIFESTS}
    for workflow in workflows:
        spec = loader_spec(workflow, config)
        from_manifests[f"manifests/{workflow.project}/{workflow.name}.yml"] = yaml.safe_dump(spec, sort_keys=True)
    manifests_dir = write_folder(root / f"{label}-single-yaml", from_manifests)
    warm = parse(per_file_dir, "--stats-only", "--preimport")
    report("per-file, one DagBag", warm)
    report(f"per-file, fork per file ({sample})", parse(per_file_dir, f"--fork-per-file={sample}"))
    report("single loader, one DagBag", parse(single_dir, "--stats-only", "--preimport"))
    report("single loader, forked", parse(single_dir, "--fork-per-file=0"))
    report("single loader reading YAML", parse(manifests_dir, "--fork-per-file=0"))
    shared = warm["preimport_seconds"]
    print(f"  (one-off import of the airflow.* modules the files name, shared by all files: {shared:.2f} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=int, default=1000, help="size of the synthetic environment")
    parser.add_argument("--sample", type=int, default=100, help="files parsed one fork each (0: all)")
    args = parser.parse_args()
    if not AIRFLOW_PYTHON.is_file():
        print(f"no Airflow interpreter at {AIRFLOW_PYTHON}: run `make bench` (it creates .venv-airflow)")
        return 2
    config = StackConfig.from_stack_file(stack_file(REPO, "development"))
    with tempfile.TemporaryDirectory(prefix="dag-parse-") as tmp:
        baseline = parse(write_folder(Path(tmp) / "baseline", {"empty.py": BASELINE}), "--fork-per-file=0")
        print(
            "Airflow's own cost of parsing a one-task DAG file in a fresh process (as each parse on MWAA is): "
            f"{baseline['files'][0]['seconds']:.3f} s"
        )
        corpus = corpus_workflows(config)
        if corpus:
            bench("corpus", corpus, config, Path(tmp), args.sample)
        else:
            print(f"corpus: not found at {CORPUS}, skipped")
        bench("synthetic", synthetic_workflows(args.workflows), config, Path(tmp), args.sample)
    return 0


if __name__ == "__main__":
    sys.exit(main())
