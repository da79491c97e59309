"""IAM documents built from a workflow's ``iam`` keys and names (workflows/plan/iam.py).

Statements are compared exactly; every document is also created in moto's IAM,
which checks policy grammar the way CreateRole/CreatePolicy do.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws
from moto.iam.policy_validation import IAMPolicyDocumentValidator

from tests.ci_roles.policy_eval import allowed
from tests.conftest import CORPUS
from tests.workflows.plan.factory import workflow
from workflows.config import ExtraPolicies, StackConfig
from workflows.model import Iam, Workflow
from workflows.plan import iam
from workflows.plan.naming import derive

CORPUS_MANIFESTS = sorted(CORPUS.glob("*/*/*/workflow.yml")) if CORPUS.is_dir() else []

ACCOUNT = "593291632749"
# The stack files read the cluster facts at plan time; offline, the example issuer stands in.
OIDC = "oidc.eks.eu-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
SECRETS_EU_WEST_2 = f"arn:aws:secretsmanager:eu-west-2:{ACCOUNT}:secret:/airflow/development/proj/wf/*"
SECRETS_EU_WEST_1 = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:/airflow/development/proj/wf/*"
SECRETS_READ = {
    "Sid": "SecretsManagerRead",
    "Effect": "Allow",
    "Action": ["secretsmanager:GetSecretValue"],
    "Resource": [SECRETS_EU_WEST_1, SECRETS_EU_WEST_2],
}
LIST_ALL_MY_BUCKETS = {
    "Sid": "S3ListAllMyBuckets",
    "Effect": "Allow",
    "Action": ["s3:ListAllMyBuckets"],
    "Resource": ["*"],
}
# In every generated policy, last: every S3 action on every environment's MWAA bucket and its objects
# (platform:platformBuckets of the development stack file).
DENY_PLATFORM = {
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
}
# The running service's action lists (reference/live-installation.md), with the real multipart actions
# (AbortMultipartUpload, ListMultipartUploadParts) in place of s3:CreateMultipartUpload, which is no IAM action.
S3_READ = ["s3:GetObject", "s3:GetObjectAcl", "s3:GetObjectVersion"]
S3_WRITE = [
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:ListMultipartUploadParts",
    "s3:PutObject",
    "s3:PutObjectAcl",
    "s3:RestoreObject",
]
S3_READ_WRITE = [
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:GetObject",
    "s3:GetObjectAcl",
    "s3:GetObjectTagging",
    "s3:GetObjectVersion",
    "s3:ListMultipartUploadParts",
    "s3:PutObject",
    "s3:PutObjectAcl",
    "s3:PutObjectTagging",
    "s3:RestoreObject",
]
S3_BUCKETS = ["s3:GetBucketLocation", "s3:ListBucket"]
KMS_KEY_1 = f"arn:aws:kms:eu-west-2:{ACCOUNT}:key/11111111-1111-1111-1111-111111111111"
KMS_KEY_2 = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/mrk-22222222222222222222222222222222"
LOG_GROUP = f"arn:aws:logs:eu-west-2:{ACCOUNT}:log-group:some-group"

# Every iam key alone and in combination; each is also created in moto below.
COMBINATIONS: dict[str, Iam] = {
    "none": Iam(),
    "s3_read_only": Iam(s3_read_only=("bucket-a/prefix/*",)),
    "s3_read_write": Iam(s3_read_write=("bucket-a/*",)),
    "s3_write_only": Iam(s3_write_only=("bucket-a/out/*",)),
    "s3_deny": Iam(s3_deny=("bucket-a/secret/*",)),
    "s3_all": Iam(
        s3_read_only=("bucket-b/in/*", "bucket-a"),
        s3_read_write=("bucket-c/work/*", "bucket-a/tmp/"),
        s3_write_only=("bucket-d/out/*",),
        s3_deny=("bucket-a/private/*", "bucket-e/*"),
    ),
    "kms": Iam(kms=(KMS_KEY_1, KMS_KEY_2)),
    "athena_read": Iam(athena="read"),
    "athena_write": Iam(athena="write", glue=True, s3_read_write=("bucket-a/db/*",)),
    "glue": Iam(glue=True),
    "bedrock": Iam(bedrock=True),
    "textract": Iam(textract=True, s3_read_only=("bucket-a/documents/*",)),
    "lake_formation": Iam(lake_formation=True, athena="read"),
    "cloudwatch_logs_read_only": Iam(cloudwatch_logs_read_only=(LOG_GROUP, f"{LOG_GROUP}-2:*")),
    "update_secrets": Iam(update_secrets=True),
    "everything": Iam(
        s3_read_only=("bucket-b/in/*",),
        s3_read_write=("bucket-c/work/*",),
        s3_write_only=("bucket-d/out/*",),
        s3_deny=("bucket-c/work/private/*",),
        kms=(KMS_KEY_1, KMS_KEY_2),
        athena="write",
        glue=True,
        bedrock=True,
        textract=True,
        lake_formation=True,
        cloudwatch_logs_read_only=(LOG_GROUP,),
        update_secrets=True,
    ),
}
# Sids allowed a "*" resource: their actions have no resource-level permissions.
STAR_RESOURCE_SIDS = {"S3ListAllMyBuckets", "LakeFormation", "CloudWatchLogsQueries"}
# Every workflow in these tests has these secrets (update_secrets grants on each of them).
SECRETS = ("api-key", "token")


def make_workflow(iam_config: Iam | None = None, *, project: str = "proj", name: str = "wf", **fields: Any) -> Workflow:
    """``proj/wf`` with ``iam_config`` and the secrets :data:`SECRETS` (unless given)."""
    return workflow(project, name, **{"iam": iam_config or Iam(), "secrets": SECRETS} | fields)


def policy(workflow: Workflow, config: StackConfig) -> dict[str, Any]:
    """The workflow's own managed policy, built from its ``iam`` section, its secrets and its derived names."""
    return iam.policy_document(workflow.iam, derive(workflow, config), config, workflow.secrets)


