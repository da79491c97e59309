"""Least privilege, checked on what the providers receive (the program run under the mock runtime).

No tenant reaches another's secrets: a secret's resource policy names the data
account's root (never ``"*"``, never ``NotPrincipal``) and only its maintainers'
sessions; a role trusts exactly one service account, ``mwaa:<project>-<workflow>``,
with ``StringEquals`` on ``sub`` and ``aud``; that service account is annotated with
its own workflow's role; no statement allows ``"*"`` or a whole service (``s3:*``);
and the manifest keys that name AWS resources only accept the resource kind they
are for. Rendered over the examples (in every stack) and the real corpus.
"""

from __future__ import annotations

import atexit
import functools
import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shell.offline import Registration, run_program
from tests.conftest import CORPUS, EXAMPLES, MINIMAL, REPO
from tests.shell.test_cli import corpus_with_dag_py
from workflows.config import StackConfig, stack_file
from workflows.errors import ManifestError
from workflows.validate import load_workflow

ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
SECRET = "aws:secretsmanager/secret:Secret"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
WORKFLOW = "analytical-platform:workflows:Workflow"
STACKS = ("development", "test", "production")

# Actions allowed on Resource "*" in a workflow's own policy: they have no resource-level permissions.
# Written out (not taken from workflows/plan/iam.py) so that a change there has to be made here too.
UNSCOPED_ACTIONS = frozenset(
    {
        "s3:ListAllMyBuckets",
        "lakeformation:GetDataAccess",
        "cloudwatch:GenerateQuery",
        "cloudwatch:GenerateQueryResultsSummary",
        "logs:DescribeQueries",
        "logs:DescribeQueryDefinitions",
        "logs:ListLogGroupsForQuery",
        "logs:StopQuery",
    }
)
# What a maintainer may do with a secret's value: read it, put a new one; never delete, never change the policy.
MAINTAINER_ACTIONS = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"]


# --------------------------------------------------------------------------- rendered stacks (shared)


