"""The platform's guardrails, as plain functions (no Pulumi import, so they are unit-tested directly).

Each rule takes ``(resource_type, props, environment)`` — the type token, the
inputs as the provider receives them (camelCase; IAM documents as JSON strings)
and the stack's environment — and returns the violations it finds, as messages
(an empty list when the resource complies, or when the rule does not apply to
its type). The pack also sees the stack's components (``Workflow``,
``SharedSecrets``, ``PlatformRuntime``): their inputs only name what they group,
so every rule but ``environment`` leaves them alone; their resources are checked
one by one. ``policy/__main__.py`` turns every rule of :data:`RULES` into a
mandatory ``ResourceValidationPolicy``, so ``pulumi preview`` and ``pulumi up``
with ``--policy-pack policy`` fail on any violation.

This file also runs inside the policy pack's own virtual environment
(``policy/requirements.txt``), so it uses only the standard library, PyYAML (a
dependency of the Pulumi SDK) and the stack's own standard-library modules,
loaded from their files: the type tokens (``workflows/tokens.py``) and the
environments (``workflows/model.py`` is not importable there, so they are read
from the stack files), and the platform-bucket matcher
(``workflows/plan/platform_buckets.py``). The namespace, the DAG prefix and the platform
buckets come from the stack's ``Pulumi.<stack>.yaml``, as the stack reads them.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent


def _load_stack_module(name: str, relative: str) -> ModuleType:
    """One of the stack's standard-library modules, loaded from its file (``workflows`` is not importable here)."""
    spec = importlib.util.spec_from_file_location(name, REPO / relative)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


tokens = _load_stack_module("_stack_tokens", "workflows/tokens.py")
# The platform-bucket matcher the stack uses.
platform_buckets_matcher = _load_stack_module("_stack_platform_buckets", "workflows/plan/platform_buckets.py")

ROLE_TYPE = tokens.ROLE
POLICY_TYPE = tokens.POLICY
SECRET_TYPE = tokens.SECRET
DAG_OBJECT_TYPE = tokens.BUCKET_OBJECT
# Types the stack does not register; guarded all the same, should a change start using them.
ROLE_POLICY_TYPE = "aws:iam/rolePolicy:RolePolicy"
SECRET_POLICY_TYPE = "aws:secretsmanager/secretPolicy:SecretPolicy"  # noqa: S105 - a type token
LEGACY_DAG_OBJECT_TYPE = "aws:s3/bucketObject:BucketObject"

ROLE_NAME_LIMIT = 64
# Parts of a secret's name below /airflow/<env>/: <project>/<workflow>/<secret>, or <project>/shared/<secret>
# (a project's shared secret).
SECRET_NAME_PARTS = 3
OIDC_AUDIENCE = "sts.amazonaws.com"
WEB_IDENTITY_ACTION = "sts:AssumeRoleWithWebIdentity"
TAGGABLE = (ROLE_TYPE, POLICY_TYPE, SECRET_TYPE, DAG_OBJECT_TYPE, LEGACY_DAG_OBJECT_TYPE)
REQUIRED_TAGS = ("business-unit", "application", "environment", "is-production", "owner", "source-code")
# S3 actions that have no resource-level permissions, so "*" is their only possible resource.
S3_ACCOUNT_ACTIONS = frozenset({"s3:listallmybuckets"})
# Where each type keeps its IAM documents: (property, key inside each list item or None).
POLICY_DOCUMENTS: Mapping[str, tuple[tuple[str, str | None], ...]] = {
    POLICY_TYPE: (("policy", None),),
    ROLE_POLICY_TYPE: (("policy", None),),
    ROLE_TYPE: (("inlinePolicies", "policy"),),
    SECRET_TYPE: (("policy", None),),
    SECRET_POLICY_TYPE: (("policy", None),),
}

Check = Callable[[str, Mapping[str, Any], str], list[str]]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    check: Check


