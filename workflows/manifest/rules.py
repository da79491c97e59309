"""Rules the JSON Schema cannot express, on the document as written (it may have other problems).

Each check reads the raw loaded document and yields :class:`~workflows.errors.Problem`
at the offending node: folder layout, image tag, schedule, dates, the task graph,
Jinja templates, params, values YAML would change, iam combinations, S3 paths that
match no object (a warning: the grant is exactly as written), dataset URIs, and the
stack's allowed repository organisations and email domains.
"""

from __future__ import annotations

import difflib
import graphlib
import json
import re
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from croniter import croniter

from workflows.config import StackConfig
from workflows.errors import ERROR, INVALID, WARNING, Problem
from workflows.manifest.build import parse_date
from workflows.manifest.cron import six_field_problem
from workflows.manifest.discovery import MANIFEST_NAME, PYTHON_DAG_NAME, location
from workflows.manifest.load import NodePath, Positions, key_path
from workflows.manifest.schema import show
from workflows.manifest.templating import params_used, template_problem, timezone_valid
from workflows.model import DEFAULT_START_DATE, ENVIRONMENTS
from workflows.plan.iam import platform_bucket_problem
from workflows.plan.limits import (
    DEPENDENCY_LIMIT,
    ENV_VAR_LIMIT,
    LIST_LIMIT,
    SUGGESTION_LIMIT,
    TASK_LIMIT,
)
from workflows.plan.naming import param_env_var, secret_env_var

