"""What the first ``pulumi up`` after the import changes on the live resources: the pure half of
``import-plan --lookup``'s comparison.

An import copies what exists into Pulumi state; the next ``pulumi up`` then makes
every imported resource match what the program declares. Before importing, an
operator must see each of those changes: a grant a workflow loses (or gains), a
trust policy, tags, a secret's KMS key or resource policy. This module compares
the program's registrations (plain dicts, as ``render`` writes them to
``resources.json``) with what a read-only look-up found (:class:`LiveRole`,
:class:`LivePolicy`, :class:`LiveSecret`, never a secret value) and returns, per
workflow, one line per difference. It does no I/O and imports no Pulumi;
``shell/importplan.py`` does the look-ups.

How each setting is compared (live → declared):

- **grants** of the workflow's own policy (its default version): both documents
  expanded into ``(effect, action, resource)`` triples, plus the statement's
  condition when it has one; actions compare without case, as IAM does. Triples
  only on one side are grants removed or added, grouped by resource.
- **managed policies** attached to the role: the live set (``ListAttachedRolePolicies``)
  against the declared ``RolePolicyAttachmentsExclusive`` set.
- **trust policy** and **secret resource policy**: statement by statement, each
  statement in a canonical form (lists sorted, one value written as a list,
  ``"Principal": "*"`` as ``{"AWS": ["*"]}``), Sid included: a statement only on
  one side is removed or added.
- **tags**: the resource's tags plus its provider's default tags (what AWS ends up
  with), key by key.
- role **max session**, **path**, **description** and **permissions boundary**;
  policy **description** and **path**; secret **description**, **KMS key** and
  **replica regions** with their keys. A KMS key is compared by the key it names
  (a look-up resolves aliases) when known, else by its full ARN.

Settings that IAM cannot change in place (a role's or policy's path, a policy's
description) are marked as replacing the resource. Kubernetes objects, DAG files
and input-only settings (a secret's recovery window) are not compared.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workflows import tokens

ROLE = tokens.ROLE
POLICY = tokens.POLICY
ATTACHMENT = tokens.ROLE_POLICY_ATTACHMENTS
SECRET = tokens.SECRET
# Secrets Manager's own key, used when a secret names none.
DEFAULT_SECRETS_KEY = "alias/aws/secretsmanager"
# What AWS gives a role created without a max session (IAM's default: one hour).
DEFAULT_MAX_SESSION_SECONDS = 3600
NOT_COMPARED = (
    "not compared: Kubernetes objects (no cluster access), DAG and runtime files (uploaded by `pulumi up`), "
    "input-only settings (a secret's recovery window)"
)


@dataclass(frozen=True)
class LiveRole:
    """An IAM role as ``GetRole`` and ``ListAttachedRolePolicies`` describe it."""

    name: str
    path: str = "/"
    trust: Mapping[str, Any] | None = None
    max_session_seconds: int = DEFAULT_MAX_SESSION_SECONDS
    description: str | None = None
    permissions_boundary: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    attached: tuple[str, ...] = ()


@dataclass(frozen=True)
class LivePolicy:
    """A customer-managed policy as ``GetPolicy`` and ``GetPolicyVersion`` (its default version) describe it."""

    arn: str
    document: Mapping[str, Any] | None = None
    path: str = "/"
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LiveSecret:
    """One Secrets Manager secret as ``ListSecrets``, ``DescribeSecret`` and ``GetResourcePolicy`` describe
    it (never its value)."""

    arn: str
    # Set when the secret is scheduled for deletion (the date, as text).
    deleted: str | None = None
    kms_key_id: str | None = None  # None: Secrets Manager's own key
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    policy: Mapping[str, Any] | None = None  # None: no resource policy
    replicas: Mapping[str, str | None] = field(default_factory=dict)  # region -> KMS key (None: default)


@dataclass(frozen=True)
class Live:
    """What a read-only look-up found in the account, by import ID: role names, policy ARNs,
    secret names (absent: not found).

    ``unchecked`` maps ``(type, import ID or secret name)`` that could not be looked up to
    why; ``kms_keys`` maps ``(region, key ARN or alias ARN)`` to the key ARN it names, for
    the references a look-up could resolve.
    """

    account: str
    roles: Mapping[str, LiveRole] = field(default_factory=dict)
    policies: Mapping[str, LivePolicy] = field(default_factory=dict)
    secrets: Mapping[str, LiveSecret] = field(default_factory=dict)
    unchecked: Mapping[tuple[str, str], str] = field(default_factory=dict)
    kms_keys: Mapping[tuple[str, str], str] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkflowDiff:
    """The differences of one workflow (or other component), by resource: ``(heading, lines)``."""

    name: str
    resources: tuple[tuple[str, tuple[str, ...]], ...]


# --------------------------------------------------------------------------- comparison


def live_differences(
    registrations: Sequence[Mapping[str, Any]], live: Live, *, region: str, example_issuer: str | None = None
) -> list[WorkflowDiff]:
    """Per component (a workflow: ``<project>/<workflow>``) with a resource found live, sorted, every
    difference the first ``pulumi up`` would make to it (none: ``resources`` is empty). Resources not
    found live are skipped (the import plan reports them). ``region`` is the secrets' primary region.

    ``example_issuer``: the OIDC issuer the registrations were rendered with when it is only an
    example (an offline render cannot read the cluster facts); a trust policy is then compared as
    if it named the issuer the live trust names, so only its other differences show.
    """
    by_urn = {r["urn"]: r for r in registrations}
    default_tags = {r["urn"]: _default_tags(r) for r in registrations if r["type"].startswith(tokens.PROVIDER_PREFIX)}
    per_owner: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for registration in sorted(registrations, key=lambda r: (r["type"], r["name"])):
        if not registration.get("custom"):
            continue
        inputs = registration.get("inputs") or {}
        tags = {**_provider_tags(registration, by_urn, default_tags), **(inputs.get("tags") or {})}
        type_ = registration["type"]
        heading: str
        lines: list[str]
        if type_ == ROLE and inputs.get("name") in live.roles:
            role = live.roles[inputs["name"]]
            heading, lines = f"role {inputs['name']}", _role_lines(inputs, tags, role, example_issuer)
        elif type_ == POLICY and (arn := policy_arn(inputs, live.account)) in live.policies:
            policy = live.policies[arn]
            heading, lines = f"policy {inputs['name']}", _policy_lines(inputs, tags, policy)
        elif type_ == ATTACHMENT and inputs.get("roleName") in live.roles:
            role = live.roles[inputs["roleName"]]
            heading = f"managed policies of role {inputs['roleName']}"
            lines = _set_lines("managed policy", role.attached, inputs.get("policyArns") or (), "attached", "detached")
        elif type_ == SECRET and inputs.get("name") in live.secrets:
            secret = live.secrets[inputs["name"]]
            heading, lines = f"secret {inputs['name']}", _secret_lines(inputs, tags, secret, live, region)
        else:
            continue
        resources = per_owner.setdefault(_owner(registration, by_urn), [])
        if lines:
            resources.append((heading, tuple(lines)))
    return [
        WorkflowDiff(name=name, resources=tuple(sorted(resources))) for name, resources in sorted(per_owner.items())
    ]


def format_differences(diffs: Sequence[WorkflowDiff]) -> list[str]:
    """The report's lines: one block per workflow with differences, then a summary."""
    lines: list[str] = []
    changed = [diff for diff in diffs if diff.resources]
    for diff in changed:
        lines.append(f"{diff.name}:")
        for heading, changes in diff.resources:
            lines.append(f"  {heading}:")
            lines.extend(f"    {change}" for change in changes)
    lines.append(
        f"{len(changed)} workflow(s) with differences the first `pulumi up` makes, "
        f"{len(diffs) - len(changed)} without; {NOT_COMPARED}"
    )
    return lines