@dataclass(frozen=True)
class StackSettings:
    """What the rules need from ``Pulumi.<stack>.yaml``: the same keys the stack reads."""

    namespace: str
    dags_prefix: str
    platform_buckets: tuple[str, ...]


@cache
def environments() -> tuple[str, ...]:
    """The stacks: one ``Pulumi.<stack>.yaml`` each, as the stack program has them."""
    return tuple(sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in REPO.glob("Pulumi.*.yaml")))


@cache
def stack_settings(environment: str) -> StackSettings:
    """``platform:namespace``, ``platform:dagsPrefix`` and ``platform:platformBuckets`` of a stack, from its
    stack file."""
    path = REPO / f"Pulumi.{environment}.yaml"
    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    keys = ("platform:namespace", "platform:dagsPrefix", "platform:platformBuckets")
    missing = [key for key in keys if not config.get(key)]
    if missing:
        raise ValueError(f"{path.name} must set {', '.join(missing)}")
    buckets = config["platform:platformBuckets"]
    if not isinstance(buckets, list):
        raise ValueError(f"{path.name}: platform:platformBuckets must be a list of bucket names")
    return StackSettings(
        namespace=str(config["platform:namespace"]),
        dags_prefix=str(config["platform:dagsPrefix"]),
        platform_buckets=tuple(str(b) for b in buckets),
    )


def role_prefix(environment: str) -> str:
    return f"airflow-{environment}-"


def stack_of(urn: str) -> str:
    """The stack name of a URN: ``urn:pulumi:<stack>::<project>::<type>::<name>``."""
    head = urn.split("::", 1)[0]
    return head.removeprefix("urn:pulumi:")


# --------------------------------------------------------------------------- rules


def role_name(resource_type: str, props: Mapping[str, Any], environment: str) -> list[str]:
    """A role is called ``airflow-<env>-<project>-<workflow>`` and fits IAM's 64 characters."""
    if resource_type != ROLE_TYPE:
        return []
    name = props.get("name")
    prefix = role_prefix(environment)
    if not isinstance(name, str) or not name:
        return [f"an IAM role must have an explicit name starting with '{prefix}' (got no name)"]
    problems = []
    if not name.startswith(prefix) or name == prefix:
        problems.append(f"IAM role name '{name}' must start with '{prefix}' (airflow-<env>-<project>-<workflow>)")
    if len(name) > ROLE_NAME_LIMIT:
        problems.append(f"IAM role name '{name}' is {len(name)} characters, over IAM's limit of {ROLE_NAME_LIMIT}")
    return problems


def role_trust(resource_type: str, props: Mapping[str, Any], environment: str) -> list[str]:
    """A role trusts only its own workflow's service account in the stack's namespace (``platform:namespace``),
    through an EKS OIDC provider.

    Every statement must be an ``Allow`` of ``sts:AssumeRoleWithWebIdentity`` to a
    ``Federated`` OIDC provider principal only, with ``StringEquals`` conditions
    ``<issuer>:sub = system:serviceaccount:<namespace>:<role name minus 'airflow-<env>-'>``
    and ``<issuer>:aud = sts.amazonaws.com``.
    """
    if resource_type != ROLE_TYPE:
        return []
    name = props.get("name")
    if not isinstance(name, str) or not name.startswith(role_prefix(environment)):
        prefix = role_prefix(environment)
        return [f"the trust of IAM role '{name}' cannot be checked: its name must start with '{prefix}'"]
    if environment not in environments():
        return []  # known_environment reports it
    namespace = stack_settings(environment).namespace
    expected_sub = f"system:serviceaccount:{namespace}:{name.removeprefix(role_prefix(environment))}"
    document, problem = _document(props.get("assumeRolePolicy"), "assumeRolePolicy")
    if problem:
        return [f"IAM role '{name}': {problem}"]
    statements = _statements(document)
    if not statements:
        return [f"IAM role '{name}' has no trust statement"]
    problems: list[str] = []
    for index, statement in enumerate(statements):
        where = f"IAM role '{name}' trust statement {_sid(statement, index)}"
        problems.extend(f"{where}: {p}" for p in _trust_statement_problems(statement, expected_sub))
    return problems


