"""Manifest → validated :class:`~workflows.model.Workflow`, or every problem at once.

Three passes over one file, all of whose problems are reported together:

1. YAML with positions and no duplicate keys (:mod:`workflows.yamlload`);
2. the JSON Schema in ``workflows/schema/workflow.schema.json`` (shape, types,
   allowed keys and values — the same file editors use);
3. rules the schema cannot express: folder layout, task graph, cron, dates,
   time zones, Jinja, name lengths against real limits, policy size.

Only a manifest with no problem becomes a model.
"""

from __future__ import annotations

import difflib
import json
import re
import zoneinfo
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from croniter import croniter
from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError

from workflows import dagrender, iam, naming
from workflows.config import StackConfig
from workflows.errors import ManifestError, Problem
from workflows.model import (
    DEFAULT_START_DATE,
    ENVIRONMENTS,
    MAIN_TASK,
    CronSchedule,
    Dag,
    DatasetSchedule,
    Iam,
    IntervalSchedule,
    Notifications,
    Schedule,
    Task,
    Workflow,
    frozen_map,
)
from workflows.templating import template_problem
from workflows.yamlload import NodePath, Positions, load

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "workflow.schema.json"
MANIFEST_NAME = "workflow.yml"
PYTHON_DAG_NAME = "dag.py"
PRESETS = frozenset(
    {"@once", "@continuous", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly", "@annually"}
)
_FOLDER = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_INTERVAL_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600}
# A container image tag (the OCI distribution grammar). The image is a templated field of the task, so
# anything else (``{{ var.value.x }}``) would be rendered by Airflow with every tenant's Variables in reach.
_IMAGE_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


@cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


@cache
def _anchored(pattern: str) -> re.Pattern[str]:
    """``pattern`` with ``$`` meaning the very end, as in the ECMA-262 regexes JSON Schema specifies (and
    editors use): Python's ``$`` also matches before a final newline, which would let ``"api-key\\n"`` pass
    ``^[a-z0-9-]+$`` and reach names, ARNs and policies."""
    out, escaped, in_class = [], False, False
    for ch in pattern:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "[":
            in_class = True
        elif ch == "]":
            in_class = False
        elif ch == "$" and not in_class:
            out.append(r"\Z")
            continue
        out.append(ch)
    return re.compile("".join(out))


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _anchored(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def _validator() -> Draft202012Validator:
    strict = validators.extend(Draft202012Validator, {"pattern": _pattern})
    return strict(schema(), format_checker=FormatChecker())


def location(path: Path) -> tuple[str, str, str]:
    """``(environment, project, workflow)`` from ``…/<env>/<project>/<workflow>/workflow.yml``."""
    parts = path.resolve().parts if not path.is_absolute() else path.parts
    if len(parts) < 4:
        return "", "", ""
    return parts[-4], parts[-3], parts[-2]


def load_workflow(path: Path, config: StackConfig, text: str | None = None) -> Workflow:
    """Load and validate one manifest. Raises :class:`ManifestError` with every problem."""
    try:
        data, positions = load(path, text)
    except ManifestError as error:
        raise ManifestError(map(_one_line, error.problems)) from None
    problems, workflow = check(data, positions, config)
    if problems or workflow is None:
        raise ManifestError(map(_one_line, problems))
    return workflow


def _one_line(problem: Problem) -> Problem:
    """The problem with anything unprintable in its message (a key's newline) escaped: one problem, one line."""
    if problem.message.isprintable():
        return problem
    message = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in problem.message)
    return Problem(problem.path, problem.line, problem.column, message)


def load_all(paths: Iterable[Path], config: StackConfig) -> list[Workflow]:
    """Load every manifest; raise one :class:`ManifestError` with the problems of all of them."""
    workflows: list[Workflow] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            workflows.append(load_workflow(path, config))
        except ManifestError as error:
            problems.extend(error.problems)
    problems.extend(name_clashes(workflows, config))
    if problems:
        raise ManifestError(problems)
    return workflows


