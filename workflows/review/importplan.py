"""The pure half of ``python -m workflows import-plan``: a ``pulumi import --file`` document.

The running service (Terraform, Helm) already has every workflow's role, policy,
attachments, secrets, service account and ExternalSecrets. Adopting them means
importing each one under the *same* type, logical name, parent and provider the
program declares, so that after the import ``pulumi preview`` has nothing to
create or replace. This module turns the program's registrations (as
:meth:`shell.offline.Registration.as_json` gives them: plain dicts with ``type``,
``name``, ``urn``, ``parent``, ``custom``, ``inputs``, ``options``) plus, optionally,
what a read-only look-up found in the live account (:class:`Live`) into that
document. It does no I/O and imports no Pulumi; ``shell/importplan.py`` runs the
program and does the look-ups, and :mod:`workflows.review.live_diff` compares
what it found with what the program declares.

Document format (the Pulumi CLI's bulk import file)::

    {"nameTable": {"<handle>": "<URN of something already in state: the stack, an explicit provider>"},
     "resources": [{"type": …, "name": "<handle>", "logicalName": …, "parent": "<handle>",
                    "component": true} |                      # a component: no id
                   {"type": …, "name": …, "logicalName": …, "parent": …, "provider": "<handle>",
                    "id": …}]}

``name`` is only a handle inside the file (for ``parent`` and ``provider``
references; it must be unique there), ``logicalName`` is the resource's name in its
URN. Components share their logical name with their Workflow, so a handle adds the
type where needed. Pulumi builds each URN from the parent chain, exactly as the
program does. A resource on an explicit provider names it by a ``nameTable`` handle:
``pulumi import`` needs that provider in state already (``pulumi up --target`` of the
provider URNs creates them, touching nothing in the cloud; docs/migration.md). A
resource on a default provider carries the provider ``version`` instead.

Import IDs (from the pulumi-aws / pulumi-kubernetes import documentation):

====================================================  ===========================================
type                                                  import ID
====================================================  ===========================================
``aws:iam/role:Role``                                 role name
``aws:iam/policy:Policy``                             policy ARN
``aws:iam/rolePolicyAttachmentsExclusive:…``           role name (the whole set of managed policies)
``aws:secretsmanager/secret:Secret``                  secret ARN (random suffix: looked up)
``kubernetes:core/v1:ServiceAccount``                 ``<namespace>/<name>``
``kubernetes:external-secrets.io/v1:ExternalSecret``  ``<namespace>/<name>``
====================================================  ===========================================

Never imported:

- **secret versions** (``SecretVersion``): the program declares none (a secret's value
  belongs to its maintainers, never to Pulumi state), and this module has no rule for
  the type, so a program that declared one would fail the plan. The running service's
  versions stay as they are.
- **S3 objects** (DAG files and runtime files): there is nothing per workflow to adopt
  (the running service keeps a YAML per workflow, read by one loader); the first
  ``pulumi up`` uploads each file, at a key the running service does not use or over
  its file of the same key (a python_dag workflow's ``dag.py``, the runtime package).
  They are listed as ``created`` with which of the two it is.
- **a project's shared secrets** (``project.yml``: the ``SharedSecrets`` component, its
  secrets and their ExternalSecrets): the running service has none, so there is nothing
  to adopt; the first ``pulumi up`` creates them (each then waits for its maintainers'
  value, as ``secrets-status`` says). They are listed as ``created``, never looked up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workflows import tokens
from workflows.review.live_diff import Live, lineage, policy_arn, provider_urn

STACK_TYPE = tokens.STACK
ROLE = tokens.ROLE
POLICY = tokens.POLICY
ATTACHMENT = tokens.ROLE_POLICY_ATTACHMENTS
SECRET = tokens.SECRET
OBJECT = tokens.BUCKET_OBJECT
SERVICE_ACCOUNT = tokens.SERVICE_ACCOUNT
EXTERNAL_SECRET = tokens.EXTERNAL_SECRET
PROVIDER_PREFIX = tokens.PROVIDER_PREFIX

SUPPORTED_TYPES = (ROLE, POLICY, ATTACHMENT, SECRET, SERVICE_ACCOUNT, EXTERNAL_SECRET)
# Uploaded by `pulumi up`, never imported (see the module docstring).
UPLOADED_TYPES = (OBJECT,)
# Components whose whole subtree `pulumi up` creates: the running service has nothing of theirs to adopt.
CREATED_COMPONENTS = (tokens.SHARED_SECRETS,)
# Types whose existence a look-up checks, by import ID: the workflow's identity must already
# exist. A role's attachments are imported by the role's name: they exist exactly when it does.
MUST_EXIST = (ROLE, POLICY)
# The running service's own files under the dags prefix that this stack's runtime also ships
# (reference/live-installation.md, "DAG files in the bucket today"): the first `pulumi up`
# uploads over them. Its per-workflow YAML files and dags/dag_factory.py are not among the keys
# this stack writes (the cutover in docs/migration.md says when they are deleted).
RUNNING_SERVICE_RUNTIME_FILES = (
    ".airflowignore",
    "analytical_platform/compute_profiles.py",
    "analytical_platform/standard_operator.py",
)

PLACEHOLDER = "<missing: {what}>"


@dataclass(frozen=True)
class Targets:
    """What a look-up has to ask, sorted: role names, policy ARNs, secret names."""

    roles: tuple[str, ...]
    policies: tuple[str, ...]
    secrets: tuple[str, ...]


@dataclass
class ImportPlan:
    """The import document and what the operator must know about it.

    ``errors`` always fail the command (the program declares something this tool
    cannot import); ``missing`` are resources whose import ID is unknown or that
    do not exist (placeholders in the document; fatal with ``--lookup``);
    ``created`` were left out because ``pulumi up`` creates (uploads) them;
    ``warnings`` need a look; ``providers`` are the explicit providers' URNs, which
    must be in state before the import.
    """

    document: dict[str, Any]
    errors: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    providers: list[str] = field(default_factory=list)

    @property
    def resources(self) -> list[dict[str, Any]]:
        return self.document["resources"]


def placeholder(what: str) -> str:
    """An import ID that cannot be mistaken for a real one (``pulumi import`` rejects it)."""
    return PLACEHOLDER.format(what=what)


def is_placeholder(resource_id: str) -> bool:
    return resource_id.startswith("<missing: ")


def import_id(registration: Mapping[str, Any], account: str) -> str | None:
    """The import ID derivable from the declaration alone (None: needs a look-up, or not imported)."""
    type_, inputs = registration["type"], registration.get("inputs") or {}
    if type_ == ROLE:
        return inputs["name"]
    if type_ == POLICY:
        return policy_arn(inputs, account)
    if type_ == ATTACHMENT:
        return inputs["roleName"]
    if type_ in (SERVICE_ACCOUNT, EXTERNAL_SECRET):
        metadata = inputs["metadata"]
        return f"{metadata['namespace']}/{metadata['name']}"
    return None


def lookup_targets(registrations: Iterable[Mapping[str, Any]], account: str) -> Targets:
    """What ``--lookup`` has to ask the live account about, sorted."""
    registrations = list(registrations)
    created = created_by_up(registrations)
    found: dict[str, set[str]] = {ROLE: set(), POLICY: set(), SECRET: set()}
    for registration in registrations:
        type_ = registration["type"]
        if not registration.get("custom") or type_ not in found or registration.get("urn") in created:
            continue
        found[type_].add(registration["inputs"]["name"] if type_ == SECRET else str(import_id(registration, account)))
    return Targets(
        roles=tuple(sorted(found[ROLE])), policies=tuple(sorted(found[POLICY])), secrets=tuple(sorted(found[SECRET]))
    )


def created_by_up(registrations: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """URN → the URN of its :data:`CREATED_COMPONENTS` component (itself for the component), for every
    registration at or below one: never imported, the first ``pulumi up`` creates them."""
    by_urn = {r["urn"]: r for r in registrations if r.get("urn")}
    found: dict[str, str] = {}
    for urn, registration in by_urn.items():
        component = next((r for r in lineage(registration, by_urn) if r["type"] in CREATED_COMPONENTS), None)
        if component is not None:
            found[urn] = component["urn"]
    return found


def running_service_keys(dags_prefix: str, python_dag_keys: Iterable[str]) -> frozenset[str]:
    """The bucket keys this stack writes that the running service also has: its runtime files
    and each python_dag workflow's ``dag.py`` (same folder, same file name)."""
    return frozenset({*(f"{dags_prefix}{path}" for path in RUNNING_SERVICE_RUNTIME_FILES), *python_dag_keys})