def _trust_statement_problems(statement: Mapping[str, Any], expected_sub: str) -> Iterator[str]:
    if statement.get("Effect") != "Allow":
        yield f"Effect must be Allow, not {statement.get('Effect')!r}"
    for key in ("NotPrincipal", "NotAction"):
        if key in statement:
            yield f"{key} is not allowed"
    actions = _strings(statement.get("Action"))
    if actions != [WEB_IDENTITY_ACTION]:
        yield f"Action must be exactly {WEB_IDENTITY_ACTION}, not {actions}"
    principal = statement.get("Principal")
    if not isinstance(principal, Mapping) or set(principal) != {"Federated"}:
        yield f"Principal must be a Federated OIDC provider only, not {json.dumps(principal, sort_keys=True)}"
        return
    federated = _strings(principal["Federated"])
    if len(federated) != 1 or ":oidc-provider/" not in federated[0]:
        yield f"the Federated principal must be one OIDC provider ARN, not {federated}"
        return
    issuer = federated[0].split(":oidc-provider/", 1)[1]
    conditions = statement.get("Condition")
    equals = conditions.get("StringEquals") if isinstance(conditions, Mapping) else None
    equals = equals if isinstance(equals, Mapping) else {}
    subjects = _strings(equals.get(f"{issuer}:sub"))
    if subjects != [expected_sub]:
        yield f"condition StringEquals {issuer}:sub must be exactly '{expected_sub}', not {subjects or 'missing'}"
    audiences = _strings(equals.get(f"{issuer}:aud"))
    if audiences != [OIDC_AUDIENCE]:
        yield f"condition StringEquals {issuer}:aud must be exactly '{OIDC_AUDIENCE}', not {audiences or 'missing'}"


def no_wildcard_actions(resource_type: str, props: Mapping[str, Any], environment: str) -> list[str]:
    """No IAM document allows ``*`` or ``<service>:*`` (nor uses ``NotAction``/``NotResource`` in an Allow),
    and none allows S3 actions on every resource (``*``, ``arn:aws:s3:::*``…), except the account-level
    ``s3:ListAllMyBuckets``, which has no other resource."""
    problems: list[str] = []
    for label, raw in _policy_documents(resource_type, props):
        document, problem = _document(raw, label)
        if problem:
            problems.append(problem)
            continue
        for index, statement in enumerate(_statements(document)):
            if statement.get("Effect") != "Allow":
                continue
            where = f"{label} statement {_sid(statement, index)}"
            for key in ("NotAction", "NotResource"):
                if key in statement:
                    problems.append(f"{where}: Allow with {key} grants everything else; list what is allowed")
            actions = _strings(statement.get("Action"))
            wildcards = [a for a in actions if a == "*" or a.endswith(":*")]
            if wildcards:
                problems.append(f"{where}: allows every action of a service ({', '.join(wildcards)})")
            resources = _strings(statement.get("Resource"))
            everything = [r for r in resources if r == "*" or r.startswith("arn:aws:s3:::*")]
            s3 = [a for a in actions if a.lower().startswith("s3:") and a.lower() not in S3_ACCOUNT_ACTIONS]
            if s3 and everything:
                problems.append(f"{where}: allows {', '.join(s3)} on every bucket ({', '.join(everything)})")
    return problems


