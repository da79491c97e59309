"""The plan of one workflow (workflows/plan/workflow_plan.py): everything the stack declares for it.

Three manifests, each planned with the development stack config: one with a generated
role, one with ``iam.external_role``, one with secrets. Every value is written out.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from tests.workflows.dags import factory
from workflows.config import StackConfig
from workflows.errors import ManifestError
from workflows.model import Iam, Workflow
from workflows.plan.workflow_plan import Secret, WorkflowPlan, plan

ACCOUNT = "593291632749"
# The stack files read the cluster facts at plan time; offline, the example issuer stands in.
OIDC = "oidc.eks.eu-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
EXTERNAL_ROLE = "arn:aws:iam::111122223333:role/their-own-role"
LABEL = "airflow.compute.analytical-platform.service.justice.gov.uk"
IMAGE = "509399598587.dkr.ecr.eu-west-2.amazonaws.com/moj-analytical-services/demo-repo:v1.0.0"


def make(iam: Iam | None = None, **fields: Any) -> Workflow:
    """demo/job (tests/workflows/dags/factory.py) with two maintainers, one of them not lower-case."""
    return factory.make(iam=iam or Iam(), maintainers=("octo-analyst", "Alice"), **fields)


GENERATED = Iam(s3_read_only=("bucket-a/in/*",), athena="read")

# The running service's tags (platform:tags), the workflow's own winning for business-unit and owner: 10 keys,
# as many as an S3 object takes.
TAGS = {
    "airflow-project": "demo",
    "airflow-workflow": "job",
    "application": "Analytical Platform",
    "business-unit": "Platforms",
    "component": "Airflow Service",
    "environment": "development",
    "infrastructure-support": "analytical-platform:analytical-platform@digital.justice.gov.uk",
    "is-production": "false",
    "owner": "someone@justice.gov.uk",
    "source-code": "github.com/ministryofjustice/analytical-platform-airflow/terraform",
}
LABELS = {f"{LABEL}/environment": "development", f"{LABEL}/project": "demo", f"{LABEL}/workflow": "job"}

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ServiceAccount",
            "Effect": "Allow",
            "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{OIDC}"},
            "Action": ["sts:AssumeRoleWithWebIdentity"],
            "Condition": {
                "StringEquals": {
                    f"{OIDC}:aud": "sts.amazonaws.com",
                    f"{OIDC}:sub": "system:serviceaccount:mwaa:demo-job",
                }
            },
        }
    ],
}
PERMISSIONS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "SecretsManagerRead",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": [
                f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:/airflow/development/demo/job/*",
                f"arn:aws:secretsmanager:eu-west-2:{ACCOUNT}:secret:/airflow/development/demo/job/*",
            ],
        },
        {"Sid": "S3ListAllMyBuckets", "Effect": "Allow", "Action": ["s3:ListAllMyBuckets"], "Resource": ["*"]},
        {
            "Sid": "S3Buckets",
            "Effect": "Allow",
            "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::bucket-a"],
        },
        {
            "Sid": "S3ReadOnly",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectAcl", "s3:GetObjectVersion"],
            "Resource": ["arn:aws:s3:::bucket-a/in/*"],
        },
        {
            # Every generated policy: no S3 action on any environment's MWAA bucket (issue 12).
            "Sid": "DenyPlatformBuckets",
            "Effect": "Deny",
            "Action": ["s3:*"],
            "Resource": [
                "arn:aws:s3:::mojap-compute-development-mwaa",
                "arn:aws:s3:::mojap-compute-development-mwaa/*",
                "arn:aws:s3:::mojap-compute-production-mwaa",
                "arn:aws:s3:::mojap-compute-production-mwaa/*",
                "arn:aws:s3:::mojap-compute-test-mwaa",
                "arn:aws:s3:::mojap-compute-test-mwaa/*",
            ],
        },
    ],
}
# The resource policy of each of the workflow's secrets ("*": the secret it is attached to).
SECRET_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "MaintainersReadAndPut",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": [
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
            ],
            "Resource": ["*"],
            "Condition": {"StringLike": {"aws:userid": ["*:Alice", "*:alice", "*:octo-analyst"]}},
        }
    ],
}


def canonical(document: dict[str, Any]) -> str:
    """The one rendering of a policy the provider receives: sorted keys, two-space indent, no final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)