def _role_lines(
    inputs: Mapping[str, Any], tags: Mapping[str, str], role: LiveRole, example_issuer: str | None
) -> list[str]:
    lines: list[str] = []
    declared_path = inputs.get("path") or "/"
    if role.path != declared_path:
        lines.append(f"path: {role.path} → {declared_path} (replaces the role)")
    trust = inputs.get("assumeRolePolicy")
    live_issuer = _oidc_issuer(role.trust)
    if example_issuer and live_issuer and isinstance(trust, str):
        trust = trust.replace(example_issuer, live_issuer)
    lines += _statement_lines("trust statement", role.trust, _document(trust))
    declared_session = int(inputs.get("maxSessionDuration") or DEFAULT_MAX_SESSION_SECONDS)
    if role.max_session_seconds != declared_session:
        lines.append(f"max session: {role.max_session_seconds} s → {declared_session} s")
    lines += _value_lines("description", role.description, inputs.get("description"))
    lines += _value_lines("permissions boundary", role.permissions_boundary, inputs.get("permissionsBoundary"))
    return lines + _tag_lines(role.tags, tags)


def _policy_lines(inputs: Mapping[str, Any], tags: Mapping[str, str], policy: LivePolicy) -> list[str]:
    lines: list[str] = []
    declared_path = inputs.get("path") or "/"
    if policy.path != declared_path:
        lines.append(f"path: {policy.path} → {declared_path} (replaces the policy)")
    if (policy.description or None) != (inputs.get("description") or None):
        lines.append(
            f"description: {_shown(policy.description)} → {_shown(inputs.get('description'))} "
            "(IAM cannot change it: replaces the policy, detaching it from the role meanwhile)"
        )
    lines += _grant_lines(policy.document, _document(inputs.get("policy")))
    return lines + _tag_lines(policy.tags, tags)


