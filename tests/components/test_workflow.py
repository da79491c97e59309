"""The Pulumi program under the mock runtime: resource types, names, inputs, options and providers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from shell.offline import ProgramFailed, Registration, run_program
from tests.conftest import EXAMPLES, MINIMAL, REPO
from workflows import tokens

ACCOUNT = "593291632749"
# Offline, the cluster facts secret is answered with the example facts (a deploy refuses them).
OIDC = "oidc.eks.eu-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
# Type tokens, written out (workflows/tokens.py must agree with them).
WORKFLOW = "analytical-platform:workflows:Workflow"
ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
ATTACHMENTS = "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"
SECRET = "aws:secretsmanager/secret:Secret"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
RUNTIME = "analytical-platform:platform:PlatformRuntime"
AWS_PROVIDER = "pulumi:providers:aws"
KUBERNETES_PROVIDER = "pulumi:providers:kubernetes"
# The URN of a direct child of the demo/job Workflow component: parent type chain, own type, name.
CHILD_URN = "urn:pulumi:development::analytical-platform-airflow::analytical-platform:workflows:Workflow${}::{}"

FULL = (
    MINIMAL
    + """
iam:
  athena: write
  glue: true
  s3_read_only: [bucket-one/data/*]
secrets: [api-key]
"""
)


def run(environments: Path, stack: str = "development") -> list[Registration]:
    return run_program(stack, environments, REPO)


def by_name(registrations: list[Registration]) -> dict[tuple[str, str], Registration]:
    return {(r.type, r.name): r for r in registrations}


@pytest.fixture
def full(manifest) -> dict[tuple[str, str], Registration]:
    path = manifest(FULL)
    return by_name(run(path.parents[3]))


def test_role_has_the_irsa_trust_and_twelve_hour_sessions(full):
    role = full[(ROLE, "demo/job")]
    assert role.inputs["name"] == "airflow-development-demo-job"
    assert role.inputs["maxSessionDuration"] == 43200
    trust = json.loads(role.inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{OIDC}"}
    assert statement["Condition"]["StringEquals"] == {
        f"{OIDC}:sub": "system:serviceaccount:mwaa:demo-job",
        f"{OIDC}:aud": "sts.amazonaws.com",
    }
    assert role.inputs["tags"]["business-unit"] == "Platforms"
    assert role.inputs["tags"]["airflow-workflow"] == "job"


def test_policy_and_attachments(full):
    policy = full[(POLICY, "demo/job")]
    assert policy.inputs["name"] == "airflow-development-demo-job"
    actions = {a for s in json.loads(policy.inputs["policy"])["Statement"] for a in s["Action"]}
    assert {"secretsmanager:GetSecretValue", "s3:GetObject", "iam:PassRole"} <= actions
    # One resource holds the role's whole set of managed policies: its own first, then the shared ones.
    (attachments,) = (r for r in full.values() if r.type == ATTACHMENTS)
    assert attachments.name == "demo/job"
    shared = f"arn:aws:iam::{ACCOUNT}:policy/airflow-service"
    assert attachments.inputs == {
        "roleName": "airflow-development-demo-job",
        "policyArns": [
            f"arn:aws:iam::{ACCOUNT}:policy/airflow-development-demo-job",
            f"{shared}/kms",
            f"{shared}/athena-read",
            f"{shared}/athena-write",
            f"{shared}/glue",
        ],
    }
    # No per-policy attachment resources any more.
    assert not any(r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment" for r in full.values())


def test_pattern_based_extra_policies_are_attached_too(manifest):
    """Pulumi.development.yaml attaches ``cadet`` where ``<project>-<workflow>`` is ``analytical-platform-cadet*``."""
    path = manifest(project="analytical-platform", workflow="cadet-job")
    registrations = by_name(run(path.parents[3]))
    attachments = registrations[(ATTACHMENTS, "analytical-platform/cadet-job")]
    shared = f"arn:aws:iam::{ACCOUNT}:policy/airflow-service"
    assert attachments.inputs["policyArns"] == [
        f"arn:aws:iam::{ACCOUNT}:policy/airflow-development-analytical-platform-cadet-job",
        f"{shared}/kms",
        f"{shared}/cadet",
    ]


def test_the_secret_is_managed_and_deletion_is_recoverable(full):
    secret = full[(SECRET, "demo/job/api-key")]
    assert secret.inputs["name"] == "/airflow/development/demo/job/api-key"
    assert secret.inputs["recoveryWindowInDays"] == 30
    assert secret.inputs["kmsKeyId"] == "arn:aws:kms:eu-west-2:593291632749:alias/secretsmanager/airflow"
    assert secret.inputs["replicas"] == [
        {"kmsKeyId": "arn:aws:kms:eu-west-1:593291632749:alias/secretsmanager/airflow", "region": "eu-west-1"}
    ]
    assert "retainOnDelete" not in secret.options  # development does not retain
    policy = json.loads(secret.inputs["policy"])
    assert all(s["Principal"] != "*" and s["Principal"] != {"AWS": "*"} for s in policy["Statement"])
    # The secret only, never a value: no secretString on it, and no version resource beside it.
    assert not {"secretString", "secretBinary"} & set(secret.inputs)


def test_no_secret_version_is_ever_registered(tmp_path):
    """A SecretVersion would make the provider read (on import, on refresh) and hold a maintainer's value."""
    environments = tmp_path / "environments"
    shutil.copytree(EXAMPLES, environments)
    for stack in ("development", "production"):
        shutil.copytree(EXAMPLES / "development", environments / stack, dirs_exist_ok=True)
        registrations = run(environments, stack)
        assert any(r.type == SECRET for r in registrations)
        assert not [r.name for r in registrations if "secretVersion" in r.type or "SecretVersion" in r.type]


def test_production_retains_secrets_on_delete(manifest):
    path = manifest(FULL, env="production")
    registrations = by_name(run(path.parents[3], "production"))
    secret = registrations[(SECRET, "demo/job/api-key")]
    assert secret.options.get("retainOnDelete") is True


def test_external_secret_syncs_into_a_kubernetes_secret(full):
    external = full[(EXTERNAL_SECRET, "demo/job/api-key")]
    assert external.inputs["metadata"]["name"] == "demo-job-api-key"
    assert external.inputs["metadata"]["namespace"] == "mwaa"
    assert external.inputs["spec"]["target"]["name"] == "demo-job-api-key"
    assert external.inputs["spec"]["data"] == [
        {"secretKey": "data", "remoteRef": {"key": "/airflow/development/demo/job/api-key"}}
    ]
    # The running service's store and refresh interval (stack config).
    assert external.inputs["spec"]["secretStoreRef"] == {
        "kind": "SecretStore",
        "name": "analytical-platform-data-production",
    }
    assert external.inputs["spec"]["refreshInterval"] == "5m"


def test_service_account_is_annotated_with_the_role(full):
    account = full[(SERVICE_ACCOUNT, "demo/job")]
    metadata = account.inputs["metadata"]
    assert metadata["name"] == "demo-job"
    assert metadata["namespace"] == "mwaa"
    assert metadata["annotations"] == {
        "eks.amazonaws.com/role-arn": f"arn:aws:iam::{ACCOUNT}:role/airflow-development-demo-job"
    }
    prefix = "airflow.compute.analytical-platform.service.justice.gov.uk"
    assert metadata["labels"] == {
        f"{prefix}/environment": "development",
        f"{prefix}/project": "demo",
        f"{prefix}/workflow": "job",
    }


def test_dag_object_is_uploaded_after_its_prerequisites(full):
    dag = full[(OBJECT, "demo/job")]
    assert dag.inputs["bucket"] == "mojap-compute-development-mwaa"
    assert dag.inputs["key"] == "dags/development/demo/job/dag.py"
    assert "demo.job" in dag.inputs["content"]
    # Role, attachments, service account and ExternalSecrets exist before Airflow can see the DAG.
    assert {
        CHILD_URN.format(ROLE, "demo/job"),
        CHILD_URN.format(ATTACHMENTS, "demo/job"),
        CHILD_URN.format(SERVICE_ACCOUNT, "demo/job"),
        CHILD_URN.format(EXTERNAL_SECRET, "demo/job/api-key"),
    } <= set(dag.options["dependsOn"])


def test_every_resource_is_a_direct_child_of_the_workflow_component(full):
    workflow = full[(WORKFLOW, "demo/job")]
    assert workflow.inputs == {"environment": "development", "project": "demo", "workflow": "job"}
    children = {(r.type, r.name) for r in full.values() if r.parent == workflow.urn}
    assert children == {
        (ROLE, "demo/job"),
        (POLICY, "demo/job"),
        (ATTACHMENTS, "demo/job"),
        (SERVICE_ACCOUNT, "demo/job"),
        (OBJECT, "demo/job"),
        (SECRET, "demo/job/api-key"),
        (EXTERNAL_SECRET, "demo/job/api-key"),
    }
    assert all(full[child].urn == CHILD_URN.format(*child) for child in children)
    # No intermediate components any more: the workflow and the platform runtime are the only ones.
    assert {r.type for r in full.values() if not r.custom} == {WORKFLOW, RUNTIME}


def test_external_role_creates_no_identity(manifest):
    text = MINIMAL + "iam:\n  external_role: arn:aws:iam::123456789012:role/elsewhere\n"
    registrations = run(manifest(text).parents[3])
    types = {r.type for r in registrations}
    assert ROLE not in types
    assert POLICY not in types
    assert ATTACHMENTS not in types
    account = next(r for r in registrations if r.type == SERVICE_ACCOUNT)
    assert (
        account.inputs["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        == "arn:aws:iam::123456789012:role/elsewhere"
    )


# --------------------------------------------------------------------------- how many registrations

# Every shared policy (kms, athena-read, athena-write, bedrock, glue, textract): the count must not grow with them.
ALL_SHARED = (
    MINIMAL
    + """
iam:
  athena: write
  bedrock: true
  glue: true
  textract: true
  s3_read_only: [bucket-one/data/*]
"""
)


def registrations_per_workflow(registrations: list[Registration]) -> dict[str, int]:
    """``<project>/<workflow>`` -> registrations whose parent chain leads to that Workflow component
    (the component itself included)."""
    by_urn = {r.urn: r for r in registrations}
    counts: dict[str, int] = {}
    for registration in registrations:
        current: Registration | None = registration
        while current is not None and current.type != WORKFLOW:
            current = by_urn.get(current.parent) if current.parent else None
        if current is not None:
            counts[current.name] = counts.get(current.name, 0) + 1
    return counts


def test_registrations_per_workflow_are_bounded(manifest):
    """A generated role and no secrets: 6 registrations, component included, however many shared
    policies it has; each secret adds exactly 2 (the secret and its ExternalSecret, no version)."""
    manifest(ALL_SHARED, workflow="no-secrets")
    manifest(ALL_SHARED + "secrets: [one]\n", workflow="one-secret")
    manifest(ALL_SHARED + "secrets: [one, two]\n", workflow="two-secrets")
    path = manifest(MINIMAL + "iam:\n  external_role: arn:aws:iam::123456789012:role/elsewhere\n", workflow="external")
    counts = registrations_per_workflow(run(path.parents[3]))
    assert set(counts) == {"demo/no-secrets", "demo/one-secret", "demo/two-secrets", "demo/external"}
    assert counts["demo/no-secrets"] == 6
    assert counts["demo/one-secret"] == counts["demo/no-secrets"] + 2
    assert counts["demo/two-secrets"] == counts["demo/no-secrets"] + 4
    # An external role: the component, its service account and its DAG object.
    assert counts["demo/external"] == 3


# --------------------------------------------------------------------------- type tokens


def test_every_registered_type_is_a_token_of_workflows_tokens(tmp_path):
    """The policy pack, ``diff`` and ``import-plan`` recognise resources by ``workflows/tokens.py``: every
    type the providers and our components register must be one of them (a provider upgrade that renames a
    type fails here), and the components register exactly the tokens named there."""
    environments = tmp_path / "environments"
    shutil.copytree(EXAMPLES, environments)
    registrations = run(environments)
    declared = {value for name, value in vars(tokens).items() if name.isupper() and isinstance(value, str)}
    assert declared == {
        "pulumi:pulumi:Stack",
        WORKFLOW,
        "analytical-platform:workflows:SharedSecrets",
        RUNTIME,
        ROLE,
        POLICY,
        ATTACHMENTS,
        SECRET,
        OBJECT,
        SERVICE_ACCOUNT,
        EXTERNAL_SECRET,
        "pulumi:providers:",
        AWS_PROVIDER,
        KUBERNETES_PROVIDER,
        "aws:secretsmanager/getSecretVersion:getSecretVersion",  # a function: the cluster facts' read
    }
    registered = {r.type for r in registrations}
    assert registered <= declared
    # The examples use every kind of resource.
    assert registered == declared - {tokens.STACK, tokens.PROVIDER_PREFIX, tokens.GET_SECRET_VERSION}
    # Each component type is its token: Workflow, SharedSecrets and PlatformRuntime.
    assert {r.type for r in registrations if not r.custom} == {
        tokens.WORKFLOW,
        tokens.SHARED_SECRETS,
        tokens.PLATFORM_RUNTIME,
    }
    assert (tokens.WORKFLOW, tokens.PLATFORM_RUNTIME) == (WORKFLOW, RUNTIME)
    workflows = [r for r in registrations if r.name.count("/") == 1 and not r.custom and r.name.endswith("/shared")]
    assert workflows and all(r.type == tokens.SHARED_SECRETS for r in workflows)
    workflows = [r for r in registrations if r.name.count("/") == 1 and not r.custom and r not in workflows]
    assert workflows and all(r.type == tokens.WORKFLOW for r in workflows)
    (runtime,) = (r for r in registrations if r.name == "platform-runtime")
    assert runtime.type == tokens.PLATFORM_RUNTIME and not runtime.custom


def test_an_invalid_manifest_registers_nothing(manifest):
    good = manifest(FULL, workflow="good")
    manifest(MINIMAL + "retires: 3\n", workflow="bad")
    with pytest.raises(ProgramFailed) as failure:
        run(good.parents[3])
    assert "unknown key 'retires'" in str(failure.value)
    assert failure.value.registrations == []


def test_examples_render_deterministically(tmp_path):
    environments = tmp_path / "environments"
    shutil.copytree(EXAMPLES, environments)
    first = [r.as_json() for r in run(environments)]
    second = [r.as_json() for r in run(environments)]
    assert first == second
    assert len({(r["type"], r["name"]) for r in first}) == len(first)


SHARED_SECRETS = "analytical-platform:workflows:SharedSecrets"
SHARED_URN = "urn:pulumi:development::analytical-platform-airflow::analytical-platform:workflows:SharedSecrets${}::{}"


def test_a_projects_shared_secrets_are_registered_once_for_all_its_workflows(manifest):
    first = manifest(MINIMAL + "shared_secrets: [warehouse-login]\n", workflow="load")
    manifest(MINIMAL + "shared_secrets: [warehouse-login]\n", workflow="extract")
    manifest(MINIMAL, workflow="other")
    (first.parents[1] / "project.yml").write_text("secrets: [warehouse-login, unused]\nmaintainers: [octo-analyst]\n")
    registrations = run(first.parents[3])
    found = by_name(registrations)
    component = found[(SHARED_SECRETS, "demo/shared")]
    assert (component.custom, component.inputs) == (False, {"environment": "development", "project": "demo"})
    shared = [(r.type, r.name, r.provider) for r in registrations if r.parent == component.urn]
    assert sorted(shared) == [
        (SECRET, "demo/shared/unused", "data-account"),
        (SECRET, "demo/shared/warehouse-login", "data-account"),
        (EXTERNAL_SECRET, "demo/shared/unused", "compute-cluster"),
        (EXTERNAL_SECRET, "demo/shared/warehouse-login", "compute-cluster"),
    ]
    secret = found[(SECRET, "demo/shared/warehouse-login")]
    assert secret.inputs["name"] == "/airflow/development/demo/shared/warehouse-login"
    assert secret.inputs["kmsKeyId"] == f"arn:aws:kms:eu-west-2:{ACCOUNT}:alias/secretsmanager/airflow"
    assert secret.inputs["recoveryWindowInDays"] == 30
    assert [r["region"] for r in secret.inputs["replicas"]] == ["eu-west-1"]
    assert secret.inputs["tags"]["airflow-project"] == "demo"
    # Readers: the two workflows that list it; their DAG objects wait for its ExternalSecret, the other's not.
    annotation = "airflow.compute.analytical-platform.service.justice.gov.uk/workflows"
    external = found[(EXTERNAL_SECRET, "demo/shared/warehouse-login")]
    assert external.inputs["spec"]["target"]["template"]["metadata"]["annotations"] == {annotation: "extract,load"}
    external_urn = SHARED_URN.format(EXTERNAL_SECRET, "demo/shared/warehouse-login")
    assert external.urn == external_urn
    dags = {r.name: r for r in registrations if r.type == OBJECT and r.name.startswith("demo/")}
    assert external_urn in dags["demo/load"].options["dependsOn"]
    assert external_urn in dags["demo/extract"].options["dependsOn"]
    assert external_urn not in dags["demo/other"].options["dependsOn"]
    # 6 per workflow (no own secrets) and 1 + 2 per shared secret for the project.
    assert registrations_per_workflow(registrations)["demo/load"] == 6
    assert sum(1 for r in registrations if component.urn in (r.urn, r.parent)) == 1 + 2 * 2


def test_no_shared_secret_without_a_project_file(manifest):
    path = manifest(MINIMAL)
    assert not [r for r in run(path.parents[3]) if "shared" in r.name or r.type == SHARED_SECRETS]
