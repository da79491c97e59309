"""The committed schema is generated where its facts live elsewhere: compute profiles and defaults."""

from __future__ import annotations

import ast
import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from tests.conftest import REPO
from workflows import model
from workflows.dags.runtime import RUNTIME_DIR, RUNTIME_PACKAGE, compute_profiles
from workflows.manifest import schema_source
from workflows.manifest.load import load
from workflows.manifest.schema import PROJECT_SCHEMA_PATH, SCHEMA_PATH, schema, schema_problems

PROFILE_REF = {"$ref": "#/$defs/compute_profile"}
OPERATOR = RUNTIME_DIR / RUNTIME_PACKAGE / "standard_operator.py"


def dag_keys() -> dict:
    return schema()["properties"]["dag"]["properties"]


def task_keys() -> dict:
    return dag_keys()["tasks"]["additionalProperties"]["anyOf"][0]["properties"]


def test_committed_schema_is_exactly_the_generated_one():
    assert SCHEMA_PATH.read_text() == schema_source.text(schema_source.generated_schema()), (
        f"{SCHEMA_PATH.relative_to(REPO)} is out of date: run `python -m workflows.manifest.schema_source --write`"
    )


def test_check_option(monkeypatch, tmp_path, capsys):
    assert schema_source.main(["--check"]) == 0
    stale = tmp_path / "workflow.schema.json"
    root = json.loads(SCHEMA_PATH.read_text())
    root["properties"]["dag"]["properties"]["retries"]["default"] = 3
    stale.write_text(json.dumps(root, indent=2) + "\n")
    monkeypatch.setattr(schema_source, "SCHEMA_PATH", stale)
    assert schema_source.main(["--check"]) == 1
    assert "--write" in capsys.readouterr().err
    assert schema_source.main(["--write"]) == 0
    assert json.loads(stale.read_text())["properties"]["dag"]["properties"]["retries"]["default"] == 0
    assert schema_source.main(["--check"]) == 0


def test_committed_project_schema_is_exactly_the_generated_one():
    assert PROJECT_SCHEMA_PATH.read_text() == schema_source.text(schema_source.generated_project_schema())


def test_the_project_schema_takes_its_rules_for_ids_and_usernames_from_the_workflow_schema():
    """One rule for a secret id and a GitHub username, in the workflow schema; the project schema holds a copy
    (an editor reads it alone) that --check keeps equal."""
    project = schema(PROJECT_SCHEMA_PATH)
    workflow = schema()
    assert project["properties"]["secrets"]["items"] == {"$ref": "#/$defs/secret_id"}
    assert project["properties"]["maintainers"]["items"] == {"$ref": "#/$defs/github_username"}
    assert workflow["properties"]["secrets"]["items"] == {"$ref": "#/$defs/secret_id"}
    assert workflow["properties"]["shared_secrets"]["items"] == {"$ref": "#/$defs/secret_id"}
    assert workflow["properties"]["maintainers"]["items"] == {"$ref": "#/$defs/github_username"}
    for name in ("secret_id", "github_username"):
        assert project["$defs"][name] == workflow["$defs"][name]
    changed = copy.deepcopy(workflow)
    changed["$defs"]["secret_id"]["maxLength"] = 50
    generated = schema_source.generated_project_schema(project, changed)
    assert generated["$defs"]["secret_id"]["maxLength"] == 50
    assert "$ref" not in json.dumps(generated).replace('"$ref": "#/', "")  # no reference to another file


def test_check_option_covers_the_project_schema(monkeypatch, tmp_path, capsys):
    stale = tmp_path / "project.schema.json"
    root = json.loads(PROJECT_SCHEMA_PATH.read_text())
    root["$defs"]["secret_id"]["pattern"] = "^.*$"
    stale.write_text(json.dumps(root, indent=2) + "\n")
    monkeypatch.setattr(schema_source, "PROJECT_SCHEMA_PATH", stale)
    assert schema_source.main(["--check"]) == 1
    assert f"{stale} is out of date" in capsys.readouterr().err
    assert schema_source.main(["--write"]) == 0
    assert json.loads(stale.read_text())["$defs"]["secret_id"]["pattern"] == "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
    assert schema_source.main(["--check"]) == 0


def test_compute_profiles_have_one_definition_with_every_name():
    enum = schema()["$defs"]["compute_profile"]["enum"]
    assert len(enum) == 36
    assert "gpu-on-demand-128vcpu-512gb" in enum
    assert enum[0] == "general-spot-1vcpu-4gb"
    assert enum == list(compute_profiles.names())


def test_both_compute_profile_keys_refer_to_the_definition():
    assert dag_keys()["compute_profile"] == {**PROFILE_REF, "default": "general-spot-1vcpu-4gb"}
    # A task's unset profile is the DAG's, not a fixed default.
    assert task_keys()["compute_profile"] == PROFILE_REF
    enum_homes = [path for path in _paths(schema()) if path.endswith("/enum") and "compute_profile" in path]
    assert enum_homes == ["$defs/compute_profile/enum"]