def _secret_lines(
    inputs: Mapping[str, Any], tags: Mapping[str, str], secret: LiveSecret, live: Live, region: str
) -> list[str]:
    lines = _value_lines("description", secret.description, inputs.get("description"))
    lines += _key_lines("KMS key", secret.kms_key_id, inputs.get("kmsKeyId"), region, live)
    declared_replicas = {r["region"]: r.get("kmsKeyId") for r in inputs.get("replicas") or ()}
    for replica_region in sorted(set(secret.replicas) | set(declared_replicas)):
        if replica_region not in declared_replicas:
            lines.append(f"replica in {replica_region}: removed")
        elif replica_region not in secret.replicas:
            lines.append(f"replica in {replica_region}: added")
        else:
            lines += _key_lines(
                f"KMS key of the replica in {replica_region}",
                secret.replicas[replica_region],
                declared_replicas[replica_region],
                replica_region,
                live,
            )
    lines += _statement_lines("resource policy statement", secret.policy, _document(inputs.get("policy")))
    return lines + _tag_lines(secret.tags, tags)


# --------------------------------------------------------------------------- documents


def grants(document: Mapping[str, Any] | None) -> dict[tuple[str, str, str, str], str]:
    """A policy document as ``(effect, action lower-cased, resource, condition JSON)`` → action as written.

    ``NotAction``/``NotResource`` are kept as ``NotAction:<action>``/``NotResource:<resource>``.
    """
    found: dict[tuple[str, str, str, str], str] = {}
    for statement in _statements(document):
        condition = _canonical_json(statement["Condition"]) if statement.get("Condition") else ""
        actions = [(a, a) for a in _as_list(statement.get("Action"))]
        actions += [(f"NotAction:{a}", f"NotAction:{a}") for a in _as_list(statement.get("NotAction"))]
        resources = list(_as_list(statement.get("Resource")))
        resources += [f"NotResource:{r}" for r in _as_list(statement.get("NotResource"))]
        for action, shown in actions:
            for resource in resources:
                found[(str(statement.get("Effect", "")), action.lower(), resource, condition)] = shown
    return found


def _grant_lines(live: Mapping[str, Any] | None, declared: Mapping[str, Any] | None) -> list[str]:
    before, after = grants(live), grants(declared)
    lines: list[str] = []
    for word, side, other in (("removed", before, after), ("added", after, before)):
        grouped: dict[tuple[str, str, str], set[str]] = {}
        for key, shown in side.items():
            if key not in other:
                effect, _, resource, condition = key
                grouped.setdefault((resource, effect, condition), set()).add(shown)
        for (resource, effect, condition), actions in sorted(grouped.items()):
            when = f" when {condition}" if condition else ""
            lines.append(f"grant {word}: {effect} {', '.join(sorted(actions))} on {resource}{when}")
    return lines


def canonical_statement(statement: Mapping[str, Any]) -> str:
    """One statement as canonical JSON: keys sorted, every list sorted and deduplicated, a single
    value written as a list, ``"Principal": "*"`` as ``{"AWS": ["*"]}``."""
    canonical: dict[str, Any] = {}
    for key, value in statement.items():
        if key in ("Action", "NotAction", "Resource", "NotResource"):
            canonical[key] = sorted(set(_as_list(value)))
        elif key in ("Principal", "NotPrincipal"):
            principal = {"AWS": "*"} if value == "*" else value
            canonical[key] = {k: sorted(set(_as_list(v))) for k, v in principal.items()}
        elif key == "Condition":
            canonical[key] = {
                operator: {k: sorted(set(map(str, _as_list(v)))) for k, v in values.items()}
                for operator, values in value.items()
            }
        else:
            canonical[key] = value
    return _canonical_json(canonical)


