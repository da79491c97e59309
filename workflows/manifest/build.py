"""A checked manifest → the frozen :class:`~workflows.model.Workflow`, defaults applied.

Pure: no file is read here (a ``python_dag`` workflow's ``dag.py`` source is passed in).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from workflows.manifest.discovery import location, project_location
from workflows.model import (
    MAIN_TASK,
    CronSchedule,
    Dag,
    DatasetSchedule,
    Iam,
    IntervalSchedule,
    Notifications,
    Project,
    Schedule,
    Task,
    Workflow,
    frozen_map,
)

_INTERVAL_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600}
_TASK_DEFAULT_PROFILE = Task.__dataclass_fields__["compute_profile"].default


def parse_date(value: Any) -> date | None:
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def env_string(value: Any) -> str:
    """The string a YAML scalar becomes in a task's environment (as the running service does: true → "True")."""
    return str(value)


def _unique(values: Iterable[Any]) -> tuple[Any, ...]:
    """Values in their written order with repeats dropped (a repeat is harmless, so not an error)."""
    return tuple(dict.fromkeys(values))


def _schedule(value: Any) -> Schedule:
    if value is None or value == "None":
        return None
    if isinstance(value, str):
        return CronSchedule(value.strip())
    if "datasets" in value:
        return DatasetSchedule(_unique(value["datasets"]))
    return IntervalSchedule(sum(int(value[u]) * s for u, s in _INTERVAL_UNITS.items() if u in value))


def build(data: dict, path: Path, python_dag_source: str | None = None) -> Workflow:
    """The model of an already-checked manifest at ``path`` (``…/<env>/<project>/<workflow>/workflow.yml``)."""
    environment, project, name = location(path)
    dag = data["dag"]
    optional = {
        key: dag[key]
        for key in (
            "catchup",
            "depends_on_past",
            "is_paused_upon_creation",
            "max_active_runs",
            "retries",
            "retry_delay",
        )
        if key in dag
    }
    # A date that is not a real one (2025-02-30) is a problem the rules report; meanwhile the model,
    # which validation still plans to check name limits, keeps the default rather than None.
    for key in ("start_date", "end_date"):
        day = parse_date(dag.get(key))
        if day is not None:
            optional[key] = day
    if "timezone" in dag:
        optional["timezone"] = dag["timezone"]
    model_dag = Dag(
        repository=dag["repository"],
        tag=str(dag["tag"]),
        tasks=_tasks(dag),
        schedule=_schedule(dag.get("schedule")),
        params=frozen_map(_strings(dag.get("params"))),
        python_dag=bool(dag.get("python_dag", False)),
        **optional,
    )
    section = data.get("iam") or {}
    model_iam = Iam(**{k: _unique(v) if isinstance(v, list) else v for k, v in section.items()})
    notes = data.get("notifications") or {}
    notifications = Notifications(
        emails=_unique(notes.get("emails") or ()),
        slack_channel=notes["slack_channel"].lstrip("#") if notes.get("slack_channel") else None,
        **({"slack_events": tuple(notes["slack_events"])} if "slack_events" in notes else {}),
        **({"email_events": _unique(notes["email_events"])} if "email_events" in notes else {}),
    )
    return Workflow(
        path=path,
        environment=environment,  # type: ignore[arg-type]
        project=project,
        name=name,
        dag=model_dag,
        maintainers=_unique(data["maintainers"]),
        business_unit=data["tags"]["business_unit"],
        owner=data["tags"]["owner"],
        iam=model_iam,
        secrets=tuple(data.get("secrets") or ()),
        shared_secrets=tuple(data.get("shared_secrets") or ()),
        notifications=notifications,
        python_dag_source=python_dag_source if model_dag.python_dag else None,
    )


def _strings(values: dict | None) -> dict[str, str]:
    """Env vars or params as the text each becomes (keys are kept as written)."""
    return {str(k): env_string(v) for k, v in (values or {}).items()}


def _tasks(dag: dict) -> tuple[Task, ...]:
    """The DAG's tasks (one ``main`` task when it lists none): each key the task's own, else the DAG's
    (env vars merged, the task's winning key by key)."""
    env = _strings(dag.get("env_vars"))
    profile = dag.get("compute_profile", _TASK_DEFAULT_PROFILE)
    sdp = bool(dag.get("hmcts_sdp_networking", False))
    inlets, outlets = _unique(dag.get("inlets") or ()), _unique(dag.get("outlets") or ())
    tasks: list[Task] = []
    for name, written in (dag.get("tasks") or {MAIN_TASK: {}}).items():
        spec = written or {}
        tasks.append(
            Task(
                name=str(name),
                compute_profile=spec.get("compute_profile", profile),
                env_vars=frozen_map(env | _strings(spec.get("env_vars"))),
                dependencies=_unique(spec.get("dependencies") or ()),
                hmcts_sdp_networking=bool(spec.get("hmcts_sdp_networking", sdp)),
                inlets=_unique(spec.get("inlets") or inlets),
                outlets=_unique(spec.get("outlets") or outlets),
            )
        )
    return tuple(tasks)


def build_project(data: dict, path: Path) -> Project:
    """The model of an already-checked ``project.yml`` at ``path`` (``…/<env>/<project>/project.yml``)."""
    environment, project = project_location(path)
    return Project(
        path=path,
        environment=environment,  # type: ignore[arg-type]
        name=project,
        secrets=tuple(data.get("secrets") or ()),
        maintainers=_unique(data["maintainers"]),
    )