def build_import_plan(
    registrations: Sequence[Mapping[str, Any]],
    *,
    account: str,
    versions: Mapping[str, str] | None = None,
    live: Live | None = None,
    replaced_keys: Collection[str] = frozenset(),
) -> ImportPlan:
    """The bulk-import document for every custom resource of ``registrations``.

    ``account`` is the account of the workflows' roles, policies and secrets (the data
    account). ``versions`` maps a provider package (``aws``, ``kubernetes``) to the plugin
    version the program uses, so a resource on a default provider is imported with the
    same one as ``pulumi up``. ``live`` is what ``--lookup`` found; without it, secret ARNs
    are placeholders and nothing is checked. ``replaced_keys`` are the S3 keys the running
    service has too (:func:`running_service_keys`), so the report says which uploads
    replace one of its files.
    """
    versions = versions or {}
    plan = ImportPlan(document={"nameTable": {}, "resources": []})
    by_urn = {r["urn"]: r for r in registrations}
    if len(by_urn) != len(registrations):
        plan.errors.append("the program registered two resources with the same URN")
    providers = {r["urn"]: r for r in registrations if r["type"].startswith(PROVIDER_PREFIX)}
    created = created_by_up(registrations)
    for urn in sorted(created, key=lambda u: (created[u], u != created[u], u)):
        registration = by_urn[urn]
        if urn == created[urn]:
            plan.created.append(
                f"{_describe(registration)} and its resources: the running service has none (a project's shared "
                "secrets), the first `pulumi up` creates them"
            )
        elif registration.get("custom"):
            plan.created.append(f"{_describe(registration)}: the first `pulumi up` creates it")
    resources = [r for r in registrations if r["urn"] not in providers and r["urn"] not in created]

    # Parents outside the registrations: only the stack itself may be one.
    external: dict[str, str] = {}
    for registration in resources:
        parent = registration.get("parent")
        if parent and parent not in by_urn and parent not in external:
            if _last_type(parent) != STACK_TYPE:
                plan.errors.append(
                    f"{_describe(registration)} has a parent that is neither the stack nor declared: {parent}"
                )
                continue
            external[parent] = parent.rsplit("::", 1)[1]

    # Explicit providers: referenced through the name table by the URN the engine gives them.
    provider_index = _provider_index(providers, by_urn)
    provider_handles: dict[str, str] = {}
    provider_urns: dict[str, str] = {}
    for urn, provider in sorted(providers.items()):
        provider_urns[urn] = engine_urn(provider, by_urn)
        provider_handles[urn] = f"{provider['name']} ({provider['type']})"

    handles = _handles(resources, external)
    used_providers: set[str] = set()

    for registration in _parents_first(resources, by_urn):
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
        resource_id = _resolve(registration, account, live, replaced_keys, plan)
        if resource_id is None:
            continue
        provider = _provider_of(registration, provider_index)
        if provider is not None:
            entry["provider"] = provider_handles[provider]
            used_providers.add(provider)
        elif provider_urn(registration) is not None:
            plan.errors.append(f"{_describe(registration)}: its provider {provider_urn(registration)} is not declared")
        else:
            package = registration["type"].split(":", 1)[0]
            if package in versions:
                entry["version"] = versions[package]
        entry["id"] = resource_id
        plan.resources.append(entry)
    # The name table: the stack, and the explicit providers the imported resources go through.
    name_table = {handles[urn]: urn for urn in external}
    name_table.update({provider_handles[urn]: provider_urns[urn] for urn in used_providers})
    plan.document["nameTable"] = dict(sorted(name_table.items()))
    plan.providers = sorted(provider_urns[urn] for urn in used_providers)
    return plan


