"""The AWS account the read-only look-ups ask (``import-plan --lookup``, ``secrets-status``).

Every workflow's role, policy and secrets live in the **data** account
(:attr:`~workflows.config.StackConfig.account_id`, ``platform:accounts.data.id``), in the
stack's primary region (``aws:region``; ``reference/live-installation.md``).
:func:`data_account_session` opens a boto3 session there on the standard credential
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


def data_account_session(config: StackConfig) -> tuple[Any, str]:
    """A boto3 session in the stack's region and the account its credentials belong to.

    Raises :class:`AwsAccessError` when AWS cannot be reached or the credentials are for
    another account than the data account.
    """
    import boto3  # noqa: PLC0415 - only when looking something up
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    session = boto3.session.Session(region_name=config.region)
    try:
        account = session.client("sts").get_caller_identity()["Account"]
    except (BotoCoreError, ClientError) as error:
        raise AwsAccessError(f"cannot reach AWS: {error}") from None
    if account != config.account_id:
        # The data account's preview role may read what the look-ups read.
        role = config.accounts.data.role_arn(preview=True)
        hint = f" (for example a profile assuming {role})" if role else ""
        raise AwsAccessError(
            f"the AWS credentials are for account {account}, but the roles, policies and secrets of stack "
            f"{config.environment} are in account {config.account_id} (platform:accounts.data.id): "
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