def trust(workflow: Workflow, config: StackConfig) -> dict[str, Any]:
    return iam.trust_document(derive(workflow, config), config)


def shared_policies(workflow: Workflow, config: StackConfig) -> tuple[str, ...]:
    return iam.managed_policy_arns(workflow.iam, workflow.project, workflow.name, config)


def secret_policy(workflow: Workflow, config: StackConfig, secret_arn: str) -> dict[str, Any]:
    return iam.secret_policy_document(workflow.maintainers, config, secret_arn)


def corpus_workflow(path: Path) -> Workflow:
    """A corpus manifest's ``iam`` section as a model, built by hand from the YAML.

    Independent of the manifest validator on purpose: every real ``iam``
    section gets checked here, even in manifests rejected for other reasons.
    """
    data = yaml.safe_load(path.read_text())
    section = dict(data.get("iam") or {})
    tuples = ("s3_read_only", "s3_read_write", "s3_write_only", "s3_deny", "kms", "cloudwatch_logs_read_only")
    unknown = set(section) - {f.name for f in dataclasses.fields(Iam)}
    assert not unknown, f"{path}: iam keys the model does not know: {unknown}"
    for key in tuples:
        if key in section:
            section[key] = tuple(section[key])
    workflow_dir = path.parent
    return make_workflow(
        Iam(**section),
        project=workflow_dir.parent.name,
        name=workflow_dir.name,
        maintainers=tuple(data.get("maintainers") or ("nobody",)),
        secrets=tuple(data.get("secrets") or ()),
    )


def statement(document: dict[str, Any], sid: str) -> dict[str, Any]:
    matches = [s for s in document["Statement"] if s["Sid"] == sid]
    assert len(matches) == 1, f"expected one statement {sid}, got {matches}"
    return matches[0]


def sids(document: dict[str, Any]) -> list[str]:
    return [s["Sid"] for s in document["Statement"]]


# --- the workflow's own policy, key by key -------------------------------------------------------


def test_every_policy_reads_its_own_secrets_in_both_regions(config: StackConfig) -> None:
    assert policy(make_workflow(), config) == {"Version": "2012-10-17", "Statement": [SECRETS_READ, DENY_PLATFORM]}