def name_clashes(workflows: Iterable[Workflow], config: StackConfig) -> Iterator[Problem]:
    """Names joined with '-' (and project aliases) can coincide: ``a`` + ``b-c`` and ``a-b`` + ``c`` both give
    the service account ``a-b-c``. Two workflows must never share a role, service account or Kubernetes secret."""
    owners: dict[tuple[str, str], Workflow] = {}
    for workflow in workflows:
        names = naming.names_for(workflow, config)
        claims = [("Kubernetes service account", names.service_account), ("secrets prefix", names.secret_prefix)]
        if workflow.iam.external_role is None:
            claims.append(("IAM role", names.role))
        claims += [("Kubernetes secret", names.kubernetes_secret(s)) for s in workflow.secrets]
        for kind, name in claims:
            other = owners.setdefault((kind, name), workflow)
            if other is not workflow:  # both manifests hear of it: either may be the one to rename
                for mine, theirs in ((workflow, other), (other, workflow)):
                    yield Problem(
                        mine.path,
                        1,
                        1,
                        f"{kind} '{name}' would also belong to {theirs.key}: rename the workflow folder "
                        "(or change the project alias) so that no two workflows share it",
                    )


# --------------------------------------------------------------------------- checks


def check(data: Any, positions: Positions, config: StackConfig) -> tuple[list[Problem], Workflow | None]:
    """Every problem of one loaded manifest, and its model when it is whole enough to build.

    The model is built once, here: the rules that need it (name limits, policy size, the
    workflow's own dag.py) run on it, and a manifest with no problem returns it.
    """
    problems = [*positions.problems, *_check_location(positions.path, positions, config)]
    placed = len(problems) == len(positions.problems)
    if data is None:
        problems.append(
            positions.problem(
                (), "the manifest is empty: it needs at least dag.repository, dag.tag, maintainers and tags"
            )
        )
        return problems, None
    schema_errors = sorted(_validator().iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    for error in schema_errors:
        problems.extend(_schema_problem(error, positions))
    if not isinstance(data, dict):
        return problems, None
    problems.extend(_check_document(data, positions))
    # Name limits and policy size need a whole, well-placed model: only then are they meaningful.
    if schema_errors or not placed:
        return problems, None
    workflow = build(data, positions, config)
    problems.extend(_check_model(workflow, positions, config))
    return problems, workflow


def _check_location(path: Path, positions: Positions, config: StackConfig) -> Iterator[Problem]:
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


def _schema_problem(error: ValidationError, positions: Positions) -> Iterator[Problem]:
    where: NodePath = tuple(error.absolute_path)
    field = _field(where)
    validator = error.validator
    instance = error.instance
    if validator == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        for key in sorted(set(instance) - set(allowed), key=str):
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            yield positions.problem(
                (*where, key),
                f"unknown key '{key}' in {field or 'the manifest'}{hint}; allowed keys: {', '.join(allowed)}",
                key=True,
            )
        return
    if validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        name = missing[0] if missing else error.message
        yield positions.problem(where, f"missing required key '{name}' in {field or 'the manifest'}")
        return
    if "propertyNames" in error.relative_schema_path and isinstance(instance, str):
        yield positions.problem(
            (*where, instance), f"'{instance}' is not a valid name here: {_names_rule(where)}", key=True
        )
        return
    description = error.schema.get("description") if isinstance(error.schema, dict) else None
    if validator == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        yield positions.problem(where, f"{_show(instance)} is not allowed for {field}; allowed: {allowed}")
    elif validator == "type":
        yield positions.problem(where, f"{field} must be {_type_words(error.validator_value)}, not {_show(instance)}")
    elif validator in ("pattern", "format"):
        yield positions.problem(
            where, f"{_show(instance)} is not a valid value for {field}: {_value_rule(where, description)}"
        )
    elif validator == "uniqueItems":
        yield positions.problem(where, f"{field} lists the same value more than once")
    elif validator in ("minItems", "minProperties", "minLength"):
        yield positions.problem(where, f"{field} must not be empty")
    elif validator in ("minimum", "maximum"):
        bound = "at least" if validator == "minimum" else "at most"
        yield positions.problem(where, f"{field} must be {bound} {error.validator_value}, not {_show(instance)}")
    elif validator == "maxLength":
        yield positions.problem(where, f"{field} must be at most {error.validator_value} characters")
    elif validator in ("oneOf", "anyOf") and where[-1:] == ("schedule",):
        yield positions.problem(
            where,
            'dag.schedule must be a cron expression or preset ("0 5 * * *", "@daily"), None, '
            "a mapping with one of seconds/minutes/hours (whole numbers), or a mapping with datasets (a list of URIs)",
        )
    elif validator in ("oneOf", "anyOf"):
        best = error.context[0] if error.context else None
        if best is not None:
            yield from _schema_problem(best, positions)
        else:
            yield positions.problem(where, f"{field} has an invalid value {_show(instance)}")
    else:
        yield positions.problem(where, f"{field}: {error.message}")


def _field(where: NodePath) -> str:
    return ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in where).replace(".[", "[")


