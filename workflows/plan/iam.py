"""Every IAM JSON document the stack writes for one workflow.

Pure functions of a validated :class:`~workflows.model.Workflow` and the
:class:`~workflows.config.StackConfig`; the Pulumi components and the
``render`` command only serialise what these return, with :func:`policy_json`.

The workflow's own managed policy (:func:`policy_document`) holds, in this
statement order (each statement only when its manifest key is set):

=========================  ======  ==================================================
Sid                        Effect  from
=========================  ======  ==================================================
``SecretsManagerRead``     Allow   always: ``GetSecretValue`` on the workflow's own
                                   secrets, in the primary and the replica region
``SecretsManagerUpdate``   Allow   ``update_secrets``: put a new value into its own
                                   secrets (primary region: replicas are read-only)
``S3ListAllMyBuckets``     Allow   any of the three ``s3_*`` Allow keys (``Resource: "*"``:
                                   the action has no resource-level permissions)
``S3Buckets``              Allow   ``ListBucket``/``GetBucketLocation`` on every bucket
                                   of ``s3_read_only``/``s3_read_write``/``s3_write_only``
``S3ReadOnly``             Allow   ``s3_read_only``
``S3ReadWrite``            Allow   ``s3_read_write``
``S3WriteOnly``            Allow   ``s3_write_only``
``S3Deny``                 Deny    ``s3_deny``: every object action granted above
``KMS``                    Allow   ``kms``
``GluePassRole``           Allow   ``glue``: pass its own role, to Glue only
``BedrockInvoke``          Allow   ``bedrock``: invoke foundation models and
                                   inference profiles
``BedrockList``            Allow   ``bedrock``: list models and profiles (``"*"``)
``Textract``               Allow   ``textract`` (``"*"``: no resource-level permissions)
``LakeFormation``          Allow   ``lake_formation``: ``GetDataAccess`` (``"*"``)
``CloudWatchLogsRead``     Allow   ``cloudwatch_logs_read_only``: read those log groups
``CloudWatchLogsQueries``  Allow   ``cloudwatch_logs_read_only``: follow Logs Insights
                                   queries (``"*"``: no resource-level permissions)
=========================  ======  ==================================================

Within a statement, actions and resources are sorted and deduplicated, so the
same manifest always gives the same bytes. ``"*"`` appears only as the
resource of actions that cannot be scoped to a resource, never as an action.

S3 paths (``s3_*`` keys) are ``<bucket>[/<key pattern>]`` and become
``arn:aws:s3:::<path>``, except that a bare bucket (``bucket``, or ``bucket/``,
whose key part is empty and so names no object) means every object in it,
``bucket/*``. Any other path is used as written: ``bucket/prefix`` without a
wildcard is that one object only. ``s3_deny`` alone grants nothing: buckets
named only there get no ``ListBucket`` (denying objects must not grant
listing them) and no ``ListAllMyBuckets``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from workflows.config import StackConfig
from workflows.model import Iam
from workflows.plan.naming import Names

POLICY_VERSION = "2012-10-17"
ROLE_MAX_SESSION_SECONDS = 12 * 3600

S3_READ_ACTIONS = (
    "s3:GetObject",
    "s3:GetObjectAcl",
    "s3:GetObjectVersion",
)
S3_WRITE_ACTIONS = (
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",
    "s3:DeleteObjectTagging",
    "s3:DeleteObjectVersion",
    "s3:ListMultipartUploadParts",
    "s3:PutObject",
    "s3:PutObjectAcl",
    "s3:PutObjectTagging",
    "s3:RestoreObject",
)
S3_READ_WRITE_ACTIONS = (*S3_READ_ACTIONS, "s3:GetObjectTagging", *S3_WRITE_ACTIONS)
# Deny everything any Allow statement here can grant on objects.
S3_DENY_ACTIONS = S3_READ_WRITE_ACTIONS
S3_BUCKET_ACTIONS = ("s3:GetBucketLocation", "s3:ListBucket")
S3_ACCOUNT_ACTIONS = ("s3:ListAllMyBuckets",)

KMS_ACTIONS = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
)
SECRET_READ_ACTIONS = ("secretsmanager:GetSecretValue",)
SECRET_UPDATE_ACTIONS = ("secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue")
GLUE_PASS_ROLE_ACTIONS = ("iam:PassRole",)
GLUE_SERVICE = "glue.amazonaws.com"
# Converse/ConverseStream are authorised by InvokeModel/InvokeModelWithResponseStream.
BEDROCK_INVOKE_ACTIONS = (
    "bedrock:GetFoundationModel",
    "bedrock:GetInferenceProfile",
    "bedrock:InvokeModel",
    "bedrock:InvokeModelWithResponseStream",
)
BEDROCK_LIST_ACTIONS = ("bedrock:ListFoundationModels", "bedrock:ListInferenceProfiles")
TEXTRACT_ACTIONS = (
    "textract:AnalyzeDocument",
    "textract:AnalyzeExpense",
    "textract:AnalyzeID",
    "textract:DetectDocumentText",
    "textract:GetDocumentAnalysis",
    "textract:GetDocumentTextDetection",
    "textract:GetExpenseAnalysis",
    "textract:StartDocumentAnalysis",
    "textract:StartDocumentTextDetection",
    "textract:StartExpenseAnalysis",
)
LAKE_FORMATION_ACTIONS = ("lakeformation:GetDataAccess",)
LOGS_READ_ACTIONS = (
    "logs:DescribeLogStreams",
    "logs:FilterLogEvents",
    "logs:GetLogEvents",
    "logs:GetLogGroupFields",
    "logs:StartQuery",
)
LOGS_QUERY_ACTIONS = ("logs:DescribeQueries", "logs:GetQueryResults", "logs:StopQuery")

ALL_RESOURCES = "*"

# The secret resource policy: what a maintainer may do with the value.
SECRET_MAINTAINER_ACTIONS = (
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
)

# Shared managed policies, in the order they are attached.
KMS_POLICY = "kms"
ATHENA_READ_POLICY = "athena-read"
ATHENA_WRITE_POLICY = "athena-write"
BEDROCK_POLICY = "bedrock"
GLUE_POLICY = "glue"
TEXTRACT_POLICY = "textract"

OIDC_AUDIENCE = "sts.amazonaws.com"


def policy_document(iam: Iam, names: Names, config: StackConfig) -> dict[str, Any]:
    """The workflow's own managed policy (see the module docstring for its statements)."""
    statements: list[dict[str, Any]] = [
        _statement(
            "SecretsManagerRead",
            SECRET_READ_ACTIONS,
            (_secret_prefix_arn(config, region, names.secret_prefix) for region in _secret_regions(config)),
        )
    ]
    if iam.update_secrets:
        statements.append(
            _statement(
                "SecretsManagerUpdate",
                SECRET_UPDATE_ACTIONS,
                [_secret_prefix_arn(config, config.region, names.secret_prefix)],
            )
        )

    allowed_paths = (*iam.s3_read_only, *iam.s3_read_write, *iam.s3_write_only)
    if allowed_paths:
        statements.append(_statement("S3ListAllMyBuckets", S3_ACCOUNT_ACTIONS, [ALL_RESOURCES]))
        buckets = (f"arn:aws:s3:::{bucket_of(path)}" for path in allowed_paths)
        statements.append(_statement("S3Buckets", S3_BUCKET_ACTIONS, buckets))
    for sid, actions, paths in (
        ("S3ReadOnly", S3_READ_ACTIONS, iam.s3_read_only),
        ("S3ReadWrite", S3_READ_WRITE_ACTIONS, iam.s3_read_write),
        ("S3WriteOnly", S3_WRITE_ACTIONS, iam.s3_write_only),
    ):
        if paths:
            statements.append(_statement(sid, actions, (s3_object_arn(path) for path in paths)))
    if iam.s3_deny:
        statements.append(
            _statement("S3Deny", S3_DENY_ACTIONS, (s3_object_arn(path) for path in iam.s3_deny), effect="Deny")
        )

    if iam.kms:
        statements.append(_statement("KMS", KMS_ACTIONS, iam.kms))
    if iam.glue:
        statements.append(
            _statement(
                "GluePassRole",
                GLUE_PASS_ROLE_ACTIONS,
                [role_arn(names, config)],
                condition={"StringEquals": {"iam:PassedToService": GLUE_SERVICE}},
            )
        )
    if iam.bedrock:
        bedrock_resources = (
            "arn:aws:bedrock:*::foundation-model/*",
            f"arn:aws:bedrock:*:{config.account_id}:inference-profile/*",
        )
        statements.append(_statement("BedrockInvoke", BEDROCK_INVOKE_ACTIONS, bedrock_resources))
        statements.append(_statement("BedrockList", BEDROCK_LIST_ACTIONS, [ALL_RESOURCES]))
    if iam.textract:
        statements.append(_statement("Textract", TEXTRACT_ACTIONS, [ALL_RESOURCES]))
    if iam.lake_formation:
        statements.append(_statement("LakeFormation", LAKE_FORMATION_ACTIONS, [ALL_RESOURCES]))
    if iam.cloudwatch_logs_read_only:
        log_resources = (arn for group in iam.cloudwatch_logs_read_only for arn in log_group_arns(group))
        statements.append(_statement("CloudWatchLogsRead", LOGS_READ_ACTIONS, log_resources))
        statements.append(_statement("CloudWatchLogsQueries", LOGS_QUERY_ACTIONS, [ALL_RESOURCES]))
    return {"Version": POLICY_VERSION, "Statement": statements}


