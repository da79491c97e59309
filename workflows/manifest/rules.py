"""Rules the JSON Schema cannot express, on the document as written (it may have other problems).

Each check reads the raw loaded document and yields :class:`~workflows.errors.Problem`
at the offending node: folder layout, image tag, schedule, dates, the task graph,
Jinja templates, params, iam combinations and dataset URIs.
"""

from __future__ import annotations

import difflib
import graphlib
import re
import zoneinfo
from collections.abc import Iterator
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from croniter import croniter

from workflows.config import StackConfig
from workflows.errors import Problem
from workflows.manifest.build import parse_date
from workflows.manifest.discovery import MANIFEST_NAME, PYTHON_DAG_NAME, location
from workflows.manifest.load import NodePath, Positions
from workflows.manifest.schema import field_name, show
from workflows.manifest.templating import template_problem
from workflows.model import DEFAULT_START_DATE, ENVIRONMENTS
from workflows.plan.naming import param_env_var

PRESETS = frozenset(
    {"@once", "@continuous", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly", "@annually"}
)
_FOLDER = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
# A container image tag (the OCI distribution grammar). The image is a templated field of the task, so
# anything else (``{{ var.value.x }}``) would be rendered by Airflow with every tenant's Variables in reach.
_IMAGE_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def document_problems(data: dict, positions: Positions, *, has_dag_py: bool) -> Iterator[Problem]:
    """Rules the schema cannot express, on the document as written (it may have other problems)."""
    dag = data.get("dag") if isinstance(data.get("dag"), dict) else {}
    yield from _check_tag(dag, positions)
    yield from _check_schedule(dag, positions)
    yield from _check_dates(dag, positions)
    yield from _check_tasks(dag, positions)
    yield from _check_templates(dag, positions)
    yield from _check_param_names(dag, positions)
    yield from _check_iam(data.get("iam"), positions)
    yield from _check_datasets(dag, positions)
    if dag.get("python_dag") is True and not has_dag_py:
        dag_py = positions.path.parent / PYTHON_DAG_NAME
        yield positions.problem(
            ("dag", "python_dag"),
            f"dag.python_dag is true but {dag_py} does not exist: add the workflow's {PYTHON_DAG_NAME} "
            "or remove python_dag to have the DAG generated",
            key=True,
        )


def location_problems(path: Path, positions: Positions, config: StackConfig) -> Iterator[Problem]:
    environment, project, workflow = location(path)
    if path.name != MANIFEST_NAME:
        yield positions.problem((), f"a manifest must be called {MANIFEST_NAME}")
    if environment not in ENVIRONMENTS:
        yield positions.problem(
            (),
            f"a manifest must live at environments/<environment>/<project>/<workflow>/{MANIFEST_NAME} "
            f"with environment one of {', '.join(ENVIRONMENTS)}; '{environment}' is not",
        )
    elif environment != config.environment:
        yield positions.problem(
            (), f"this manifest belongs to {environment} but was checked with the {config.environment} stack"
        )
    for kind, name in (("project", project), ("workflow", workflow)):
        if not _FOLDER.fullmatch(name):
            hint = " ('_' is not allowed: use '-')" if "_" in name else ""
            yield positions.problem(
                (), f"the {kind} folder name '{name}' must be lower-case letters, digits and '-'{hint}"
            )


def _check_tag(dag: dict, positions: Positions) -> Iterator[Problem]:
    tag = dag.get("tag")
    if isinstance(tag, float):
        yield positions.problem(
            ("dag", "tag"),
            f"dag.tag {tag!r} is read by YAML as a number, which can change it (1.10 becomes 1.1): "
            f'put the tag in quotes, as in tag: "{tag}"',
        )
        return
    if isinstance(tag, str | int | float) and not isinstance(tag, bool) and not _IMAGE_TAG.fullmatch(str(tag)):
        yield positions.problem(
            ("dag", "tag"),
            f"{show(tag)} is not a valid value for dag.tag: an image tag is up to 128 letters, digits, "
            "'_', '.' and '-', not starting with '.' or '-'",
        )


def _check_schedule(dag: dict, positions: Positions) -> Iterator[Problem]:
    if "timezone" in dag:
        yield from _check_timezone(dag["timezone"], positions)
    value = dag.get("schedule")
    if not isinstance(value, str) or value == "None":
        return
    expression = value.strip()
    if expression == "@continuous" and dag.get("max_active_runs", 1) != 1:
        yield positions.problem(("dag", "max_active_runs"), "a @continuous schedule needs dag.max_active_runs: 1")
    if expression.startswith("@"):
        if expression not in PRESETS:
            yield positions.problem(
                ("dag", "schedule"), f"'{expression}' is not an Airflow preset; allowed: {', '.join(sorted(PRESETS))}"
            )
    elif len(expression.split()) != 5 or not croniter.is_valid(expression):
        yield positions.problem(
            ("dag", "schedule"),
            f"'{expression}' is not a valid cron expression: use five fields, minute hour day-of-month month "
            'day-of-week, such as "0 5 * * MON-FRI", or a preset such as @daily',
        )


def _dataset_places(dag: dict) -> Iterator[tuple[NodePath, Any]]:
    schedule = dag.get("schedule")
    if isinstance(schedule, dict) and isinstance(schedule.get("datasets"), list):
        yield from ((("dag", "schedule", "datasets", i), uri) for i, uri in enumerate(schedule["datasets"]))
    for key in ("inlets", "outlets"):
        if isinstance(dag.get(key), list):
            yield from ((("dag", key, i), uri) for i, uri in enumerate(dag[key]))
    if isinstance(dag.get("tasks"), dict):
        for name, task in dag["tasks"].items():
            for key in ("inlets", "outlets"):
                if isinstance(task, dict) and isinstance(task.get(key), list):
                    yield from ((("dag", "tasks", name, key, i), uri) for i, uri in enumerate(task[key]))


def _check_datasets(dag: dict, positions: Positions) -> Iterator[Problem]:
    """Dataset URIs Airflow would reject at parse time (an import error on MWAA) or silently change."""
    for where, uri in _dataset_places(dag):
        if not isinstance(uri, str):
            continue
        problem = None
        if not uri.isascii() or any(c.isspace() for c in uri):
            problem = "must be plain ASCII without spaces"
        elif not re.match(r"^[a-z][a-z0-9+.-]*://[^/]", uri):
            problem = "must have a scheme and a location, such as s3://bucket/path"
        elif re.match(r"^[a-z][a-z0-9+.-]*://[^/]*@", uri):
            problem = "must not contain credentials (user:password@)"
        elif uri.startswith("airflow://"):
            problem = "must not use the airflow:// scheme, which Airflow reserves"
        elif "#" in uri:
            problem = "must not contain a fragment ('#'), which Airflow drops"
        if problem:
            yield positions.problem(where, f"dataset URI {show(uri)} {problem}")


def _check_timezone(value: Any, positions: Positions) -> Iterator[Problem]:
    if isinstance(value, str) and _timezone_valid(value):
        return
    yield positions.problem(
        ("dag", "timezone"), f"{show(value)} is not a time zone: use an IANA name such as Europe/London or UTC"
    )


@cache
def _timezone_valid(name: str) -> bool:
    if name != name.strip() or not name or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _check_dates(dag: dict, positions: Positions) -> Iterator[Problem]:
    parsed: dict[str, date] = {}
    for key in ("start_date", "end_date"):
        value = dag.get(key)
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):  # else the schema says what is wrong
            day = parse_date(value)
            if day is None:
                yield positions.problem(("dag", key), f"dag.{key} '{value}' is not a real date (YYYY-MM-DD)")
            else:
                parsed[key] = day
    end = parsed.get("end_date")
    start = parsed.get("start_date", DEFAULT_START_DATE)
    if end is not None and end <= start:
        which = "dag.start_date" if "start_date" in parsed else "the default start_date"
        yield positions.problem(("dag", "end_date"), f"dag.end_date {end} must be after {which} {start}")