def test_secret_prefix_uses_the_project_alias(config: StackConfig) -> None:
    workflow = make_workflow(project="electronic-monitoring-data-store", name="load")
    resources = statement(policy(workflow, config), "SecretsManagerRead")["Resource"]
    assert resources == [
        f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:/airflow/development/emds/load/*",
        f"arn:aws:secretsmanager:eu-west-2:{ACCOUNT}:secret:/airflow/development/emds/load/*",
    ]
    assert derive(workflow, config).secret_prefix == "/airflow/development/emds/load/"


def test_secret_regions_follow_the_stack_config(config: StackConfig) -> None:
    other = dataclasses.replace(config, region="us-east-1", replica_region="us-west-2")
    assert statement(policy(make_workflow(), other), "SecretsManagerRead")["Resource"] == [
        f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:/airflow/development/proj/wf/*",
        f"arn:aws:secretsmanager:us-west-2:{ACCOUNT}:secret:/airflow/development/proj/wf/*",
    ]


def test_s3_read_only(config: StackConfig) -> None:
    document = policy(make_workflow(Iam(s3_read_only=("bucket-a/prefix/*",))), config)
    assert document["Statement"] == [
        SECRETS_READ,
        LIST_ALL_MY_BUCKETS,
        {"Sid": "S3Buckets", "Effect": "Allow", "Action": S3_BUCKETS, "Resource": ["arn:aws:s3:::bucket-a"]},
        {"Sid": "S3ReadOnly", "Effect": "Allow", "Action": S3_READ, "Resource": ["arn:aws:s3:::bucket-a/prefix/*"]},
        DENY_PLATFORM,
    ]


def test_s3_read_write(config: StackConfig) -> None:
    document = policy(make_workflow(Iam(s3_read_write=("bucket-a/*",))), config)
    assert sids(document) == [
        "SecretsManagerRead",
        "S3ListAllMyBuckets",
        "S3Buckets",
        "S3ReadWrite",
        "DenyPlatformBuckets",
    ]
    assert statement(document, "S3ReadWrite") == {
        "Sid": "S3ReadWrite",
        "Effect": "Allow",
        "Action": S3_READ_WRITE,
        "Resource": ["arn:aws:s3:::bucket-a/*"],
    }
    assert "s3:CreateMultipartUpload" not in S3_READ_WRITE  # not an IAM action: s3:PutObject authorises it
    assert "s3:DeleteObjectTagging" not in S3_READ_WRITE  # not granted today: nothing broader than today
    assert statement(document, "S3Buckets")["Resource"] == ["arn:aws:s3:::bucket-a"]


def test_s3_write_only_grants_no_reads(config: StackConfig) -> None:
    document = policy(make_workflow(Iam(s3_write_only=("bucket-a/out/*",))), config)
    assert sids(document) == [
        "SecretsManagerRead",
        "S3ListAllMyBuckets",
        "S3Buckets",
        "S3WriteOnly",
        "DenyPlatformBuckets",
    ]
    write = statement(document, "S3WriteOnly")
    assert write == {
        "Sid": "S3WriteOnly",
        "Effect": "Allow",
        "Action": S3_WRITE,
        "Resource": ["arn:aws:s3:::bucket-a/out/*"],
    }
    assert not [a for a in write["Action"] if a.startswith("s3:Get")]


def test_s3_deny_alone_lists_its_bucket_as_today(config: StackConfig) -> None:
    """The running service lists every bucket any s3 key names, s3_deny's too; no object is granted."""
    document = policy(make_workflow(Iam(s3_deny=("bucket-a/secret/*",))), config)
    assert document["Statement"] == [
        SECRETS_READ,
        LIST_ALL_MY_BUCKETS,
        {"Sid": "S3Buckets", "Effect": "Allow", "Action": S3_BUCKETS, "Resource": ["arn:aws:s3:::bucket-a"]},
        {"Sid": "S3Deny", "Effect": "Deny", "Action": S3_READ_WRITE, "Resource": ["arn:aws:s3:::bucket-a/secret/*"]},
        DENY_PLATFORM,
    ]


def test_s3_deny_covers_every_granted_object_action(config: StackConfig) -> None:
    document = policy(make_workflow(COMBINATIONS["s3_all"]), config)
    granted = {
        action
        for s in document["Statement"]
        if s["Sid"] in ("S3ReadOnly", "S3ReadWrite", "S3WriteOnly")
        for action in s["Action"]
    }
    assert set(statement(document, "S3Deny")["Action"]) == granted
    assert {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"} <= granted


def test_s3_buckets_are_distinct_sorted_and_include_deny_buckets(config: StackConfig) -> None:
    document = policy(make_workflow(COMBINATIONS["s3_all"]), config)
    assert sids(document) == [
        "SecretsManagerRead",
        "S3ListAllMyBuckets",
        "S3Buckets",
        "S3ReadOnly",
        "S3ReadWrite",
        "S3WriteOnly",
        "S3Deny",
        "DenyPlatformBuckets",
    ]
    assert statement(document, "S3Buckets")["Resource"] == [
        "arn:aws:s3:::bucket-a",
        "arn:aws:s3:::bucket-b",
        "arn:aws:s3:::bucket-c",
        "arn:aws:s3:::bucket-d",
        "arn:aws:s3:::bucket-e",
    ]
    # Exactly as written: "bucket-a" is the ARN of no object (today too), not widened to bucket-a/*.
    assert statement(document, "S3ReadOnly")["Resource"] == ["arn:aws:s3:::bucket-a", "arn:aws:s3:::bucket-b/in/*"]
    assert statement(document, "S3ReadWrite")["Resource"] == [
        "arn:aws:s3:::bucket-a/tmp/",
        "arn:aws:s3:::bucket-c/work/*",
    ]
    assert statement(document, "S3Deny")["Resource"] == ["arn:aws:s3:::bucket-a/private/*", "arn:aws:s3:::bucket-e/*"]


@pytest.mark.parametrize(
    ("path", "arn", "bucket"),
    [
        # Exactly as the running service grants them, even where that matches no object (validate warns).
        ("bucket-a", "arn:aws:s3:::bucket-a", "arn:aws:s3:::bucket-a"),
        ("bucket-a/", "arn:aws:s3:::bucket-a/", "arn:aws:s3:::bucket-a"),
        ("s3://bucket-a/data/*", "arn:aws:s3:::s3://bucket-a/data/*", "arn:aws:s3:::s3:"),
        ("bucket-a/*", "arn:aws:s3:::bucket-a/*", "arn:aws:s3:::bucket-a"),
        ("bucket-a/prefix/*", "arn:aws:s3:::bucket-a/prefix/*", "arn:aws:s3:::bucket-a"),
        ("bucket-a/prefix*", "arn:aws:s3:::bucket-a/prefix*", "arn:aws:s3:::bucket-a"),
        ("bucket-a/prefix/", "arn:aws:s3:::bucket-a/prefix/", "arn:aws:s3:::bucket-a"),
        ("bucket-a/one/object.csv", "arn:aws:s3:::bucket-a/one/object.csv", "arn:aws:s3:::bucket-a"),
        ("bucket-a/Combined Data/*", "arn:aws:s3:::bucket-a/Combined Data/*", "arn:aws:s3:::bucket-a"),
    ],
)
def test_s3_paths(config: StackConfig, path: str, arn: str, bucket: str) -> None:
    for key in ("s3_read_only", "s3_read_write", "s3_write_only", "s3_deny"):
        document = policy(make_workflow(Iam(**{key: (path,)})), config)
        sid = {"s3_read_only": "S3ReadOnly", "s3_read_write": "S3ReadWrite"}.get(key, "S3WriteOnly")
        assert statement(document, "S3Deny" if key == "s3_deny" else sid)["Resource"] == [arn], key
        assert statement(document, "S3Buckets")["Resource"] == [bucket], key


def test_s3_resources_are_sorted_and_deduplicated(config: StackConfig) -> None:
    paths = ("bucket-b/x/*", "bucket-a/y/*", "bucket-b/x/*", "bucket-a", "bucket-a/*")
    document = policy(make_workflow(Iam(s3_read_write=paths)), config)
    assert statement(document, "S3ReadWrite")["Resource"] == [
        "arn:aws:s3:::bucket-a",
        "arn:aws:s3:::bucket-a/*",
        "arn:aws:s3:::bucket-a/y/*",
        "arn:aws:s3:::bucket-b/x/*",
    ]
    assert statement(document, "S3Buckets")["Resource"] == ["arn:aws:s3:::bucket-a", "arn:aws:s3:::bucket-b"]


def test_kms(config: StackConfig) -> None:
    document = policy(make_workflow(Iam(kms=(KMS_KEY_1, KMS_KEY_2, KMS_KEY_1))), config)
    assert document["Statement"] == [
        SECRETS_READ,
        {
            "Sid": "KMS",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
            "Resource": [KMS_KEY_2, KMS_KEY_1],
        },
        DENY_PLATFORM,
    ]


def test_glue_passes_only_its_own_role_only_to_glue(config: StackConfig) -> None:
    document = policy(make_workflow(Iam(glue=True)), config)
    assert document["Statement"] == [
        SECRETS_READ,
        {
            "Sid": "GluePassRole",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": [f"arn:aws:iam::{ACCOUNT}:role/airflow-development-proj-wf"],
            "Condition": {"StringEquals": {"iam:PassedToService": "glue.amazonaws.com"}},
        },
        DENY_PLATFORM,
    ]


def test_glue_role_uses_the_project_alias(config: StackConfig) -> None:
    workflow = make_workflow(Iam(glue=True), project="electronic-monitoring-data-store", name="load")
    assert statement(policy(workflow, config), "GluePassRole")["Resource"] == [
        f"arn:aws:iam::{ACCOUNT}:role/airflow-development-emds-load"
    ]


def test_bedrock_and_textract_grant_through_their_shared_policies_only(config: StackConfig) -> None:
    """As today: no inline statement repeats what the shared bedrock/textract policies give."""
    assert policy(make_workflow(Iam(bedrock=True)), config)["Statement"] == [SECRETS_READ, DENY_PLATFORM]
    document = policy(make_workflow(COMBINATIONS["textract"]), config)
    assert sids(document) == [
        "SecretsManagerRead",
        "S3ListAllMyBuckets",
        "S3Buckets",
        "S3ReadOnly",
        "DenyPlatformBuckets",
    ]
    assert shared_policies(make_workflow(Iam(bedrock=True, textract=True)), config) == shared(
        "kms", "bedrock", "textract"
    )


def test_lake_formation(config: StackConfig) -> None:
    document = policy(make_workflow(Iam(lake_formation=True)), config)
    assert document["Statement"] == [
        SECRETS_READ,
        {"Sid": "LakeFormation", "Effect": "Allow", "Action": ["lakeformation:GetDataAccess"], "Resource": ["*"]},
        DENY_PLATFORM,
    ]


def test_cloudwatch_logs_read_only(config: StackConfig) -> None:
    document = policy(make_workflow(COMBINATIONS["cloudwatch_logs_read_only"]), config)
    assert document["Statement"] == [
        SECRETS_READ,
        {
            "Sid": "CloudWatchLogsRead",
            "Effect": "Allow",
            # The running service's list, on the listed log groups.
            "Action": [
                "cloudwatch:GenerateQuery",
                "cloudwatch:GenerateQueryResultsSummary",
                "logs:Describe*",
                "logs:FilterLogEvents",
                "logs:Get*",
                "logs:List*",
                "logs:StartLiveTail",
                "logs:StartQuery",
                "logs:StopLiveTail",
                "logs:StopQuery",
                "logs:TestMetricFilter",
            ],
            # A group ARN without a wildcard also gets its streams; one with ":*" is kept as is.
            "Resource": [LOG_GROUP, f"{LOG_GROUP}-2:*", f"{LOG_GROUP}:*"],
        },
        {
            # The Logs Insights query actions of that list with no resource type (AWS's Service Authorization
            # Reference): scoped to log groups they match nothing, so they are granted on "*" too.
            "Sid": "CloudWatchLogsQueries",
            "Effect": "Allow",
            "Action": [
                "cloudwatch:GenerateQuery",
                "cloudwatch:GenerateQueryResultsSummary",
                "logs:DescribeQueries",
                "logs:DescribeQueryDefinitions",
                "logs:ListLogGroupsForQuery",
                "logs:StopQuery",
            ],
            "Resource": ["*"],
        },
        DENY_PLATFORM,
    ]


def test_update_secrets_puts_and_updates_each_listed_secret_in_both_regions(config: StackConfig) -> None:
    """As today: PutSecretValue and UpdateSecret on .../<workflow>/<secret>* for each secret, in both regions."""
    document = policy(make_workflow(Iam(update_secrets=True)), config)
    assert document["Statement"] == [
        SECRETS_READ,
        {
            "Sid": "SecretsManagerUpdate",
            "Effect": "Allow",
            "Action": ["secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret"],
            "Resource": [
                f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:/airflow/development/proj/wf/api-key*",
                f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:/airflow/development/proj/wf/token*",
                f"arn:aws:secretsmanager:eu-west-2:{ACCOUNT}:secret:/airflow/development/proj/wf/api-key*",
                f"arn:aws:secretsmanager:eu-west-2:{ACCOUNT}:secret:/airflow/development/proj/wf/token*",
            ],
        },
        DENY_PLATFORM,
    ]


def test_update_secrets_without_secrets_grants_nothing_more(config: StackConfig) -> None:
    """No secret to update, so no statement (one with no resource is not a valid policy)."""
    document = policy(make_workflow(Iam(update_secrets=True), secrets=()), config)
    assert document["Statement"] == [SECRETS_READ, DENY_PLATFORM]


def test_update_secrets_follows_the_project_alias(config: StackConfig) -> None:
    workflow = make_workflow(Iam(update_secrets=True), project="electronic-monitoring-data-store-pp", secrets=("x",))
    assert statement(policy(workflow, config), "SecretsManagerUpdate")["Resource"] == [
        f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:/airflow/development/emds-pp/wf/x*",
        f"arn:aws:secretsmanager:eu-west-2:{ACCOUNT}:secret:/airflow/development/emds-pp/wf/x*",
    ]


@pytest.mark.parametrize("athena", ["read", "write"])
def test_athena_only_attaches_shared_policies(config: StackConfig, athena: str) -> None:
    workflow = make_workflow(Iam(athena=athena))  # type: ignore[arg-type]
    assert policy(workflow, config)["Statement"] == [SECRETS_READ, DENY_PLATFORM]


def test_everything_together_in_a_fixed_statement_order(config: StackConfig) -> None:
    document = policy(make_workflow(COMBINATIONS["everything"]), config)
    assert sids(document) == [
        "SecretsManagerRead",
        "SecretsManagerUpdate",
        "S3ListAllMyBuckets",
        "S3Buckets",
        "S3ReadOnly",
        "S3ReadWrite",
        "S3WriteOnly",
        "S3Deny",
        "KMS",
        "GluePassRole",
        "LakeFormation",
        "CloudWatchLogsRead",
        "CloudWatchLogsQueries",
        "DenyPlatformBuckets",
    ]
    # Each key's statement is the same as when the key is alone.
    for key, sid in [("kms", "KMS"), ("glue", "GluePassRole"), ("lake_formation", "LakeFormation")]:
        alone = policy(make_workflow(COMBINATIONS[key]), config)
        assert statement(document, sid) == statement(alone, sid)


def all_workflows() -> list[tuple[str, Workflow]]:
    cases = [(f"combination:{name}", make_workflow(value)) for name, value in COMBINATIONS.items()]
    cases += [(f"corpus:{path.relative_to(CORPUS)}", corpus_workflow(path)) for path in CORPUS_MANIFESTS]
    return cases


WORKFLOW_CASES = all_workflows()


@pytest.mark.parametrize(("case", "workflow"), WORKFLOW_CASES, ids=[c for c, _ in WORKFLOW_CASES])
def test_policy_invariants(config: StackConfig, case: str, workflow: Workflow) -> None:
    document = policy(workflow, config)
    assert document["Version"] == "2012-10-17"
    assert list(document) == ["Version", "Statement"]
    assert len(set(sids(document))) == len(document["Statement"])
    for s in document["Statement"]:
        assert s["Sid"].isalnum()
        assert s["Action"] == sorted(set(s["Action"])), s["Sid"]
        assert s["Resource"] == sorted(set(s["Resource"])), s["Sid"]
        assert s["Resource"], s["Sid"]
        for action in s["Action"]:
            assert action != "*"
            # A whole service only in the platform buckets' Deny.
            assert not action.endswith(":*") or s == DENY_PLATFORM, action
        if "*" in s["Resource"]:
            assert s["Sid"] in STAR_RESOURCE_SIDS
            assert s["Resource"] == ["*"]
    assert document["Statement"][-1] == DENY_PLATFORM
    assert [x["Sid"] for x in document["Statement"] if x["Effect"] == "Deny"] in (
        ["DenyPlatformBuckets"],
        ["S3Deny", "DenyPlatformBuckets"],
    )
    # Deterministic: a second build is identical to the byte.
    assert iam.policy_json(document) == iam.policy_json(policy(workflow, config))


# --- platform buckets (issue 12, item 2) -----------------------------------------------------------

PLATFORM_PATHS = [
    "mojap-compute-development-mwaa",
    "mojap-compute-development-mwaa/",
    "mojap-compute-development-mwaa/*",
    "mojap-compute-development-mwaa/dags/*",
    "mojap-compute-development-mwaa/dags/runtime/__init__.py",
    # Another environment's bucket: a development workflow must not write production's DAGs either.
    "mojap-compute-production-mwaa/dags/*",
    "mojap-compute-test-mwaa/requirements.txt",
    "s3://mojap-compute-production-mwaa/dags/*",
    "S3://mojap-compute-test-mwaa",
    "/mojap-compute-test-mwaa/dags/x",
    "arn:aws:s3:::mojap-compute-test-mwaa/dags/*",
    # Wildcards that could match one (the schema refuses them too; this rule holds on its own).
    "mojap-compute-*",
    "mojap-compute-*/dags/*",
    "mojap-*/x",
    "*",
    "*/dags/*",
    "mojap-compute-????-mwaa/*",
    "mojap-compute-test-mwaa*",
    "mojap-compute-test-mwaa?x",
]
NOT_PLATFORM_PATHS = [
    "bucket-a/*",
    "mojap-compute-development-mwaa-logs/*",  # another bucket whose name starts alike
    "mojap-compute-test-mwaa.backup/*",
    "mojap-compute-test-mwa/*",
    "mojap-compute-?????-mwaa/*",  # five characters: no environment's name
    "alpha-*/x",
    "my-bucket/mojap-compute-development-mwaa/*",  # a key that looks like one, in a bucket of its own
]


