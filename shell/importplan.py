"""``python -m workflows import-plan``: the file that adopts the running service's resources.

Runs the real program under the mock runtime (:func:`shell.offline.render_stack`),
so the plan names exactly the resources ``pulumi up`` would declare, with the
same types, logical names, parents and providers. With ``--lookup`` it also asks
the data account, read-only, for what cannot be derived (secret ARNs), checks that
every role and policy exists, and prints every difference the first ``pulumi up``
would make to what it found (:mod:`workflows.review.live_diff`). It never reads a
secret value, nor lists its versions: ``ListSecrets``, ``DescribeSecret`` and
``GetResourcePolicy`` only.

A project's shared secrets (``project.yml``) are not the running service's: they are
never imported nor looked up, and are reported as created by the first ``pulumi up``.

The pure part (what to import, under which ID) is :mod:`workflows.review.importplan`.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pulumi

from shell.aws_account import AwsAccessError, data_account_session, list_secrets
from shell.offline import PROJECT, ProgramFailed, render_stack
from workflows.config import StackConfig, stack_file
from workflows.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from workflows.review.importplan import (
    POLICY,
    ROLE,
    SECRET,
    ImportPlan,
    Targets,
    build_import_plan,
    lookup_targets,
    resolve_urns,
    running_service_keys,
)
from workflows.review.live_diff import (
    DEFAULT_MAX_SESSION_SECONDS,
    Live,
    LivePolicy,
    LiveRole,
    LiveSecret,
    format_differences,
    key_references,
    live_differences,
)

PROVIDER_PACKAGES = {"aws": "pulumi_aws", "kubernetes": "pulumi_kubernetes"}
_NOT_FOUND = {"NoSuchEntity", "NoSuchKey", "NotFound", "404", "ResourceNotFoundException"}
T = TypeVar("T")


class LiveLookupError(Exception):
    """The live account could not be asked (no credentials, wrong account, API error)."""


def provider_versions() -> dict[str, str]:
    """Plugin version of each provider package, as the program's SDKs register their resources."""
    versions: dict[str, str] = {}
    for package, distribution in PROVIDER_PACKAGES.items():
        try:
            versions[package] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def import_plan_command(stack: str, environments: Path, out: Path, config_dir: Path, *, lookup: bool) -> int:
    """Write ``out`` (a ``pulumi import --file`` document); report gaps on stderr, and with
    ``--lookup`` the differences the first ``pulumi up`` makes on stdout.

    Exit status: 0 written and complete (or, without ``--lookup``, written with
    placeholders); 1 invalid manifests, a failed look-up, a resource that cannot
    be imported, or (with ``--lookup``) any resource missing; 2 usage errors.
    """
    config = StackConfig.from_stack_file(stack_file(config_dir, stack))
    if not (environments / stack).is_dir():
        expected = "<environments>/<stack>/<project>/<workflow>/workflow.yml"
        print(f"error: no folder {environments / stack} (expected {expected})", file=sys.stderr)
        return EXIT_USAGE
    try:
        rendered = render_stack(stack, environments, config_dir)
    except (ProgramFailed, pulumi.RunError) as error:
        print(error, file=sys.stderr)
        return EXIT_FAILED
    registrations = [r.as_json() for r in rendered.registrations]
    plans = rendered.plans
    account = config.account_id
    live = None
    if lookup:
        try:
            live = look_up(lookup_targets(registrations, account), registrations, config)
        except LiveLookupError as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_FAILED
    python_dags = [plan.names.dag_key for plan in plans if plan.workflow.dag.python_dag]
    plan = build_import_plan(
        registrations,
        account=account,
        versions=provider_versions(),
        live=live,
        replaced_keys=running_service_keys(config.dags_prefix, python_dags),
    )
    try:
        resolve_urns(plan.document, stack, PROJECT)
    except ValueError as error:
        plan.errors.append(f"pulumi import would reject the file: {error}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(plan.document, indent=2, ensure_ascii=False) + "\n")
    except OSError as error:
        print(f"error: cannot write {out}: {error}", file=sys.stderr)
        return EXIT_FAILED
    _report(plan, stack, out, config, lookup=lookup)
    if live is not None:
        # Offline, the program cannot read the cluster facts: it renders the trust policies with an
        # example OIDC issuer, which the comparison then reads as the one the live trust names.
        issuer = config.oidc_provider
        example = issuer if any(p.value.removeprefix("https://") == issuer for p in rendered.examples) else None
        diffs = live_differences(registrations, live, region=config.region, example_issuer=example)
        print("differences the first `pulumi up` makes to what exists (live → declared):")
        for line in format_differences(diffs):
            print(line)
        if example is not None:
            print(
                "(trust policies compared as naming the live OIDC issuer: offline, the cluster facts are "
                "examples; `pulumi up` uses the cluster's own, from platform:cluster)"
            )
    if plan.errors or (lookup and plan.missing):
        return EXIT_FAILED
    return EXIT_OK


def _report(plan: ImportPlan, stack: str, out: Path, config: StackConfig, *, lookup: bool) -> None:
    components = sum(1 for r in plan.resources if r.get("component"))
    custom = len(plan.resources) - components
    print(f"wrote {out}: {custom} resource(s) to import, {components} component(s) as their parents")
    where = f"account {config.account_id}, {config.region}"
    if lookup:
        print(f"looked up secret ARNs, and checked roles and policies, in {where} (read-only)")
    else:
        print(f"not looked up: secret ARNs are placeholders (run with --lookup against {where})")
    print("Kubernetes objects are not checked: they must exist in namespace(s) named by their IDs")
    for title, lines in (
        ("error", plan.errors),
        ("missing" if lookup else "placeholder", plan.missing),
        ("warning", plan.warnings),
        ("not imported", plan.created),
    ):
        for line in lines:
            print(f"{title}: {line}", file=sys.stderr)
    if plan.errors:
        print(f"{len(plan.errors)} error(s): do not import with this file", file=sys.stderr)
    elif plan.missing:
        print(
            f"{len(plan.missing)} resource(s) without a usable import ID: do not import with this file "
            f"until {'they are resolved' if lookup else 'it is written with --lookup'}",
            file=sys.stderr,
        )
    else:
        if plan.providers:
            targets = " ".join(f"--target '{urn}'" for urn in plan.providers)
            print(f"first: pulumi up --stack {stack} {targets}  (creates the explicit providers in state only)")
        print(f"next: pulumi import --stack {stack} --file {out} --generate-code=false  (see docs/migration.md)")


# --------------------------------------------------------------------------- look-ups


def look_up(targets: Targets, registrations: Sequence[dict[str, Any]], config: StackConfig) -> Live:
    """Ask the data account (read-only) about what :class:`Targets` lists. Needs AWS credentials."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - only when looking up

    try:
        session, account = data_account_session(config)
    except AwsAccessError as error:
        raise LiveLookupError(f"{error} (looking up live resources)") from None
    region = config.region
    unchecked: dict[tuple[str, str], str] = {}
    try:
        iam = session.client("iam")
        roles = _roles(iam, targets.roles, unchecked, ClientError)
        policies = _policies(iam, targets.policies, unchecked, ClientError)
        secrets = _secrets(session.client("secretsmanager"), targets.secrets, unchecked, ClientError)
        references = key_references(registrations, secrets, region, account)
        kms_keys = _kms_keys(session, references, ClientError)
    except (BotoCoreError, ClientError) as error:
        raise LiveLookupError(f"look-up failed in account {account} ({region}): {error}") from None
    return Live(
        account=account, roles=roles, policies=policies, secrets=secrets, unchecked=unchecked, kms_keys=kms_keys
    )


def _code(error: Exception) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))


def _existing(
    type_: str,
    keys: Iterable[str],
    ask: Callable[[str], T],
    unchecked: dict[tuple[str, str], str],
    client_error: type[Exception],
) -> dict[str, T]:
    """``ask`` about each key: what it finds by key; a key AWS says does not exist is left out, and one AWS
    refuses to answer about is recorded in ``unchecked`` with why."""
    found: dict[str, T] = {}
    for key in keys:
        try:
            found[key] = ask(key)
        except client_error as error:
            if _code(error) not in _NOT_FOUND:
                unchecked[(type_, key)] = str(error)
    return found


def _roles(
    iam: Any, names: Iterable[str], unchecked: dict[tuple[str, str], str], client_error: type[Exception]
) -> dict[str, LiveRole]:
    """Each role's settings (``GetRole``) and attached managed policies (``ListAttachedRolePolicies``)."""

    def ask(name: str) -> LiveRole:
        role = iam.get_role(RoleName=name)["Role"]
        attached = [
            policy["PolicyArn"]
            for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name)
            for policy in page["AttachedPolicies"]
        ]
        return LiveRole(
            name=name,
            path=role.get("Path", "/"),
            trust=_decoded(role.get("AssumeRolePolicyDocument")),
            max_session_seconds=int(role.get("MaxSessionDuration", DEFAULT_MAX_SESSION_SECONDS)),
            description=role.get("Description") or None,
            permissions_boundary=(role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
            tags=_tags(role.get("Tags")),
            attached=tuple(sorted(attached)),
        )

    return _existing(ROLE, names, ask, unchecked, client_error)


def _policies(
    iam: Any, arns: Iterable[str], unchecked: dict[tuple[str, str], str], client_error: type[Exception]
) -> dict[str, LivePolicy]:
    """Each policy's settings (``GetPolicy``) and its default version's document (``GetPolicyVersion``)."""

    def ask(arn: str) -> LivePolicy:
        policy = iam.get_policy(PolicyArn=arn)["Policy"]
        version = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])["PolicyVersion"]
        return LivePolicy(
            arn=arn,
            document=_decoded(version.get("Document")),
            path=policy.get("Path", "/"),
            description=policy.get("Description") or None,
            tags=_tags(policy.get("Tags")),
        )

    return _existing(POLICY, arns, ask, unchecked, client_error)