def service_account(role_arn: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": "demo-job",
            "namespace": "mwaa",
            "labels": LABELS,
            "annotations": {"eks.amazonaws.com/role-arn": role_arn},
        },
    }


def assert_names(declared: WorkflowPlan) -> None:
    names = declared.names
    assert declared.logical_name == names.key == "demo/job"
    assert names.project == "demo"
    assert names.role == names.policy == "airflow-development-demo-job"
    assert names.service_account == "demo-job"
    assert names.dag_id == "demo.job"
    assert names.dag_key == "dags/development/demo/job/dag.py"
    assert names.secret_prefix == "/airflow/development/demo/job/"
    assert dict(names.labels) == LABELS
    assert names.image == IMAGE
    assert names.folder == "environments/development/demo/job"


def test_a_generated_role(config: StackConfig) -> None:
    workflow = make(GENERATED)
    declared = plan(workflow, config)
    assert declared.workflow is workflow
    assert_names(declared)
    assert dict(declared.tags) == TAGS
    assert declared.role_arn == f"arn:aws:iam::{ACCOUNT}:role/airflow-development-demo-job"

    identity = declared.identity
    assert identity is not None
    assert identity.role == "airflow-development-demo-job"
    assert identity.policy == "airflow-development-demo-job"
    assert json.loads(identity.trust_policy) == TRUST
    assert identity.trust_policy == canonical(TRUST)
    assert json.loads(identity.permissions) == PERMISSIONS
    assert identity.permissions == canonical(PERMISSIONS)
    assert identity.permissions_size == 1023
    assert len(json.dumps(PERMISSIONS, separators=(",", ":"))) == 1023  # the JSON without whitespace
    assert identity.shared_policy_arns == (
        f"arn:aws:iam::{ACCOUNT}:policy/airflow-service/kms",
        f"arn:aws:iam::{ACCOUNT}:policy/airflow-service/athena-read",
    )
    assert identity.max_session_seconds == 43200

    assert json.loads(declared.secret_policy) == SECRET_POLICY
    assert declared.secrets == ()
    assert dict(declared.service_account) == service_account(declared.role_arn)
    assert declared.dag_content_type == "text/x-python"
    source = declared.dag_source
    assert source.startswith("# Generated from environments/development/demo/job/workflow.yml — do not edit.\n")
    assert f"IMAGE = {IMAGE!r}" in source
    assert "dag_id='demo.job'" in source
    compile(source, "dag.py", "exec")


def test_an_external_role(config: StackConfig) -> None:
    declared = plan(make(Iam(external_role=EXTERNAL_ROLE)), config)
    assert_names(declared)
    assert dict(declared.tags) == TAGS
    assert declared.identity is None  # no role, policy or attachments of its own
    assert declared.role_arn == EXTERNAL_ROLE
    assert dict(declared.service_account) == service_account(EXTERNAL_ROLE)
    assert json.loads(declared.secret_policy) == SECRET_POLICY
    assert declared.secrets == ()
    assert declared.dag_content_type == "text/x-python"
    assert "service_account_name='demo-job'" in declared.dag_source


def external_secret(secret: str) -> dict[str, Any]:
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": f"demo-job-{secret}", "namespace": "mwaa", "labels": LABELS},
        "spec": {
            "refreshInterval": "5m",
            "secretStoreRef": {"kind": "SecretStore", "name": "analytical-platform-data-production"},
            "target": {
                "name": f"demo-job-{secret}",
                "creationPolicy": "Owner",
                "template": {"metadata": {"labels": LABELS}},
            },
            "data": [{"secretKey": "data", "remoteRef": {"key": f"/airflow/development/demo/job/{secret}"}}],
        },
    }


