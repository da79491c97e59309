"""Project-shared secrets: ``project.yml`` checked with positions, a workflow's ``shared_secrets`` checked
against it, the plans and names they give, and what removing one that is in use does (refused)."""

from __future__ import annotations

import json
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import MINIMAL
from workflows.errors import ManifestError
from workflows.validate import check_project, check_workflow, load_stack

PROJECT = """
secrets:
  - warehouse-login
  - api-token
maintainers:
  - octo-analyst
  - Data-Engineer
"""


@pytest.fixture
def project(tmp_path: Path):
    """Write ``<tmp>/environments/<env>/<project>/project.yml``."""

    def write(text: str = PROJECT, project: str = "demo", env: str = "development") -> Path:
        path = tmp_path / "environments" / env / project / "project.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return write


def found(problems) -> list[tuple[int, int, str, str]]:
    return [(p.line, p.column, p.code, p.message) for p in problems]


# --- project.yml on its own -----------------------------------------------------------------------------------


def test_a_project_file_gives_the_model(project, config):
    model, problems = check_project(project(), config)
    assert problems == []
    assert (model.environment, model.name) == ("development", "demo")
    assert model.secrets == ("warehouse-login", "api-token")
    assert model.maintainers == ("octo-analyst", "Data-Engineer")


def test_project_file_schema_problems_point_at_the_key(project, config):
    path = project("secrets:\n  - Warehouse_Login\n  - api\n  - api\nmaintainer: [octo-analyst]\n")
    model, problems = check_project(path, config)
    assert model is None
    assert found(problems) == [
        (1, 1, "missing-key", "missing required key 'maintainers' in the manifest"),
        (
            2,
            5,
            "invalid-value",
            "'Warehouse_Login' is not a valid value for secrets[0]: secret ids use lower-case letters, digits and '-'",
        ),
        (4, 5, "duplicate", "secrets lists 'api' more than once (entries 2 and 3): remove the repeat"),
        (
            5,
            1,
            "unknown-key",
            "unknown key 'maintainer' in the manifest (did you mean 'maintainers'?); "
            "allowed keys: maintainers, secrets",
        ),
    ]


def test_an_empty_project_file_says_what_it_needs(project, config):
    model, problems = check_project(project("# nothing yet\n"), config)
    assert model is None
    assert found(problems) == [
        (1, 1, "invalid", "the project file is empty: it needs secrets (the shared ids) and maintainers")
    ]


def test_a_project_file_of_another_environment_is_refused(project, config):
    _, problems = check_project(project(env="test"), config)
    assert found(problems) == [
        (1, 1, "invalid-location", "this project file belongs to test but was checked with the development stack")
    ]


# --- a workflow's shared_secrets against its project's file -----------------------------------------------------


def test_a_declared_shared_secret_is_accepted_and_planned(manifest, project, config):
    project()
    plan, problems = check_workflow(manifest(MINIMAL + "shared_secrets: [warehouse-login]\n"), config)
    assert problems == []
    (use,) = plan.shared_secrets
    assert (use.id, use.name, use.kubernetes_secret, use.env_var) == (
        "warehouse-login",
        "/airflow/development/demo/shared/warehouse-login",
        "demo-shared-warehouse-login",
        "SECRET_WAREHOUSE_LOGIN",
    )
    statements = {s["Sid"]: s for s in json.loads(plan.identity.permissions)["Statement"]}
    assert statements["SecretsManagerShared"] == {
        "Sid": "SecretsManagerShared",
        "Effect": "Allow",
        "Action": ["secretsmanager:GetSecretValue"],
        "Resource": [
            "arn:aws:secretsmanager:eu-west-1:593291632749:secret:/airflow/development/demo/shared/warehouse-login-??????",
            "arn:aws:secretsmanager:eu-west-2:593291632749:secret:/airflow/development/demo/shared/warehouse-login-??????",
        ],
    }
    # The DAG's tasks get it as SECRET_<ID> from the shared Kubernetes secret.
    assert "Secret('env', 'SECRET_WAREHOUSE_LOGIN', 'demo-shared-warehouse-login', 'data')" in plan.dag_source.replace(
        "\n", ""
    ).replace(" ", "").replace(",", ", ")


def test_a_workflow_without_shared_secrets_gets_no_shared_grant(manifest, project, config):
    project()
    plan, _ = check_workflow(manifest(), config)
    assert "SecretsManagerShared" not in plan.identity.permissions
    assert plan.shared_secrets == ()


