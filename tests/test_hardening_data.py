"""Nothing is lost: what protects live data in the stack, checked on what the engine receives.

* A secret's value is never the stack's: no ``SecretVersion`` is registered, so no
  deploy writes, resets or reads a maintainer's value.
* A deleted secret is recoverable: a recovery window, never a force delete or
  a forced overwrite of a replica; production keeps secrets when Pulumi stops
  managing them.
* One invalid manifest anywhere, of any kind, registers nothing at all (a skipped
  workflow would be deleted by the next ``pulumi up``).
* Logical names, types and parents are part of URNs: renaming one replaces the
  resource (a secret loses its value). The snapshot below pins them, so an
  accidental rename fails here; components/workflow.py says how to rename safely.
"""

from __future__ import annotations

import inspect
import shutil
from pathlib import Path

import pytest
import yaml

import components.workflow
from shell.offline import ProgramFailed, Registration, run_program
from tests.components.test_least_privilege import SOURCES, rendered
from tests.conftest import EXAMPLES, MINIMAL, REPO
from workflows.config import StackConfig, stack_file
from workflows.errors import ConfigError
from workflows.model import ENVIRONMENTS

SECRET = "aws:secretsmanager/secret:Secret"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
MINIMUM_RECOVERY_DAYS = 7  # AWS allows 7-30 days, or 0: an immediate, unrecoverable delete

SAMPLE = (
    MINIMAL
    + """iam:
  athena: write
  glue: true
  s3_read_only: [bucket-one/data/*]
secrets: [api-key, token]
"""
)
EXTERNAL = MINIMAL + "iam:\n  external_role: arn:aws:iam::123456789012:role/elsewhere\n"


# --------------------------------------------------------------------------- secrets


@pytest.mark.parametrize(("source", "stack"), SOURCES)
def test_no_secret_value_passes_through_the_stack(source: str, stack: str) -> None:
    registrations = rendered(source, stack)
    assert any(r.type == SECRET for r in registrations), "nothing to check"
    # No version resource (the provider would read the value into state), and no value on the secret itself.
    assert not [r.name for r in registrations if r.type == VERSION]
    for secret in (r for r in registrations if r.type == SECRET):
        assert not {"secretString", "secretBinary"} & set(secret.inputs), secret.name


@pytest.mark.parametrize(("source", "stack"), SOURCES)
def test_deleting_a_secret_is_recoverable(source: str, stack: str) -> None:
    secrets = [r for r in rendered(source, stack) if r.type == SECRET]
    assert secrets, "nothing to check"
    for secret in secrets:
        assert MINIMUM_RECOVERY_DAYS <= secret.inputs["recoveryWindowInDays"] <= 30, secret.name
        assert not secret.inputs.get("forceOverwriteReplicaSecret"), secret.name
        assert secret.inputs["replicas"], secret.name
        if stack == "production":  # kept in AWS even when Pulumi stops managing it
            assert secret.options.get("retainOnDelete") is True, secret.name


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_stack_config_keeps_deleted_secrets_recoverable(environment: str) -> None:
    config = StackConfig.from_stack_file(stack_file(REPO, environment))
    assert MINIMUM_RECOVERY_DAYS <= config.secret_recovery_window_days <= 30
    if environment == "production":
        assert config.retain_secrets_on_delete is True


@pytest.mark.parametrize("days", [0, 6, 31])
def test_stack_config_refuses_a_recovery_window_aws_would_not_keep(days: int) -> None:
    path = stack_file(REPO, "development")
    values = {
        key.partition(":")[2] if key.startswith("platform:") else "region": value
        for key, value in yaml.safe_load(path.read_text())["config"].items()
    }
    values["secretRecoveryWindowDays"] = days
    with pytest.raises(ConfigError):
        StackConfig.from_mapping("development", values)


# --------------------------------------------------------------------------- all or nothing

