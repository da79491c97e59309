"""docs/workflow-reference.md is generated from the schemas (workflow.yml, project.yml), complete, and its
examples are valid: each workflow example passes ``validate``, each project.yml example ``check_project``, and
the workflow examples that read shared secrets pass against the doc's own project.yml."""

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
from workflows.manifest.schema import PROJECT_SCHEMA_PATH, schema
from workflows.validate import check_project

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


def test_every_project_key_has_a_section_and_example():
    text = reference.render()
    keys = reference.project_keys()
    assert [k.name for k in keys] == list(schema(PROJECT_SCHEMA_PATH)["properties"])
    for key in keys:
        heading = f"### {reference._project_heading(key)}"
        assert f"\n{heading}\n" in text
        # Linked from the project part's table, by the heading's own anchor (not the workflow key's).
        assert f"(#{reference._anchor(reference._project_heading(key))})" in text


def test_project_keys_read_the_workflow_schemas_definitions():
    """project.schema.json's items $ref workflow.schema.json's definitions: documented as those definitions."""
    definitions = schema()["$defs"]
    by_name = {k.name: k.schema for k in reference.project_keys()}
    assert by_name["secrets"]["items"]["pattern"] == definitions["secret_id"]["pattern"]
    assert by_name["maintainers"]["items"]["pattern"] == definitions["github_username"]["pattern"]


def test_workflow_keys_link_to_the_project_part():
    text = reference.render()
    anchor = f"(#{reference._project_anchor()})"
    assert f"\n## {reference.PROJECT_TITLE}\n" in text
    assert reference._project_anchor() == "secrets-shared-by-a-project-projectyml"
    section = text.split("\n### `shared_secrets`\n", 1)[1].split("\n### ", 1)[0]
    assert anchor in section


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


@pytest.mark.parametrize("key", reference.project_keys(), ids=lambda k: k.name)
def test_each_project_example_is_valid(key):
    value = reference.example(key, reference.PROJECT_EXAMPLES)
    Draft202012Validator(key.schema, format_checker=FormatChecker()).validate(value)


def test_a_key_without_an_example_fails_generation():
    root = copy.deepcopy(schema())
    root["properties"]["dag"]["properties"]["new_key"] = {"type": "string", "description": "Something new."}
    with pytest.raises(KeyError, match=r"dag\.new_key"):
        reference.render(root)
    project_root = copy.deepcopy(schema(PROJECT_SCHEMA_PATH))
    project_root["properties"]["new_key"] = {"type": "string", "description": "Something new."}
    with pytest.raises(KeyError, match=r"new_key: add one to .*PROJECT_EXAMPLES"):
        reference.render(project_root=project_root)


def test_a_ref_outside_the_schema_folder_is_refused():
    for ref in ("../secrets.json#/x", "https://example.com/s.json#/x", "missing.schema.json#/x"):
        with pytest.raises(ValueError, match="only \\$refs"):
            reference.inline_refs({"properties": {"a": {"$ref": ref}}})


def test_placeholders_are_escaped():
    assert "&lt;org&gt;/&lt;name&gt;" in reference.render()