PRESETS = frozenset(
    {"@once", "@continuous", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly", "@annually"}
)
_FOLDER = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
# A container image tag (the OCI distribution grammar). The image is a templated field of the task, so
# anything else (``{{ var.value.x }}``) would be rendered by Airflow with every tenant's Variables in reach.
_IMAGE_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def bound_problems(data: Any, positions: Positions) -> list[Problem]:
    """Bounds on how much one manifest may hold (:mod:`workflows.plan.limits`): tasks, dependencies and env
    vars per task, entries of a list. Checked first and alone: a manifest over one gets no other check,
    so that its size never makes checking it slow."""
    if not isinstance(data, dict):
        return []
    found: list[Problem] = []

    def over(where: NodePath, value: Any, limit: int, what: str, fix: str) -> None:
        if isinstance(value, dict | list) and len(value) > limit:
            found.append(
                positions.problem(
                    where,
                    f"{key_path(where)} has {len(value):,} {what}, over the limit of {limit:,}: {fix}",
                    key=True,
                    code="too-many",
                )
            )

    dag = data.get("dag") if isinstance(data.get("dag"), dict) else {}
    tasks = dag.get("tasks")
    over(("dag", "tasks"), tasks, TASK_LIMIT, "tasks", "split the workflow into several workflows")
    if found:  # no per-task work on thousands of tasks
        return found
    fewer = "list fewer"
    for key in ("env_vars", "params"):
        over(("dag", key), dag.get(key), ENV_VAR_LIMIT, "entries", f"{fewer}, or pass them in a file or a secret")
    for key in ("inlets", "outlets"):
        over(("dag", key), dag.get(key), LIST_LIMIT, "datasets", fewer)
    schedule = dag.get("schedule")
    if isinstance(schedule, dict):
        over(("dag", "schedule", "datasets"), schedule.get("datasets"), LIST_LIMIT, "datasets", fewer)
    for name, task in (tasks if isinstance(tasks, dict) else {}).items():
        if not isinstance(task, dict):
            continue
        where = ("dag", "tasks", name)
        over((*where, "dependencies"), task.get("dependencies"), DEPENDENCY_LIMIT, "dependencies", fewer)
        over((*where, "env_vars"), task.get("env_vars"), ENV_VAR_LIMIT, "entries", f"{fewer}, or pass them in a file")
        for key in ("inlets", "outlets"):
            over((*where, key), task.get(key), LIST_LIMIT, "datasets", fewer)
    for key in ("maintainers", "secrets", "shared_secrets"):
        over((key,), data.get(key), LIST_LIMIT, "entries", fewer)
    notifications = data.get("notifications")
    if isinstance(notifications, dict):
        over(("notifications", "emails"), notifications.get("emails"), LIST_LIMIT, "entries", fewer)
    iam = data.get("iam")
    for key, value in (iam if isinstance(iam, dict) else {}).items():
        over(("iam", key), value, LIST_LIMIT, "entries", f"{fewer}: a wildcard prefix ('bucket/prefix/*') covers many")
    return found


def document_problems(data: dict, positions: Positions, config: StackConfig, *, has_dag_py: bool) -> Iterator[Problem]:
    """Rules the schema cannot express, on the document as written (it may have other problems)."""
    dag = data.get("dag") if isinstance(data.get("dag"), dict) else {}
    yield from _coded("invalid-repository", _check_repository(dag, positions, config))
    yield from _coded("invalid-tag", _check_tag(dag, positions))
    yield from _coded("invalid-schedule", _check_schedule(dag, positions))
    yield from _coded("invalid-date", _check_dates(dag, positions))
    yield from _coded("invalid-dependency", _check_tasks(dag, positions))
    yield from _coded("invalid-template", _check_templates(dag, positions))
    yield from _coded("yaml-reading", _check_values_yaml_changes(dag, positions))
    yield from _coded("invalid-name", _check_param_names(dag, positions))
    yield from _coded("unknown-param", _check_param_references(dag, positions))
    yield from _coded("secret-shadows-env-var", _check_secret_shadowing(dag, data, positions))
    yield from _coded("shared-secret-clash", _check_shared_secret_clashes(data, positions))
    yield from _coded("invalid-iam", _check_iam(data.get("iam"), positions))
    yield from _coded("s3-path-matches-nothing", _check_s3_paths(data.get("iam"), positions))
    yield from _coded("platform-bucket", _check_platform_buckets(data.get("iam"), positions, config))
    yield from _coded("invalid-dataset", _check_datasets(dag, positions))
    yield from _coded("invalid-iam", _check_outlets_written(dag, data.get("iam"), positions))
    yield from _coded("invalid-email", _check_email_domains(data, positions, config))
    if dag.get("python_dag") is True and not has_dag_py:
        dag_py = positions.path.parent / PYTHON_DAG_NAME
        yield positions.problem(
            ("dag", "python_dag"),
            f"dag.python_dag is true but {dag_py} does not exist: add the workflow's {PYTHON_DAG_NAME} "
            "or remove python_dag to have the DAG generated",
            key=True,
        )


def _coded(code: str, problems: Iterable[Problem]) -> Iterator[Problem]:
    """``problems`` with ``code`` unless a check gave one a more precise code."""
    for problem in problems:
        yield problem if problem.code != INVALID else replace(problem, code=code)


def location_problems(path: Path, positions: Positions, config: StackConfig) -> Iterator[Problem]:
    yield from _coded("invalid-location", _location_problems(path, positions, config))


def _location_problems(path: Path, positions: Positions, config: StackConfig) -> Iterator[Problem]:
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


def _check_repository(dag: dict, positions: Positions, config: StackConfig) -> Iterator[Problem]:
    """The image's repository must belong to an allowed GitHub organisation (compared without case, as GitHub does)."""
    repository = dag.get("repository")
    if not isinstance(repository, str) or "/" not in repository:
        return  # the schema says what is wrong
    organisation = repository.partition("/")[0]
    allowed = config.allowed_repository_organisations
    if organisation.casefold() not in {o.casefold() for o in allowed}:
        yield positions.problem(
            ("dag", "repository"),
            f"dag.repository {show(repository)} is in the GitHub organisation '{organisation}', which is not allowed: "
            f"the image must be built by a repository of {_either_of(allowed)}",
        )


def _check_email_domains(data: dict, positions: Positions, config: StackConfig) -> Iterator[Problem]:
    """tags.owner and notifications.emails must be addresses at an allowed domain: exactly that domain
    (not a subdomain, as the running service's schema requires), compared without case, as mail is."""
    places: list[tuple[NodePath, Any]] = []
    tags = data.get("tags")
    if isinstance(tags, dict) and "owner" in tags:
        places.append((("tags", "owner"), tags["owner"]))
    notifications = data.get("notifications")
    emails = notifications.get("emails") if isinstance(notifications, dict) else None
    if isinstance(emails, list):
        places.extend((("notifications", "emails", i), address) for i, address in enumerate(emails))
    allowed = {d.casefold() for d in config.allowed_email_domains}
    for where, address in places:
        if not isinstance(address, str) or address.count("@") != 1:
            continue  # the schema says what is wrong
        if address.rpartition("@")[2].casefold() not in allowed:
            yield positions.problem(
                where,
                f"{key_path(where)} {show(address)} is not an address at an allowed domain: "
                f"use an address ending in {_either_of(tuple(f'@{d}' for d in config.allowed_email_domains))}",
            )


def _either_of(values: tuple[str, ...]) -> str:
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + f" or {values[-1]}"


def _quoted(text: str) -> str:
    """``text`` as a YAML double-quoted scalar."""
    return json.dumps(text, ensure_ascii=False)


def _check_tag(dag: dict, positions: Positions) -> Iterator[Problem]:
    tag = dag.get("tag")
    written = positions.text(("dag", "tag"))
    if isinstance(tag, float) or (isinstance(tag, int) and not isinstance(tag, bool) and written != str(tag)):
        text = written if written is not None else str(tag)
        yield positions.problem(
            ("dag", "tag"),
            f"dag.tag {text} is read by YAML as the number {tag!r}, which can change it (1.10 becomes 1.1): "
            f"put the tag in quotes, as in tag: {_quoted(text)}",
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
    elif (six_fields := six_field_problem(expression)) is not None:
        yield positions.problem(("dag", "schedule"), six_fields, code="invalid-cron")
    elif len(expression.split()) != 5 or not croniter.is_valid(expression):
        yield positions.problem(
            ("dag", "schedule"),
            f"'{expression}' is not a valid cron expression: use five fields, minute hour day-of-month month "
            'day-of-week, such as "0 5 * * MON-FRI", or a preset such as @daily',
            code="invalid-cron",
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


def _outlet_places(dag: dict) -> Iterator[tuple[NodePath, Any]]:
    return ((where, uri) for where, uri in _dataset_places(dag) if "outlets" in where)


def _check_outlets_written(dag: dict, section: Any, positions: Positions) -> Iterator[Problem]:
    """A warning for an ``s3://`` outlet that none of the workflow's own write grants (``iam.s3_read_write``,
    ``iam.s3_write_only``, IAM wildcards as IAM matches them) covers: an outlet triggers every DAG scheduled
    on the dataset, so announcing data the workflow does not write is announcing someone else's. A warning,
    not an error: some live workflows announce data written by other means. An external role's grants are
    not in the manifest: nothing to compare with."""
    iam = section if isinstance(section, dict) else {}
    if "external_role" in iam:
        return
    writes = (path for key in ("s3_read_write", "s3_write_only") for path in iam.get(key) or ())
    matchers = [_iam_pattern(grant) for grant in writes if isinstance(grant, str)]
    for where, uri in _outlet_places(dag):
        if not isinstance(uri, str) or not uri.startswith("s3://"):
            continue
        split = urllib.parse.urlsplit(uri)
        path = f"{split.netloc}{split.path}"
        # The dataset as written, without its trailing '/' (as Airflow reads it), and the objects under it.
        candidates = {path, path.rstrip("/"), path.rstrip("/") + "/"}
        if any(m.fullmatch(c) for m in matchers for c in candidates):
            continue
        yield positions.problem(
            where,
            f"{key_path(where)}: {show(uri)} is outside this workflow's write grants (iam.s3_read_write, "
            "iam.s3_write_only): an outlet triggers every DAG scheduled on that dataset, other teams' included, "
            f"so announce only data this workflow writes: grant it the write (iam.s3_write_only: ['{path}'], or a "
            "prefix of it ending in '*') or remove the outlet",
            severity=WARNING,
        )


def _iam_pattern(grant: str) -> re.Pattern[str]:
    """An ``iam.s3_*`` path as IAM matches it in a resource ARN: ``*`` any characters (``/`` included),
    ``?`` any one character, everything else itself (case-sensitive)."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in grant), re.DOTALL)


def _check_timezone(value: Any, positions: Positions) -> Iterator[Problem]:
    if isinstance(value, str) and timezone_valid(value):
        return
    yield positions.problem(
        ("dag", "timezone"), f"{show(value)} is not a time zone: use an IANA name such as Europe/London or UTC"
    )


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
    candidates, suggested = sorted(names), 0
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
                # Each suggestion is a search over every task name: only the first few unknown names get one.
                suggest = (suggested := suggested + 1) <= SUGGESTION_LIMIT
                close = difflib.get_close_matches(dep, candidates, n=1) if suggest else []
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


def _value_places(dag: dict) -> list[tuple[NodePath, Any]]:
    """Every env value (DAG and task level) and param value, where it is."""
    places: list[tuple[NodePath, Any]] = []
    for key in ("env_vars", "params"):
        if isinstance(dag.get(key), dict):
            places.extend((("dag", key, k), v) for k, v in dag[key].items())
    if isinstance(dag.get("tasks"), dict):
        for name, task in dag["tasks"].items():
            if isinstance(task, dict) and isinstance(task.get("env_vars"), dict):
                places.extend((("dag", "tasks", name, "env_vars", k), v) for k, v in task["env_vars"].items())
    return places


# How YAML writes the values whose string the running service's str() keeps recognisable: true/false
# become "True"/"False" and null (or nothing) "None" (today's strings, kept). Any other text YAML 1.1 reads
# as a number, boolean or null does not come back as written.
_KEPT_SPELLINGS = {
    True: frozenset({"true", "True", "TRUE"}),
    False: frozenset({"false", "False", "FALSE"}),
    None: frozenset({"null", "Null", "NULL", "~", ""}),
}
# Texts a reader takes for something else than YAML 1.1 makes of them: a leading zero makes an octal
# number (01234 is 668), colons a base-60 one (1:20 is 80).
_MISREAD_NUMBER = re.compile(r"[-+]?0[0-7_]+|.*:.*")
SPELLING, MEANING = "spelling", "meaning"


def yaml_change(value: Any, written: str | None) -> str | None:
    """How YAML 1.1 changed ``written`` by reading it as ``value`` (not text), as a task gets its string:
    None when the string is what was written (or a kept spelling), ``SPELLING`` when only the way a
    number is written changed (0.10 is "0.1", 0x1F "31"), ``MEANING`` when a reader would expect
    something else (yes is "True", 01234 "668", 1:20 "80")."""
    if written is None or isinstance(value, str):
        return None
    if value is None or isinstance(value, bool):
        return None if written in _KEPT_SPELLINGS[value] else MEANING
    if str(value) == written:
        return None
    return MEANING if _MISREAD_NUMBER.fullmatch(written) else SPELLING


def _check_values_yaml_changes(dag: dict, positions: Positions) -> Iterator[Problem]:
    """Env values and params are passed as text: where YAML 1.1 turned the text into something whose
    string is different (``01234`` → ``668``), the analyst must quote it to get what they wrote. An
    env value must come out as written; a param that is only a number spelt another way (0.10 → "0.1",
    the same number, as the running service passes it) gets a warning, since params are typed values
    the analyst's code reads as numbers."""
    for where, value in _value_places(dag):
        written = positions.text(where)
        change = yaml_change(value, written)
        if change is None or written is None:
            continue
        param = where[1] == "params"
        gets = f"the param is {_quoted(str(value))}" if param else f"the task gets {_quoted(str(value))}"
        same = " (the same number)" if param and change == SPELLING else ""
        yield positions.problem(
            where,
            f"{key_path(where)}: YAML reads {written} as {_yaml_reading(value)}, so {gets}, not "
            f"{_quoted(written)}{same}: quote it: {where[-1]}: {_quoted(written)}",
            severity=WARNING if param and change == SPELLING else ERROR,
        )


def _yaml_reading(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"the number {value!r}"


def _check_templates(dag: dict, positions: Positions) -> Iterator[Problem]:
    for where, value in _value_places(dag):
        if isinstance(value, str):
            problem = template_problem(value)
            if problem:
                yield positions.problem(where, f"{key_path(where)}: {problem}")


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


def _env_var_places(dag: dict) -> list[tuple[NodePath, Any]]:
    """Every env var (DAG and task level), where it is."""
    return [(where, value) for where, value in _value_places(dag) if where[-2] == "env_vars"]


def _check_param_references(dag: dict, positions: Positions) -> Iterator[Problem]:
    """``{{ params.x }}`` in an env var must name a key of ``dag.params``: Airflow renders an unknown one
    as an empty string, so the task would silently get nothing."""
    params = dag.get("params")
    keys = [str(k) for k in params] if isinstance(params, dict) else []
    for where, value in _env_var_places(dag):
        if not isinstance(value, str):
            continue
        for key in params_used(value):
            if key in keys:
                continue
            close = difflib.get_close_matches(key, keys, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            declared = f"dag.params has {', '.join(keys)}" if keys else "dag.params is not set"
            yield positions.problem(
                where,
                f"{key_path(where)} uses params.{key}, which dag.params does not declare ({declared}): "
                f"{hint}add {key} under dag.params or use one of its keys",
            )


def _secret_ids(data: dict, key: str) -> list[str]:
    value = data.get(key)
    return [s for s in value if isinstance(s, str)] if isinstance(value, list) else []


def _check_secret_shadowing(dag: dict, data: dict, positions: Positions) -> Iterator[Problem]:
    """A secret (own or shared) reaches its tasks as ``SECRET_<ID>``, which replaces an env var of the same
    name: say so rather than let the env var's value silently disappear."""
    variables = {secret_env_var(s): (s, "secret") for s in _secret_ids(data, "secrets")}
    variables |= {secret_env_var(s): (s, "shared secret") for s in _secret_ids(data, "shared_secrets")}
    for where, _ in _env_var_places(dag):
        name = str(where[-1])
        if name in variables:
            secret, kind = variables[name]
            yield positions.problem(
                where,
                f"{key_path(where)} is replaced by {kind} '{secret}', which every task gets as "
                f"{name}: rename the env var, or remove it and set the value in the secret",
                key=True,
            )


def _check_shared_secret_clashes(data: dict, positions: Positions) -> Iterator[Problem]:
    """A shared secret that is also one of the workflow's own secrets: tasks would get both as the same
    ``SECRET_<ID>``, and one would silently hide the other."""
    own = set(_secret_ids(data, "secrets"))
    shared = data.get("shared_secrets")
    for index, secret in enumerate(shared if isinstance(shared, list) else ()):
        if secret in own:
            yield positions.problem(
                ("shared_secrets", index),
                f"shared secret '{secret}' is also one of this workflow's own secrets: tasks would get both as "
                f"{secret_env_var(secret)}: remove it from secrets (to use the project's) or from shared_secrets "
                "(to keep the workflow's own)",
            )


S3_KEYS = ("s3_read_only", "s3_read_write", "s3_write_only", "s3_deny")


def _s3_entries(section: Any) -> Iterator[tuple[NodePath, str, list[str]]]:
    """Each path written in an ``iam.s3_*`` list: where it is, the path, and every path of its list."""
    for key in S3_KEYS if isinstance(section, dict) else ():
        paths = section.get(key)
        if not isinstance(paths, list):
            continue
        written = [p for p in paths if isinstance(p, str)]
        for index, path in enumerate(paths):
            if isinstance(path, str):
                yield ("iam", key, index), path, written


def _check_s3_paths(section: Any, positions: Positions) -> Iterator[Problem]:
    """Warnings for S3 paths that match no object, or only one where a prefix was meant. The grant is
    exactly the path as written (as the running service grants it): the warning says what to write, and
    the fix then shows in review as the wider grant it is."""
    for where, path, siblings in _s3_entries(section):
        message = s3_path_warning(path, siblings)
        if message:
            yield positions.problem(where, f"{key_path(where)}: {message}", severity=WARNING)


def _check_platform_buckets(section: Any, positions: Positions, config: StackConfig) -> Iterator[Problem]:
    """iam.s3_* entries that could reach a platform bucket (the rule: workflows/plan/iam.py)."""
    for where, path, _ in _s3_entries(section):
        message = platform_bucket_problem(str(where[1]), path, config)
        if message:
            yield positions.problem(where, f"{key_path(where)}: {message}")


def s3_path_warning(path: str, siblings: list[str]) -> str | None:
    """Why ``path`` (one entry of an ``iam.s3_*`` list that holds ``siblings``) does not match the objects
    its author probably meant, and what to write instead; None when it is fine."""
    if path[:5].lower() == "s3://":
        return (
            f"{show(path)} matches no object: the 's3://' prefix becomes part of the ARN (arn:aws:s3:::{path}), "
            f"so it matches nothing: drop 's3://' and write {show(_object_pattern(path[5:]))}"
        )
    bucket, _, key = path.partition("/")
    if not key:  # "bucket" or "bucket/": the bucket itself (or an empty key), never an object
        if _covered(f"{bucket}/", siblings):
            return None
        return f"{show(path)} matches no object: write '{bucket}/*' for every object in the bucket"
    if key.endswith("/") and not _covered(path, siblings):
        return f"{show(path)} matches only the object named exactly '{key}': write '{path}*' for the objects under it"
    return None


def _object_pattern(path: str) -> str:
    """What to write for ``path`` so that it means the objects it names."""
    bucket, _, key = path.partition("/")
    if not key:
        return f"{bucket}/*"
    return f"{path}*" if key.endswith("/") else path


def _covered(prefix: str, siblings: list[str]) -> bool:
    """Whether another entry (``bucket/prefix/*``, ``bucket/*``, ``bucket/pre*``) already matches every object
    under ``prefix``: then the entry that names no object asks for nothing its author lacks."""
    # ``H*`` matches every key ``P*`` does when ``H`` is a prefix of ``P`` as written (wildcards in ``H`` included).
    return any(other.endswith("*") and prefix.startswith(other[:-1]) for other in siblings)


def _check_iam(section: Any, positions: Positions) -> Iterator[Problem]:
    if not isinstance(section, dict):
        return
    if section.get("textract") is True and not section.get("s3_read_only"):
        yield positions.problem(
            ("iam", "textract"),
            "iam.textract needs iam.s3_read_only: list the bucket paths Textract reads from",
            key=True,
        )
    # cloudwatch_logs_read_only: the schema's pattern, worded by workflows/manifest/log_groups.py.
    if "external_role" in section:
        generated = sorted(k for k in section if k != "external_role")
        if generated:
            yield positions.problem(
                ("iam", generated[0]),
                f"iam.external_role replaces the generated role, so {', '.join(generated)} would have no effect: "
                "grant those permissions on the external role instead",
                key=True,
            )