def trust_document(names: Names, config: StackConfig) -> dict[str, Any]:
    """IRSA trust: only the workflow's Kubernetes service account, through the cluster's OIDC provider."""
    oidc = config.oidc_provider
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "ServiceAccount",
                "Effect": "Allow",
                "Principal": {"Federated": f"arn:aws:iam::{config.account_id}:oidc-provider/{oidc}"},
                "Action": ["sts:AssumeRoleWithWebIdentity"],
                "Condition": {
                    "StringEquals": {
                        f"{oidc}:aud": OIDC_AUDIENCE,
                        f"{oidc}:sub": f"system:serviceaccount:{config.namespace}:{names.service_account}",
                    }
                },
            }
        ],
    }


def managed_policy_arns(iam: Iam, project: str, workflow: str, config: StackConfig) -> tuple[str, ...]:
    """Shared managed policies to attach to the workflow's generated role.

    Order: ``kms``, ``athena-read``, ``athena-write``, ``bedrock``, ``glue``,
    ``textract``, then the stack config's pattern-based extras in their
    config order; each name once. Only meaningful without ``iam.external_role``.
    """
    names = [KMS_POLICY]
    if iam.athena in ("read", "write"):
        names.append(ATHENA_READ_POLICY)
    if iam.athena == "write":
        names.append(ATHENA_WRITE_POLICY)
    if iam.bedrock:
        names.append(BEDROCK_POLICY)
    if iam.glue:
        names.append(GLUE_POLICY)
    if iam.textract:
        names.append(TEXTRACT_POLICY)
    names.extend(config.extra_policy_names(project, workflow))
    return tuple(shared_policy_arn(config, name) for name in dict.fromkeys(names))