@pytest.mark.parametrize("path", PLATFORM_PATHS)
@pytest.mark.parametrize("key", ["s3_read_only", "s3_read_write", "s3_write_only"])
def test_a_grant_that_reaches_a_platform_bucket_is_refused(config: StackConfig, key: str, path: str) -> None:
    message = iam.platform_bucket_problem(key, path, config)
    assert message is not None
    assert message.startswith(f"'{path}' ")
    assert "platform bucket 'mojap-compute-" in message
    assert "no workflow may be granted access to a platform bucket" in message


def test_the_refusal_says_whether_the_bucket_is_named_or_matched(config: StackConfig) -> None:
    named = iam.platform_bucket_problem("s3_read_write", "mojap-compute-development-mwaa/dags/*", config)
    assert named == (
        "'mojap-compute-development-mwaa/dags/*' names the platform bucket 'mojap-compute-development-mwaa', "
        "which holds what every workflow depends on (Airflow's DAG files and runtime, or the platform's state): "
        "no workflow may be granted access to a platform bucket. Use a bucket of your own team, named without a "
        "wildcard"
    )
    matched = iam.platform_bucket_problem("s3_read_only", "mojap-*/x", config)
    assert matched.startswith(
        "'mojap-*/x' could match, through its wildcards, the platform bucket 'mojap-compute-development-mwaa'"
    )