def _show(value: Any) -> str:
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = str(value)
    return repr(text if len(text) <= 80 else text[:77] + "...")


def _type_words(types: Any) -> str:
    words = {
        "string": "text",
        "integer": "a whole number",
        "number": "a number",
        "boolean": "true or false",
        "array": "a list",
        "object": "a mapping",
        "null": "empty",
    }
    if isinstance(types, str):
        types = [types]
    return " or ".join(words.get(t, t) for t in types)


def _names_rule(where: NodePath) -> str:
    if where[-1:] in (("env_vars",), ("params",)):
        return "use letters, digits and '_', not starting with a digit"
    if where[-1:] == ("tasks",):
        return "task names use letters, digits, '_' and '-'"
    return "see the schema"


_VALUE_RULES = {
    "repository": "write it as <organisation>/<repository>",
    "owner": "use an address ending in @justice.gov.uk",
    "external_role": "it must be an IAM role ARN, arn:aws:iam::<account>:role/<name>",
    "kms": "each entry must be a KMS key ARN, arn:aws:kms:<region>:<account>:key/<id>",
    "s3_read_only": "each entry must be a bucket path such as my-bucket/prefix/* (not an ARN)",
    "s3_read_write": "each entry must be a bucket path such as my-bucket/prefix/* (not an ARN)",
    "s3_write_only": "each entry must be a bucket path such as my-bucket/prefix/* (not an ARN)",
    "s3_deny": "each entry must be a bucket path such as my-bucket/prefix/* (not an ARN)",
    "secrets": "secret ids use lower-case letters, digits and '-'",
    "maintainers": "use GitHub usernames",
    "emails": "use email addresses",
    "slack_channel": "use a Slack channel name: lower-case letters, digits, '-' and '_'",
    "start_date": "use a date as YYYY-MM-DD",
    "end_date": "use a date as YYYY-MM-DD",
    "cloudwatch_logs_read_only": "each entry must be a log-group ARN, arn:aws:logs:<region>:<account>:log-group:<name>",
}


def _value_rule(where: NodePath, description: str | None) -> str:
    for part in reversed(where):
        if isinstance(part, str) and part in _VALUE_RULES:
            return _VALUE_RULES[part]
    return description or "see the schema"


def _check_document(data: dict, positions: Positions) -> Iterator[Problem]:
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
    if dag.get("python_dag") is True:
        dag_py = positions.path.parent / PYTHON_DAG_NAME
        if not dag_py.is_file():
            yield positions.problem(
                ("dag", "python_dag"),
                f"dag.python_dag is true but {dag_py} does not exist: add the workflow's {PYTHON_DAG_NAME} "
                "or remove python_dag to have the DAG generated",
                key=True,
            )


def _check_model(workflow: Workflow, positions: Positions, config: StackConfig) -> Iterator[Problem]:
    """Rules that need the whole model: name limits, the policy size, the workflow's own dag.py."""
    for where, message in naming.limit_problems(workflow, config):
        node: NodePath = tuple(int(p) if p.isdigit() else p for p in where.split(".")) if where else ()
        yield positions.problem(node, message)
    if workflow.iam.external_role is None:
        message = iam.size_problem(workflow, config)
        if message:
            yield positions.problem(("iam",), message, key=True)
    if workflow.python_dag_source is not None:
        # The workflow's own dag.py is deployed with its placeholders filled in: one that cannot be
        # (not Python, a placeholder where no value fits) must fail here, not half way through a deploy.
        try:
            dagrender.render_python_dag(workflow, config)
        except ManifestError as error:
            yield from error.problems


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
            f"{_show(tag)} is not a valid value for dag.tag: an image tag is up to 128 letters, digits, "
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
            yield positions.problem(where, f"dataset URI {_show(uri)} {problem}")


