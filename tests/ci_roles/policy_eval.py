"""A small IAM identity-policy evaluator for the tests: is ``action`` on ``resource`` allowed?

What it models, as IAM documents it for one identity policy: an explicit ``Deny``
wins over any ``Allow``; ``Action``/``NotAction`` match without case, with ``*`` and
``?`` wildcards; ``Resource``/``NotResource`` match with case; a statement applies only
when every condition holds for the request's context. Conditions: ``StringEquals``,
``StringLike``, ``ArnEquals``, ``ArnLike``, ``Bool`` (a key absent from the context fails
them), and their ``ForAnyValue:`` forms for multi-valued keys. Any other operator makes the
test fail loudly rather than guess. No permission boundaries, SCPs or resource policies.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from typing import Any

Context = Mapping[str, str | Sequence[str]]


def allowed(document: Mapping[str, Any], action: str, resource: str, context: Context | None = None) -> bool:
    """Whether the document allows ``action`` on ``resource`` in ``context``."""
    context = context or {}
    decision = False
    for statement in statements(document):
        if not _applies(statement, action, resource, context):
            continue
        if statement["Effect"] == "Deny":
            return False
        decision = decision or statement["Effect"] == "Allow"
    return decision


def statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = document.get("Statement") or []
    return [found] if isinstance(found, Mapping) else list(found)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def action_matches(pattern: str, action: str) -> bool:
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def _applies(statement: Mapping[str, Any], action: str, resource: str, context: Context) -> bool:
    if "Action" in statement:
        if not any(action_matches(p, action) for p in as_list(statement["Action"])):
            return False
    elif any(action_matches(p, action) for p in as_list(statement.get("NotAction"))):
        return False
    if "Resource" in statement:
        if not any(fnmatch.fnmatchcase(resource, p) for p in as_list(statement["Resource"])):
            return False
    elif any(fnmatch.fnmatchcase(resource, p) for p in as_list(statement.get("NotResource"))):
        return False
    return all(
        _holds(operator, key, as_list(values), context)
        for operator, keys in (statement.get("Condition") or {}).items()
        for key, values in keys.items()
    )


def _holds(operator: str, key: str, expected: list[Any], context: Context) -> bool:
    qualifier, _, test = operator.rpartition(":")
    if qualifier not in ("", "ForAnyValue"):
        raise NotImplementedError(f"condition operator {operator}")
    given = context.get(key)
    if given is None:
        return False
    values = as_list(given)
    if test == "Bool":
        return any(str(value).lower() == str(e).lower() for value in values for e in expected)
    if test in ("StringEquals", "ArnEquals"):
        return any(str(value) == str(e) for value in values for e in expected)
    if test in ("StringLike", "ArnLike"):
        return any(fnmatch.fnmatchcase(str(value), str(e)) for value in values for e in expected)
    raise NotImplementedError(f"condition operator {operator}")