INVALID = {
    "yaml syntax": "dag: [unclosed\n",
    "duplicate key": MINIMAL + "maintainers: [someone-else]\n",
    "unknown key": MINIMAL + "retires: 3\n",
    "empty": "",
    "not a mapping": "- just\n- a list\n",
    "bad merge key": MINIMAL + "<<: 5\n",
    "forbidden jinja": MINIMAL.replace("tag: v1.0.0", "tag: v1.0.0\n  env_vars:\n    X: '{{ var.value.x }}'"),
    "jinja in the image tag": MINIMAL.replace("tag: v1.0.0", "tag: '{{ var.value.x }}'"),
    "newline in a secret id": MINIMAL + 'secrets: ["api-key\\n"]\n',
    "params that share an env var": MINIMAL.replace("tag: v1.0.0", "tag: v1.0.0\n  params: {a: '1', A: '2'}"),
    "python_dag without dag.py": MINIMAL.replace("tag: v1.0.0", "tag: v1.0.0\n  python_dag: true"),
}


def write(root: Path, project: str, workflow: str, text: str | bytes, env: str = "development") -> Path:
    path = root / env / project / workflow / "workflow.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def assert_nothing_registered(environments: Path, bad: Path) -> None:
    with pytest.raises(ProgramFailed) as failure:
        run_program("development", environments, REPO)
    assert failure.value.registrations == []
    assert str(bad.parent) in str(failure.value)


@pytest.fixture
def stack_with_good_workflows(tmp_path: Path) -> Path:
    """The examples, plus a workflow with secrets: many valid workflows around the bad one."""
    environments = tmp_path / "environments"
    shutil.copytree(EXAMPLES / "development", environments / "development")
    write(environments, "aaa-first", "with-secrets", SAMPLE)
    return environments


@pytest.mark.parametrize("text", INVALID.values(), ids=INVALID.keys())
def test_one_invalid_manifest_registers_nothing(stack_with_good_workflows: Path, text: str) -> None:
    bad = write(stack_with_good_workflows, "zzz-last", "bad", text)
    assert_nothing_registered(stack_with_good_workflows, bad)


def test_a_file_that_is_not_utf8_registers_nothing(stack_with_good_workflows: Path) -> None:
    bad = write(stack_with_good_workflows, "zzz-last", "bad", b"dag:\n  repository: \xff\xfe\n")
    assert_nothing_registered(stack_with_good_workflows, bad)


def test_a_python_dag_that_cannot_be_deployed_registers_nothing(stack_with_good_workflows: Path) -> None:
    """Before the fix, validation passed and the program failed half way, after registering others."""
    bad = write(stack_with_good_workflows, "zzz-last", "bad", INVALID["python_dag without dag.py"])
    (bad.parent / "dag.py").write_text("def broken(:\n")
    assert_nothing_registered(stack_with_good_workflows, bad)


def test_an_over_long_name_registers_nothing(stack_with_good_workflows: Path) -> None:
    bad = write(stack_with_good_workflows, "zzz-last", "a-workflow-name-far-too-long-for-an-iam-role-name", MINIMAL)
    assert_nothing_registered(stack_with_good_workflows, bad)


def test_a_misnamed_folder_registers_nothing(stack_with_good_workflows: Path) -> None:
    bad = write(stack_with_good_workflows, "zzz_last", "bad", MINIMAL)
    assert_nothing_registered(stack_with_good_workflows, bad)


def test_two_workflows_sharing_names_register_nothing(stack_with_good_workflows: Path) -> None:
    """``a`` + ``b-c`` and ``a-b`` + ``c`` would share a role, service account and Kubernetes secrets."""
    write(stack_with_good_workflows, "a", "b-c", SAMPLE)
    bad = write(stack_with_good_workflows, "a-b", "c", SAMPLE)
    assert_nothing_registered(stack_with_good_workflows, bad)


def test_a_project_alias_clash_registers_nothing(stack_with_good_workflows: Path) -> None:
    """``electronic-monitoring-data-store`` is aliased to ``emds``: a project called ``emds`` would share names."""
    bad = write(stack_with_good_workflows, "emds", "load-case-notes", SAMPLE)
    assert_nothing_registered(stack_with_good_workflows, bad)


# --------------------------------------------------------------------------- stable logical names