def test_secrets(config: StackConfig) -> None:
    declared = plan(make(secrets=("api-key", "db-password")), config)
    assert_names(declared)
    assert declared.secrets == (
        Secret(
            id="api-key",
            logical_name="demo/job/api-key",
            name="/airflow/development/demo/job/api-key",
            description="Airflow secret api-key of demo/job (development), set by its maintainers",
            env_var="SECRET_API_KEY",
            external_secret=external_secret("api-key"),
        ),
        Secret(
            id="db-password",
            logical_name="demo/job/db-password",
            name="/airflow/development/demo/job/db-password",
            description="Airflow secret db-password of demo/job (development), set by its maintainers",
            env_var="SECRET_DB_PASSWORD",
            external_secret=external_secret("db-password"),
        ),
    )
    # One resource policy for every secret of the workflow: its maintainers read and put the value.
    assert json.loads(declared.secret_policy) == SECRET_POLICY
    # The DAG reads each secret from the Kubernetes secret its ExternalSecret writes.
    assert "Secret('env', 'SECRET_API_KEY', 'demo-job-api-key', 'data')" in declared.dag_source
    assert "Secret('env', 'SECRET_DB_PASSWORD', 'demo-job-db-password', 'data')" in declared.dag_source
    # The generated role may read them: its policy covers the secrets prefix in both regions.
    assert declared.identity is not None
    assert json.loads(declared.identity.permissions)["Statement"][0]["Resource"] == [
        f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:/airflow/development/demo/job/*",
        f"arn:aws:secretsmanager:eu-west-2:{ACCOUNT}:secret:/airflow/development/demo/job/*",
    ]


def test_an_aliased_project(config: StackConfig) -> None:
    declared = plan(make(project="electronic-monitoring-data-store", name="load", secrets=("token",)), config)
    assert declared.logical_name == "electronic-monitoring-data-store/load"
    assert declared.names.dag_key == "dags/development/emds/load/dag.py"
    assert declared.names.dag_id == "emds.load"  # the alias, as the running service names the DAG
    assert declared.role_arn == f"arn:aws:iam::{ACCOUNT}:role/airflow-development-emds-load"
    [secret] = declared.secrets
    assert (secret.logical_name, secret.name) == (
        "electronic-monitoring-data-store/load/token",
        "/airflow/development/emds/load/token",
    )
    assert secret.external_secret["metadata"]["name"] == "emds-load-token"
    assert declared.tags["airflow-project"] == "electronic-monitoring-data-store"


def python_dag(source: str) -> Workflow:
    return dataclasses.replace(make(python_dag=True), python_dag_source=source)


def test_a_python_dag_is_its_own_file_with_placeholders_filled_in(config: StackConfig) -> None:
    source = 'ID = "PLACEHOLDER_PROJECT.PLACEHOLDER_WORKFLOW"\n'
    declared = plan(python_dag(source), config)
    assert declared.dag_source.startswith('ID = "demo.job"\n# Deployed from environments/development/demo/job/dag.py')
    assert declared.names.dag_key == "dags/development/demo/job/dag.py"
    with pytest.raises(ManifestError, match="not valid Python") as error:
        plan(python_dag("def broken(:\n"), config)
    assert error.value.first.path == Path("/repo/environments/development/demo/job/dag.py")


def test_a_plan_is_deterministic_and_frozen(config: StackConfig) -> None:
    workflow = make(GENERATED, secrets=("api-key",))
    declared = plan(workflow, config)
    assert plan(workflow, config) == declared
    with pytest.raises(dataclasses.FrozenInstanceError):
        declared.role_arn = EXTERNAL_ROLE  # type: ignore[misc]
