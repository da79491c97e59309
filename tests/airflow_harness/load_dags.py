"""Load a dags folder in the Airflow that MWAA runs and describe every DAG as JSON.

Run by the Airflow environment's interpreter (``.venv-airflow``), not by pytest's:

    .venv-airflow/bin/python tests/airflow_harness/load_dags.py DAGS_FOLDER OUT.json

It parses the folder as MWAA's DAG processor does (a DagBag in safe mode, no
examples, ``.airflowignore`` honoured, the folder on ``sys.path``), then for each
DAG runs ``dag.validate()`` and a serialization round trip (MWAA stores serialized
DAGs), and for each task renders its templates with a real run context and builds
the pod the task would create. Nothing talks to a cluster: the Kubernetes hook is
replaced by a stub. The JSON holds what the tests compare with the manifests.

Timing modes (parse times and errors only), used by ``bench/dag_parse.py``:

* ``--fork-per-file N``: each file in its own fork of a process that has done the
  imports first (the files' ``airflow.*`` modules, plus any ``--preimport-module``),
  as the DAG processor forks a parser per file: a *warm* parse;
* ``--cold FILE`` (repeatable): each named file in a fresh interpreter that has
  imported nothing of Airflow yet, timed from ``import airflow`` to the end of its
  DagBag: a *cold* parse, import cost included.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RUN_SAMPLE = 4  # scheduled runs listed per DAG


def _configure(dags: Path, home: Path) -> None:
    """Airflow reads its configuration on import: set it up first, as a fresh MWAA-like install."""
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
            "AIRFLOW__CORE__DAG_DISCOVERY_SAFE_MODE": "True",
            "AIRFLOW__CORE__DAG_IGNORE_FILE_SYNTAX": "regexp",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__WEBSERVER__BASE_URL": "https://airflow.example.invalid",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        }
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dags", type=Path, help="the dags folder (a mirror of the bucket's dags/ prefix)")
    parser.add_argument("out", type=Path, help="where to write the JSON description")
    parser.add_argument("--no-render", action="store_true", help="skip template rendering and pods")
    parser.add_argument("--stats-only", action="store_true", help="parse times and errors only, no DAG details")
    parser.add_argument(
        "--preimport",
        action="store_true",
        help="first import the airflow.* modules the files name, as the DAG processor does before it forks "
        "a process per file ([scheduler] parsing_pre_import_modules), so per-file times are what a file costs",
    )
    parser.add_argument(
        "--fork-per-file",
        type=int,
        metavar="N",
        help="parse N of the files (the largest half, the rest spread evenly; 0 for all), each in its own "
        "forked process after the pre-import, as the DAG processor does (parse times and errors only)",
    )
    parser.add_argument(
        "--preimport-module",
        action="append",
        default=[],
        metavar="MODULE",
        help="with --fork-per-file: also import MODULE in the parent before forking (repeatable), as a "
        "process that has already imported it would (the DAG processor's own modules, the runtime package)",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="FILE",
        help="with --fork-per-file: parse only FILE (relative to the dags folder; repeatable)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="with --fork-per-file: parse each file N times, a new fork each time, and report the median "
        "(every time in `runs`)",
    )
    parser.add_argument(
        "--providers-configuration",
        action="store_true",
        help="with --fork-per-file: load the providers' configuration in the parent before forking, as the "
        "`airflow scheduler` and `airflow dag-processor` commands do when they start",
    )
    parser.add_argument(
        "--cold",
        action="append",
        default=[],
        metavar="FILE",
        help="parse FILE (relative to the dags folder; repeatable) in a fresh interpreter that has not imported "
        "Airflow, timed from `import airflow` to the end of its DagBag (parse times and errors only)",
    )
    parser.add_argument("--parse-one", metavar="FILE", help=argparse.SUPPRESS)  # one --cold parse, in its process
    parser.add_argument("--airflow-home", type=Path, help=argparse.SUPPRESS)  # share a --cold parent's home
    args = parser.parse_args(argv)
    dags = args.dags.resolve()
    if args.parse_one is not None:
        _configure(dags, args.airflow_home.resolve())
        result = parse_one(dags, args.parse_one)
        args.out.write_text(json.dumps(result, indent=1, sort_keys=True, default=str))
        return 0
    with tempfile.TemporaryDirectory(prefix="airflow-home-") as home:
        _configure(dags, Path(home))
        if args.cold:
            result = cold_per_file(dags, args.cold, Path(home))
        elif args.fork_per_file is not None:
            result = fork_per_file(
                dags,
                args.fork_per_file,
                args.preimport_module,
                args.providers_configuration,
                only=args.only,
                repeat=args.repeat,
            )
        else:
            result = describe(dags, render=not args.no_render, details=not args.stats_only, preimport=args.preimport)
    args.out.write_text(json.dumps(result, indent=1, sort_keys=True, default=str))
    return 0


def describe(dags: Path, *, render: bool, details: bool = True, preimport: bool = False) -> dict[str, Any]:
    started = time.perf_counter()
    import airflow
    from airflow.models.dagbag import DagBag

    import_seconds = time.perf_counter() - started
    if str(dags) not in sys.path:  # as MWAA's processes do
        sys.path.append(str(dags))
    started = time.perf_counter()
    if preimport:
        _preimport(dags)
    preimport_seconds = time.perf_counter() - started
    started = time.perf_counter()
    bag = DagBag(str(dags), include_examples=False, safe_mode=True)
    bag_seconds = time.perf_counter() - started

    def relative(path: str) -> str:
        try:
            return Path(path).resolve().relative_to(dags).as_posix()
        except ValueError:
            return path

    result: dict[str, Any] = {
        "airflow_version": airflow.__version__,
        "airflow_import_seconds": import_seconds,
        "preimport_seconds": preimport_seconds,
        "dagbag_seconds": bag_seconds,
        "files": sorted(
            (
                {
                    "file": stat.file.lstrip("/"),
                    "seconds": stat.duration.total_seconds(),
                    "dags": stat.dag_num,
                    "tasks": stat.task_num,
                }
                for stat in bag.dagbag_stats
            ),
            key=lambda f: f["file"],
        ),
        "import_errors": {relative(k): v for k, v in sorted(bag.import_errors.items())},
        "warnings": {relative(k): list(v) for k, v in sorted(bag.captured_warnings.items())},
        "dags": {},
    }
    result["dag_count"] = len(bag.dags)
    result["task_count"] = sum(len(dag.tasks) for dag in bag.dags.values())
    if not details:
        return result
    if render:
        _create_tables()
    for dag_id in sorted(bag.dags):
        dag = bag.dags[dag_id]
        try:
            result["dags"][dag_id] = _describe_dag(dag, relative, render=render)
        except Exception:  # report and carry on: one broken DAG must not hide the others
            result["dags"][dag_id] = {"dag_id": dag_id, "harness_error": traceback.format_exc()}
    return result


def _sample(paths: list[str], count: int) -> list[str]:
    if count <= 0 or count >= len(paths):
        return paths
    largest = sorted(paths, key=lambda p: -Path(p).stat().st_size)[: count // 2]
    rest = [p for p in paths if p not in set(largest)]
    step = max(1, len(rest) // (count - len(largest)))
    return sorted(largest + rest[::step][: count - len(largest)])


def fork_per_file(
    dags: Path,
    sample: int,
    modules: Sequence[str] = (),
    providers_configuration: bool = False,
    *,
    only: Sequence[str] = (),
    repeat: int = 1,
) -> dict[str, Any]:
    """Parse times as MWAA sees them: the parent imports Airflow and the files' airflow.* modules
    once, then each file is parsed in a fresh fork, so no file pays for another's objects (but
    each pays Airflow's own first-DAG-in-a-process costs, as on MWAA). ``modules`` are imported
    in the parent too, after those (their times in ``preimport_modules``); ``providers_configuration``
    loads the providers' configuration there as well. Each file's report also gives the time the
    garbage collector took during its parse (``gc_seconds``, ``gc_full``: full collections) and the
    child's CPU time (``cpu_seconds``: on a busy machine, wall time also holds waiting for a CPU).
    ``only`` restricts the parse to those files (relative paths); with ``repeat`` above 1 each file
    is parsed that many times, one fork each, and its report is the median run's (all in ``runs``)."""
    import importlib

    import airflow
    from airflow.utils.file import list_py_file_paths

    sys.path.append(str(dags))
    started = time.perf_counter()
    _preimport(dags)
    extra: dict[str, float] = {}
    for module in modules:
        begun = time.perf_counter()
        importlib.import_module(module)
        extra[module] = time.perf_counter() - begun
    providers_seconds = None
    if providers_configuration:
        from airflow.providers_manager import ProvidersManager

        begun = time.perf_counter()
        ProvidersManager().initialize_providers_configuration()
        providers_seconds = time.perf_counter() - begun
    preimport_seconds = time.perf_counter() - started
    files, started = [], time.perf_counter()
    paths = sorted(list_py_file_paths(str(dags), include_examples=False))
    if only:
        wanted = set(only)
        paths = [p for p in paths if Path(p).relative_to(dags).as_posix() in wanted]
    for path in _sample(paths, sample):
        runs = [_fork_one(dags, path) for _ in range(max(1, repeat))]
        report = sorted(runs, key=lambda r: r.get("seconds", 0))[(len(runs) - 1) // 2]
        if repeat > 1:
            report["runs"] = [r.get("seconds") for r in runs]
        files.append(report)
    return {
        "airflow_version": airflow.__version__,
        "preimport_seconds": preimport_seconds,
        "preimport_modules": extra,
        "providers_configuration_seconds": providers_seconds,
        **_per_file_summary(files, started),
    }


def _per_file_summary(files: list[dict[str, Any]], started: float) -> dict[str, Any]:
    """What the per-file modes report: each file's report (its import errors moved to ``import_errors``),
    the totals, and the time since ``started``."""
    errors: dict[str, str] = {}
    for report in files:
        errors.update(report.pop("errors", {}))
    return {
        "dagbag_seconds": time.perf_counter() - started,
        "files": files,
        "import_errors": errors,
        "dag_count": sum(f["dags"] for f in files),
        "task_count": sum(f["tasks"] for f in files),
    }


def _fork_one(dags: Path, path: str) -> dict[str, Any]:
    """Parse ``path`` in a fork of this process; its report (parse time, DAGs, tasks, errors)."""
    import gc

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: parse one file, report, exit without cleanup
        os.close(read)
        from airflow.models.dagbag import DagBag

        collections: list[tuple[str, int, float]] = []
        recorder = _collection_recorder(collections)
        gc.callbacks.append(recorder)
        begun, cpu = time.perf_counter(), time.process_time()
        bag = DagBag(path, include_examples=False, safe_mode=True)
        seconds, cpu = time.perf_counter() - begun, time.process_time() - cpu
        gc.callbacks.remove(recorder)
        report = {
            "file": Path(path).relative_to(dags).as_posix(),
            "seconds": seconds,
            "cpu_seconds": cpu,
            "gc_seconds": sum(t if phase == "stop" else -t for phase, _, t in collections),
            "gc_full": sum(1 for phase, generation, _ in collections if phase == "stop" and generation == 2),
            "dags": len(bag.dags),
            "tasks": sum(len(d.tasks) for d in bag.dags.values()),
            "errors": bag.import_errors,
        }
        with os.fdopen(write, "w") as pipe:
            json.dump(report, pipe)
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        report = json.loads(pipe.read() or "{}")
    os.waitpid(pid, 0)
    return report


def cold_per_file(dags: Path, relative_paths: list[str], home: Path) -> dict[str, Any]:
    """Parse each file in a fresh interpreter (this script with ``--parse-one``), one after another.

    The children share this Airflow home; one unmeasured parse first writes its ``airflow.cfg``
    and warms the file cache, as on a running MWAA worker."""
    files, started = [], time.perf_counter()
    for index, relative in enumerate([relative_paths[0], *relative_paths]):
        out = home / f"cold-{index}.json"
        completed = subprocess.run(
            [sys.executable, __file__, str(dags), str(out), "--parse-one", relative, "--airflow-home", str(home)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if completed.returncode != 0:
            output = f"{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
            raise RuntimeError(f"cold parse of {relative} failed:\n{output}")
        if index == 0:
            continue
        files.append(json.loads(out.read_text()))
    return _per_file_summary(files, started)


def parse_one(dags: Path, relative: str) -> dict[str, Any]:
    """In a fresh interpreter: import Airflow, then parse one file, as a parser process would that had
    imported nothing beforehand."""
    sys.path.append(str(dags))
    path = str(dags / relative)
    started, cpu = time.perf_counter(), time.process_time()
    import airflow  # noqa: F401  (timed: the import is part of a cold parse)
    from airflow.models.dagbag import DagBag

    imported = time.perf_counter()
    bag = DagBag(path, include_examples=False, safe_mode=True)
    done = time.perf_counter()
    return {
        "file": relative,
        "seconds": done - started,
        "cpu_seconds": time.process_time() - cpu,
        "import_seconds": imported - started,
        "dags": len(bag.dags),
        "tasks": sum(len(d.tasks) for d in bag.dags.values()),
        "errors": bag.import_errors,
    }


def _collection_recorder(collections: list[tuple[str, int, float]]):
    """A ``gc.callbacks`` entry appending (phase, generation, time) for each collection's start and stop."""

    def record(phase: str, info: dict[str, int]) -> None:
        collections.append((phase, info["generation"], time.perf_counter()))

    return record


def _preimport(dags: Path) -> None:
    """What the DAG processor manager does for each file before forking its parser process."""
    import contextlib
    import importlib

    from airflow.utils.file import iter_airflow_imports, list_py_file_paths

    for path in list_py_file_paths(str(dags), include_examples=False):
        for module in iter_airflow_imports(path):
            with contextlib.suppress(ImportError):  # the file's own parse reports it
                importlib.import_module(module)


def _create_tables() -> None:
    """An empty metadata database, so a task's template context can be built as at run time."""
    import airflow.models
    import airflow.providers.fab.auth_manager.models  # tables the core ones refer to
    from airflow import settings
    from airflow.models.base import Base

    del airflow.models  # imported for their tables only
    Base.metadata.create_all(settings.engine)


def _error(call) -> str | None:
    try:
        call()
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return None


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _describe_dag(dag, relative, *, render: bool) -> dict[str, Any]:
    from airflow.serialization.serialized_objects import SerializedDAG

    info: dict[str, Any] = {
        "dag_id": dag.dag_id,
        "fileloc": relative(dag.fileloc),
        "validate_error": _error(dag.validate),
        "serialize_error": _error(lambda: SerializedDAG.from_dict(SerializedDAG.to_dict(dag))),
        "schedule": _describe_schedule(dag),
        "timezone": dag.timezone.name,
        "start_date": _iso(dag.start_date),
        "end_date": _iso(dag.end_date),
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "is_paused_upon_creation": dag.is_paused_upon_creation,
        "params": dag.params.dump(),
        "tags": sorted(dag.tags or ()),
        "owner": dag.owner,
        "jinja_environment_kwargs": dag.jinja_environment_kwargs,
        "callbacks": {
            "on_success": _describe_callbacks(dag.on_success_callback),
            "on_failure": _describe_callbacks(dag.on_failure_callback),
        },
        "tasks": {},
    }
    context = None
    if render:
        context_for = _context_factory(dag)
    for task in sorted(dag.tasks, key=lambda t: t.task_id):
        if render:
            context = context_for(task)
        info["tasks"][task.task_id] = _describe_task(task, context)
    if render and context is not None:
        info["callbacks"]["on_success"] = _describe_callbacks(dag.on_success_callback, context)
    return info


def _describe_schedule(dag) -> dict[str, Any]:
    timetable = dag.timetable
    summary: dict[str, Any] = {"timetable": type(timetable).__name__, "summary": timetable.summary}
    expression = getattr(timetable, "_expression", None)
    if expression is not None:
        summary["cron"] = expression
    delta = getattr(timetable, "_delta", None)
    if delta is not None and hasattr(delta, "total_seconds"):
        summary["interval_seconds"] = delta.total_seconds()
    condition = getattr(timetable, "dataset_condition", None)
    if condition is not None:
        summary["datasets"] = [uri for uri, _ in condition.iter_datasets()]
    if dag.start_date is not None and (expression is not None or delta is not None):
        runs = itertools.islice(dag.iter_dagrun_infos_between(dag.start_date, dag.start_date.add(days=400)), RUN_SAMPLE)
        summary["runs"] = [
            {
                "run_after": _iso(run.run_after),
                "start": _iso(run.data_interval.start),
                "end": _iso(run.data_interval.end),
            }
            for run in runs
        ]
    return summary


def _context_factory(dag):
    """Template context of one run of ``dag``: the first scheduled run, or a manual run at the start date."""
    import pendulum
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.types import DagRunType

    info = dag.next_dagrun_info(None)
    if info is not None:
        logical, interval, run_type = info.logical_date, info.data_interval, DagRunType.SCHEDULED
    else:
        logical = dag.start_date or pendulum.datetime(2025, 1, 1, tz="UTC")
        interval = dag.timetable.infer_manual_data_interval(run_after=logical)
        run_type = DagRunType.MANUAL
    run = DagRun(
        dag_id=dag.dag_id,
        run_id=DagRun.generate_run_id(run_type, logical),
        run_type=run_type,
        execution_date=logical,
        data_interval=interval,
        conf={},
    )
    run.dag = dag

    def context_for(task):
        ti = TaskInstance(task, run_id=run.run_id)
        ti.dag_run = run
        return ti.get_template_context(ignore_param_exceptions=False)

    return context_for


def _unwrap(value: Any) -> Any:
    from airflow.template.templater import LiteralValue

    return value.value if isinstance(value, LiteralValue) else value


def _describe_callbacks(callbacks, context=None) -> list[dict[str, Any]]:
    import copy

    from airflow.notifications.basenotifier import BaseNotifier

    if callbacks is None:
        return []
    described = []
    for callback in callbacks if isinstance(callbacks, list) else [callbacks]:
        entry: dict[str, Any] = {"class": type(callback).__name__}
        if isinstance(callback, BaseNotifier):
            for field in ("channel", "slack_conn_id", "text"):
                if hasattr(callback, field):
                    entry[field] = _unwrap(getattr(callback, field))
            if context is not None:
                rendered = copy.copy(callback)
                entry["render_error"] = _error(lambda n=rendered: n.render_template_fields(context))
                entry["rendered_text"] = getattr(rendered, "text", None)
                entry["rendered_channel"] = getattr(rendered, "channel", None)
        described.append(entry)
    return described


class _StubHook:
    """Stands in for the Kubernetes hook when building a pod: no kubeconfig, no cluster."""

    is_in_cluster = False

    def get_xcom_sidecar_container_image(self) -> None:
        return None

    def get_xcom_sidecar_container_resources(self) -> None:
        return None

    def get_namespace(self) -> None:
        return None


def _describe_task(task, context) -> dict[str, Any]:
    from airflow.datasets import Dataset
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    info: dict[str, Any] = {
        "task_id": task.task_id,
        "operator": type(task).__name__,
        "upstream": sorted(task.upstream_task_ids),
        "downstream": sorted(task.downstream_task_ids),
        "retries": task.retries,
        "retry_delay_seconds": task.retry_delay.total_seconds(),
        "depends_on_past": task.depends_on_past,
        "owner": task.owner,
        "email": list(task.email) if isinstance(task.email, list | tuple) else task.email,
        "email_on_failure": task.email_on_failure,
        "email_on_retry": task.email_on_retry,
        "inlets": [d.uri for d in task.inlets if isinstance(d, Dataset)],
        "outlets": [d.uri for d in task.outlets if isinstance(d, Dataset)],
        "callbacks": {
            "on_failure": _describe_callbacks(task.on_failure_callback, context),
            "on_success": _describe_callbacks(task.on_success_callback, context),
            "on_retry": _describe_callbacks(task.on_retry_callback, context),
        },
    }
    if not isinstance(task, KubernetesPodOperator):
        return info
    info |= {
        "image": task.image,
        "namespace": task.namespace,
        "service_account_name": task.service_account_name,
        "config_file": task.config_file,
        "cluster_context": task.cluster_context,
        "kubernetes_conn_id": task.kubernetes_conn_id,
        "in_cluster": task.in_cluster,
        "image_pull_policy": task.image_pull_policy,
        "on_finish_action": str(getattr(task.on_finish_action, "value", task.on_finish_action)),
        "get_logs": task.get_logs,
        "startup_timeout_seconds": task.startup_timeout_seconds,
        "log_pod_spec_on_failure": task.log_pod_spec_on_failure,
        "labels": dict(task.labels or {}),
        "compute_profile": getattr(task, "compute_profile", None),
        # Before rendering: the value, and whether Jinja will render it (a literal is passed as is).
        "env": {v.name: _unwrap(v.value) for v in task.env_vars if v.value_from is None},
        "env_templated": sorted(v.name for v in task.env_vars if v.value_from is None and isinstance(v.value, str)),
        "env_names": [v.name for v in task.env_vars],
        "secrets": {s.deploy_target: {"type": s.deploy_type, "secret": s.secret, "key": s.key} for s in task.secrets},
    }
    if context is None:
        return info
    info["render_error"] = _error(lambda: task.render_template_fields(context))
    if info["render_error"] is None:
        from kubernetes.client import ApiClient

        task.__dict__["hook"] = _StubHook()  # hook is a cached property
        pod = task.build_pod_request_obj(context)
        spec = ApiClient().sanitize_for_serialization(pod)
        info["pod"] = spec
        container = spec["spec"]["containers"][0]
        info["pod_env"] = [
            {"name": e["name"], "value": e["value"]}
            if "value" in e
            else {
                "name": e["name"],
                "secret": e["valueFrom"]["secretKeyRef"]["name"],
                "key": e["valueFrom"]["secretKeyRef"]["key"],
            }
            for e in container.get("env", [])
        ]
    return info


if __name__ == "__main__":
    sys.exit(main())