# (type, logical name, parent "type::name") of everything a workflow registers. A change here renames
# live resources: add pulumi.Alias for the old name/parent/type (components/workflow.py), then update this.
# Every resource is a direct child of its Workflow component; the component and its role, policy, policy
# attachments, service account and DAG object are all named <project>/<workflow> (their types tell them
# apart), a secret's two resources <project>/<workflow>/<secret id>. The providers are top-level: every
# resource's state names its provider's URN, so renaming a provider is a rename too.
WORKFLOW_TYPE = "analytical-platform:workflows:Workflow"
ROOT = f"{WORKFLOW_TYPE}::demo/job"
STABLE_NAMES = {
    (WORKFLOW_TYPE, "demo/job", None),
    ("aws:iam/role:Role", "demo/job", ROOT),
    ("aws:iam/policy:Policy", "demo/job", ROOT),
    ("aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive", "demo/job", ROOT),
    ("kubernetes:core/v1:ServiceAccount", "demo/job", ROOT),
    *((SECRET, f"demo/job/{s}", ROOT) for s in ("api-key", "token")),
    *(("kubernetes:external-secrets.io/v1:ExternalSecret", f"demo/job/{s}", ROOT) for s in ("api-key", "token")),
    ("aws:s3/bucketObjectv2:BucketObjectv2", "demo/job", ROOT),
}
STABLE_PROVIDERS = {
    ("pulumi:providers:aws", "data-account", None),
    ("pulumi:providers:aws", "compute-account", None),
    ("pulumi:providers:aws", "common-account", None),
    ("pulumi:providers:kubernetes", "compute-cluster", None),
}
STABLE_EXTERNAL = {
    (WORKFLOW_TYPE, "demo/elsewhere", None),
    ("kubernetes:core/v1:ServiceAccount", "demo/elsewhere", f"{WORKFLOW_TYPE}::demo/elsewhere"),
    ("aws:s3/bucketObjectv2:BucketObjectv2", "demo/elsewhere", f"{WORKFLOW_TYPE}::demo/elsewhere"),
}
# The platform runtime: one component, each of its objects named by its full key.
RUNTIME_TYPE = "analytical-platform:platform:PlatformRuntime"
RUNTIME_ROOT = f"{RUNTIME_TYPE}::platform-runtime"
STABLE_RUNTIME = {
    (RUNTIME_TYPE, "platform-runtime", None),
    *(
        ("aws:s3/bucketObjectv2:BucketObjectv2", key, RUNTIME_ROOT)
        for key in (
            "dags/.airflowignore",
            "dags/analytical_platform/platform.json",
            "dags/analytical_platform/standard_operator.py",
        )
    ),
}


def identities(registrations: list[Registration]) -> set[tuple[str, str, str | None]]:
    by_urn = {r.urn: r for r in registrations}
    result = set()
    for registration in registrations:
        parent = by_urn.get(registration.parent) if registration.parent else None
        result.add((registration.type, registration.name, f"{parent.type}::{parent.name}" if parent else None))
    return result


def test_logical_names_types_and_parents_are_stable(tmp_path: Path) -> None:
    environments = tmp_path / "environments"
    write(environments, "demo", "job", SAMPLE)
    write(environments, "demo", "elsewhere", EXTERNAL)
    registrations = run_program("development", environments, REPO)
    found = identities(registrations)
    runtime = {i for i in found if i[0] == RUNTIME_TYPE or i[2] == RUNTIME_ROOT}
    assert found - runtime == STABLE_NAMES | STABLE_EXTERNAL | STABLE_PROVIDERS
    # The runtime's file list may grow; the component and the names of the files DAGs import may not change.
    assert runtime >= STABLE_RUNTIME
    runtime_objects = [r for r in registrations if r.parent is not None and r.parent.endswith(RUNTIME_ROOT)]
    assert runtime_objects and all(r.name == r.inputs["key"] for r in runtime_objects)
    # And the URN is what those make it: stack, project, parent type chain, type, name.
    for registration in registrations:
        assert registration.urn.endswith(f"{registration.type}::{registration.name}")


def test_the_rename_rule_is_documented_next_to_the_components() -> None:
    doc = inspect.getdoc(components.workflow) or ""
    assert "URN" in doc and "pulumi.Alias" in doc and "replace" in doc