def _check_timezone(value: Any, positions: Positions) -> Iterator[Problem]:
    if isinstance(value, str) and _timezone_valid(value):
        return
    yield positions.problem(
        ("dag", "timezone"), f"{_show(value)} is not a time zone: use an IANA name such as Europe/London or UTC"
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


def _as_date(value: Any) -> date | None:
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _check_dates(dag: dict, positions: Positions) -> Iterator[Problem]:
    parsed: dict[str, date] = {}
    for key in ("start_date", "end_date"):
        value = dag.get(key)
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):  # else the schema says what is wrong
            day = _as_date(value)
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
    cycle = _find_cycle(graph)
    if cycle:
        yield positions.problem(
            ("dag", "tasks", cycle[0], "dependencies"),
            "task dependencies form a cycle: " + " -> ".join([*cycle, cycle[0]]),
        )


def _find_cycle(graph: Mapping[str, list[str]]) -> list[str] | None:
    """One cycle (as a list of task names) if the graph has any, else None. Iterative DFS."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    for root in sorted(graph):
        if state.get(root):
            continue
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        path = [root]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                return path[path.index(child) :]
            elif not state.get(child):
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(graph[child]))))
    return None


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
                yield positions.problem(where, f"{_field(where)}: {problem}")


def _check_param_names(dag: dict, positions: Positions) -> Iterator[Problem]:
    """Params that differ only in case would fill the same ``PARAM_<KEY>``: one would be silently lost."""
    params = dag.get("params")
    if not isinstance(params, dict):
        return
    first: dict[str, str] = {}
    for key in params:
        variable = dagrender.param_env_var(str(key))
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
                f"{_show(arn)} would let the workflow read every log group, other teams' included: "
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


# --------------------------------------------------------------------------- model


def env_string(value: Any) -> str:
    """The string a YAML scalar becomes in a task's environment (as the running service does: true → "True")."""
    if isinstance(value, str):
        return value
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


def build(data: dict, positions: Positions, config: StackConfig) -> Workflow:
    """The model of an already-checked manifest (defaults applied)."""
    environment, project, name = location(positions.path)
    dag = data["dag"]
    dag_env = {str(k): env_string(v) for k, v in (dag.get("env_vars") or {}).items()}
    dag_profile = dag.get("compute_profile", Task.__dataclass_fields__["compute_profile"].default)
    dag_sdp = bool(dag.get("hmcts_sdp_networking", False))
    dag_inlets = _unique(dag.get("inlets") or ())
    dag_outlets = _unique(dag.get("outlets") or ())
    raw_tasks = dag.get("tasks") or {MAIN_TASK: {}}
    tasks = tuple(
        Task(
            name=str(task_name),
            compute_profile=(spec or {}).get("compute_profile", dag_profile),
            env_vars=frozen_map(
                dag_env | {str(k): env_string(v) for k, v in ((spec or {}).get("env_vars") or {}).items()}
            ),
            dependencies=_unique((spec or {}).get("dependencies") or ()),
            hmcts_sdp_networking=bool((spec or {}).get("hmcts_sdp_networking", dag_sdp)),
            inlets=_unique((spec or {}).get("inlets") or dag_inlets),
            outlets=_unique((spec or {}).get("outlets") or dag_outlets),
        )
        for task_name, spec in raw_tasks.items()
    )
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
    if "start_date" in dag:
        optional["start_date"] = _as_date(dag["start_date"])
    if dag.get("end_date") is not None:
        optional["end_date"] = _as_date(dag["end_date"])
    if "timezone" in dag:
        optional["timezone"] = dag["timezone"]
    model_dag = Dag(
        repository=dag["repository"],
        tag=str(dag["tag"]),
        tasks=tasks,
        schedule=_schedule(dag.get("schedule")),
        params=frozen_map({str(k): env_string(v) for k, v in (dag.get("params") or {}).items()}),
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
    )
    python_dag_source = None
    dag_py = positions.path.parent / PYTHON_DAG_NAME
    if model_dag.python_dag and dag_py.is_file():
        python_dag_source = dag_py.read_text(encoding="utf-8")
    return Workflow(
        path=positions.path,
        environment=environment,  # type: ignore[arg-type]
        project=project,
        name=name,
        dag=model_dag,
        maintainers=_unique(data["maintainers"]),
        business_unit=data["tags"]["business_unit"],
        owner=data["tags"]["owner"],
        iam=model_iam,
        secrets=tuple(data.get("secrets") or ()),
        notifications=notifications,
        python_dag_source=python_dag_source,
    )