def platform_buckets(resource_type: str, props: Mapping[str, Any], environment: str) -> list[str]:
    """No IAM document allows an S3 action on a resource that could match a platform bucket
    (``platform:platformBuckets``: the MWAA buckets, the state) or its objects: ``arn:aws:s3:::mojap-*/…``
    and ``*`` match them as surely as their names. Deny statements are fine (every generated policy
    denies them); so is ``s3:ListAllMyBuckets``, which reaches no bucket."""
    if environment not in environments():
        return []  # known_environment reports it
    buckets = stack_settings(environment).platform_buckets
    problems: list[str] = []
    for label, raw in _policy_documents(resource_type, props):
        document, problem = _document(raw, label)
        if problem:
            continue  # no_wildcard_actions reports it
        for index, statement in enumerate(_statements(document)):
            if statement.get("Effect") != "Allow":
                continue
            s3 = [a for a in _strings(statement.get("Action")) if _may_be_s3(a)]
            if not s3:
                continue
            for resource in _strings(statement.get("Resource")):
                bucket = platform_buckets_matcher.platform_bucket_of_resource(resource, buckets)
                if bucket is not None:
                    problems.append(
                        f"{label} statement {_sid(statement, index)}: allows {', '.join(s3)} on {resource}, which "
                        f"matches the platform bucket {bucket}: no workflow may be granted access to it"
                    )
    return problems


def _may_be_s3(action: str) -> bool:
    """Whether an action pattern (``s3:GetObject``, ``s3:*``, ``*``, ``s?:Put*``) could be an S3 action
    other than the account-level ones."""
    if action.lower() in S3_ACCOUNT_ACTIONS:
        return False
    return platform_buckets_matcher.may_reach(action, "s3", ":")


def secret_name(resource_type: str, props: Mapping[str, Any], environment: str) -> list[str]:
    """Secrets Manager secrets are named ``/airflow/<env>/<project>/<workflow>/<secret>`` (a workflow's own) or
    ``/airflow/<env>/<project>/shared/<secret>`` (a project's shared secret, ``project.yml``): three
    non-empty parts below ``/airflow/<env>/``."""
    if resource_type != SECRET_TYPE:
        return []
    prefix = f"/airflow/{environment}/"
    layouts = (
        f"{prefix}<project>/<workflow>/<secret> for a workflow's secret, or "
        f"{prefix}<project>/shared/<secret> for a project's shared secret"
    )
    name = props.get("name")
    if not isinstance(name, str) or not name.startswith(prefix) or name == prefix:
        return [f"secret name {name!r} must start with '{prefix}' ({layouts})"]
    parts = name.removeprefix(prefix).split("/")
    if len(parts) != SECRET_NAME_PARTS or not all(parts) or {".", ".."} & set(parts):
        return [f"secret name {name!r} must be {layouts}"]
    return []


def dag_object_key(resource_type: str, props: Mapping[str, Any], environment: str) -> list[str]:
    """Objects the stack writes to S3 are DAG files, under the MWAA bucket's ``dags/`` prefix only."""
    if resource_type not in (DAG_OBJECT_TYPE, LEGACY_DAG_OBJECT_TYPE):
        return []
    if environment not in environments():
        return []  # known_environment reports it
    key = props.get("key")
    prefix = stack_settings(environment).dags_prefix
    if not isinstance(key, str) or not key.startswith(prefix) or ".." in key.split("/"):
        return [f"S3 object key {key!r} must be under '{prefix}' (the MWAA DAG folder)"]
    return []


def required_tags(resource_type: str, props: Mapping[str, Any], environment: str) -> list[str]:
    """Every taggable resource carries the platform's tags, with this stack's environment."""
    if resource_type not in TAGGABLE:
        return []
    tags = props.get("tags")
    tags = tags if isinstance(tags, Mapping) else {}
    problems = []
    missing = [key for key in REQUIRED_TAGS if not isinstance(tags.get(key), str) or not tags.get(key)]
    if missing:
        problems.append(f"{_short(resource_type)} {_label(props)} is missing tag(s) {', '.join(missing)}")
    if "environment" not in missing and tags.get("environment") != environment:
        problems.append(
            f"{_short(resource_type)} {_label(props)} has tag environment={tags.get('environment')!r} "
            f"in stack {environment!r}"
        )
    expected = "true" if environment == "production" else "false"
    if "is-production" not in missing and str(tags.get("is-production")).lower() != expected:
        problems.append(
            f"{_short(resource_type)} {_label(props)} has tag is-production={tags.get('is-production')!r}; "
            f"expected {expected!r} in stack {environment!r}"
        )
    return problems


