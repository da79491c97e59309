"""``python -m workflows import-plan``: the file that adopts the running service's resources.

Runs the real program under the mock runtime (:func:`components.offline.run_program`),
so the plan names exactly the resources ``pulumi up`` would declare, with the
same types, logical names and parents. With ``--lookup`` it also asks the live
account, read-only, for what cannot be derived (secret ARNs and their AWSCURRENT
version ids) and checks that roles, policies, attachments and DAG objects exist.
It never reads a secret value: only ``ListSecrets`` and ``ListSecretVersionIds``.

The pure part (what to import, under which ID) is :mod:`workflows.importplan`.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pulumi

from shell.offline import PROJECT, ProgramFailed, run_program
from workflows.config import StackConfig, stack_file
from workflows.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from workflows.review.importplan import (
    OBJECT,
    POLICY,
    ROLE,
    ImportPlan,
    Live,
    LiveSecret,
    Targets,
    build_import_plan,
    lookup_targets,
    resolve_urns,
)

PROVIDER_PACKAGES = {"aws": "pulumi_aws", "kubernetes": "pulumi_kubernetes"}
_NOT_FOUND = {"NoSuchEntity", "NoSuchKey", "NotFound", "404", "ResourceNotFoundException"}


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
    """Write ``out`` (a ``pulumi import --file`` document); report gaps on stderr.

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
        registrations = [r.as_json() for r in run_program(stack, environments, config_dir)]
    except (ProgramFailed, pulumi.RunError) as error:
        print(error, file=sys.stderr)
        return EXIT_FAILED
    live = None
    if lookup:
        try:
            live = look_up(lookup_targets(registrations, config.account_id), config)
        except LiveLookupError as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_FAILED
    plan = build_import_plan(registrations, account=config.account_id, versions=provider_versions(), live=live)
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
    if plan.errors or (lookup and plan.missing):
        return EXIT_FAILED
    return EXIT_OK


def _report(plan: ImportPlan, stack: str, out: Path, config: StackConfig, *, lookup: bool) -> None:
    components = sum(1 for r in plan.resources if r.get("component"))
    custom = len(plan.resources) - components
    print(f"wrote {out}: {custom} resource(s) to import, {components} component(s) as their parents")
    where = f"account {config.account_id}, {config.region}"
    if lookup:
        print(f"looked up secret ARNs and versions, and checked IAM and S3, in {where} (read-only)")
    else:
        print(f"not looked up: secret ARNs and versions are placeholders (run with --lookup against {where})")
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
        print(f"next: pulumi import --stack {stack} --file {out} --generate-code=false  (see docs/migration.md)")


def look_up(targets: Targets, config: StackConfig) -> Live:
    """Ask the live account (read-only) what :class:`Targets` lists. Needs AWS credentials."""
    import boto3  # noqa: PLC0415 - only when looking up
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    session = boto3.session.Session(region_name=config.region)
    try:
        account = session.client("sts").get_caller_identity()["Account"]
    except (BotoCoreError, ClientError) as error:
        raise LiveLookupError(f"cannot reach AWS to look up live resources: {error}") from None
    if account != config.account_id:
        raise LiveLookupError(
            f"the AWS credentials are for account {account}, but stack {config.environment} lives in "
            f"{config.account_id} (platform:accountId): use credentials for that account"
        )
    try:
        secrets = _secrets(session.client("secretsmanager"), targets.secrets)
        found, unchecked = _check(session, targets.checks, ClientError)
    except (BotoCoreError, ClientError) as error:
        raise LiveLookupError(f"look-up failed in account {account} ({config.region}): {error}") from None
    return Live(account=account, secrets=secrets, found=frozenset(found), unchecked=unchecked)


def _secrets(client: Any, names: Iterable[str]) -> dict[str, LiveSecret]:
    """Each named secret's ARN and AWSCURRENT version id, from ListSecrets and ListSecretVersionIds.

    Names are matched exactly: the API's name filter is a case-insensitive prefix match,
    and DescribeSecret can mistake a name ending in ``-`` plus six characters for a partial ARN.
    """
    wanted = set(names)
    if not wanted:
        return {}
    listed: dict[str, dict[str, Any]] = {}
    paginator = client.get_paginator("list_secrets")
    for prefix in sorted({_folder(name) for name in wanted}):
        pages = paginator.paginate(Filters=[{"Key": "name", "Values": [prefix]}], IncludePlannedDeletion=True)
        for page in pages:
            for secret in page.get("SecretList", []):
                if secret["Name"] in wanted:
                    listed[secret["Name"]] = secret
    found: dict[str, LiveSecret] = {}
    for name, secret in sorted(listed.items()):
        current = None
        request: dict[str, Any] = {"SecretId": secret["ARN"]}
        while True:  # no boto3 paginator for this operation
            page = client.list_secret_version_ids(**request)
            for version in page.get("Versions", []):
                if "AWSCURRENT" in version.get("VersionStages", []):
                    current = version["VersionId"]
            if not page.get("NextToken"):
                break
            request["NextToken"] = page["NextToken"]
        deleted = secret.get("DeletedDate")
        found[name] = LiveSecret(arn=secret["ARN"], current_version=current, deleted=str(deleted) if deleted else None)
    return found


def _folder(name: str) -> str:
    """The part of a secret name up to its last ``/`` (one ListSecrets prefix per workflow)."""
    head, slash, _ = name.rpartition("/")
    return head + slash if slash else name


def _check(
    session: Any, checks: Iterable[tuple[str, str]], client_error: type[Exception]
) -> tuple[set[tuple[str, str]], dict[tuple[str, str], str]]:
    """Which ``(type, import id)`` exist; those that could not be checked, with why."""
    iam, s3 = session.client("iam"), session.client("s3")
    found: set[tuple[str, str]] = set()
    unchecked: dict[tuple[str, str], str] = {}
    for type_, resource_id in checks:
        try:
            if type_ == ROLE:
                iam.get_role(RoleName=resource_id)
            elif type_ == POLICY:
                iam.get_policy(PolicyArn=resource_id)
            elif type_ == OBJECT:
                bucket, _, key = resource_id.partition("/")
                s3.head_object(Bucket=bucket, Key=key)
            else:
                continue
        except client_error as error:
            code = str(error.response.get("Error", {}).get("Code", ""))  # type: ignore[attr-defined]
            if code in _NOT_FOUND:
                continue
            unchecked[(type_, resource_id)] = str(error)
            continue
        found.add((type_, resource_id))
    return found, unchecked