def test_an_undeclared_id_is_an_error_at_its_line_with_the_closest(manifest, project, config):
    project()
    path = manifest(MINIMAL + "shared_secrets:\n  - warehouse-login\n  - warehouse-logon\n")
    plan, problems = check_workflow(path, config)
    assert plan is None
    declared_in = path.parents[1] / "project.yml"
    assert found(problems) == [
        (
            10,
            5,
            "undeclared-shared-secret",
            f"shared secret 'warehouse-logon' is not declared in {declared_in} (it declares: warehouse-login, "
            "api-token): did you mean 'warehouse-login'? add it to that file's secrets, or remove it here",
        )
    ]


def test_shared_secrets_without_a_project_file_is_an_error(manifest, config):
    path = manifest(MINIMAL + "shared_secrets: [warehouse-login]\n")
    _, problems = check_workflow(path, config)
    assert found(problems) == [
        (
            8,
            1,
            "undeclared-shared-secret",
            f"shared_secrets needs the project to declare them, in {path.parents[1] / 'project.yml'} (secrets: the "
            "ids, maintainers: who sets their values), which does not exist: add it, or list the secrets under "
            "secrets instead",
        )
    ]


def test_shared_secrets_against_a_broken_project_file_is_an_error(manifest, project, config):
    project("secrets: [x]\n")  # no maintainers
    path = manifest(MINIMAL + "shared_secrets: [x]\n")
    _, problems = check_workflow(path, config)
    assert found(problems) == [
        (
            8,
            1,
            "undeclared-shared-secret",
            f"shared_secrets cannot be checked: {path.parents[1] / 'project.yml'} has errors (reported for that "
            "file): fix them first",
        )
    ]


def test_a_shared_secret_that_is_also_an_own_secret_is_an_error(manifest, project, config):
    project()
    _, problems = check_workflow(manifest(MINIMAL + "secrets: [api-token]\nshared_secrets: [api-token]\n"), config)
    assert found(problems) == [
        (
            9,
            18,
            "shared-secret-clash",
            "shared secret 'api-token' is also one of this workflow's own secrets: tasks would get both as "
            "SECRET_API_TOKEN: remove it from secrets (to use the project's) or from shared_secrets (to keep the "
            "workflow's own)",
        )
    ]


def test_an_env_var_a_shared_secret_replaces_is_an_error(manifest, project, config):
    project()
    text = MINIMAL.replace("  tag: v1.0.0\n", "  tag: v1.0.0\n  env_vars:\n    SECRET_API_TOKEN: x\n")
    _, problems = check_workflow(manifest(text + "shared_secrets: [api-token]\n"), config)
    assert found(problems) == [
        (
            5,
            5,
            "secret-shadows-env-var",
            "dag.env_vars.SECRET_API_TOKEN is replaced by shared secret 'api-token', which every task gets as "
            "SECRET_API_TOKEN: rename the env var, or remove it and set the value in the secret",
        )
    ]


def test_a_workflow_called_shared_is_refused_in_a_project_with_a_project_file(manifest, project, config):
    """Its own secrets' prefix, /airflow/<env>/<project>/shared/, which its role may read, holds the shared ones."""
    path = manifest(workflow="shared")
    assert check_workflow(path, config)[1] == []  # no project.yml: an ordinary name
    project()
    _, problems = check_workflow(path, config)
    assert found(problems) == [
        (
            1,
            1,
            "reserved-name",
            "the workflow folder name 'shared' is taken in a project with a project.yml: the project's shared "
            "secrets are named /airflow/<environment>/<project>/shared/<id>, so a workflow called 'shared' could "
            "read them all: rename the workflow folder",
        )
    ]


# --- removing a shared secret that is in use ----------------------------------------------------------------------


def test_removing_a_shared_secret_in_use_is_an_error_on_the_project_file(manifest, project, config):
    manifest(MINIMAL + "shared_secrets: [warehouse-login]\n", workflow="load")
    manifest(MINIMAL + "shared_secrets: [warehouse-login, api-token]\n", workflow="extract")
    manifest(MINIMAL, workflow="other")
    path = project("secrets: [api-token]\nmaintainers: [octo-analyst]\n")
    model, problems = check_project(path, config)
    assert model is not None  # the file itself is sound: its workflows are still checked against it
    assert found(problems) == [
        (
            1,
            1,
            "shared-secret-in-use",
            "workflow(s) extract, load read shared secret 'warehouse-login' (their shared_secrets), which this "
            "file does not declare: declare it here, or take it out of their shared_secrets too, in the same pull "
            "request (a shared secret is never removed while workflows still read it)",
        )
    ]