def _statement_lines(what: str, live: Mapping[str, Any] | None, declared: Mapping[str, Any] | None) -> list[str]:
    before = {canonical_statement(s): s for s in _statements(live)}
    after = {canonical_statement(s): s for s in _statements(declared)}
    removed = {k: v for k, v in before.items() if k not in after}
    added = {k: v for k, v in after.items() if k not in before}
    lines: list[str] = []
    # A statement that only gets another Sid grants the same: say just that.
    for old_key, old in sorted(removed.items()):
        old_rest = canonical_statement({k: v for k, v in old.items() if k != "Sid"})
        for new_key, new in sorted(added.items()):
            if canonical_statement({k: v for k, v in new.items() if k != "Sid"}) == old_rest:
                lines.append(f"{what} Sid: {_shown(old.get('Sid'))} → {_shown(new.get('Sid'))} (otherwise the same)")
                del removed[old_key], added[new_key]
                break
    lines += [f"{what} removed: {s}" for s in sorted(removed)]
    lines += [f"{what} added: {s}" for s in sorted(added)]
    return lines


def _oidc_issuer(trust: Mapping[str, Any] | None) -> str | None:
    """The one OIDC issuer a trust policy's federated principals name (None: none, or several)."""
    issuers = {
        str(principal).split(":oidc-provider/", 1)[1]
        for statement in _statements(trust)
        if isinstance(statement.get("Principal"), Mapping)
        for principal in _as_list(statement["Principal"].get("Federated"))
        if ":oidc-provider/" in str(principal)
    }
    return issuers.pop() if len(issuers) == 1 else None