@pytest.mark.parametrize("path", PLATFORM_PATHS)
def test_denying_a_platform_bucket_is_fine(config: StackConfig, path: str) -> None:
    assert iam.platform_bucket_problem("s3_deny", path, config) is None


@pytest.mark.parametrize("path", NOT_PLATFORM_PATHS)
@pytest.mark.parametrize("key", ["s3_read_only", "s3_read_write", "s3_write_only", "s3_deny"])
def test_other_buckets_are_not_platform_buckets(config: StackConfig, key: str, path: str) -> None:
    assert iam.platform_bucket_problem(key, path, config) is None


def test_the_platform_buckets_come_from_the_stack_config(config: StackConfig) -> None:
    custom = dataclasses.replace(config, platform_buckets=("state-bucket", "mojap-compute-development-mwaa"))
    assert iam.platform_bucket_problem("s3_read_only", "state-bucket/.pulumi/*", custom) is not None
    assert iam.platform_bucket_problem("s3_read_only", "state-bucket/.pulumi/*", config) is None
    # No longer listed: production's bucket is then an ordinary one for this config.
    assert iam.platform_bucket_problem("s3_read_only", "mojap-compute-production-mwaa/*", custom) is None
    assert statement(policy(make_workflow(), custom), "DenyPlatformBuckets")["Resource"] == [
        "arn:aws:s3:::mojap-compute-development-mwaa",
        "arn:aws:s3:::mojap-compute-development-mwaa/*",
        "arn:aws:s3:::state-bucket",
        "arn:aws:s3:::state-bucket/*",
    ]


