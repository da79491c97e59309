"""The pure half of ``python -m workflows import-plan``: a ``pulumi import --file`` document.

The running service (Terraform, Helm) already has every workflow's role, policy,
attachments, secrets, service account, ExternalSecrets and DAG. Adopting them
means importing each one under the *same* type, logical name and parent the
program declares, so that after the import ``pulumi preview`` has nothing to
create or replace. This module turns the program's registrations (as
:meth:`components.offline.Registration.as_json` gives them: plain dicts with
``type``, ``name``, ``urn``, ``parent``, ``custom``, ``inputs``) plus, optionally,
what a read-only look-up found in the live account (:class:`Live`) into that
document. It does no I/O and imports no Pulumi; ``components/importplan.py``
runs the program and does the look-ups.

Document format (the Pulumi CLI's bulk import file)::

    {"nameTable": {"<handle>": "<URN of an existing parent: the stack>"},
     "resources": [{"type": …, "name": "<handle>", "logicalName": …, "parent": "<handle>",
                    "component": true} |                      # a component: no id
                   {"type": …, "name": …, "logicalName": …, "parent": …, "id": …, "version": …}]}

``name`` is only a handle inside the file (for ``parent`` references; it must be
unique there), ``logicalName`` is the resource's name in its URN. Components share
their logical name with their Workflow, so a handle adds the type where needed.
Pulumi builds each URN from the parent chain, exactly as the program does.

Import IDs (from the pulumi-aws / pulumi-kubernetes import documentation):

====================================================  ===========================================
type                                                  import ID
====================================================  ===========================================
``aws:iam/role:Role``                                 role name
``aws:iam/policy:Policy``                             policy ARN
``aws:iam/rolePolicyAttachmentsExclusive:…``           role name (the whole set of managed policies)
``aws:secretsmanager/secret:Secret``                  secret ARN (random suffix: looked up)
``aws:secretsmanager/secretVersion:SecretVersion``    ``<secret ARN>|<version id>`` (AWSCURRENT, looked up)
``aws:s3/bucketObjectv2:BucketObjectv2``              ``<bucket>/<key>``
``kubernetes:core/v1:ServiceAccount``                 ``<namespace>/<name>``
``kubernetes:external-secrets.io/v1:ExternalSecret``  ``<namespace>/<name>``
====================================================  ===========================================

The SecretVersion is declared with ``ignore_changes=["secretString", "versionStages"]``,
so adopting the version that holds the maintainers' value never rewrites it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workflows import tokens

STACK_TYPE = tokens.STACK
ROLE = tokens.ROLE
POLICY = tokens.POLICY
ATTACHMENT = tokens.ROLE_POLICY_ATTACHMENTS
SECRET = tokens.SECRET
SECRET_VERSION = tokens.SECRET_VERSION
OBJECT = tokens.BUCKET_OBJECT
SERVICE_ACCOUNT = tokens.SERVICE_ACCOUNT
EXTERNAL_SECRET = tokens.EXTERNAL_SECRET

SUPPORTED_TYPES = (ROLE, POLICY, ATTACHMENT, SECRET, SECRET_VERSION, OBJECT, SERVICE_ACCOUNT, EXTERNAL_SECRET)
# Types whose existence a look-up checks (by import ID), and what absence means:
# the workflow's identity must already exist; an S3 object that does not is simply
# created by `pulumi up` (adding it changes nothing that exists). A role's attachments
# are imported by the role's name: they exist exactly when the role does.
MUST_EXIST = (ROLE, POLICY)
CREATE_IF_ABSENT = (OBJECT,)
CHECKED_TYPES = MUST_EXIST + CREATE_IF_ABSENT

PLACEHOLDER = "<missing: {what}>"
_SECRET_ARN = re.compile(r"^arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:(?P<name>.+)-[A-Za-z0-9]{6}$")


@dataclass(frozen=True)
class LiveSecret:
    """One Secrets Manager secret as the live account describes it (never its value)."""

    arn: str
    # Version id holding the AWSCURRENT label; None when no value was ever stored.
    current_version: str | None = None
    # Set when the secret is scheduled for deletion (the date, as text).
    deleted: str | None = None


@dataclass(frozen=True)
class Live:
    """What ``--lookup`` found, read-only, in the stack's account and region.

    ``secrets`` is keyed by secret name (absent: not found). ``found`` holds
    ``(type, import id)`` of every checked role, policy, attachment and S3 object
    that exists; ``unchecked`` maps those that could not be checked to the reason.
    """

    account: str
    secrets: Mapping[str, LiveSecret] = field(default_factory=dict)
    found: frozenset[tuple[str, str]] = frozenset()
    unchecked: Mapping[tuple[str, str], str] = field(default_factory=dict)


@dataclass(frozen=True)
class Targets:
    """What a look-up has to ask: secret names, and ``(type, import id)`` pairs to check."""

    secrets: tuple[str, ...]
    checks: tuple[tuple[str, str], ...]


@dataclass
class ImportPlan:
    """The import document and what the operator must know about it.

    ``errors`` always fail the command (the program declares something this tool
    cannot import); ``missing`` are resources whose import ID is unknown or that
    do not exist (placeholders in the document; fatal with ``--lookup``);
    ``created`` were left out because they do not exist yet and ``pulumi up`` will
    create them without touching anything that exists; ``warnings`` need a look.
    """

    document: dict[str, Any]
    errors: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def resources(self) -> list[dict[str, Any]]:
        return self.document["resources"]


def placeholder(what: str) -> str:
    """An import ID that cannot be mistaken for a real one (``pulumi import`` rejects it)."""
    return PLACEHOLDER.format(what=what)


def is_placeholder(resource_id: str) -> bool:
    return resource_id.startswith("<missing: ")


def policy_arn(name: str, account: str, path: str = "/", partition: str = "aws") -> str:
    """ARN of a customer-managed policy: ``arn:aws:iam::<account>:policy<path><name>``."""
    return f"arn:{partition}:iam::{account}:policy{path}{name}"


def secret_name_of(secret_id: str) -> str:
    """The secret name behind a ``secret_id`` input: a name, or an ARN with its 6-character suffix."""
    match = _SECRET_ARN.match(secret_id)
    return match.group("name") if match else secret_id


def import_id(registration: Mapping[str, Any], account: str) -> str | None:
    """The import ID derivable from the declaration alone (None: needs a look-up, or unsupported)."""
    type_, inputs = registration["type"], registration.get("inputs") or {}
    if type_ == ROLE:
        return inputs["name"]
    if type_ == POLICY:
        return policy_arn(inputs["name"], account, inputs.get("path") or "/")
    if type_ == ATTACHMENT:
        return inputs["roleName"]
    if type_ == OBJECT:
        return f"{inputs['bucket']}/{inputs['key']}"
    if type_ in (SERVICE_ACCOUNT, EXTERNAL_SECRET):
        metadata = inputs["metadata"]
        return f"{metadata['namespace']}/{metadata['name']}"
    return None


def lookup_targets(registrations: Iterable[Mapping[str, Any]], account: str) -> Targets:
    """What ``--lookup`` has to ask the live account about, sorted."""
    secrets: set[str] = set()
    checks: set[tuple[str, str]] = set()
    for registration in registrations:
        if not registration.get("custom"):
            continue
        type_ = registration["type"]
        if type_ == SECRET:
            secrets.add(registration["inputs"]["name"])
        elif type_ in CHECKED_TYPES:
            resource_id = import_id(registration, account)
            if resource_id is not None:
                checks.add((type_, resource_id))
    return Targets(secrets=tuple(sorted(secrets)), checks=tuple(sorted(checks)))


def build_import_plan(
    registrations: Sequence[Mapping[str, Any]],
    *,
    account: str,
    versions: Mapping[str, str] | None = None,
    live: Live | None = None,
) -> ImportPlan:
    """The bulk-import document for every custom resource of ``registrations``.

    ``account`` is the stack's AWS account (``platform:accountId``). ``versions``
    maps a provider package (``aws``, ``kubernetes``) to the plugin version the
    program uses, so the import selects the same default provider as ``pulumi up``.
    ``live`` is what ``--lookup`` found; without it, secret ARNs and version ids are
    placeholders and nothing is checked.
    """
    versions = versions or {}
    plan = ImportPlan(document={"nameTable": {}, "resources": []})
    by_urn = {r["urn"]: r for r in registrations}
    if len(by_urn) != len(registrations):
        plan.errors.append("the program registered two resources with the same URN")
    secret_names = {r["inputs"]["name"] for r in registrations if r.get("custom") and r["type"] == SECRET}

    # Parents outside the registrations: only the stack itself may be one.
    external: dict[str, str] = {}
    for registration in registrations:
        parent = registration.get("parent")
        if parent and parent not in by_urn and parent not in external:
            if _last_type(parent) != STACK_TYPE:
                plan.errors.append(
                    f"{_describe(registration)} has a parent that is neither the stack nor declared: {parent}"
                )
                continue
            external[parent] = parent.rsplit("::", 1)[1]

    handles = _handles(registrations, external)
    plan.document["nameTable"] = {handles[urn]: urn for urn in sorted(external, key=lambda u: handles[u])}

    for registration in _parents_first(registrations, by_urn):
        entry: dict[str, Any] = {
            "type": registration["type"],
            "name": handles[registration["urn"]],
            "logicalName": registration["name"],
        }
        parent = registration.get("parent")
        if parent in handles:
            entry["parent"] = handles[parent]
        if not registration.get("custom"):
            entry["component"] = True
            plan.resources.append(entry)
            continue
        resource_id = _resolve(registration, account, live, secret_names, plan)
        if resource_id is None:
            continue
        entry["id"] = resource_id
        package = registration["type"].split(":", 1)[0]
        if package in versions:
            entry["version"] = versions[package]
        plan.resources.append(entry)
    return plan


def _resolve(
    registration: Mapping[str, Any],
    account: str,
    live: Live | None,
    secret_names: set[str],
    plan: ImportPlan,
) -> str | None:
    """The import ID of one custom resource; records what is missing. None: leave it out."""
    type_, inputs, what = registration["type"], registration.get("inputs") or {}, _describe(registration)
    if type_ not in SUPPORTED_TYPES:
        plan.errors.append(f"{what}: no import rule for type {type_}; add one to workflows/importplan.py")
        return placeholder(f"import ID for {type_}")
    if type_ == SECRET:
        return _secret_id(inputs["name"], what, live, plan)
    if type_ == SECRET_VERSION:
        name = secret_name_of(str(inputs.get("secretId", "")))
        if name not in secret_names:
            plan.errors.append(f"{what}: its secretId {inputs.get('secretId')!r} is not a secret the stack declares")
            return placeholder("secret of this version")
        return _version_id(name, what, live, plan)
    resource_id = import_id(registration, account)
    assert resource_id is not None  # every other supported type derives its ID
    if live is None or type_ not in CHECKED_TYPES:
        return resource_id
    key = (type_, resource_id)
    if key in live.unchecked:
        plan.warnings.append(f"{what}: could not check {resource_id}: {live.unchecked[key]}")
        return resource_id
    if key in live.found:
        return resource_id
    if type_ in MUST_EXIST:
        plan.missing.append(f"{what}: {resource_id} not found in account {live.account}")
        return resource_id
    plan.created.append(f"{what}: {resource_id} does not exist yet; `pulumi up` will create it")
    return None


def _secret_id(name: str, what: str, live: Live | None, plan: ImportPlan) -> str:
    if live is None:
        plan.missing.append(f"{what}: ARN of secret {name} not looked up (run with --lookup)")
        return placeholder(f"ARN of secret {name}")
    secret = live.secrets.get(name)
    if secret is None:
        plan.missing.append(f"{what}: secret {name} not found in account {live.account}")
        return placeholder(f"ARN of secret {name}")
    if secret.deleted:
        plan.missing.append(
            f"{what}: secret {name} is scheduled for deletion ({secret.deleted}); restore it first "
            f"(aws secretsmanager restore-secret --secret-id '{secret.arn}')"
        )
    return secret.arn


def _version_id(name: str, what: str, live: Live | None, plan: ImportPlan) -> str | None:
    if live is None:
        plan.missing.append(f"{what}: AWSCURRENT version of secret {name} not looked up (run with --lookup)")
        return placeholder(f"ARN of secret {name}|its AWSCURRENT version id")
    secret = live.secrets.get(name)
    if secret is None:
        plan.missing.append(f"{what}: secret {name} not found, so neither is its current version")
        return placeholder(f"ARN of secret {name}|its AWSCURRENT version id")
    if secret.current_version is None:
        plan.created.append(
            f"{what}: secret {name} has no value yet; `pulumi up` will store the placeholder as its first value"
        )
        return None
    return f"{secret.arn}|{secret.current_version}"


def _describe(registration: Mapping[str, Any]) -> str:
    return f"{registration['type']} '{registration['name']}'"


def _last_type(urn: str) -> str:
    parts = urn.split("::")
    return parts[2].split("$")[-1] if len(parts) == 4 else ""


def _short_type(type_: str) -> str:
    return type_.rsplit(":", 1)[-1]


def _handles(registrations: Sequence[Mapping[str, Any]], external: Mapping[str, str]) -> dict[str, str]:
    """A unique, readable handle per URN: the logical name, qualified by the type where it is shared."""
    counts = Counter(r["name"] for r in registrations)
    counts.update(external.values())
    handles: dict[str, str] = {}
    for urn, name in external.items():
        handles[urn] = name if counts[name] == 1 else f"{name} ({STACK_TYPE})"
    for registration in registrations:
        name = registration["name"]
        handles[registration["urn"]] = name if counts[name] == 1 else f"{name} ({_short_type(registration['type'])})"
    taken = Counter(handles.values())
    for registration in registrations:
        if taken[handles[registration["urn"]]] > 1:
            handles[registration["urn"]] = f"{registration['name']} ({registration['type']})"
    taken = Counter(handles.values())
    for index, registration in enumerate(sorted(registrations, key=lambda r: r["urn"])):
        if taken[handles[registration["urn"]]] > 1:
            handles[registration["urn"]] = f"{handles[registration['urn']]} #{index}"
    return handles


def _parents_first(
    registrations: Sequence[Mapping[str, Any]], by_urn: Mapping[str, Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """Depth-first from the stack, children sorted by (type, name): each parent precedes its children."""
    children: dict[str | None, list[Mapping[str, Any]]] = {}
    for registration in registrations:
        parent = registration.get("parent")
        children.setdefault(parent if parent in by_urn else None, []).append(registration)
    ordered: list[Mapping[str, Any]] = []
    stack = sorted(children.get(None, []), key=_order, reverse=True)
    while stack:
        registration = stack.pop()
        ordered.append(registration)
        stack.extend(sorted(children.get(registration["urn"], []), key=_order, reverse=True))
    return ordered


def _order(registration: Mapping[str, Any]) -> tuple[bool, str, str]:
    # Components first among siblings, then by type and logical name.
    return (bool(registration.get("custom")), registration["type"], registration["name"])


def resolve_urns(document: Mapping[str, Any], stack: str, project: str) -> dict[str, str]:
    """The URN ``pulumi import`` will give each entry, by handle, following the CLI's own rules.

    A child's URN carries its parent's whole type chain; the stack's type is left
    out. Raises :class:`ValueError` listing every problem the CLI would reject the
    file for (no type, duplicate handle, unknown parent, ambiguous URN, an id on a
    component or none on a resource).
    """
    problems: list[str] = []
    name_table: Mapping[str, str] = document.get("nameTable") or {}
    resources: list[Mapping[str, Any]] = list(document.get("resources") or [])
    counts = Counter(r.get("name") for r in resources)
    for resource in resources:
        name = resource.get("name")
        if not resource.get("type") or not name:
            problems.append(f"entry {resource!r} has no type or no name")
        if counts[name] > 1:
            problems.append(f"handle {name!r} is used by {counts[name]} entries")
        if resource.get("component") and "id" in resource:
            problems.append(f"{name!r} is a component but has an id")
        if not resource.get("component") and not resource.get("id"):
            problems.append(f"{name!r} has no id")
    qualified: dict[str, str] = {}
    for name, urn in name_table.items():
        qualified[name] = urn.split("::")[2] if urn.count("::") == 3 else ""
    by_name = {r.get("name"): r for r in resources}

    def chain(name: str, seen: tuple[str, ...] = ()) -> str:
        if name in qualified:
            return qualified[name]
        if name in seen or name not in by_name:
            raise KeyError(name)
        resource = by_name[name]
        parent = resource.get("parent")
        own = resource["type"]
        if parent:
            parent_chain = chain(parent, (*seen, name))
            if parent_chain and parent_chain != STACK_TYPE:
                own = f"{parent_chain}${own}"
        qualified[name] = own
        return own

    urns: dict[str, str] = {}
    for resource in resources:
        name = resource.get("name")
        try:
            type_chain = chain(name)
        except KeyError as missing:
            problems.append(f"{name!r}: parent {missing.args[0]!r} is neither in nameTable nor in the file")
            continue
        urns[name] = f"urn:pulumi:{stack}::{project}::{type_chain}::{resource.get('logicalName') or name}"
    duplicates = sorted(urn for urn, n in Counter(urns.values()).items() if n > 1)
    problems.extend(f"ambiguous URN {urn}" for urn in duplicates)
    if problems:
        raise ValueError("; ".join(sorted(set(problems))))
    return urns
