"""Every IAM JSON document the stack writes for one workflow.

Pure functions of a validated :class:`~workflows.model.Workflow` and the
:class:`~workflows.config.StackConfig`; the Pulumi components and the
``render`` command only serialise what these return, with :func:`policy_json`.

The running service's grants are the baseline (``reference/live-installation.md``):
a workflow keeps every action it has today on every resource it has today, and
gets nothing broader, except where a live grant does nothing in AWS; there the
grant that makes it work is given instead (each such correction is listed in
``docs/migration.md``, "Corrections to grants").

The workflow's own managed policy (:func:`policy_document`) holds, in this
statement order (each statement only when its manifest key is set):

=========================  ======  ==================================================
Sid                        Effect  from
=========================  ======  ==================================================
``SecretsManagerRead``     Allow   always: ``GetSecretValue`` on the workflow's own
                                   secrets, in the primary and the replica region
``SecretsManagerShared``   Allow   ``shared_secrets``: ``GetSecretValue`` on each listed
                                   project secret (exactly it: ``-??????`` is the suffix
                                   AWS adds), in both regions
``SecretsManagerUpdate``   Allow   ``update_secrets``: ``PutSecretValue`` and
                                   ``UpdateSecret`` on each of its ``secrets``, in both
                                   regions (as today)
``S3ListAllMyBuckets``     Allow   any ``s3_*`` key (``Resource: "*"``: the action has
                                   no resource-level permissions; today it is scoped to
                                   bucket ARNs, which matches nothing)
``S3Buckets``              Allow   ``ListBucket``/``GetBucketLocation`` on every bucket
                                   named by any ``s3_*`` key, ``s3_deny`` included (as
                                   today), except a platform bucket (``s3_deny`` only)
``S3ReadOnly``             Allow   ``s3_read_only``
``S3ReadWrite``            Allow   ``s3_read_write``
``S3WriteOnly``            Allow   ``s3_write_only``
``S3Deny``                 Deny    ``s3_deny``: every object action granted above
``KMS``                    Allow   ``kms``
``GluePassRole``           Allow   ``glue``: pass its own role, to Glue only
``LakeFormation``          Allow   ``lake_formation``: ``GetDataAccess`` (``"*"``)
``CloudWatchLogsRead``     Allow   ``cloudwatch_logs_read_only``: today's action list on
                                   those log groups and their streams
``CloudWatchLogsQueries``  Allow   ``cloudwatch_logs_read_only``: the Logs Insights
                                   query actions of that list that take no resource
                                   (``"*"``: scoped to log groups they match nothing)
``DenyPlatformBuckets``    Deny    always: ``s3:*`` on every platform bucket
                                   (``platform:platformBuckets``) and its objects
=========================  ======  ==================================================

Platform buckets (the MWAA buckets, whose DAG files and runtime every tenant's DAG runs; the
Pulumi state) are refused in every ``s3_*`` key but ``s3_deny`` by ``validate``, whatever
form the path takes (``s3://``, wildcards that could match one:
:mod:`workflows.plan.platform_buckets`); the policy pack refuses any Allow that reaches one;
``DenyPlatformBuckets`` is the third line.

``bedrock`` and ``textract`` grant through their shared policies only (attached by
:func:`managed_policy_arns`), as today: no inline statement repeats them.

Within a statement, actions and resources are sorted and deduplicated, so the
same manifest always gives the same bytes. ``"*"`` appears only as the
resource of actions that cannot be scoped to a resource, never as an action.

S3 paths (``s3_*`` keys) become ``arn:aws:s3:::<path>`` exactly as written, as the
running service grants them: ``bucket`` and ``bucket/`` name no object (``bucket/*``
does), ``bucket/prefix/`` only the object named exactly ``prefix/``, and
``s3://bucket/x`` the ARN ``arn:aws:s3:::s3://bucket/x``; ``validate`` warns about
each such entry and says what to write instead. A path's bucket, for
``ListBucket``, is its part before the first ``/``, as today.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from workflows.config import StackConfig
from workflows.model import Iam
from workflows.plan.naming import Names
from workflows.plan.platform_buckets import platform_bucket_arns, platform_bucket_of_path

POLICY_VERSION = "2012-10-17"
ROLE_MAX_SESSION_SECONDS = 12 * 3600

S3_READ_ACTIONS = (
    "s3:GetObject",
    "s3:GetObjectAcl",
    "s3:GetObjectVersion",
)
# Today's write actions, with the real multipart actions in place of s3:CreateMultipartUpload (not an
# IAM action: s3:PutObject authorises creating a multipart upload).
S3_MULTIPART_ACTIONS = ("s3:AbortMultipartUpload", "s3:ListMultipartUploadParts")
S3_WRITE_ONLY_ACTIONS = (
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutObject",
    "s3:PutObjectAcl",
    "s3:RestoreObject",
    *S3_MULTIPART_ACTIONS,
)
S3_READ_WRITE_ACTIONS = (
    *S3_READ_ACTIONS,
    "s3:GetObjectTagging",
    "s3:PutObjectTagging",
    *S3_WRITE_ONLY_ACTIONS,
)
# Deny everything any Allow statement here can grant on objects.
S3_DENY_ACTIONS = S3_READ_WRITE_ACTIONS
S3_BUCKET_ACTIONS = ("s3:GetBucketLocation", "s3:ListBucket")
S3_ACCOUNT_ACTIONS = ("s3:ListAllMyBuckets",)
# Denied on the platform buckets (a Deny: the whole service is meant).
S3_ALL_ACTIONS = ("s3:*",)
PLATFORM_BUCKETS_DENY_SID = "DenyPlatformBuckets"

KMS_ACTIONS = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
)
SECRET_READ_ACTIONS = ("secretsmanager:GetSecretValue",)
SECRET_UPDATE_ACTIONS = ("secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret")
GLUE_PASS_ROLE_ACTIONS = ("iam:PassRole",)
GLUE_SERVICE = "glue.amazonaws.com"
LAKE_FORMATION_ACTIONS = ("lakeformation:GetDataAccess",)
# cloudwatch_logs_read_only: the running service's list, on the listed log groups.
LOGS_READ_ACTIONS = (
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
)
# The Logs Insights query actions of that list that have no resource types in AWS's Service
# Authorization Reference, so that scoped to log groups they match nothing: also granted on "*".
# (logs:GetQueryResults and logs:StartQuery take the log group, so logs:Get* and StartQuery above cover them.)
LOGS_QUERY_ACTIONS = (
    "cloudwatch:GenerateQuery",
    "cloudwatch:GenerateQueryResultsSummary",
    "logs:DescribeQueries",
    "logs:DescribeQueryDefinitions",
    "logs:ListLogGroupsForQuery",
    "logs:StopQuery",
)

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


def policy_document(
    iam: Iam, names: Names, config: StackConfig, secrets: Iterable[str] = (), shared_secrets: Iterable[str] = ()
) -> dict[str, Any]:
    """The workflow's own managed policy (see the module docstring for its statements); ``secrets``
    are the workflow's secret ids (``update_secrets`` grants on each), ``shared_secrets`` the ids of
    its project's shared secrets it reads."""
    regions = _secret_regions(config)
    statements: list[dict[str, Any]] = [
        statement(
            "SecretsManagerRead",
            SECRET_READ_ACTIONS,
            (_secret_arn(config, region, names.secret_prefix) for region in regions),
        )
    ]
    shared = [
        _exact_secret_arn(config, region, names.shared_secret_name(s)) for s in shared_secrets for region in regions
    ]
    if shared:
        statements.append(statement("SecretsManagerShared", SECRET_READ_ACTIONS, shared))
    update = [_secret_arn(config, region, names.secret_name(s)) for s in secrets for region in regions]
    if iam.update_secrets and update:  # with no secret there is nothing to update (and no resource to name)
        statements.append(statement("SecretsManagerUpdate", SECRET_UPDATE_ACTIONS, update))

    paths = (*iam.s3_read_only, *iam.s3_read_write, *iam.s3_write_only, *iam.s3_deny)
    if paths:
        statements.append(statement("S3ListAllMyBuckets", S3_ACCOUNT_ACTIONS, [ALL_RESOURCES]))
        # A platform bucket can only come from s3_deny here (validate refuses it in the other keys):
        # denying it is harmless, but it gets no ListBucket.
        listed = [path for path in paths if platform_bucket_of_path(path, config.platform_buckets) is None]
        if listed:
            statements.append(statement("S3Buckets", S3_BUCKET_ACTIONS, (bucket_arn(path) for path in listed)))
    for sid, actions, granted in (
        ("S3ReadOnly", S3_READ_ACTIONS, iam.s3_read_only),
        ("S3ReadWrite", S3_READ_WRITE_ACTIONS, iam.s3_read_write),
        ("S3WriteOnly", S3_WRITE_ONLY_ACTIONS, iam.s3_write_only),
    ):
        if granted:
            statements.append(statement(sid, actions, (s3_object_arn(path) for path in granted)))
    if iam.s3_deny:
        statements.append(
            statement("S3Deny", S3_DENY_ACTIONS, (s3_object_arn(path) for path in iam.s3_deny), effect="Deny")
        )

    if iam.kms:
        statements.append(statement("KMS", KMS_ACTIONS, iam.kms))
    if iam.glue:
        statements.append(
            statement(
                "GluePassRole",
                GLUE_PASS_ROLE_ACTIONS,
                [role_arn(names, config)],
                condition={"StringEquals": {"iam:PassedToService": GLUE_SERVICE}},
            )
        )
    if iam.lake_formation:
        statements.append(statement("LakeFormation", LAKE_FORMATION_ACTIONS, [ALL_RESOURCES]))
    if iam.cloudwatch_logs_read_only:
        log_resources = (arn for group in iam.cloudwatch_logs_read_only for arn in log_group_arns(group))
        statements.append(statement("CloudWatchLogsRead", LOGS_READ_ACTIONS, log_resources))
        statements.append(statement("CloudWatchLogsQueries", LOGS_QUERY_ACTIONS, [ALL_RESOURCES]))
    statements.append(platform_buckets_deny(config))
    return {"Version": POLICY_VERSION, "Statement": statements}


