"""``python -m workflows secrets-status``: the secrets of a stack that still wait for a maintainer's value.

Reads the stack's manifests and project files (no Pulumi run: the plans name every secret, the
projects' shared secrets included), then asks
the data account, read-only, for each secret's version metadata: ``ListSecrets`` and
``ListSecretVersionIds`` (deprecated versions included). It never reads a value.
Credentials: the standard AWS chain (``AWS_PROFILE``, environment, SSO, instance
role), ``AWS_ENDPOINT_URL`` honoured; account and region from the stack config
(:mod:`shell.aws_account`). The pure part is :mod:`workflows.review.secrets_status`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from shell.aws_account import AwsAccessError, data_account_session, list_secrets
from workflows.config import StackConfig, stack_file
from workflows.errors import EXIT_OK, EXIT_USAGE
from workflows.review.secrets_status import DeclaredSecret, SecretHistory, format_report, secrets_to_set
from workflows.validate import StackPlan, load_stack


def declared_secrets(stack: StackPlan) -> list[DeclaredSecret]:
    """Every secret the stack declares, with the workflow it belongs to and its maintainers; and every
    project's shared secret, owned by ``<project>/shared``, with the project's maintainers and its readers."""
    own = [
        DeclaredSecret(owner=plan.logical_name, name=secret.name, maintainers=plan.workflow.maintainers)
        for plan in stack.workflows
        for secret in plan.secrets
    ]
    shared = [
        DeclaredSecret(
            owner=project.logical_name,
            name=secret.name,
            maintainers=project.project.maintainers,
            readers=secret.consumers,
        )
        for project in stack.projects
        for secret in project.secrets
    ]
    return [*own, *shared]


def secrets_status_command(stack: str, environments: Path, config_dir: Path) -> int:
    """Print, per workflow (and per project's shared secrets), each secret still without a maintainer's value
    and where to set it.

    Exit status: 0 (whatever the secrets' state); 1 invalid manifests (raised as
    ``ManifestError``, reported by the CLI); 2 usage errors or AWS unreachable (no
    credentials, no network, credentials for another account, a refused listing).
    """
    config = StackConfig.from_stack_file(stack_file(config_dir, stack))
    if not (environments / stack).is_dir():
        expected = "<environments>/<stack>/<project>/<workflow>/workflow.yml"
        print(f"error: no folder {environments / stack} (expected {expected})", file=sys.stderr)
        return EXIT_USAGE
    declared = declared_secrets(load_stack(environments, config))
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - only when asking AWS

    try:
        session, account = data_account_session(config)
        histories = look_up(session.client("secretsmanager"), [s.name for s in declared], ClientError)
    except AwsAccessError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (BotoCoreError, ClientError) as error:
        print(f"error: cannot list the secrets of stack {stack}: {error}", file=sys.stderr)
        return EXIT_USAGE
    region = config.region
    statuses = secrets_to_set(declared, histories, region)
    for line in format_report(statuses, stack=stack, account=account, region=region, total=len(declared)):
        print(line)
    return EXIT_OK


def look_up(client: Any, names: Iterable[str], client_error: type[Exception]) -> dict[str, SecretHistory]:
    """Each existing secret's creation date and its versions' creation dates (metadata only)."""
    histories: dict[str, SecretHistory] = {}
    for name, entry in sorted(list_secrets(client, names).items()):
        deleted = entry.get("DeletedDate")
        if deleted:
            histories[name] = SecretHistory(created=entry.get("CreatedDate"), deleted=str(deleted))
            continue
        try:
            versions = _versions(client, entry["ARN"])
        except client_error as error:
            histories[name] = SecretHistory(created=entry.get("CreatedDate"), unreadable=str(error))
            continue
        histories[name] = SecretHistory(created=entry.get("CreatedDate"), versions=versions)
    return histories


def _versions(client: Any, arn: str) -> tuple[Any, ...]:
    """The creation date of every version, deprecated ones included (no boto3 paginator for this call)."""
    dates: list[Any] = []
    request: dict[str, Any] = {"SecretId": arn, "IncludeDeprecated": True, "MaxResults": 100}
    while True:
        page = client.list_secret_version_ids(**request)
        dates.extend(version.get("CreatedDate") for version in page.get("Versions", []))
        if not page.get("NextToken"):
            return tuple(dates)
        request["NextToken"] = page["NextToken"]
