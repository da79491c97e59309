"""The pure half of ``python -m workflows secrets-status``: which secrets still wait for their maintainers.

The stack creates each workflow secret without a value (no ``SecretVersion``: a value
belongs to the maintainers, never to the program or its state); the running service
created its secrets with the placeholder ``CHANGEME``. Either way a task cannot use the
secret until a maintainer sets it. This module tells, from version *metadata* only
(``ListSecretVersionIds``: ids, stages, creation dates; never a value), which secrets
are in that state:

- **no value yet** — the secret has no version at all (created by this stack, never set);
- **still the running service's placeholder** — its only version, deprecated ones
  included, is its first, written together with the secret (within
  :data:`PLACEHOLDER_WINDOW` of the secret's creation, as the running service's
  Terraform wrote ``CHANGEME`` right after creating it). Any later value is a new
  version, so one version is "never changed since creation". A secret this stack
  created whose maintainer set it once also has one version, but written later: it
  counts as set (a maintainer who sets a value within the window would be reminded
  once more, the only mistake this rule can make);
- **does not exist yet** — declared but not created (the next ``pulumi up`` creates it);
- **scheduled for deletion** — declared, but deleted in AWS (restore it).

A project's shared secrets (``project.yml``) are reported like a workflow's, under the owner
``<project>/shared``, addressed to the project's maintainers, each with the workflows that read it.

No I/O, no Pulumi: ``shell/secrets_status.py`` lists the secrets with boto3.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from workflows.runtime_modules import identity

# How soon after a secret's creation its first version counts as written together with it.
PLACEHOLDER_WINDOW = timedelta(minutes=5)

NO_VALUE = "no value yet"
PLACEHOLDER = "still the running service's placeholder"
NOT_CREATED = "does not exist yet: the next `pulumi up` creates it, then it needs a value"
SCHEDULED_FOR_DELETION = "scheduled for deletion: restore it (aws secretsmanager restore-secret) or remove it"


@dataclass(frozen=True)
class DeclaredSecret:
    """A secret the stack declares: the workflow it belongs to (``<project>/<workflow>``), its name,
    and who may set it. A project's shared secret belongs to ``<project>/shared`` and has ``readers``:
    the workflows that list it in ``shared_secrets`` (None for a workflow's own secret)."""

    owner: str
    name: str
    maintainers: tuple[str, ...] = ()
    readers: tuple[str, ...] | None = None

    @property
    def shared(self) -> bool:
        return self.readers is not None


@dataclass(frozen=True)
class SecretHistory:
    """What ``ListSecrets`` and ``ListSecretVersionIds`` (deprecated versions included) say of a secret."""

    created: datetime | None
    versions: tuple[datetime | None, ...] = ()  # each version's creation date
    deleted: str | None = None  # set when scheduled for deletion
    unreadable: str | None = None  # why its versions could not be listed


@dataclass(frozen=True)
class Pending:
    """A secret that still needs a value, and why."""

    name: str
    status: str
    link: str
    readers: tuple[str, ...] | None = None  # a shared secret's readers (None: a workflow's own secret)


@dataclass(frozen=True)
class OwnerStatus:
    owner: str
    maintainers: tuple[str, ...]
    pending: tuple[Pending, ...]
    shared: bool = False  # the project's shared secrets (project.yml), not a workflow's


def status(history: SecretHistory | None) -> str | None:
    """Why a secret still needs a value (None: a maintainer has set it)."""
    if history is None:
        return NOT_CREATED
    if history.deleted:
        return f"{SCHEDULED_FOR_DELETION} (deleted {history.deleted})"
    if history.unreadable:
        return f"could not be checked: {history.unreadable}"
    if not history.versions:
        return NO_VALUE
    if len(history.versions) == 1:
        (written,) = history.versions
        if written is not None and history.created is not None and written - history.created <= PLACEHOLDER_WINDOW:
            return PLACEHOLDER
    return None


def secrets_to_set(
    declared: Iterable[DeclaredSecret], live: Mapping[str, SecretHistory], region: str
) -> list[OwnerStatus]:
    """Per owner with at least one secret still to set, sorted by owner then secret name.
    ``live`` maps each secret that exists (by name) to its history."""
    by_owner: dict[str, list[DeclaredSecret]] = {}
    for secret in declared:
        by_owner.setdefault(secret.owner, []).append(secret)
    found: list[OwnerStatus] = []
    for owner, secrets in sorted(by_owner.items()):
        pending = []
        for secret in sorted(secrets, key=lambda s: s.name):
            why = status(live.get(secret.name))
            if why is not None:
                pending.append(Pending(secret.name, why, identity.console_link(region, secret.name), secret.readers))
        if pending:
            maintainers = tuple(dict.fromkeys(m for s in secrets for m in s.maintainers))
            found.append(OwnerStatus(owner, maintainers, tuple(pending), shared=any(s.shared for s in secrets)))
    return found


def format_report(statuses: Sequence[OwnerStatus], *, stack: str, account: str, region: str, total: int) -> list[str]:
    """The command's output: a summary line, then each workflow (and each project's shared secrets) with its
    secrets and where to set them."""
    waiting = sum(len(s.pending) for s in statuses)
    where = f"stack {stack} (account {account}, {region})"
    if not waiting:
        return [f"{where}: all {total} secret(s) have a value set by their maintainers (no value was read)"]
    lines = [f"{where}: {waiting} of {total} secret(s) still need a value from their maintainers (no value was read)"]
    for owner in statuses:
        about = ["shared by the project's workflows, project.yml"] if owner.shared else []
        if owner.maintainers:
            about.append(f"maintainers: {', '.join(owner.maintainers)}")
        lines.append(f"{owner.owner}" + (f" ({'; '.join(about)})" if about else "") + ":")
        for pending in owner.pending:
            lines.append(f"  {pending.name}: {pending.status}")
            if pending.readers is not None:
                lines.append(f"    read by: {', '.join(pending.readers) or 'no workflow yet'}")
            lines.append(f"    set it: {pending.link}")
    return lines