def _secrets(
    client: Any, names: Iterable[str], unchecked: dict[tuple[str, str], str], client_error: type[Exception]
) -> dict[str, LiveSecret]:
    """Each named secret's ARN (``ListSecrets``), settings (``DescribeSecret``) and resource policy
    (``GetResourcePolicy``). Never its value or its versions.

    Names are matched exactly: the API's name filter is a case-insensitive prefix match,
    and DescribeSecret by name can mistake a name ending in ``-`` plus six characters for
    a partial ARN, so each secret is described by the ARN the listing gave.
    """
    listed = list_secrets(client, names)
    found: dict[str, LiveSecret] = {}
    for name, entry in sorted(listed.items()):
        try:
            secret = client.describe_secret(SecretId=entry["ARN"])
            policy = client.get_resource_policy(SecretId=entry["ARN"]).get("ResourcePolicy")
        except client_error as error:
            unchecked[(SECRET, name)] = str(error)
            continue
        deleted = secret.get("DeletedDate") or entry.get("DeletedDate")
        found[name] = LiveSecret(
            arn=entry["ARN"],
            deleted=str(deleted) if deleted else None,
            kms_key_id=secret.get("KmsKeyId") or None,
            description=secret.get("Description") or None,
            tags=_tags(secret.get("Tags")),
            policy=_decoded(policy),
            replicas={r["Region"]: r.get("KmsKeyId") or None for r in secret.get("ReplicationStatus") or ()},
        )
    return found


def _kms_keys(
    session: Any, references: Iterable[tuple[str, str]], client_error: type[Exception]
) -> dict[tuple[str, str], str]:
    """The key ARN each ``(region, key or alias ARN)`` names (``DescribeKey``); unresolved ones are left out:
    the comparison then falls back to the references themselves."""
    clients: dict[str, Any] = {}
    resolved: dict[tuple[str, str], str] = {}
    for region, reference in references:
        client = clients.setdefault(region, session.client("kms", region_name=region))
        try:
            resolved[(region, reference)] = client.describe_key(KeyId=reference)["KeyMetadata"]["Arn"]
        except client_error:
            continue
    return resolved


def _tags(tags: Any) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tags or ()}


def _decoded(document: Any) -> dict[str, Any] | None:
    """A policy document as boto3 returns it: IAM's already decoded, Secrets Manager's as JSON text."""
    if not document:
        return None
    return json.loads(document) if isinstance(document, str) else dict(document)