def _statements(document: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if not document:
        return []
    statements = document.get("Statement") or []
    return [statements] if isinstance(statements, Mapping) else list(statements)


def _document(value: Any) -> Mapping[str, Any] | None:
    """A policy input: a JSON string (as the provider receives it) or already a mapping."""
    if value is None or value == "":
        return None
    if isinstance(value, Mapping):
        return value
    return json.loads(value)


# --------------------------------------------------------------------------- values


def _tag_lines(live: Mapping[str, str], declared: Mapping[str, str]) -> list[str]:
    lines: list[str] = []
    for key in sorted(set(live) | set(declared)):
        if key not in declared:
            lines.append(f"tag removed: {key}={live[key]!r}")
        elif key not in live:
            lines.append(f"tag added: {key}={declared[key]!r}")
        elif live[key] != declared[key]:
            lines.append(f"tag {key}: {live[key]!r} → {declared[key]!r}")
    return lines


def _set_lines(what: str, live: Iterable[str], declared: Iterable[str], added: str, removed: str) -> list[str]:
    before, after = set(live), set(declared)
    return [f"{what} {removed}: {item}" for item in sorted(before - after)] + [
        f"{what} {added}: {item}" for item in sorted(after - before)
    ]


def _value_lines(what: str, live: str | None, declared: str | None) -> list[str]:
    if (live or None) == (declared or None):
        return []
    return [f"{what}: {_shown(live)} → {_shown(declared)}"]


def _key_lines(what: str, live: str | None, declared: str | None, region: str, state: Live) -> list[str]:
    before = _key_arn(live or DEFAULT_SECRETS_KEY, region, state.account)
    after = _key_arn(declared or DEFAULT_SECRETS_KEY, region, state.account)
    if before == after:
        return []
    shown = f"{what}: {live or DEFAULT_SECRETS_KEY} → {declared or DEFAULT_SECRETS_KEY}"
    resolved_before, resolved_after = state.kms_keys.get((region, before)), state.kms_keys.get((region, after))
    if resolved_before and resolved_before == resolved_after:
        return [f"{shown} (the same key {resolved_after}, named differently: nothing is re-encrypted)"]
    if resolved_before and resolved_after:
        return [f"{shown} (another key: {resolved_before} → {resolved_after}; the value is re-encrypted)"]
    return [shown]


def _key_arn(key: str, region: str, account: str) -> str:
    """A KMS key reference as a full ARN: ``alias/x`` and bare key ids are in the secret's region and account."""
    if key.startswith("arn:"):
        return key
    if key.startswith("alias/"):
        return f"arn:aws:kms:{region}:{account}:{key}"
    return f"arn:aws:kms:{region}:{account}:key/{key}"


def key_references(
    registrations: Iterable[Mapping[str, Any]], live: Mapping[str, LiveSecret], region: str, account: str
) -> list[tuple[str, str]]:
    """Every ``(region, key ARN or alias ARN)`` a comparison of secrets may need resolved, sorted."""
    references: set[tuple[str, str]] = set()
    for registration in registrations:
        if registration.get("custom") and registration["type"] == SECRET:
            inputs = registration.get("inputs") or {}
            references.add((region, _key_arn(inputs.get("kmsKeyId") or DEFAULT_SECRETS_KEY, region, account)))
            for replica in inputs.get("replicas") or ():
                key = replica.get("kmsKeyId") or DEFAULT_SECRETS_KEY
                references.add((replica["region"], _key_arn(key, replica["region"], account)))
    for secret in live.values():
        references.add((region, _key_arn(secret.kms_key_id or DEFAULT_SECRETS_KEY, region, account)))
        for replica_region, key in secret.replicas.items():
            references.add((replica_region, _key_arn(key or DEFAULT_SECRETS_KEY, replica_region, account)))
    return sorted(references)


def _shown(value: str | None) -> str:
    return "(none)" if value in (None, "") else repr(value)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------- registrations


def policy_arn(inputs: Mapping[str, Any], account: str) -> str:
    """The ARN of a declared customer-managed policy (its import ID): ``arn:aws:iam::<account>:policy<path><name>``."""
    return f"arn:aws:iam::{account}:policy{inputs.get('path') or '/'}{inputs.get('name')}"


def lineage(registration: Mapping[str, Any], by_urn: Mapping[str, Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    """``registration``, then its parent, its parent's parent… as far as ``by_urn`` holds them (the stack
    itself is not a registration); a parent seen before ends the walk."""
    seen: set[Any] = set()
    current: Mapping[str, Any] | None = registration
    while current is not None and current.get("urn") not in seen:
        yield current
        seen.add(current.get("urn"))
        current = by_urn.get(current.get("parent") or "")


def _owner(registration: Mapping[str, Any], by_urn: Mapping[str, Mapping[str, Any]]) -> str:
    """The logical name of the nearest component above a custom resource (its workflow), or ``(stack)``."""
    return next((r["name"] for r in lineage(registration, by_urn) if not r.get("custom")), "(stack)")


def provider_urn(registration: Mapping[str, Any]) -> str | None:
    """The URN of the explicit provider a registration names (None: the default provider).

    ``render`` records it under ``provider`` (top level or in ``options``), as a provider
    reference (``<URN>::<id>``) or a URN.
    """
    reference = registration.get("provider") or (registration.get("options") or {}).get("provider")
    if not reference or not isinstance(reference, str):
        return None
    if reference.startswith("urn:pulumi:") and reference.count("::") > 3:
        return reference.rsplit("::", 1)[0]
    return reference


def _provider_tags(
    registration: Mapping[str, Any],
    by_urn: Mapping[str, Mapping[str, Any]],
    default_tags: Mapping[str, Mapping[str, str]],
) -> Mapping[str, str]:
    reference = provider_urn(registration)
    if reference is None:
        return {}
    if reference in default_tags:
        return default_tags[reference]
    # A provider named by its logical name: the provider registration of that name.
    package = registration["type"].split(":", 1)[0]
    for urn, tags in default_tags.items():
        provider = by_urn[urn]
        if provider["name"] == reference and provider["type"] == f"{tokens.PROVIDER_PREFIX}{package}":
            return tags
    return {}


def _default_tags(provider: Mapping[str, Any]) -> Mapping[str, str]:
    """An AWS provider's ``defaultTags.tags`` (provider inputs may arrive JSON-encoded)."""
    value = (provider.get("inputs") or {}).get("defaultTags")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    tags = (value or {}).get("tags") if isinstance(value, Mapping) else None
    if isinstance(tags, str):
        tags = json.loads(tags)
    return {str(k): str(v) for k, v in (tags or {}).items()}
