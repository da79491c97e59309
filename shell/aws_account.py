"""The AWS account and region the read-only look-ups ask (``import-plan --lookup``, ``secrets-status``).

Every workflow's role, policy and secrets live in the **data** account, in the
stack's primary region (``reference/live-installation.md``). :func:`data_account`
and :func:`data_region` are the one place that reads them from the stack config;
:func:`data_account_session` opens a boto3 session on the standard credential
chain (``AWS_PROFILE``, environment, SSO, instance role; ``AWS_ENDPOINT_URL`` is
honoured by botocore itself) and refuses credentials for any other account, so a
look-up never reports "not found" for what is merely in another account.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from workflows.config import StackConfig


class AwsAccessError(Exception):
    """AWS could not be asked: no credentials, no network, or credentials for another account."""


def data_account(config: StackConfig) -> str:
    """The account holding every workflow's role, policy and secrets (``platform:accounts.data.id``)."""
    return config.accounts.data.id


def data_account_key(config: StackConfig) -> str:
    """How the stack file names :func:`data_account`, for messages."""
    return "platform:accounts.data.id"


def data_read_role(config: StackConfig) -> str | None:
    """A role in the data account that may read what the look-ups read: its preview role (read-only)."""
    return config.accounts.data.role_arn(preview=True)


def data_region(config: StackConfig) -> str:
    """The primary region of the workflows' secrets (``aws:region``)."""
    return config.region


def data_account_session(config: StackConfig) -> tuple[Any, str]:
    """A boto3 session in :func:`data_region` and the account its credentials belong to.

    Raises :class:`AwsAccessError` when AWS cannot be reached or the credentials are for
    another account than :func:`data_account`.
    """
    import boto3  # noqa: PLC0415 - only when looking something up
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    session = boto3.session.Session(region_name=data_region(config))
    try:
        account = session.client("sts").get_caller_identity()["Account"]
    except (BotoCoreError, ClientError) as error:
        raise AwsAccessError(f"cannot reach AWS: {error}") from None
    expected = data_account(config)
    if account != expected:
        role = data_read_role(config)
        hint = f" (for example a profile assuming {role})" if role else ""
        raise AwsAccessError(
            f"the AWS credentials are for account {account}, but the roles, policies and secrets of stack "
            f"{config.environment} are in account {expected} ({data_account_key(config)}): "
            f"use credentials for that account{hint}"
        )
    return session, account


def list_secrets(client: Any, names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The ``ListSecrets`` entry of each named secret that exists (scheduled deletions included),
    one listing per folder of names."""
    wanted = set(names)
    listed: dict[str, dict[str, Any]] = {}
    if not wanted:
        return listed
    paginator = client.get_paginator("list_secrets")
    for prefix in sorted({_folder(name) for name in wanted}):
        pages = paginator.paginate(Filters=[{"Key": "name", "Values": [prefix]}], IncludePlannedDeletion=True)
        for page in pages:
            for secret in page.get("SecretList", []):
                if secret["Name"] in wanted:
                    listed[secret["Name"]] = secret
    return listed


def _folder(name: str) -> str:
    """The part of a secret name up to its last ``/`` (one ListSecrets prefix per workflow)."""
    head, slash, _ = name.rpartition("/")
    return head + slash if slash else name