@functools.cache
def rendered(source: str, stack: str = "development") -> tuple[Registration, ...]:
    """Every registration of ``stack`` over a copy of ``source``: ``examples`` (the development examples,
    placed in ``stack``, so every feature is seen in every stack) or ``corpus`` (with a dag.py of our own)."""
    root = Path(tempfile.mkdtemp(prefix="hardening-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    if source == "examples":
        environments = root / "environments"
        shutil.copytree(EXAMPLES / "development", environments / stack)
    elif source == "corpus":
        environments = corpus_with_dag_py(root)
    else:
        raise ValueError(source)
    return tuple(run_program(stack, environments, REPO))


SOURCES = [pytest.param("examples", stack, id=f"examples-{stack}") for stack in STACKS] + [
    pytest.param(
        "corpus",
        "development",
        id="corpus-development",
        marks=pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is not present"),
    )
]


def stack_config(stack: str) -> StackConfig:
    return StackConfig.from_stack_file(stack_file(REPO, stack))


def workflow_of(registration: Registration, by_urn: dict[str, Registration]) -> Registration | None:
    current: Registration | None = registration
    while current is not None and current.type != WORKFLOW:
        current = by_urn.get(current.parent) if current.parent else None
    return current


def by_workflow(registrations: tuple[Registration, ...]) -> dict[str, dict[str, list[Registration]]]:
    """``<project>/<workflow>`` -> resource type -> registrations under that Workflow component."""
    by_urn = {r.urn: r for r in registrations}
    grouped: dict[str, dict[str, list[Registration]]] = {}
    for registration in registrations:
        owner = workflow_of(registration, by_urn)
        if owner is not None and owner is not registration:
            key = f"{owner.inputs['project']}/{owner.inputs['workflow']}"
            grouped.setdefault(key, {}).setdefault(registration.type, []).append(registration)
    return grouped


def documents(registrations: tuple[Registration, ...]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(kind, resource name, parsed document) of every IAM-grammar document the providers receive."""
    for registration in registrations:
        for key, kind in (("assumeRolePolicy", "trust"), ("policy", "policy")):
            text = registration.inputs.get(key)
            if registration.type in (ROLE, POLICY, SECRET) and isinstance(text, str):
                yield kind if registration.type != SECRET else "secret", registration.name, json.loads(text)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --------------------------------------------------------------------------- secrets


@pytest.mark.parametrize(("source", "stack"), SOURCES)
def test_secret_policies_grant_only_maintainers_of_the_data_account(source: str, stack: str) -> None:
    config = stack_config(stack)
    secrets = [r for r in rendered(source, stack) if r.type == SECRET]
    assert secrets, "nothing to check"
    for secret in secrets:
        policy = json.loads(secret.inputs["policy"])
        for statement in policy["Statement"]:
            assert "NotPrincipal" not in statement and "NotAction" not in statement, secret.name
            assert statement["Effect"] == "Allow", secret.name
            assert statement["Principal"] == {"AWS": f"arn:aws:iam::{config.account_id}:root"}, secret.name
            assert sorted(as_list(statement["Action"])) == MAINTAINER_ACTIONS, secret.name
            # Resource "*" in a resource policy is the secret itself.
            assert as_list(statement["Resource"]) == ["*"], secret.name
            # Only sessions named after a maintainer: no condition means every principal of the account.
            assert list(statement["Condition"]) == ["StringLike"], secret.name
            (userids,) = statement["Condition"]["StringLike"].values()
            assert list(statement["Condition"]["StringLike"]) == ["aws:userid"]
            assert userids and all(re.fullmatch(r"\*:[A-Za-z0-9-]+", u) for u in as_list(userids)), userids


def test_secret_policy_names_exactly_the_maintainers(manifest) -> None:
    text = MINIMAL.replace("[octo-analyst]", "[Octo-Analyst, second-person]") + "secrets: [token]\n"
    registrations = run_program("development", manifest(text).parents[3], REPO)
    (secret,) = (r for r in registrations if r.type == SECRET)
    (statement,) = json.loads(secret.inputs["policy"])["Statement"]
    assert sorted(statement["Condition"]["StringLike"]["aws:userid"]) == [
        "*:Octo-Analyst",
        "*:octo-analyst",
        "*:second-person",
    ]


# --------------------------------------------------------------------------- IRSA


@pytest.mark.parametrize(("source", "stack"), SOURCES)
def test_each_role_trusts_exactly_its_own_service_account(source: str, stack: str) -> None:
    config = stack_config(stack)
    oidc = config.oidc_provider
    registrations = rendered(source, stack)
    trusted: dict[str, str] = {}
    for key, resources in by_workflow(registrations).items():
        (account,) = resources[SERVICE_ACCOUNT]
        metadata = account.inputs["metadata"]
        assert metadata["namespace"] == "mwaa"
        annotation = metadata["annotations"]["eks.amazonaws.com/role-arn"]
        if ROLE not in resources:  # iam.external_role: the annotation is that role
            assert re.fullmatch(r"arn:aws:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]+", annotation), key
            continue
        (role,) = resources[ROLE]
        assert annotation == f"arn:aws:iam::{config.account_id}:role/{role.inputs['name']}", key
        trust = json.loads(role.inputs["assumeRolePolicy"])
        (statement,) = trust["Statement"]
        assert statement["Effect"] == "Allow"
        assert as_list(statement["Action"]) == ["sts:AssumeRoleWithWebIdentity"]
        assert statement["Principal"] == {"Federated": f"arn:aws:iam::{config.account_id}:oidc-provider/{oidc}"}
        assert "NotPrincipal" not in statement
        # StringEquals only: StringLike (or any other operator) would let a pattern match other accounts.
        assert statement["Condition"] == {
            "StringEquals": {
                f"{oidc}:sub": f"system:serviceaccount:mwaa:{metadata['name']}",
                f"{oidc}:aud": "sts.amazonaws.com",
            }
        }, key
        subject = statement["Condition"]["StringEquals"][f"{oidc}:sub"]
        assert not set("*?$") & set(subject), subject
        assert trusted.setdefault(subject, key) == key, f"{subject} is trusted by {trusted[subject]} and {key}"
        assert role.inputs["maxSessionDuration"] <= 12 * 3600


# --------------------------------------------------------------------------- every statement


@pytest.mark.parametrize(("source", "stack"), SOURCES)
def test_no_statement_allows_everything_or_a_whole_service(source: str, stack: str) -> None:
    count = 0
    for kind, name, document in documents(rendered(source, stack)):
        for statement in document["Statement"]:
            count += 1
            where = f"{kind} of {name}: {statement}"
            assert "NotAction" not in statement and "NotResource" not in statement, where
            if statement["Effect"] != "Allow":
                continue
            for action in as_list(statement["Action"]):
                assert action != "*" and not action.endswith(":*"), where
                assert action.split(":", 1)[1] not in ("*", ""), where
    assert count > 0


@pytest.mark.parametrize(("source", "stack"), SOURCES)
def test_resource_star_only_for_actions_that_cannot_be_scoped(source: str, stack: str) -> None:
    for kind, name, document in documents(rendered(source, stack)):
        if kind != "policy":
            continue
        for statement in document["Statement"]:
            if statement["Effect"] == "Allow" and "*" in as_list(statement["Resource"]):
                assert set(as_list(statement["Action"])) <= UNSCOPED_ACTIONS, f"{name}: {statement}"


READERS = "airflow.compute.analytical-platform.service.justice.gov.uk/workflows"
SHARED_LABEL = "airflow.compute.analytical-platform.service.justice.gov.uk/shared"
EXTERNAL_SECRET_TYPE = "kubernetes:external-secrets.io/v1:ExternalSecret"


@pytest.mark.parametrize(("source", "stack"), SOURCES)
def test_a_workflow_reads_only_its_own_secrets(source: str, stack: str) -> None:
    """Its own secrets, and those of its project's shared secrets whose ExternalSecret names it as a reader."""
    config = stack_config(stack)
    readers = {
        r.inputs["metadata"]["name"]: r.inputs["spec"]["target"]["template"]["metadata"]["annotations"][READERS]
        for r in rendered(source, stack)
        if r.type == EXTERNAL_SECRET_TYPE and r.inputs["metadata"]["labels"].get(SHARED_LABEL) == "true"
    }
    for registration in rendered(source, stack):
        if registration.type != POLICY:
            continue
        name = registration.inputs["name"]  # airflow-<env>-<project alias>-<workflow>
        for statement in json.loads(registration.inputs["policy"])["Statement"]:
            actions = as_list(statement["Action"])
            if not any(a.startswith("secretsmanager:") for a in actions):
                continue
            for resource in as_list(statement["Resource"]):
                shared = re.fullmatch(
                    rf"arn:aws:secretsmanager:[a-z0-9-]+:{config.account_id}:secret:/airflow/{stack}/([a-z0-9-]+)/shared/([a-z0-9-]+)-\?{{6}}",
                    resource,
                )
                if shared:  # a shared secret: read only, by a workflow of its project that it names as a reader
                    assert actions == ["secretsmanager:GetSecretValue"], f"{name}: {actions} on {resource}"
                    workflow = name.removeprefix(f"airflow-{stack}-{shared[1]}-")
                    assert workflow != name, f"{name} reaches another project's {resource}"
                    assert workflow in readers[f"{shared[1]}-shared-{shared[2]}"].split(","), f"{name}: {resource}"
                    continue
                # Its secrets (GetSecretValue), or one of them (update_secrets: .../<workflow>/<secret>*).
                match = re.fullmatch(
                    rf"arn:aws:secretsmanager:[a-z0-9-]+:{config.account_id}:secret:/airflow/{stack}/([a-z0-9-]+)/([a-z0-9-]+)/(?:[a-z0-9-]+)?\*",
                    resource,
                )
                assert match, f"{name}: {resource}"
                assert name == f"airflow-{stack}-{match[1]}-{match[2]}", f"{name} reaches {resource}"


@pytest.mark.parametrize(("source", "stack"), SOURCES)
def test_pass_role_only_passes_its_own_role_to_glue(source: str, stack: str) -> None:
    config = stack_config(stack)
    for registration in rendered(source, stack):
        if registration.type != POLICY:
            continue
        for statement in json.loads(registration.inputs["policy"])["Statement"]:
            if "iam:PassRole" in as_list(statement["Action"]):
                assert as_list(statement["Action"]) == ["iam:PassRole"]
                own = f"arn:aws:iam::{config.account_id}:role/{registration.inputs['name']}"
                assert as_list(statement["Resource"]) == [own]
                assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "glue.amazonaws.com"}}


# --------------------------------------------------------------------------- platform buckets (issue 12, item 2)

# Every environment's MWAA bucket, in every stack (written out: platform:platformBuckets of the stack files).
PLATFORM_BUCKETS = ("mojap-compute-development-mwaa", "mojap-compute-test-mwaa", "mojap-compute-production-mwaa")
PLATFORM_RESOURCES = sorted(f"arn:aws:s3:::{b}{tail}" for b in PLATFORM_BUCKETS for tail in ("", "/*"))


@pytest.mark.parametrize(("source", "stack"), SOURCES)
def test_every_workflow_policy_denies_the_platform_buckets(source: str, stack: str) -> None:
    """The second line of defence: whatever a workflow is allowed, an explicit Deny of every S3 action on
    every MWAA bucket and its objects. The only Deny statements are that one and s3_deny's."""
    policies = [r for r in rendered(source, stack) if r.type == POLICY]
    assert policies
    for registration in policies:
        statements = json.loads(registration.inputs["policy"])["Statement"]
        assert statements[-1] == {
            "Sid": "DenyPlatformBuckets",
            "Effect": "Deny",
            "Action": ["s3:*"],
            "Resource": PLATFORM_RESOURCES,
        }, registration.name
        assert {s["Sid"] for s in statements if s["Effect"] != "Allow"} <= {"S3Deny", "DenyPlatformBuckets"}
        for statement in statements:
            if statement["Effect"] == "Allow" and statement["Sid"] != "S3ListAllMyBuckets":
                for resource in as_list(statement["Resource"]):
                    assert not any(resource.startswith(f"arn:aws:s3:::{b}") for b in PLATFORM_BUCKETS), (
                        f"{registration.name}: {statement}"
                    )


@pytest.mark.parametrize("key", ["s3_read_only", "s3_read_write", "s3_write_only"])
@pytest.mark.parametrize(
    "value",
    [
        "mojap-compute-development-mwaa/dags/*",
        "mojap-compute-development-mwaa/dags/runtime/__init__.py",
        "mojap-compute-development-mwaa",
        "mojap-compute-development-mwaa/",
        "mojap-compute-development-mwaa/*",
        "mojap-compute-production-mwaa/dags/*",  # another environment's bucket
        "mojap-compute-test-mwaa/requirements/*",
        "s3://mojap-compute-production-mwaa/dags/*",
        "mojap-compute-*",
        "mojap-*/dags/*",
        "*",
    ],
)
def test_a_platform_bucket_is_refused_in_every_grant(manifest, config, key: str, value: str) -> None:
    message = rejected(manifest, config, key, value)
    assert f"workflow.yml:9:{len(key) + 6}: iam.{key}[0]: '{value}' " in message
    assert "the platform bucket 'mojap-compute-" in message
    assert "no workflow may be granted access to a platform bucket" in message


def test_denying_a_platform_bucket_is_accepted(manifest, config) -> None:
    text = MINIMAL + "iam:\n  s3_read_write: [my-bucket/*]\n  s3_deny: [mojap-compute-development-mwaa/*]\n"
    workflow = load_workflow(manifest(text), config).workflow
    assert workflow.iam.s3_deny == ("mojap-compute-development-mwaa/*",)


# --------------------------------------------------------------------------- manifest keys naming AWS resources


def rejected(manifest, config: StackConfig, key: str, value: str) -> str:
    entry = json.dumps(value)  # a YAML double-quoted scalar, so "\n" is a real newline
    text = MINIMAL + f"iam:\n  {key}: {entry if key == 'external_role' else '[' + entry + ']'}\n"
    with pytest.raises(ManifestError) as error:
        load_workflow(manifest(text), config)
    return str(error.value)


@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:iam::123456789012:user/bob",
        "arn:aws:iam::123456789012:policy/admin",
        "arn:aws:iam::123456789012:root",
        "arn:aws:iam::*:role/x",
        "arn:aws:iam::123456789012:role/*",
        "arn:aws:iam::123456789012:role/x*",
        "arn:aws-cn:iam::123456789012:role/x",
        "arn:aws:sts::123456789012:assumed-role/x/y",
        "arn:aws:iam::123456789012:role/x\n",
        " arn:aws:iam::123456789012:role/x",
        "role/x",
        "*",
    ],
)
def test_external_role_must_be_an_iam_role_arn(manifest, config, value: str) -> None:
    assert "IAM role ARN" in rejected(manifest, config, "external_role", value)