def _check_tasks(dag: dict, positions: Positions) -> Iterator[Problem]:
    tasks = dag.get("tasks")
    if not isinstance(tasks, dict):
        return
    names = set(tasks)
    graph: dict[str, list[str]] = {}
    for name, task in tasks.items():
        deps = task.get("dependencies") if isinstance(task, dict) else None
        if not isinstance(deps, list):
            graph[name] = []
            continue
        graph[name] = [d for d in deps if isinstance(d, str) and d in names and d != name]
        for index, dep in enumerate(deps):
            where = ("dag", "tasks", name, "dependencies", index)
            if dep == name:
                yield positions.problem(where, f"task '{name}' cannot depend on itself")
            elif isinstance(dep, str) and dep not in names:
                close = difflib.get_close_matches(dep, sorted(names), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                yield positions.problem(
                    where, f"task '{name}' depends on '{dep}', which is not a task of this workflow{hint}"
                )
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        # graphlib gives the cycle with each task a dependency of the next, its first task repeated at the
        # end ([a, c, b, a] when a depends on b): reversed, each task depends on the next, as in the manifest.
        cycle = error.args[1][::-1][:-1]
        yield positions.problem(
            ("dag", "tasks", cycle[0], "dependencies"),
            "task dependencies form a cycle: " + " -> ".join([*cycle, cycle[0]]),
        )


def _check_templates(dag: dict, positions: Positions) -> Iterator[Problem]:
    places: list[tuple[NodePath, Any]] = []
    for key in ("env_vars", "params"):
        if isinstance(dag.get(key), dict):
            places.extend((("dag", key, k), v) for k, v in dag[key].items())
    if isinstance(dag.get("tasks"), dict):
        for name, task in dag["tasks"].items():
            if isinstance(task, dict) and isinstance(task.get("env_vars"), dict):
                places.extend((("dag", "tasks", name, "env_vars", k), v) for k, v in task["env_vars"].items())
    for where, value in places:
        if isinstance(value, str):
            problem = template_problem(value)
            if problem:
                yield positions.problem(where, f"{field_name(where)}: {problem}")


def _check_param_names(dag: dict, positions: Positions) -> Iterator[Problem]:
    """Params that differ only in case would fill the same ``PARAM_<KEY>``: one would be silently lost."""
    params = dag.get("params")
    if not isinstance(params, dict):
        return
    first: dict[str, str] = {}
    for key in params:
        variable = param_env_var(str(key))
        if variable in first:
            yield positions.problem(
                ("dag", "params", key),
                f"dag.params '{first[variable]}' and '{key}' would both set {variable}: rename one",
                key=True,
            )
        else:
            first[variable] = str(key)


def _check_iam(section: Any, positions: Positions) -> Iterator[Problem]:
    if not isinstance(section, dict):
        return
    if section.get("textract") is True and not section.get("s3_read_only"):
        yield positions.problem(
            ("iam", "textract"),
            "iam.textract needs iam.s3_read_only: list the bucket paths Textract reads from",
            key=True,
        )
    groups = section.get("cloudwatch_logs_read_only")
    for index, arn in enumerate(groups if isinstance(groups, list) else []):
        name = arn.partition(":log-group:")[2].removesuffix(":*") if isinstance(arn, str) else ""
        if name[:1] in ("*", "?"):
            yield positions.problem(
                ("iam", "cloudwatch_logs_read_only", index),
                f"{show(arn)} would let the workflow read every log group, other teams' included: "
                "name the log group (a trailing * after a prefix is fine, as in log-group:my-team-*)",
            )
    if "external_role" in section:
        generated = sorted(k for k in section if k != "external_role")
        if generated:
            yield positions.problem(
                ("iam", generated[0]),
                f"iam.external_role replaces the generated role, so {', '.join(generated)} would have no effect: "
                "grant those permissions on the external role instead",
                key=True,
            )