@pytest.mark.skipif(not CORPUS_MANIFESTS, reason="no corpus next to the repository")
def test_no_live_workflow_is_granted_a_platform_bucket(config: StackConfig) -> None:
    found = [
        (str(path.relative_to(CORPUS)), key, entry)
        for path in CORPUS_MANIFESTS
        for key in ("s3_read_only", "s3_read_write", "s3_write_only")
        for entry in getattr(corpus_workflow(path).iam, key)
        if iam.platform_bucket_problem(key, entry, config) is not None
    ]
    assert found == []


@pytest.mark.parametrize(("case", "workflow"), WORKFLOW_CASES, ids=[c for c, _ in WORKFLOW_CASES])
def test_every_policy_denies_the_platform_buckets(config: StackConfig, case: str, workflow: Workflow) -> None:
    document = policy(workflow, config)
    assert document["Statement"][-1] == DENY_PLATFORM
    for bucket in ("development", "test", "production"):
        arn = f"arn:aws:s3:::mojap-compute-{bucket}-mwaa"
        for action, resource in [
            ("s3:PutObject", f"{arn}/dags/runtime/__init__.py"),
            ("s3:GetObject", f"{arn}/dags/x/y/dag.py"),
            ("s3:DeleteObject", f"{arn}/requirements.txt"),
            ("s3:ListBucket", arn),
        ]:
            assert not allowed(document, action, resource), (action, resource)


def test_the_deny_wins_over_an_allow_that_slipped_through(config: StackConfig) -> None:
    """Built without validate (which refuses these): the Deny still keeps the platform buckets out of reach."""
    workflow = make_workflow(
        Iam(s3_read_write=("mojap-compute-development-mwaa/dags/*", "mojap-*", "bucket-a/*"), s3_read_only=("*",))
    )
    document = policy(workflow, config)
    assert allowed(document, "s3:PutObject", "arn:aws:s3:::bucket-a/data.csv")
    for resource in (
        "arn:aws:s3:::mojap-compute-development-mwaa/dags/x/y/dag.py",
        "arn:aws:s3:::mojap-compute-production-mwaa/dags/x/y/dag.py",
    ):
        assert not allowed(document, "s3:PutObject", resource)
        assert not allowed(document, "s3:GetObject", resource)
    # Without the Deny, the same policy would allow it: the statement is what protects.
    allows_only = {**document, "Statement": [s for s in document["Statement"] if s["Sid"] != "DenyPlatformBuckets"]}
    assert allowed(allows_only, "s3:PutObject", "arn:aws:s3:::mojap-compute-development-mwaa/dags/x/y/dag.py")


def test_a_denied_platform_bucket_gets_no_list_bucket(config: StackConfig) -> None:
    document = policy(make_workflow(Iam(s3_deny=("mojap-compute-test-mwaa/*",))), config)
    assert sids(document) == ["SecretsManagerRead", "S3ListAllMyBuckets", "S3Deny", "DenyPlatformBuckets"]
    mixed = policy(make_workflow(Iam(s3_deny=("mojap-compute-test-mwaa/*", "bucket-a/secret/*"))), config)
    assert statement(mixed, "S3Buckets")["Resource"] == ["arn:aws:s3:::bucket-a"]
    assert statement(mixed, "S3Deny")["Resource"] == [
        "arn:aws:s3:::bucket-a/secret/*",
        "arn:aws:s3:::mojap-compute-test-mwaa/*",
    ]


def test_the_deny_adds_a_fixed_size(config: StackConfig) -> None:
    """343 characters with the three MWAA buckets, whatever else the policy holds: the size limit
    (tests/workflows/plan/test_limits.py) counts it; the largest live policy still fits with room to spare."""
    for name in ("none", "s3_all", "everything"):
        document = policy(make_workflow(COMBINATIONS[name]), config)
        without = {**document, "Statement": document["Statement"][:-1]}
        assert iam.policy_size(document) - iam.policy_size(without) == 343, name


# --- trust, managed policies, secret policy ------------------------------------------------------


def test_trust_document(config: StackConfig) -> None:
    assert trust(make_workflow(), config) == {
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
                        f"{OIDC}:sub": "system:serviceaccount:mwaa:proj-wf",
                    }
                },
            }
        ],
    }


def test_trust_document_follows_alias_and_namespace(config: StackConfig) -> None:
    other = dataclasses.replace(
        config,
        namespace="airflow",
        cluster=dataclasses.replace(
            config.cluster,
            facts_secret=None,
            endpoint="https://e",
            certificate_authority="Q0E=",
            oidc_issuer="https://oidc.example/id/X",
        ),
        accounts=dataclasses.replace(
            config.accounts, data=dataclasses.replace(config.accounts.data, id="111122223333")
        ),
    )
    workflow = make_workflow(project="electronic-monitoring-data-store", name="load")
    only = trust(workflow, other)["Statement"][0]
    assert only["Principal"] == {"Federated": "arn:aws:iam::111122223333:oidc-provider/oidc.example/id/X"}
    assert only["Condition"]["StringEquals"] == {
        "oidc.example/id/X:aud": "sts.amazonaws.com",
        "oidc.example/id/X:sub": "system:serviceaccount:airflow:emds-load",
    }


def shared(*names: str) -> tuple[str, ...]:
    return tuple(f"arn:aws:iam::{ACCOUNT}:policy/airflow-service/{name}" for name in names)


@pytest.mark.parametrize(
    ("iam_config", "expected"),
    [
        (Iam(), shared("kms")),
        (Iam(athena="read"), shared("kms", "athena-read")),
        (Iam(athena="write"), shared("kms", "athena-read", "athena-write")),
        (Iam(bedrock=True), shared("kms", "bedrock")),
        (Iam(glue=True), shared("kms", "glue")),
        (Iam(textract=True, s3_read_only=("b/*",)), shared("kms", "textract")),
        (Iam(lake_formation=True, update_secrets=True, kms=(KMS_KEY_1,)), shared("kms")),
        (
            Iam(athena="write", bedrock=True, glue=True, textract=True),
            shared("kms", "athena-read", "athena-write", "bedrock", "glue", "textract"),
        ),
    ],
)
def test_managed_policy_arns(config: StackConfig, iam_config: Iam, expected: tuple[str, ...]) -> None:
    assert shared_policies(make_workflow(iam_config), config) == expected