def platform_buckets_deny(config: StackConfig) -> dict[str, Any]:
    """``DenyPlatformBuckets``: every S3 action on the platform buckets and their objects, in every
    generated policy. A second line of defence behind ``validate``: whatever an Allow above (or a shared
    policy attached to the role) matches, an explicit Deny wins in IAM."""
    return statement(
        PLATFORM_BUCKETS_DENY_SID, S3_ALL_ACTIONS, platform_bucket_arns(config.platform_buckets), effect="Deny"
    )


# The iam keys that grant on S3 paths; s3_deny only takes away, so a platform bucket is fine there.
S3_GRANT_KEYS = ("s3_read_only", "s3_read_write", "s3_write_only")


def platform_bucket_problem(key: str, path: str, config: StackConfig) -> str | None:
    """Why the ``iam.<key>`` entry ``path`` is refused because it could reach a platform bucket, or None."""
    if key not in S3_GRANT_KEYS:
        return None
    bucket = platform_bucket_of_path(path, config.platform_buckets)
    if bucket is None:
        return None
    named = bucket_of(path.split("://", 1)[-1]).lower() == bucket
    how = "names" if named else "could match, through its wildcards,"
    return (
        f"'{path}' {how} the platform bucket '{bucket}', which holds what every workflow depends on "
        "(Airflow's DAG files and runtime, or the platform's state): no workflow may be granted access to "
        "a platform bucket. Use a bucket of your own team, named without a wildcard"
    )


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
                "Principal": {"AWS": f"arn:aws:iam::{config.account_id}:root"},
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
    """The bucket part of an S3 path, as the running service takes it: everything before the first ``/``
    (``bucket/prefix/*`` -> ``bucket``; ``s3://bucket/x`` -> ``s3:``)."""
    return path.split("/", 1)[0]