def known_environment(resource_type: str, props: Mapping[str, Any], environment: str) -> list[str]:
    """The stack is one of the three environments (every other rule depends on it)."""
    if environment in environments():
        return []
    return [f"stack {environment!r} is not one of {', '.join(environments())}: the stack name is the environment"]


RULES: tuple[Rule, ...] = (
    Rule("environment", "The stack is one of development, test, production.", known_environment),
    Rule("role-name", "IAM roles are named airflow-<env>-<project>-<workflow> within 64 characters.", role_name),
    Rule(
        "role-trust",
        "IAM roles trust only their own workflow's mwaa service account, through the EKS OIDC provider.",
        role_trust,
    ),
    Rule(
        "no-wildcard-actions",
        "IAM documents allow no '*' or '<service>:*' actions, and no S3 actions on '*'.",
        no_wildcard_actions,
    ),
    Rule(
        "platform-buckets",
        "IAM documents allow no S3 action on a platform bucket (platform:platformBuckets) or its objects.",
        platform_buckets,
    ),
    Rule(
        "secret-name",
        "Secrets Manager secrets are named /airflow/<env>/<project>/<workflow>/<secret> "
        "or /airflow/<env>/<project>/shared/<secret> (a project's shared secret).",
        secret_name,
    ),
    Rule("dag-object-key", "S3 objects are written under the MWAA bucket's dags/ prefix only.", dag_object_key),
    Rule("required-tags", "Taggable resources carry the platform's tags for this environment.", required_tags),
)


def violations(resource_type: str, props: Mapping[str, Any], environment: str) -> dict[str, list[str]]:
    """Every rule's violations for one resource, by rule name (rules without violations left out)."""
    found = {rule.name: rule.check(resource_type, props, environment) for rule in RULES}
    return {name: messages for name, messages in found.items() if messages}


# --------------------------------------------------------------------------- helpers


def _policy_documents(resource_type: str, props: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    for prop, item_key in POLICY_DOCUMENTS.get(resource_type, ()):
        value = props.get(prop)
        if value is None:
            continue
        label = f"{_short(resource_type)} {_label(props)} {prop}"
        if item_key is None:
            yield label, value
        elif isinstance(value, Sequence) and not isinstance(value, str):  # a list, or the policy SDK's list proxy
            for index, item in enumerate(value):
                if isinstance(item, Mapping) and item.get(item_key) is not None:
                    yield f"{label}[{index}]", item[item_key]


def _document(raw: Any, label: str) -> tuple[Mapping[str, Any], str | None]:
    if isinstance(raw, Mapping):
        return raw, None
    if not isinstance(raw, str):
        return {}, f"{label} is missing or not a JSON document"
    try:
        document = json.loads(raw)
    except ValueError as error:
        return {}, f"{label} is not valid JSON: {error}"
    if not isinstance(document, Mapping):
        return {}, f"{label} is not a JSON object"
    return document, None


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = document.get("Statement")
    if isinstance(statements, Mapping):
        statements = [statements]
    return [s for s in statements or () if isinstance(s, Mapping)]


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        return [str(v) for v in value]
    return [str(value)]


def _sid(statement: Mapping[str, Any], index: int) -> str:
    sid = statement.get("Sid")
    return f"'{sid}'" if sid else f"#{index + 1}"


def _short(resource_type: str) -> str:
    return resource_type.rsplit(":", 1)[-1]


def _label(props: Mapping[str, Any]) -> str:
    for key in ("name", "key"):
        if isinstance(props.get(key), str):
            return f"'{props[key]}'"
    return "(unnamed)"