def secret_policy_document(maintainers: Iterable[str], config: StackConfig, secret_arn: str) -> dict[str, Any]:
    """Resource policy of one of the workflow's secrets: its maintainers may read and put the value.

    The grant is to principals of the data account (never ``"*"``) whose
    ``aws:userid`` matches ``config.maintainer_userid_pattern`` for a maintainer
    (``*:<maintainer>``: a role session named after them). Each maintainer is
    matched as written and lower-cased (GitHub names are case-insensitive;
    IAM matching is not). It grants only: principals with access through their
    own identity policies (the workflow role, the deployer) keep it.
    ``secret_arn`` goes into ``Resource`` as given (it may be a Pulumi placeholder).
    """
    userids = sorted(
        {config.maintainer_userid_pattern.format(maintainer=form) for m in maintainers for form in (m, m.lower())}
    )
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "MaintainersReadAndPut",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{config.data_account_id}:root"},
                "Action": list(SECRET_MAINTAINER_ACTIONS),
                "Resource": [secret_arn],
                "Condition": {"StringLike": {"aws:userid": userids}},
            }
        ],
    }


def policy_json(document: dict[str, Any]) -> str:
    """The one canonical rendering of a document, for resources and review files alike.

    Keys sorted, two-space indent, no trailing newline, non-ASCII kept as is:
    the same document always gives the same bytes.
    """
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)


def policy_size(document: dict[str, Any]) -> int:
    """Characters AWS counts against a managed policy's size limit (the JSON without whitespace).

    Whitespace inside strings (S3 keys may contain spaces) is counted, which
    can only over-estimate.
    """
    return len(json.dumps(document, separators=(",", ":"), sort_keys=True, ensure_ascii=False))


def role_arn(names: Names, config: StackConfig) -> str:
    """ARN of the role the stack generates for the workflow (not the external role)."""
    return f"arn:aws:iam::{config.account_id}:role/{names.role}"


def policy_arn(names: Names, config: StackConfig) -> str:
    """ARN of the workflow's own managed policy (created at the account's root path)."""
    return f"arn:aws:iam::{config.account_id}:policy/{names.policy}"


def shared_policy_arn(config: StackConfig, name: str) -> str:
    """``arn:aws:iam::<account>:policy/<shared policy path>/<name>``."""
    path = "/".join(part for part in (*config.shared_policy_path.split("/"), name) if part)
    return f"arn:aws:iam::{config.account_id}:policy/{path}"


def bucket_of(path: str) -> str:
    """The bucket part of an S3 path: ``bucket/prefix/*`` -> ``bucket``."""
    return path.split("/", 1)[0]


def s3_object_arn(path: str) -> str:
    """Object ARN for an S3 path; a bare bucket (``bucket`` or ``bucket/``) means ``bucket/*``."""
    bucket, _, key = path.partition("/")
    return f"arn:aws:s3:::{bucket}/{key or '*'}"


def log_group_arns(arn: str) -> tuple[str, ...]:
    """The log group ARN, and its streams (``<arn>:*``) when it does not already end in a wildcard.

    Group actions (``FilterLogEvents``, ``StartQuery``) match the log group;
    ``GetLogEvents`` matches its log streams, which ``:*`` covers.
    """
    return (arn,) if arn.endswith("*") else (arn, f"{arn}:*")


def _secret_regions(config: StackConfig) -> tuple[str, ...]:
    return tuple(dict.fromkeys((config.region, config.replica_region)))


def _secret_prefix_arn(config: StackConfig, region: str, secret_prefix: str) -> str:
    return f"arn:aws:secretsmanager:{region}:{config.account_id}:secret:{secret_prefix}*"


def _statement(
    sid: str,
    actions: Iterable[str],
    resources: Iterable[str],
    *,
    effect: str = "Allow",
    condition: dict[str, Any] | None = None,
) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": effect,
        "Action": sorted(set(actions)),
        "Resource": sorted(set(resources)),
    }
    if condition is not None:
        statement["Condition"] = condition
    return statement