def engine_urn(registration: Mapping[str, Any], by_urn: Mapping[str, Mapping[str, Any]]) -> str:
    """The URN the engine gives a registration: its ancestors' types (the stack's left out), its name.

    (The mock runtime's URNs keep the stack's type in the chain.)
    """
    prefix = registration["urn"].split("::", 2)
    types = [r["type"] for r in lineage(registration, by_urn)][::-1]
    return f"{prefix[0]}::{prefix[1]}::{'$'.join(types)}::{registration['name']}"


def _provider_of(registration: Mapping[str, Any], index: Mapping[tuple[str, str], str]) -> str | None:
    """The URN (as registered) of the declared explicit provider a registration names, if any."""
    reference = provider_urn(registration)
    if reference is None:
        return None
    return index.get((registration["type"].split(":", 1)[0], reference))


def _provider_index(
    providers: Mapping[str, Mapping[str, Any]], by_urn: Mapping[str, Mapping[str, Any]]
) -> dict[tuple[str, str], str]:
    """``(package, reference)`` → provider URN as registered, for every way a provider may be named:
    the URN as registered, the engine's URN and the logical name."""
    index: dict[tuple[str, str], str] = {}
    for urn, provider in providers.items():
        package = provider["type"].removeprefix(PROVIDER_PREFIX)
        for reference in (urn, engine_urn(provider, by_urn), provider["name"]):
            index[(package, reference)] = urn
    return index