def bucket_arn(path: str) -> str:
    """``arn:aws:s3:::<bucket>`` for an S3 path's bucket (:func:`bucket_of`)."""
    return f"arn:aws:s3:::{bucket_of(path)}"


def s3_object_arn(path: str) -> str:
    """``arn:aws:s3:::<path>``, the path exactly as written: ``bucket`` and ``bucket/`` match no object,
    as they match none today (``validate`` warns and says to write ``bucket/*``)."""
    return f"arn:aws:s3:::{path}"


def log_group_arns(arn: str) -> tuple[str, ...]:
    """The log group ARN, and its streams (``<arn>:*``) when it does not already end in a wildcard.

    Group actions (``FilterLogEvents``, ``StartQuery``) match the log group;
    ``GetLogEvents`` matches its log streams, which ``:*`` covers.
    """
    return (arn,) if arn.endswith("*") else (arn, f"{arn}:*")


def _secret_regions(config: StackConfig) -> tuple[str, ...]:
    return tuple(dict.fromkeys((config.region, config.replica_region)))


def _secret_arn(config: StackConfig, region: str, secret_name: str) -> str:
    """Every secret whose name starts with ``secret_name`` (``*``: the random suffix AWS adds to an ARN)."""
    return f"arn:aws:secretsmanager:{region}:{config.account_id}:secret:{secret_name}*"


def _exact_secret_arn(config: StackConfig, region: str, secret_name: str) -> str:
    """Exactly the secret ``secret_name``: AWS ends its ARN with ``-`` and six random characters, so
    ``-??????`` matches it and not a secret whose name merely starts with it (``login`` and ``login-admin``)."""
    return f"arn:aws:secretsmanager:{region}:{config.account_id}:secret:{secret_name}-??????"


def statement(
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