def test_managed_policy_arns_add_pattern_extras_from_stack_config(config: StackConfig) -> None:
    cadet = make_workflow(Iam(athena="write", glue=True), project="analytical-platform", name="cadet-compile")
    assert shared_policies(cadet, config) == shared("kms", "athena-read", "athena-write", "glue", "cadet")
    other = make_workflow(Iam(athena="write", glue=True), project="analytical-platform", name="example")
    assert shared_policies(other, config) == shared("kms", "athena-read", "athena-write", "glue")


def test_managed_policy_arns_extras_keep_config_order_without_duplicates(config: StackConfig) -> None:
    custom = dataclasses.replace(
        config,
        shared_policy_path="/platform/shared/",
        extra_policies=(
            ExtraPolicies("proj*", "*", ("zeta", "glue")),
            ExtraPolicies("*", "wf", ("alpha", "zeta")),
            ExtraPolicies("nope", "*", ("never",)),
        ),
    )
    assert shared_policies(make_workflow(Iam(glue=True)), custom) == tuple(
        f"arn:aws:iam::{ACCOUNT}:policy/platform/shared/{name}" for name in ("kms", "glue", "zeta", "alpha")
    )


@pytest.mark.parametrize(
    ("project", "workflow", "gets_cadet"),
    [
        ("analytical-platform", "cadet-x", True),
        ("analytical-platform", "cadet", True),
        ("analytical-platform", "cadet-compile", True),
        # The same joined name "analytical-platform-cadet-x", split elsewhere: other teams' folders.
        ("analytical", "platform-cadet-x", False),
        ("analytical-platform-cadet", "x", False),
        ("analytical-platform-cadet-x", "y", False),
        ("analytical-platform-x", "cadet-y", False),
        ("analytical", "platform", False),
        ("analytical-platform", "x-cadet", False),
        ("analytical-platform", "Cadet-x", False),  # case-sensitive, as folder names are
        ("hmpps", "cadet-deployer-dpr", False),
    ],
)
def test_extra_policies_match_project_and_workflow_separately(
    config: StackConfig, project: str, workflow: str, gets_cadet: bool
) -> None:
    """The stack files' cadet rule is project analytical-platform, workflow cadet*: no other split of the
    joined name reaches it (issue 12, item 3)."""
    expected = shared("kms", "cadet") if gets_cadet else shared("kms")
    assert shared_policies(make_workflow(project=project, name=workflow), config) == expected


def test_extra_policy_patterns_apply_to_their_own_part_only() -> None:
    extra = ExtraPolicies(project="a*", workflow="b?", policies=("p",))
    assert extra.matches("a", "b1")
    assert extra.matches("abc", "bc")
    assert not extra.matches("a-b1", "x")  # the project pattern cannot reach into the workflow name
    assert not extra.matches("x", "a-b1")
    assert not extra.matches("a", "b12")
    assert not ExtraPolicies(project="*", workflow="*-x", policies=("p",)).matches("a-b", "x")


SECRET_ARN = f"arn:aws:secretsmanager:eu-west-2:{ACCOUNT}:secret:/airflow/development/proj/wf/token-AbCdEf"


def test_secret_policy_document(config: StackConfig) -> None:
    workflow = make_workflow(maintainers=("bob", "Alice-Smith"))
    assert secret_policy(workflow, config, SECRET_ARN) == {
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
                "Resource": [SECRET_ARN],
                "Condition": {"StringLike": {"aws:userid": ["*:Alice-Smith", "*:alice-smith", "*:bob"]}},
            }
        ],
    }


def test_secret_policy_principal_and_pattern_come_from_stack_config(config: StackConfig) -> None:
    custom = dataclasses.replace(
        config,
        accounts=dataclasses.replace(
            config.accounts, data=dataclasses.replace(config.accounts.data, id="444455556666")
        ),
        maintainer_userid_pattern="AROAEXAMPLE:{maintainer}",
    )
    placeholder = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # what Pulumi shows for an unknown output
    document = secret_policy(make_workflow(maintainers=("carol",)), custom, placeholder)
    (only,) = document["Statement"]
    assert only["Principal"] == {"AWS": "arn:aws:iam::444455556666:root"}
    assert only["Condition"] == {"StringLike": {"aws:userid": ["AROAEXAMPLE:carol"]}}
    assert only["Resource"] == [placeholder]


@pytest.mark.parametrize(("case", "workflow"), WORKFLOW_CASES, ids=[c for c, _ in WORKFLOW_CASES])
def test_secret_policy_never_allows_everyone(config: StackConfig, case: str, workflow: Workflow) -> None:
    document = secret_policy(workflow, config, SECRET_ARN)
    for s in document["Statement"]:
        assert s["Effect"] == "Allow"
        assert s["Principal"] != "*"
        assert s["Principal"] == {"AWS": f"arn:aws:iam::{config.account_id}:root"}
        assert "*" not in s["Action"]
        userids = s["Condition"]["StringLike"]["aws:userid"]
        assert userids
        assert all(u not in ("*", "*:") for u in userids)
        assert {u.lower() for u in userids} == {f"*:{m.lower()}" for m in workflow.maintainers}


# --- rendering and size --------------------------------------------------------------------------


def test_policy_json_is_canonical(config: StackConfig) -> None:
    document = trust(make_workflow(), config)
    text = iam.policy_json(document)
    assert json.loads(text) == document
    assert text == json.dumps(document, indent=2, sort_keys=True)
    assert text.startswith('{\n  "Statement": [\n    {\n      "Action": [\n        "sts:AssumeRoleWithWebIdentity"')
    assert not text.endswith("\n")


def test_policy_json_keeps_statement_order_and_non_ascii(config: StackConfig) -> None:
    document = policy(make_workflow(Iam(s3_read_only=("bucket-a/données/*",), glue=True)), config)
    text = iam.policy_json(document)
    assert [s["Sid"] for s in json.loads(text)["Statement"]] == sids(document)
    assert "données" in text