def _paths(node, prefix=""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield f"{prefix}{key}"
            yield from _paths(value, f"{prefix}{key}/")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, f"{prefix}{i}/")


def test_defaults_are_the_models():
    assert dag_keys()["retry_delay"]["default"] == 300
    assert dag_keys()["start_date"]["default"] == "2025-01-01"
    assert dag_keys()["timezone"]["default"] == "UTC"
    assert dag_keys()["max_active_runs"]["default"] == 1
    assert dag_keys()["schedule"]["default"] is None
    assert dag_keys()["hmcts_sdp_networking"]["default"] is False
    assert schema()["properties"]["notifications"]["properties"]["slack_events"]["default"] == ["failure", "success"]
    assert schema()["properties"]["notifications"]["properties"]["email_events"]["default"] == ["failure", "retry"]
    assert schema()["properties"]["iam"]["properties"]["glue"]["default"] is False


def test_the_default_compute_profile_has_one_home():
    assert compute_profiles.DEFAULT == "general-spot-1vcpu-4gb"
    assert model.DEFAULT_COMPUTE_PROFILE is compute_profiles.DEFAULT
    assert model.Task("x").compute_profile is compute_profiles.DEFAULT
    assert dag_keys()["compute_profile"]["default"] == compute_profiles.DEFAULT


def test_the_operator_imports_the_default_profile():
    """The operator needs Airflow, so its source is read rather than imported."""
    tree = ast.parse(OPERATOR.read_text())
    imports = [
        (node.module, alias.name, alias.asname)
        for node in tree.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    ]
    assert ("analytical_platform.compute_profiles", "DEFAULT", "DEFAULT_COMPUTE_PROFILE") in imports
    assigned = [
        target.id
        for node in ast.walk(tree)
        if isinstance(node, (ast.Assign, ast.AnnAssign))
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    ]
    assert "DEFAULT_COMPUTE_PROFILE" not in assigned
    assert "general-spot-1vcpu-4gb" not in OPERATOR.read_text()


def test_a_changed_model_default_changes_the_schema(monkeypatch):
    monkeypatch.setattr(model.Dag.__dataclass_fields__["retries"], "default", 2)
    assert schema_source.generated_schema()["properties"]["dag"]["properties"]["retries"]["default"] == 2


def test_a_hand_written_default_value_is_replaced():
    structure = copy.deepcopy(schema())
    structure["properties"]["dag"]["properties"]["retry_delay"]["default"] = 60
    structure["properties"]["dag"]["properties"]["compute_profile"]["default"] = "gpu-spot-1vcpu-4gb"
    structure["$defs"]["compute_profile"]["enum"] = ["general-spot-1vcpu-4gb"]
    assert schema_source.generated_schema(structure) == schema()


def test_a_real_model_default_is_added_where_the_schema_has_none():
    structure = copy.deepcopy(schema())
    del structure["properties"]["dag"]["properties"]["catchup"]["default"]
    del structure["properties"]["dag"]["properties"]["schedule"]["default"]  # None: stays out
    generated = schema_source.generated_schema(structure)["properties"]["dag"]["properties"]
    assert generated["catchup"]["default"] is False
    assert "default" not in generated["schedule"]


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (("properties", "dag", "properties", "tag"), "dag.tag has a default"),
        (("properties", "tags", "properties", "owner"), "outside"),
        (("$defs", "compute_profile"), "outside"),
    ],
)
def test_a_default_the_model_cannot_supply_is_an_error(where, message):
    structure = copy.deepcopy(schema())
    node = structure
    for part in where:
        node = node[part]
    node["default"] = "x"
    with pytest.raises(schema_source.SchemaSourceError, match=message):
        schema_source.generated_schema(structure)


def test_the_generated_schema_is_valid_draft_2020_12():
    Draft202012Validator.check_schema(schema_source.generated_schema())


@pytest.mark.parametrize(
    ("yaml_text", "field", "line"),
    [
        ("  compute_profile: general-spot-2vcpu-4gb\n", "dag.compute_profile", 4),
        ("  tasks:\n    one:\n      compute_profile: gpu-spot-3vcpu-8gb\n", "dag.tasks.one.compute_profile", 6),
    ],
)
def test_a_bad_profile_is_reported_at_its_key_with_the_allowed_names(yaml_text, field, line):
    text = (
        "dag:\n  repository: org/repo\n  tag: v1\n"
        + yaml_text
        + "maintainers: [octocat]\ntags:\n  business_unit: HQ\n  owner: a@justice.gov.uk\n"
    )
    data, positions = load(Path("workflow.yml"), text)
    problems, any_error = schema_problems(data, positions)
    assert any_error
    (problem,) = problems
    assert problem.line == line
    assert f"is not allowed for {field}; did you mean " in problem.message
    # The nearest profiles, not all 36.
    assert "gpu-on-demand-128vcpu-512gb" not in problem.message
