"""The JSON Schema file: valid draft 2020-12, in step with the code, and covered by the examples."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from tests.conftest import EXAMPLES
from workflows.dags.runtime import compute_profiles
from workflows.manifest.schema import SCHEMA_PATH, schema

EXAMPLE_MANIFESTS = sorted(EXAMPLES.glob("*/*/*/workflow.yml"))


def properties(node: dict[str, Any], prefix: str = "") -> set[str]:
    """Every key path the schema allows (``dag.tasks.*.env_vars`` style, maps as ``*``)."""
    found: set[str] = set()
    for key, child in node.get("properties", {}).items():
        path = f"{prefix}{key}"
        found.add(path)
        found |= properties(child, f"{path}.")
        for option in child.get("oneOf", []) + child.get("anyOf", []):
            found |= properties(option, f"{path}.")
        extra = child.get("additionalProperties")
        if isinstance(extra, dict):
            for option in [extra, *extra.get("anyOf", [])]:
                found |= properties(option, f"{path}.*.")
    return found


def used(value: Any, prefix: str = "", maps: tuple[str, ...] = ("dag.tasks",)) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for key, child in value.items():
            path = f"{prefix}{key}"
            found.add(path)
            if path in maps:
                for task in child.values():
                    found |= used(task or {}, f"{path}.*.")
            elif not path.endswith(("env_vars", "params")):
                found |= used(child, f"{path}.")
    return found


def test_schema_is_valid_draft_2020_12():
    Draft202012Validator.check_schema(schema())
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_forbids_unknown_keys_everywhere():
    def objects(node: Any) -> list[dict]:
        if isinstance(node, dict):
            own = [node] if node.get("type") == "object" and "properties" in node else []
            return own + [o for child in node.values() for o in objects(child)]
        if isinstance(node, list):
            return [o for child in node for o in objects(child)]
        return []

    assert all(o.get("additionalProperties") is False for o in objects(schema()))


def resolved(node: dict[str, Any]) -> dict[str, Any]:
    """``node`` with a local ``$ref`` (``#/$defs/...``) replaced by what it points to, its own keywords on top."""
    ref = node.get("$ref")
    if ref is None:
        return node
    assert ref.startswith("#/"), ref
    target: Any = schema()
    for part in ref[2:].split("/"):
        target = target[part]
    return {**resolved(target), **{k: v for k, v in node.items() if k != "$ref"}}


def test_compute_profiles_in_the_schema_are_the_runtime_ones():
    enum = resolved(schema()["properties"]["dag"]["properties"]["compute_profile"])["enum"]
    assert enum == list(compute_profiles.names())
    assert "general-spot-1vcpu-4gb" in enum
    task = schema()["properties"]["dag"]["properties"]["tasks"]["additionalProperties"]["anyOf"][0]
    assert resolved(task["properties"]["compute_profile"])["enum"] == enum


@pytest.mark.parametrize("path", EXAMPLE_MANIFESTS, ids=lambda p: "/".join(p.parts[-4:-1]))
def test_examples_validate_in_an_editor(path: Path):
    """What yaml-language-server does: the modeline points at the schema, which accepts the file."""
    text = path.read_text()
    modeline = re.search(r"# yaml-language-server: \$schema=(\S+)", text)
    assert modeline, "examples carry the schema modeline"
    assert (path.parent / modeline[1]).resolve() == SCHEMA_PATH
    errors = list(Draft202012Validator(schema()).iter_errors(yaml.safe_load(text)))
    assert errors == []


def test_examples_together_use_every_key():
    keys = set().union(*(used(yaml.safe_load(p.read_text())) for p in EXAMPLE_MANIFESTS))
    assert properties(schema()) - keys == set()