def _resolve(
    registration: Mapping[str, Any],
    account: str,
    live: Live | None,
    replaced_keys: Collection[str],
    plan: ImportPlan,
) -> str | None:
    """The import ID of one custom resource; records what is missing. None: leave it out."""
    type_, inputs, what = registration["type"], registration.get("inputs") or {}, _describe(registration)
    if type_ in UPLOADED_TYPES:
        location = f"{inputs.get('bucket')}/{inputs.get('key')}"
        if inputs.get("key") in replaced_keys:
            plan.created.append(
                f"{what}: the first `pulumi up` uploads {location} over the running service's file of that key"
            )
        else:
            plan.created.append(
                f"{what}: the first `pulumi up` uploads {location}, a key the running service does not use"
            )
        return None
    if type_ not in SUPPORTED_TYPES:
        plan.errors.append(f"{what}: no import rule for type {type_}")
        return placeholder(f"import ID for {type_}")
    if type_ == SECRET:
        return _secret_id(inputs["name"], what, live, plan)
    resource_id = import_id(registration, account)
    assert resource_id is not None  # every other supported type derives its ID
    if live is None or type_ not in MUST_EXIST:
        return resource_id
    key = (type_, resource_id)
    if key in live.unchecked:
        plan.warnings.append(f"{what}: could not check {resource_id}: {live.unchecked[key]}")
        return resource_id
    if resource_id in (live.roles if type_ == ROLE else live.policies):
        return resource_id
    plan.missing.append(f"{what}: {resource_id} not found in account {live.account}")
    return resource_id


def _secret_id(name: str, what: str, live: Live | None, plan: ImportPlan) -> str:
    if live is None:
        plan.missing.append(f"{what}: ARN of secret {name} not looked up (run with --lookup)")
        return placeholder(f"ARN of secret {name}")
    secret = live.secrets.get(name)
    if secret is None:
        if (SECRET, name) in live.unchecked:
            plan.missing.append(f"{what}: could not look up secret {name}: {live.unchecked[SECRET, name]}")
        else:
            plan.missing.append(f"{what}: secret {name} not found in account {live.account}")
        return placeholder(f"ARN of secret {name}")
    if secret.deleted:
        plan.missing.append(
            f"{what}: secret {name} is scheduled for deletion ({secret.deleted}); restore it first "
            f"(aws secretsmanager restore-secret --secret-id '{secret.arn}')"
        )
    return secret.arn


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
    file for (no type, duplicate handle, unknown parent or provider, ambiguous URN,
    an id on a component or none on a resource).
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
        if resource.get("provider") and resource["provider"] not in name_table:
            problems.append(f"{name!r}: provider {resource['provider']!r} is not in nameTable")
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
