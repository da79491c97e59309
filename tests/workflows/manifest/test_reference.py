"""docs/workflow-reference.md is generated from the schema, complete, and its examples are valid."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from tests.conftest import REPO
from workflows.manifest import reference
from workflows.manifest.schema import schema

DOC = REPO / reference.DOC_PATH


def test_committed_reference_is_up_to_date():
    assert DOC.read_text() == reference.render(), (
        "docs/workflow-reference.md is out of date: "
        "run `python -m workflows.manifest.reference > docs/workflow-reference.md`"
    )


def test_check_option(tmp_path, capsys):
    stale = tmp_path / "reference.md"
    stale.write_text("old\n")
    assert reference.main(["--check", str(stale)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert reference.main(["--check", str(DOC)]) == 0


def test_every_key_has_a_section_default_and_example():
    text = reference.render()
    all_keys = reference.manifest_keys()
    names = {k.name for k in all_keys}
    # Spot checks that the walk reaches every level, including a task's keys.
    assert {"dag", "dag.retries", "dag.tasks.<task>.compute_profile", "iam.s3_read_only", "tags.owner"} <= names
    for key in all_keys:
        assert f"\n### `{key.name}`\n" in text
        if "default" in key.schema and reference.TASK not in key.path:
            assert (
                f"- Default: `{reference.json.dumps(key.schema['default'])}`" in text or key.schema["default"] is None
            )


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for name, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(name), dict):
            merged[name] = deep_merge(merged[name], value)
        else:
            merged[name] = value
    return merged


@pytest.mark.parametrize("key", reference.manifest_keys(), ids=lambda k: k.name)
def test_each_example_is_valid(key):
    value = reference.example(key)
    Draft202012Validator(key.schema, format_checker=FormatChecker()).validate(value)
    # And in a whole manifest, nested where it belongs.
    minimal = {k.name: reference.example(k) for k in reference.manifest_keys() if len(k.path) == 1 and k.required}
    manifest = deep_merge(minimal, reference._nest(key.path, value))
    errors = list(Draft202012Validator(schema(), format_checker=FormatChecker()).iter_errors(manifest))
    assert errors == []


def test_a_key_without_an_example_fails_generation():
    root = copy.deepcopy(schema())
    root["properties"]["dag"]["properties"]["new_key"] = {"type": "string", "description": "Something new."}
    with pytest.raises(KeyError, match=r"dag\.new_key"):
        reference.render(root)


def test_placeholders_are_escaped():
    assert "&lt;org&gt;/&lt;name&gt;" in reference.render()