@pytest.mark.parametrize("key", ["s3_read_only", "s3_read_write", "s3_write_only", "s3_deny"])
@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:s3:::bucket/data/*",
        "arn:aws:s3:::bucket",
        "*",
        "*/data",
        "bucket*/data",
        "Bucket/data",
        # Not here: "s3://bucket/data" works today (matching no object) and is kept with a warning
        # (docs/migration.md, "Corrections to grants"; tests/workflows/manifest/test_rules.py).
        "/bucket/data",
        "bucket/data\n",
        "b/data",
    ],
)
def test_s3_entries_are_bucket_paths(manifest, config, key: str, value: str) -> None:
    assert "bucket path" in rejected(manifest, config, key, value)


@pytest.mark.parametrize(
    "value",
    [
        "alias/my-key",
        "arn:aws:kms:eu-west-2:123456789012:alias/my-key",
        "arn:aws:kms:eu-west-2:123456789012:key/*",
        "arn:aws:kms:*:123456789012:key/abc",
        "arn:aws:kms:eu-west-2:*:key/abc",
        "arn:aws:kms:eu-west-2:123456789012:key/abc\n",
        "0b8f6a1e-1111-4c2d-9e3f-123456789abc",
        "*",
    ],
)
def test_kms_entries_are_key_arns(manifest, config, value: str) -> None:
    assert "KMS key ARN" in rejected(manifest, config, "kms", value)


def test_well_formed_entries_are_accepted(manifest, config) -> None:
    text = MINIMAL + (
        "iam:\n"
        "  s3_read_only: [my-bucket/some/prefix/*, my.bucket-2]\n"
        "  kms: [arn:aws:kms:eu-west-2:123456789012:key/0b8f6a1e-1111-4c2d-9e3f-123456789abc]\n"
    )
    workflow = load_workflow(manifest(text), config).workflow
    assert workflow.iam.s3_read_only == ("my-bucket/some/prefix/*", "my.bucket-2")
    role = MINIMAL + "iam:\n  external_role: arn:aws:iam::123456789012:role/path/name+=,.@_-\n"
    assert load_workflow(manifest(role, workflow="other"), config).workflow.iam.external_role.endswith("name+=,.@_-")
