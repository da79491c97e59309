"""docs/workflow-reference.md is generated from the schema, complete, and its examples are valid."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker

from shell.cli import main
from tests.conftest import REPO
from tests.shell.test_cli import OWN_DAG_PY
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


def _doc_examples() -> list[str]:
    """The YAML example blocks of docs/workflow-reference.md, as written there."""
    return re.findall(r"^```yaml\n(.*?)^```$", DOC.read_text(), flags=re.MULTILINE | re.DOTALL)


def test_the_reference_has_its_examples():
    # The smallest valid manifest and one example per key: a change that drops them fails here.
    assert len(_doc_examples()) >= 50


# Examples the generator writes that `validate` refuses today (reported; the examples live in
# workflows/manifest/reference.py and the schema): strict, so this fails once they are fixed.
@pytest.mark.parametrize("index", range(len(_doc_examples())))
def test_each_example_of_the_reference_passes_validate(index, manifest, capsys):
    """Each example block of the committed doc, nested into the smallest valid manifest (itself the doc's first
    example), passes ``python -m workflows validate`` (every rule, not only the schema): no error."""
    examples = _doc_examples()
    minimal, example = yaml.safe_load(examples[0]), yaml.safe_load(examples[index])
    path = manifest(yaml.safe_dump(deep_merge(minimal, example), sort_keys=False))
    if example.get("dag", {}).get("python_dag"):
        (path.parent / "dag.py").write_text(OWN_DAG_PY)  # python_dag means a dag.py of the workflow's own
    code = main(["validate", str(path)])
    printed = capsys.readouterr().out
    assert code == 0, f"{examples[index]}\n{printed}"
