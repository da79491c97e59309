"""The Pulumi program under the mock runtime: resource types, names, inputs and options."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from shell.offline import ProgramFailed, Registration, run_program
from tests.conftest import EXAMPLES, MINIMAL, REPO

ACCOUNT = "593291632749"
OIDC = "oidc.eks.eu-west-2.amazonaws.com/id/1972AFFBD0701A0D1FD291E34F7D1287"

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
    role = full[("aws:iam/role:Role", "demo-job-role")]
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
    policy = full[("aws:iam/policy:Policy", "demo-job-policy")]
    assert policy.inputs["name"] == "airflow-development-demo-job"
    actions = {a for s in json.loads(policy.inputs["policy"])["Statement"] for a in s["Action"]}
    assert {"secretsmanager:GetSecretValue", "s3:GetObject", "iam:PassRole"} <= actions
    attachments = {
        r.name: r.inputs["policyArn"]
        for r in full.values()
        if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    }
    shared = f"arn:aws:iam::{ACCOUNT}:policy/airflow-service"
    assert attachments == {
        "demo-job-policy-attachment": f"arn:aws:iam::{ACCOUNT}:policy/airflow-development-demo-job",
        "demo-job-kms-attachment": f"{shared}/kms",
        "demo-job-athena-read-attachment": f"{shared}/athena-read",
        "demo-job-athena-write-attachment": f"{shared}/athena-write",
        "demo-job-glue-attachment": f"{shared}/glue",
    }
    assert all(
        r.inputs["role"] == "airflow-development-demo-job"
        for r in full.values()
        if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    )


def test_secret_placeholder_is_never_overwritten_and_deletion_is_recoverable(full):
    secret = full[("aws:secretsmanager/secret:Secret", "demo-job-api-key")]
    assert secret.inputs["name"] == "/airflow/development/demo/job/api-key"
    assert secret.inputs["recoveryWindowInDays"] == 30
    assert secret.inputs["kmsKeyId"].startswith("arn:aws:kms:eu-west-2:")
    assert secret.inputs["replicas"] == [
        {
            "kmsKeyId": "arn:aws:kms:eu-west-1:593291632749:alias/secretsmanager/airflow-development",
            "region": "eu-west-1",
        }
    ]
    assert "retainOnDelete" not in secret.options  # development does not retain
    policy = json.loads(secret.inputs["policy"])
    assert all(s["Principal"] != "*" and s["Principal"] != {"AWS": "*"} for s in policy["Statement"])
    version = full[("aws:secretsmanager/secretVersion:SecretVersion", "demo-job-api-key-placeholder")]
    assert "secretString" in version.options["ignoreChanges"]
    assert version.inputs["secretId"].startswith(f"arn:aws:secretsmanager:eu-west-2:{ACCOUNT}:secret:/airflow/")


def test_production_retains_secrets_on_delete(manifest):
    path = manifest(FULL, env="production")
    registrations = by_name(run(path.parents[3], "production"))
    secret = registrations[("aws:secretsmanager/secret:Secret", "demo-job-api-key")]
    assert secret.options.get("retainOnDelete") is True


def test_external_secret_syncs_into_a_kubernetes_secret(full):
    external = full[("kubernetes:external-secrets.io/v1:ExternalSecret", "demo-job-api-key-external-secret")]
    assert external.inputs["metadata"]["name"] == "demo-job-api-key"
    assert external.inputs["metadata"]["namespace"] == "mwaa"
    assert external.inputs["spec"]["target"]["name"] == "demo-job-api-key"
    assert external.inputs["spec"]["data"] == [
        {"secretKey": "data", "remoteRef": {"key": "/airflow/development/demo/job/api-key"}}
    ]
    assert external.inputs["spec"]["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "aws-secretsmanager"}


def test_service_account_is_annotated_with_the_role(full):
    account = full[("kubernetes:core/v1:ServiceAccount", "demo-job-service-account")]
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
    dag = full[("aws:s3/bucketObjectv2:BucketObjectv2", "demo-job-dag")]
    assert dag.inputs["bucket"] == "mojap-development-mwaa"
    assert dag.inputs["key"] == "dags/demo/job.py"
    assert "demo.job" in dag.inputs["content"]
    depends = " ".join(dag.options["dependsOn"])
    assert "ServiceAccount::demo-job-service-account" in depends
    assert "ExternalSecret::demo-job-api-key-external-secret" in depends


def test_components_parent_their_resources(full):
    workflow = full[("analytical-platform:workflows:Workflow", "demo-job")]
    assert workflow.inputs == {"environment": "development", "project": "demo", "workflow": "job"}
    identity = full[("analytical-platform:workflows:WorkflowIdentity", "demo-job")]
    assert identity.parent == workflow.urn
    assert full[("aws:iam/role:Role", "demo-job-role")].parent == identity.urn


def test_external_role_creates_no_identity(manifest):
    text = MINIMAL + "iam:\n  external_role: arn:aws:iam::123456789012:role/elsewhere\n"
    registrations = run(manifest(text).parents[3])
    types = {r.type for r in registrations}
    assert "aws:iam/role:Role" not in types
    assert "aws:iam/policy:Policy" not in types
    account = next(r for r in registrations if r.type == "kubernetes:core/v1:ServiceAccount")
    assert (
        account.inputs["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        == "arn:aws:iam::123456789012:role/elsewhere"
    )


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