def test_same_manifest_in_another_order_gives_the_same_bytes(config: StackConfig) -> None:
    first = Iam(s3_read_only=("b/1/*", "a/2/*", "c"), kms=(KMS_KEY_1, KMS_KEY_2))
    second = Iam(s3_read_only=("c", "a/2/*", "b/1/*", "a/2/*"), kms=(KMS_KEY_2, KMS_KEY_1))
    assert iam.policy_json(policy(make_workflow(first), config)) == iam.policy_json(
        policy(make_workflow(second), config)
    )


def test_policy_size_ignores_whitespace(config: StackConfig) -> None:
    document = {"Version": "2012-10-17", "Statement": [{"Sid": "A", "Effect": "Allow", "Action": ["s3:GetObject"]}]}
    compact = '{"Statement":[{"Action":["s3:GetObject"],"Effect":"Allow","Sid":"A"}],"Version":"2012-10-17"}'
    assert iam.policy_size(document) == len(compact)
    big = policy(make_workflow(COMBINATIONS["everything"]), config)
    assert iam.policy_size(big) == len(json.dumps(big, separators=(",", ":")))
    assert iam.policy_size(big) < len(iam.policy_json(big))
    # The limit it is checked against, and the problem it gives, are tests/workflows/plan/test_limits.py's.


def test_role_arn_and_session_length(config: StackConfig) -> None:
    names = derive(make_workflow(project="electronic-monitoring-data-store", name="load"), config)
    assert iam.role_arn(names, config) == f"arn:aws:iam::{ACCOUNT}:role/airflow-development-emds-load"
    assert iam.ROLE_MAX_SESSION_SECONDS == 43200  # 12 h (DESIGN.md)


# --- against moto's IAM (grammar checks of CreateRole / CreatePolicy) -----------------------------


@pytest.fixture
def aws(config: StackConfig, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("MOTO_ACCOUNT_ID", config.account_id)
    with mock_aws():
        yield


SHARED_POLICY_NAMES = ("kms", "athena-read", "athena-write", "bedrock", "glue", "textract", "cadet")


@pytest.mark.parametrize(("case", "workflow"), WORKFLOW_CASES, ids=[c for c, _ in WORKFLOW_CASES])
def test_documents_are_accepted_by_iam(config: StackConfig, aws: None, case: str, workflow: Workflow) -> None:
    client = boto3.client("iam", region_name="us-east-1")
    names = derive(workflow, config)
    # The platform's shared policies, so attaching by the ARNs we build proves they are right.
    placeholder = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
    for name in SHARED_POLICY_NAMES:
        client.create_policy(PolicyName=name, Path="/airflow-service/", PolicyDocument=json.dumps(placeholder))

    role_name = names.role[:64]  # over-long names are a validation error; the documents are what is checked here
    trust_json = iam.policy_json(trust(workflow, config))
    client.create_role(RoleName=role_name, AssumeRolePolicyDocument=trust_json, MaxSessionDuration=43200)
    # moto checks trust-policy grammar on UpdateAssumeRolePolicy (CreateRole stores it unchecked).
    client.update_assume_role_policy(RoleName=role_name, PolicyDocument=trust_json)
    document = policy(workflow, config)
    created = client.create_policy(PolicyName=role_name, PolicyDocument=iam.policy_json(document))["Policy"]
    assert created["Arn"] == f"arn:aws:iam::{config.account_id}:policy/{role_name}"
    client.attach_role_policy(RoleName=role_name, PolicyArn=created["Arn"])
    for arn in shared_policies(workflow, config):
        client.attach_role_policy(RoleName=role_name, PolicyArn=arn)

    attached = client.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]
    assert sorted(p["PolicyArn"] for p in attached) == sorted([created["Arn"], *shared_policies(workflow, config)])
    stored = client.get_policy_version(PolicyArn=created["Arn"], VersionId=created["DefaultVersionId"])
    assert stored["PolicyVersion"]["Document"] == document
    assert client.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"] == trust(workflow, config)
    # Resource policies are not checked by moto's Secrets Manager: check the grammar directly.
    IAMPolicyDocumentValidator(iam.policy_json(secret_policy(workflow, config, SECRET_ARN))).validate()


def test_moto_really_rejects_malformed_policies(config: StackConfig, aws: None) -> None:
    """Guard for the test above: moto's IAM validates grammar (so acceptance means something)."""
    client = boto3.client("iam", region_name="us-east-1")
    document = policy(make_workflow(COMBINATIONS["everything"]), config)
    document["Statement"][0]["Effect"] = "Permit"
    with pytest.raises(client.exceptions.MalformedPolicyDocumentException):
        client.create_policy(PolicyName="broken", PolicyDocument=iam.policy_json(document))
    broken = trust(make_workflow(), config)
    broken["Statement"][0]["Resource"] = "*"
    with pytest.raises(client.exceptions.MalformedPolicyDocumentException):
        client.create_role(RoleName="broken", AssumeRolePolicyDocument=iam.policy_json(broken))
        client.update_assume_role_policy(RoleName="broken", PolicyDocument=iam.policy_json(broken))


def test_secret_policy_on_a_secret(config: StackConfig, aws: None) -> None:
    client = boto3.client("secretsmanager", region_name=config.region)
    workflow = make_workflow(maintainers=("alice", "bob"))
    names = derive(workflow, config)
    arn = client.create_secret(Name=names.secret_name("token"), SecretString="CHANGEME")["ARN"]
    resource_policy = iam.policy_json(secret_policy(workflow, config, arn))
    client.put_resource_policy(SecretId=arn, ResourcePolicy=resource_policy)
    assert json.loads(client.get_resource_policy(SecretId=arn)["ResourcePolicy"])["Statement"][0]["Resource"] == [arn]
    # The secret is one the workflow's own policy lets it read.
    prefix = statement(policy(workflow, config), "SecretsManagerRead")["Resource"]
    assert any(arn.startswith(p.removesuffix("*")) for p in prefix)