def _blocks(text: str) -> list[str]:
    return re.findall(r"^```yaml\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


def _doc_parts() -> tuple[str, str]:
    """The committed doc's workflow part and its project.yml part."""
    workflow_part, project_part = DOC.read_text().split(f"\n## {reference.PROJECT_TITLE}\n")
    return workflow_part, project_part


def _doc_examples() -> list[str]:
    """The workflow manifests' YAML example blocks of docs/workflow-reference.md, as written there: the workflow
    part's, then the project part's workflow example (its first line says so)."""
    workflow_part, project_part = _doc_parts()
    in_project_part = [b for b in _blocks(project_part) if b.startswith(reference.WORKFLOW_EXAMPLE_COMMENT)]
    return _blocks(workflow_part) + in_project_part


def _project_examples() -> list[str]:
    """The project.yml example blocks of the doc's project part: the smallest project file first."""
    _, project_part = _doc_parts()
    return [b for b in _blocks(project_part) if not b.startswith(reference.WORKFLOW_EXAMPLE_COMMENT)]


def test_the_reference_has_its_examples():
    # The smallest valid manifest and one example per key: a change that drops them fails here.
    assert len(_doc_examples()) >= 50
    # The project part: both files side by side, and one example per project.yml key.
    projects = _project_examples()
    assert len(projects) == 1 + len(reference.project_keys())
    assert projects[0].startswith(reference.PROJECT_EXAMPLE_COMMENT)
    assert sum("shared_secrets" in yaml.safe_load(e) for e in _doc_examples()) >= 2


def _write_doc_project(manifest_path) -> None:
    """The doc's smallest project.yml, in the project folder of the workflow manifest at ``manifest_path``."""
    (manifest_path.parent.parent / "project.yml").write_text(_project_examples()[0])


# Examples the generator writes that `validate` refuses today (reported; the examples live in
# workflows/manifest/reference.py and the schema): strict, so this fails once they are fixed.
@pytest.mark.parametrize("index", range(len(_doc_examples())))
def test_each_example_of_the_reference_passes_validate(index, manifest, capsys):
    """Each example block of the committed doc, nested into the smallest valid manifest (itself the doc's first
    example), passes ``python -m workflows validate`` (every rule, not only the schema): no error. One that
    reads shared secrets does so in a project whose project.yml is the doc's own example."""
    examples = _doc_examples()
    minimal, example = yaml.safe_load(examples[0]), yaml.safe_load(examples[index])
    path = manifest(yaml.safe_dump(deep_merge(minimal, example), sort_keys=False))
    if example.get("dag", {}).get("python_dag"):
        (path.parent / "dag.py").write_text(OWN_DAG_PY)  # python_dag means a dag.py of the workflow's own
    if example.get("shared_secrets"):
        _write_doc_project(path)
    code = main(["validate", str(path)])
    printed = capsys.readouterr().out
    assert code == 0, f"{examples[index]}\n{printed}"


@pytest.mark.parametrize("index", range(len(_project_examples())))
def test_each_project_example_of_the_reference_passes_check_project(index, manifest, config):
    """Each project.yml example of the committed doc, nested into the smallest project file (the part's first
    example), passes ``check_project`` (every rule, with the doc's workflow example reading its secret beside
    it): no problem at all."""
    examples = _project_examples()
    minimal, example = yaml.safe_load(examples[0]), yaml.safe_load(examples[index])
    workflow = manifest(yaml.safe_dump(deep_merge(yaml.safe_load(_doc_examples()[0]), _shared_example())))
    path = workflow.parent.parent / "project.yml"
    path.write_text(yaml.safe_dump(deep_merge(minimal, example), sort_keys=False))
    project, problems = check_project(path, config)
    assert problems == [], f"{examples[index]}\n{problems}"
    assert project is not None


def _shared_example() -> dict[str, Any]:
    """The project part's workflow example (what a workflow adds to read a shared secret)."""
    (block,) = [b for b in _doc_examples() if b.startswith(reference.WORKFLOW_EXAMPLE_COMMENT)]
    return yaml.safe_load(block)


def test_the_shared_secrets_example_is_checked_against_the_project_example(manifest, capsys):
    """Without the doc's project.yml, or with one that does not declare the id, the workflow example is refused:
    the passes above mean the two examples agree."""
    minimal = yaml.safe_load(_doc_examples()[0])
    path = manifest(yaml.safe_dump(deep_merge(minimal, _shared_example()), sort_keys=False))
    assert main(["validate", str(path)]) == 1
    assert "shared_secrets needs the project to declare them" in capsys.readouterr().out
    project = yaml.safe_load(_project_examples()[0])
    (path.parent.parent / "project.yml").write_text(yaml.safe_dump({**project, "secrets": ["another-login"]}))
    assert main(["validate", str(path)]) == 1
    assert "is not declared in" in capsys.readouterr().out
    _write_doc_project(path)
    assert main(["validate", str(path)]) == 0
