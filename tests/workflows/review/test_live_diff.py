"""The pure comparison behind ``import-plan --lookup``: what the first ``pulumi up`` changes on live resources."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO
from workflows.review.live_diff import (
    Live,
    LivePolicy,
    LiveRole,
    LiveSecret,
    WorkflowDiff,
    canonical_statement,
    format_differences,
    grants,
    key_references,
    live_differences,
)

ACCOUNT = "593291632749"
PREFIX = "urn:pulumi:development::analytical-platform-airflow::"
STACK_URN = f"{PREFIX}pulumi:pulumi:Stack::analytical-platform-airflow-development"
WORKFLOW_URN = f"{PREFIX}analytical-platform:workflows:Workflow::demo/job"
PROVIDER_URN = f"{PREFIX}pulumi:providers:aws::data"
ROLE_NAME = "airflow-development-demo-job"
POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/{ROLE_NAME}"
SECRET_NAME = "/airflow/development/demo/job/token"
SECRET_ARN = f"arn:aws:secretsmanager:eu-west-2:{ACCOUNT}:secret:{SECRET_NAME}-Ab12Cd"
KMS = f"arn:aws:iam::{ACCOUNT}:policy/airflow-service/kms"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.example/id/ABC"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {"oidc.example/id/ABC:sub": "system:serviceaccount:mwaa:demo-job"}},
        }
    ],
}
DECLARED_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "S3ReadWrite",
            "Effect": "Allow",
            "Action": ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
            "Resource": ["arn:aws:s3:::bucket/*"],
        },
        {"Sid": "S3ListAllMyBuckets", "Effect": "Allow", "Action": ["s3:ListAllMyBuckets"], "Resource": ["*"]},
    ],
}
LIVE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["s3:getObject", "s3:PutObject", "s3:CreateMultipartUpload"],
            "Resource": "arn:aws:s3:::bucket/*",
        },
        {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": ["arn:aws:s3:::bucket"]},
    ],
}
SECRET_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "MaintainersReadAndPut",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": ["*"],
            "Condition": {"StringLike": {"aws:userid": ["*:octo"]}},
        }
    ],
}
LIVE_SECRET_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "UserAccess",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:userName": "octo"}},
        }
    ],
}


def registration(type_: str, logical: str, parent: str, *, custom: bool = True, **inputs) -> dict:
    return {
        "type": type_,
        "name": logical,
        "urn": f"{PREFIX}{type_}::{logical}",
        "parent": parent,
        "custom": custom,
        "inputs": inputs,
        "options": {"provider": f"{PROVIDER_URN}::0f1e"} if custom else {},
    }


def program() -> list[dict]:
    """One workflow on an explicit AWS provider whose default tags are JSON-encoded (as engines send them)."""
    provider = registration(
        "pulumi:providers:aws", "data", STACK_URN, defaultTags=json.dumps({"tags": {"owner": "platform"}})
    )
    provider["urn"], provider["options"] = PROVIDER_URN, {}
    return [
        provider,
        registration("analytical-platform:workflows:Workflow", "demo/job", STACK_URN, custom=False),
        registration(
            "aws:iam/role:Role",
            "demo/job",
            WORKFLOW_URN,
            name=ROLE_NAME,
            assumeRolePolicy=json.dumps(TRUST),
            maxSessionDuration=43200,
            tags={"workflow": "job"},
        ),
        registration(
            "aws:iam/policy:Policy",
            "demo/job",
            WORKFLOW_URN,
            name=ROLE_NAME,
            policy=json.dumps(DECLARED_POLICY),
            tags={"workflow": "job"},
        ),
        registration(
            "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
            "demo/job",
            WORKFLOW_URN,
            roleName=ROLE_NAME,
            policyArns=[POLICY_ARN, KMS],
        ),
        registration(
            "aws:secretsmanager/secret:Secret",
            "demo/job/token",
            WORKFLOW_URN,
            name=SECRET_NAME,
            description="Airflow secret token of demo/job",
            kmsKeyId="alias/secretsmanager/airflow",
            replicas=[{"region": "eu-west-1", "kmsKeyId": "alias/secretsmanager/airflow"}],
            policy=json.dumps(SECRET_POLICY),
            tags={"workflow": "job"},
        ),
        registration("aws:s3/bucketObjectv2:BucketObjectv2", "demo/job", WORKFLOW_URN, bucket="b", key="k"),
    ]


def same_as_declared() -> Live:
    """Live resources exactly as the program declares them (keys named differently but equal)."""
    tags = {"owner": "platform", "workflow": "job"}
    return Live(
        account=ACCOUNT,
        roles={
            ROLE_NAME: LiveRole(
                name=ROLE_NAME, trust=TRUST, max_session_seconds=43200, tags=tags, attached=(KMS, POLICY_ARN)
            )
        },
        policies={POLICY_ARN: LivePolicy(arn=POLICY_ARN, document=DECLARED_POLICY, tags=tags)},
        secrets={
            SECRET_NAME: LiveSecret(
                arn=SECRET_ARN,
                kms_key_id=f"arn:aws:kms:eu-west-2:{ACCOUNT}:alias/secretsmanager/airflow",
                description="Airflow secret token of demo/job",
                tags=tags,
                policy=SECRET_POLICY,
                replicas={"eu-west-1": "alias/secretsmanager/airflow"},
            )
        },
    )


def test_nothing_differs_when_live_is_what_the_program_declares():
    assert live_differences(program(), same_as_declared(), region="eu-west-2") == [
        WorkflowDiff(name="demo/job", resources=())
    ]


def test_every_difference_the_first_up_makes_is_listed_per_workflow_and_resource():
    live = Live(
        account=ACCOUNT,
        roles={
            ROLE_NAME: LiveRole(
                name=ROLE_NAME,
                trust={"Version": "2012-10-17", "Statement": [{**TRUST["Statement"][0], "Sid": "Old"}]},
                max_session_seconds=3600,
                description="made by Terraform",
                tags={"owner": "platform", "source-code": "terraform"},
                attached=(KMS, POLICY_ARN, "arn:aws:iam::aws:policy/ReadOnlyAccess"),
            )
        },
        policies={
            POLICY_ARN: LivePolicy(arn=POLICY_ARN, document=LIVE_POLICY, tags={"owner": "old", "workflow": "job"})
        },
        secrets={
            SECRET_NAME: LiveSecret(
                arn=SECRET_ARN,
                kms_key_id=None,
                description=None,
                tags={"owner": "platform", "workflow": "job"},
                policy=LIVE_SECRET_POLICY,
                replicas={},
            )
        },
    )
    assert live_differences(program(), live, region="eu-west-2") == [
        WorkflowDiff(
            name="demo/job",
            resources=(
                (
                    f"managed policies of role {ROLE_NAME}",
                    ("managed policy detached: arn:aws:iam::aws:policy/ReadOnlyAccess",),
                ),
                (
                    f"policy {ROLE_NAME}",
                    (
                        "grant removed: Allow s3:ListAllMyBuckets on arn:aws:s3:::bucket",
                        "grant removed: Allow s3:CreateMultipartUpload on arn:aws:s3:::bucket/*",
                        "grant added: Allow s3:ListAllMyBuckets on *",
                        "grant added: Allow s3:AbortMultipartUpload on arn:aws:s3:::bucket/*",
                        "tag owner: 'old' → 'platform'",
                    ),
                ),
                (
                    f"role {ROLE_NAME}",
                    (
                        "trust statement Sid: 'Old' → (none) (otherwise the same)",
                        "max session: 3600 s → 43200 s",
                        "description: 'made by Terraform' → (none)",
                        "tag removed: source-code='terraform'",
                        "tag added: workflow='job'",
                    ),
                ),
                (
                    f"secret {SECRET_NAME}",
                    (
                        "description: (none) → 'Airflow secret token of demo/job'",
                        "KMS key: alias/aws/secretsmanager → alias/secretsmanager/airflow",
                        "replica in eu-west-1: added",
                        'resource policy statement removed: {"Action":["secretsmanager:GetSecretValue"],'
                        '"Condition":{"StringEquals":{"aws:userName":["octo"]}},"Effect":"Allow",'
                        '"Principal":{"AWS":["*"]},"Resource":["*"],"Sid":"UserAccess"}',
                        'resource policy statement added: {"Action":["secretsmanager:GetSecretValue"],'
                        '"Condition":{"StringLike":{"aws:userid":["*:octo"]}},"Effect":"Allow",'
                        f'"Principal":{{"AWS":["arn:aws:iam::{ACCOUNT}:root"]}},"Resource":["*"],'
                        '"Sid":"MaintainersReadAndPut"}',
                    ),
                ),
            ),
        )
    ]


def test_a_kms_key_named_differently_is_told_apart_from_another_key():
    key = f"arn:aws:kms:eu-west-2:{ACCOUNT}:key/1111"
    other = f"arn:aws:kms:eu-west-2:{ACCOUNT}:key/2222"
    alias = f"arn:aws:kms:eu-west-2:{ACCOUNT}:alias/secretsmanager/airflow"
    declared = same_as_declared()
    secret = declared.secrets[SECRET_NAME]

    def secret_lines(kms_key_id: str, resolved: dict) -> tuple[str, ...]:
        live = Live(
            account=ACCOUNT,
            secrets={SECRET_NAME: LiveSecret(**{**secret.__dict__, "kms_key_id": kms_key_id})},
            kms_keys=resolved,
        )
        (diff,) = live_differences(program(), live, region="eu-west-2")
        return dict(diff.resources)[f"secret {SECRET_NAME}"]

    assert secret_lines(key, {("eu-west-2", key): key, ("eu-west-2", alias): key}) == (
        f"KMS key: {key} → alias/secretsmanager/airflow (the same key {key}, named differently: "
        "nothing is re-encrypted)",
    )
    assert secret_lines(other, {("eu-west-2", other): other, ("eu-west-2", alias): key}) == (
        f"KMS key: {other} → alias/secretsmanager/airflow (another key: {other} → {key}; the value is re-encrypted)",
    )
    assert secret_lines(other, {}) == (f"KMS key: {other} → alias/secretsmanager/airflow",)


def test_a_trust_statement_whose_principal_changes_is_removed_and_added():
    other = {**TRUST["Statement"][0], "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/x"}}
    live = same_as_declared()
    live = Live(
        account=ACCOUNT,
        roles={
            ROLE_NAME: LiveRole(
                **{**live.roles[ROLE_NAME].__dict__, "trust": {"Version": "2012-10-17", "Statement": [other]}}
            )
        },
    )
    sub = '{"StringEquals":{"oidc.example/id/ABC:sub":["system:serviceaccount:mwaa:demo-job"]}}'
    (diff,) = live_differences(program(), live, region="eu-west-2")
    assert dict(diff.resources) == {
        f"role {ROLE_NAME}": (
            f'trust statement removed: {{"Action":["sts:AssumeRoleWithWebIdentity"],"Condition":{sub},'
            '"Effect":"Allow","Principal":{"Federated":["arn:aws:iam::111122223333:oidc-provider/x"]}}',
            f'trust statement added: {{"Action":["sts:AssumeRoleWithWebIdentity"],"Condition":{sub},'
            f'"Effect":"Allow","Principal":{{"Federated":["arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.example/id/ABC"]}}}}',
        )
    }


def test_an_example_issuer_is_compared_as_the_live_one():
    # Offline, the program renders the trust with an example OIDC issuer: only the rest is compared.
    example = "oidc.eks.eu-west-2.amazonaws.com/id/EXAMPLE"
    registrations = program()
    role = next(r for r in registrations if r["type"] == "aws:iam/role:Role")
    role["inputs"]["assumeRolePolicy"] = role["inputs"]["assumeRolePolicy"].replace("oidc.example/id/ABC", example)
    assert live_differences(registrations, same_as_declared(), region="eu-west-2", example_issuer=example) == [
        WorkflowDiff(name="demo/job", resources=())
    ]
    (diff,) = live_differences(registrations, same_as_declared(), region="eu-west-2")
    assert [line.split(":", 1)[0] for line in dict(diff.resources)[f"role {ROLE_NAME}"]] == [
        "trust statement removed",
        "trust statement added",
    ]


def test_paths_and_policy_descriptions_say_they_replace():
    live = same_as_declared()
    live = Live(
        account=ACCOUNT,
        roles={ROLE_NAME: LiveRole(**{**live.roles[ROLE_NAME].__dict__, "path": "/airflow/"})},
        policies={POLICY_ARN: LivePolicy(**{**live.policies[POLICY_ARN].__dict__, "description": "old"})},
    )
    (diff,) = live_differences(program(), live, region="eu-west-2")
    assert dict(diff.resources) == {
        f"role {ROLE_NAME}": ("path: /airflow/ → / (replaces the role)",),
        f"policy {ROLE_NAME}": (
            "description: 'old' → (none) (IAM cannot change it: replaces the policy, detaching it from the "
            "role meanwhile)",
        ),
    }


def test_resources_not_found_live_are_left_to_the_import_plan():
    assert live_differences(program(), Live(account=ACCOUNT), region="eu-west-2") == []


def test_grants_expand_lists_and_compare_actions_without_case():
    document = {
        "Statement": {
            "Effect": "Deny",
            "NotAction": "s3:GetObject",
            "Resource": ["a", "b"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    }
    condition = '{"Bool":{"aws:SecureTransport":"false"}}'
    assert grants(document) == {
        ("Deny", "notaction:s3:getobject", "a", condition): "NotAction:s3:GetObject",
        ("Deny", "notaction:s3:getobject", "b", condition): "NotAction:s3:GetObject",
    }


def test_canonical_statements_ignore_order_and_single_values():
    assert canonical_statement({"Principal": "*", "Action": "a:B", "Resource": ["y", "x", "x"]}) == (
        '{"Action":["a:B"],"Principal":{"AWS":["*"]},"Resource":["x","y"]}'
    )


def test_key_references_cover_both_regions_of_declared_and_live_secrets():
    live = {SECRET_NAME: LiveSecret(arn=SECRET_ARN, kms_key_id="1234", replicas={"eu-west-1": None})}
    assert key_references(program(), live, "eu-west-2", ACCOUNT) == [
        ("eu-west-1", f"arn:aws:kms:eu-west-1:{ACCOUNT}:alias/aws/secretsmanager"),
        ("eu-west-1", f"arn:aws:kms:eu-west-1:{ACCOUNT}:alias/secretsmanager/airflow"),
        ("eu-west-2", f"arn:aws:kms:eu-west-2:{ACCOUNT}:alias/secretsmanager/airflow"),
        ("eu-west-2", f"arn:aws:kms:eu-west-2:{ACCOUNT}:key/1234"),
    ]


def test_the_report_lists_workflows_with_differences_then_a_summary():
    diffs = [
        WorkflowDiff(name="a/one", resources=(("role r", ("max session: 3600 s → 43200 s",)),)),
        WorkflowDiff(name="b/two", resources=()),
    ]
    lines = format_differences(diffs)
    assert lines[:3] == ["a/one:", "  role r:", "    max session: 3600 s → 43200 s"]
    assert lines[3].startswith("1 workflow(s) with differences the first `pulumi up` makes, 1 without; not compared:")


def test_the_pure_part_does_not_import_pulumi():
    code = "import sys, workflows.review.live_diff; sys.exit('pulumi' in ' '.join(sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO, check=False).returncode == 0