def test_the_stack_refuses_to_deploy_while_a_removed_shared_secret_is_used(manifest, project, config, tmp_path):
    manifest(MINIMAL + "shared_secrets: [warehouse-login]\n", workflow="load")
    project("secrets: [api-token]\nmaintainers: [octo-analyst]\n")
    with pytest.raises(ManifestError) as error:
        load_stack(tmp_path / "environments", config)
    assert sorted((p.path.name, p.code) for p in error.value.problems) == [
        ("project.yml", "shared-secret-in-use"),
        ("workflow.yml", "undeclared-shared-secret"),
    ]


# --- the stack: one plan per project, readers named -----------------------------------------------------------


def test_load_stack_plans_each_shared_secret_once_with_its_readers(manifest, project, config, tmp_path):
    manifest(MINIMAL + "shared_secrets: [warehouse-login]\n", workflow="load")
    manifest(MINIMAL + "shared_secrets: [warehouse-login, api-token]\n", workflow="extract")
    manifest(MINIMAL, workflow="other")
    project()
    stack = load_stack(tmp_path / "environments", config)
    assert [p.logical_name for p in stack.workflows] == ["demo/extract", "demo/load", "demo/other"]
    (shared,) = stack.projects
    assert shared.logical_name == "demo/shared"
    assert [(s.id, s.logical_name, s.name, s.consumers) for s in shared.secrets] == [
        ("warehouse-login", "demo/shared/warehouse-login", "/airflow/development/demo/shared/warehouse-login",
         ("extract", "load")),
        ("api-token", "demo/shared/api-token", "/airflow/development/demo/shared/api-token", ("extract",)),
    ]  # fmt: skip
    external = shared.secrets[0].external_secret
    labels = {
        "airflow.compute.analytical-platform.service.justice.gov.uk/environment": "development",
        "airflow.compute.analytical-platform.service.justice.gov.uk/project": "demo",
        "airflow.compute.analytical-platform.service.justice.gov.uk/shared": "true",
    }
    assert external == {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": "demo-shared-warehouse-login", "namespace": "mwaa", "labels": labels},
        "spec": {
            "refreshInterval": "5m",
            "secretStoreRef": {"kind": "SecretStore", "name": "analytical-platform-data-production"},
            "target": {
                "name": "demo-shared-warehouse-login",
                "creationPolicy": "Owner",
                "template": {
                    "metadata": {
                        "labels": labels,
                        "annotations": {
                            "airflow.compute.analytical-platform.service.justice.gov.uk/workflows": "extract,load"
                        },
                    }
                },
            },
            "data": [{"secretKey": "data", "remoteRef": {"key": "/airflow/development/demo/shared/warehouse-login"}}],
        },
    }
    policy = json.loads(shared.secret_policy)["Statement"][0]
    assert policy["Condition"] == {
        "StringLike": {"aws:userid": ["*:Data-Engineer", "*:data-engineer", "*:octo-analyst"]}
    }
    assert shared.tags["airflow-project"] == "demo"
    assert "airflow-workflow" not in shared.tags


def test_project_aliases_apply_to_shared_secret_names(manifest, project, config, tmp_path):
    aliased = replace(config, project_aliases={**config.project_aliases, "long-project-name": "lpn"})
    manifest(MINIMAL + "shared_secrets: [api-token]\n", project="long-project-name", workflow="load")
    project(project="long-project-name")
    stack = load_stack(tmp_path / "environments", aliased)
    (shared,) = stack.projects
    assert [(s.name, s.external_secret["metadata"]["name"]) for s in shared.secrets] == [
        ("/airflow/development/lpn/shared/warehouse-login", "lpn-shared-warehouse-login"),
        ("/airflow/development/lpn/shared/api-token", "lpn-shared-api-token"),
    ]
    assert shared.logical_name == "long-project-name/shared"  # logical names keep the folder
    (use,) = stack.workflows[0].shared_secrets
    assert (use.name, use.kubernetes_secret) == ("/airflow/development/lpn/shared/api-token", "lpn-shared-api-token")


def test_two_projects_with_one_alias_cannot_share_a_secret_name(manifest, project, config, tmp_path):
    aliased = replace(config, project_aliases={**config.project_aliases, "one": "same", "two": "same"})
    project(project="one")
    project(project="two")
    with pytest.raises(ManifestError) as error:
        load_stack(tmp_path / "environments", aliased)
    messages = sorted(p.message for p in error.value.problems if p.path.parent.name == "two")
    assert messages[0] == (
        "Kubernetes secret 'same-shared-api-token' of shared secret 'api-token' would also belong to project one: "
        "rename the secret, the workflow folder or the project alias so that no two share it"
    )
