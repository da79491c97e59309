"""The manifest's JSON Schema (``workflows/schema/workflow.schema.json``) and its errors in plain words.

The schema is the one editors use (the ``yaml-language-server`` line of every
example): shape, types, allowed keys and values. :func:`schema_problems` runs it
with ECMA-262 ``$`` semantics and words each error for an analyst, at the
position of the offending key or value.

The file's structure is written by hand; the compute profile names
(``$defs/compute_profile``, which both compute profile keys ``$ref``) and every
``default`` are generated from their one home by :mod:`workflows.manifest.schema_source`.
The validator takes the whole schema as its root, so those local ``#/$defs/...``
references resolve; an error inside a referenced definition is still reported at
the manifest key that refers to it.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError

from workflows.errors import Problem
from workflows.manifest.load import NodePath, Positions, key_path
from workflows.manifest.log_groups import log_group_problem

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"
SCHEMA_PATH = SCHEMA_DIR / "workflow.schema.json"
# A project's project.yml: its definitions of a secret id and a GitHub username are the workflow schema's
# (copied in by workflows/manifest/schema_source.py), so both manifests follow one rule for each.
PROJECT_SCHEMA_PATH = SCHEMA_DIR / "project.schema.json"


@cache
def schema(path: Path = SCHEMA_PATH) -> dict[str, Any]:
    return json.loads(path.read_text())


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
def _validator(path: Path = SCHEMA_PATH) -> Draft202012Validator:
    strict = validators.extend(Draft202012Validator, {"pattern": _pattern})
    return strict(schema(path), format_checker=FormatChecker())


def schema_problems(data: Any, positions: Positions, path: Path = SCHEMA_PATH) -> tuple[list[Problem], bool]:
    """Every schema problem of a loaded document (a workflow's, or with ``path`` the project schema's),
    and whether there was any schema error at all."""
    errors = sorted(_validator(path).iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    return [problem for error in errors for problem in _schema_problem(error, positions)], bool(errors)


def _schema_problem(error: ValidationError, positions: Positions) -> Iterator[Problem]:
    where: NodePath = tuple(error.absolute_path)
    field = key_path(where)
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
                code="unknown-key",
            )
    elif validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        name = missing[0] if missing else error.message
        yield positions.problem(
            where, f"missing required key '{name}' in {field or 'the manifest'}", code="missing-key"
        )
    elif "propertyNames" in error.relative_schema_path and isinstance(instance, str):
        yield positions.problem(
            (*where, instance),
            f"'{instance}' is not a valid name here: {_names_rule(where)}",
            key=True,
            code="invalid-name",
        )
    elif validator == "enum":
        yield positions.problem(where, _enum_message(field, instance, list(error.validator_value)), code="not-allowed")
    elif validator == "type":
        yield positions.problem(
            where, f"{field} must be {_type_words(error.validator_value)}, not {show(instance)}", code="wrong-type"
        )
    elif validator in ("pattern", "format"):
        description = error.schema.get("description") if isinstance(error.schema, dict) else None
        rule = _value_rule(where, description)
        if "cloudwatch_logs_read_only" in where and isinstance(instance, str):
            rule = log_group_problem(instance) or rule  # what exactly is wrong: a wildcard, the region, ...
        yield positions.problem(
            where, f"{show(instance)} is not a valid value for {field}: {rule}", code="invalid-value"
        )
    elif validator == "uniqueItems":
        yield from _repeats(where, field, instance, positions)
    elif validator in ("minItems", "minProperties", "minLength"):
        yield positions.problem(where, f"{field} must not be empty", code="empty")
    elif validator in ("minimum", "maximum"):
        bound = "at least" if validator == "minimum" else "at most"
        yield positions.problem(
            where, f"{field} must be {bound} {error.validator_value}, not {show(instance)}", code="out-of-range"
        )
    elif validator == "maxLength":
        yield positions.problem(where, f"{field} must be at most {error.validator_value} characters", code="too-long")
    elif validator in ("oneOf", "anyOf") and where[-1:] == ("schedule",):
        yield positions.problem(
            where,
            'dag.schedule must be a cron expression or preset ("0 5 * * *", "@daily"), None, '
            "a mapping with one of seconds/minutes/hours (whole numbers), or a mapping with datasets (a list of URIs)",
            code="invalid-schedule",
        )
    elif validator in ("oneOf", "anyOf"):
        best = error.context[0] if error.context else None
        if best is not None:
            yield from _schema_problem(best, positions)
        else:
            yield positions.problem(where, f"{field} has an invalid value {show(instance)}")
    else:
        yield positions.problem(where, f"{field}: {error.message}")


# Longest list of allowed values an enum error spells out; past it, only the nearest are named.
ENUM_LIST_LIMIT = 12
# A sized name: ``<family>-<n>vcpu-<m>gb`` (the compute profiles).
_SIZED = re.compile(r"^(?P<family>.*?)-?(?P<vcpu>\d+)vcpu-(?P<memory>\d+)gb$", re.IGNORECASE)


def _enum_message(field: str, instance: Any, allowed: list[Any]) -> str:
    """What was written is not allowed: the closest allowed values first, then every allowed value when
    there are few enough to read."""
    message = f"{show(instance)} is not allowed for {field}"
    near = _nearest(instance, [str(v) for v in allowed]) if isinstance(instance, str) else []
    if near:
        message += f"; did you mean {_or(near)}?"
    listed = ", ".join(str(v) for v in allowed)
    if len(allowed) > ENUM_LIST_LIMIT:
        where = field.rsplit(".", maxsplit=1)[-1]
        return f"{message} (the {len(allowed)} allowed values are listed under {where} in docs/workflow-reference.md)"
    return f"{message} (allowed: {listed})" if near else f"{message}; allowed: {listed}"


def _or(values: list[str]) -> str:
    quoted = [f"'{v}'" for v in values]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + f" or {quoted[-1]}"


def _nearest(written: str, allowed: list[str]) -> list[str]:
    """The allowed values closest to ``written``: the same but for case; for a sized name, those of the
    same family with the same vCPU or memory (the exact size in another family if none); else the
    closest spellings."""
    same_case = [v for v in allowed if v.casefold() == written.strip().casefold()]
    if same_case:
        return same_case
    sized = _SIZED.match(written.strip())
    if sized:
        vcpu, memory, family = int(sized["vcpu"]), int(sized["memory"]), sized["family"].lower()
        shapes = [(v, _SIZED.match(v)) for v in allowed]
        shapes = [(v, m) for v, m in shapes if m]
        same_family = [
            v for v, m in shapes if m["family"] == family and (int(m["vcpu"]) == vcpu or int(m["memory"]) == memory)
        ]
        if same_family:
            return same_family
        same_size = [v for v, m in shapes if int(m["vcpu"]) == vcpu and int(m["memory"]) == memory]
        if same_size:
            return same_size
    return difflib.get_close_matches(written, allowed, n=3)


def _repeats(where: NodePath, field: str, instance: Any, positions: Positions) -> Iterator[Problem]:
    """Each repeat of an earlier entry, at the repeat, naming the value."""
    seen: dict[str, int] = {}
    for index, value in enumerate(instance if isinstance(instance, list) else ()):
        token = json.dumps(value, sort_keys=True, default=str)
        if token in seen:
            yield positions.problem(
                (*where, index),
                f"{field} lists {show(value)} more than once (entries {seen[token] + 1} and {index + 1}): "
                "remove the repeat",
                code="duplicate",
            )
        else:
            seen[token] = index
    if not seen:
        yield positions.problem(where, f"{field} lists the same value more than once", code="duplicate")


def show(value: Any) -> str:
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
    "owner": "use an email address",
    "external_role": "it must be an IAM role ARN, arn:aws:iam::<account>:role/<name>",
    "kms": "each entry must be a KMS key ARN, arn:aws:kms:<region>:<account>:key/<id>",
    "s3_read_only": "each entry must be a bucket path such as my-bucket/prefix/* (not an ARN)",
    "s3_read_write": "each entry must be a bucket path such as my-bucket/prefix/* (not an ARN)",
    "s3_write_only": "each entry must be a bucket path such as my-bucket/prefix/* (not an ARN)",
    "s3_deny": "each entry must be a bucket path such as my-bucket/prefix/* (not an ARN)",
    "secrets": "secret ids use lower-case letters, digits and '-'",
    "shared_secrets": "secret ids use lower-case letters, digits and '-'",
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
