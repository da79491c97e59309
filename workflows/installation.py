"""The installation the stack writes to, as plain data: providers, cluster facts, placeholders.

The running service spans accounts (``../shared/reference/live-installation.md``): workflow
roles, policies and secrets in the **data** account, the MWAA bucket and EKS cluster in the
environment's **compute** account, images and the cluster facts in the **common** account.
This module decides, from the stack config alone, which providers the program registers
(:func:`aws_providers`, :func:`kubeconfig`), how the cluster facts are read from their secret
(:func:`facts_from_secret`), and which configured values are placeholders a deploy must refuse
(:func:`placeholders`). ``components/providers.py`` turns the specs into provider resources.

No Pulumi import: the CLI and the tests use it directly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

from pydantic.alias_generators import to_camel

from workflows.config import NAMESPACE, Cluster, ClusterFactsSecret, StackConfig, decoded_certificate
from workflows.errors import ConfigError

PROJECT = "analytical-platform-airflow"
# Set to ``preview`` by the pull request preview job only: its CI identity may assume nothing but the
# accounts' preview roles (pull request code runs with it). Every other run — `pulumi up` (its preview
# phase included), an operator's `pulumi preview` — assumes the deploy roles, the ones its state records.
ROLES_VARIABLE = "PLATFORM_ROLES"
# Logical names of the providers: part of every resource's state (its provider reference), so stable.
DATA = "data-account"
COMPUTE = "compute-account"
COMMON = "common-account"
CLUSTER = "compute-cluster"
EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"


@dataclass(frozen=True)
class AwsProviderSpec:
    """One ``aws.Provider``: an account and region, the role it assumes (None: the program's own
    credentials) with a session name, the account it must be in, and the default tags."""

    name: str
    account_id: str
    region: str
    role_arn: str | None
    session_name: str
    default_tags: Mapping[str, str]


def preview_roles(environ: Mapping[str, str]) -> bool:
    """Whether this run assumes the preview roles (``PLATFORM_ROLES=preview``) or the deploy roles."""
    value = environ.get(ROLES_VARIABLE, "deploy")
    if value not in ("deploy", "preview"):
        raise ConfigError(f"{ROLES_VARIABLE}={value!r}: expected deploy (the default) or preview")
    return value == "preview"


def session_name(config: StackConfig, *, preview: bool) -> str:
    """The AssumeRole session name: who assumed the role, and for what (CloudTrail shows it)."""
    return f"{PROJECT}-{config.environment}-{'preview' if preview else 'deploy'}"


def aws_providers(config: StackConfig, *, preview: bool) -> tuple[AwsProviderSpec, ...]:
    """The AWS providers the program registers, by purpose.

    - ``data-account`` (primary region): every workflow's role, policy, policy attachments and
      secrets. A secret's replica is created by Secrets Manager from the primary secret's
      ``replicas`` setting, and IAM is global, so nothing is written through a provider in the
      replica region and none is registered for it.
    - ``compute-account``: the MWAA bucket's objects (DAG files, the runtime).
    - ``common-account``: only when the cluster facts are read from their secret (an invoke).
    """
    tags = dict(config.tags)

    def spec(name: str, account: Any) -> AwsProviderSpec:
        return AwsProviderSpec(
            name=name,
            account_id=account.id,
            region=config.region,
            role_arn=account.role_arn(preview=preview),
            session_name=session_name(config, preview=preview),
            default_tags=tags,
        )

    specs = [spec(DATA, config.accounts.data), spec(COMPUTE, config.accounts.compute)]
    if config.cluster.facts_secret is not None:
        specs.append(spec(COMMON, config.accounts.common))
    return tuple(specs)


# --------------------------------------------------------------------------- cluster facts


@dataclass(frozen=True)
class ClusterFacts:
    endpoint: str
    certificate_authority: str  # base64 PEM, as kubeconfig's certificate-authority-data
    oidc_issuer: str


# The facts, in the order of ClusterFacts: each is a field of Cluster, and ``<fact>_key`` of ClusterFactsSecret.
FACTS = tuple(item.name for item in fields(ClusterFacts))


def secret_keys(source: ClusterFactsSecret) -> dict[str, str]:
    """Each fact's key in the cluster facts secret, by fact."""
    return {fact: getattr(source, f"{fact}_key") for fact in FACTS}


def literal_facts(cluster: Cluster) -> ClusterFacts:
    """The facts a config gives as values (``platform:cluster.endpoint`` …)."""
    if cluster.facts_secret is not None:
        raise ValueError("the cluster facts are in a secret: read them with facts_from_secret")
    return ClusterFacts(*(getattr(cluster, fact) or "" for fact in FACTS))


def facts_from_secret(cluster: Cluster, secret_string: str) -> ClusterFacts:
    """The facts from the secret's JSON, each under the key the config names."""
    source = cluster.facts_secret
    if source is None:
        raise ValueError("platform:cluster has no factsSecret")
    try:
        document = json.loads(secret_string)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise ConfigError(f"the cluster facts secret {source.secret_id} does not hold a JSON object")
    keys = secret_keys(source).values()
    missing = [key for key in keys if not isinstance(document.get(key), str) or not document.get(key)]
    if missing:
        raise ConfigError(
            f"the cluster facts secret {source.secret_id} has no {', '.join(missing)} "
            f"(platform:cluster.factsSecret names the keys)"
        )
    return ClusterFacts(*(document[key] for key in keys))


def fact_keys(config: StackConfig) -> dict[str, str]:
    """How each fact is named in messages: its secret key, or its stack config key."""
    source = config.cluster.facts_secret
    if source is None:
        return {fact: f"{NAMESPACE}:cluster.{to_camel(fact)}" for fact in FACTS}
    where = f"secret {source.secret_id} (platform:cluster.factsSecret)"
    return {fact: f"{key} in {where}" for fact, key in secret_keys(source).items()}


def kubeconfig(
    cluster_name: str,
    facts: ClusterFacts,
    region: str,
    *,
    role_arn: str | None = None,
    namespace: str | None = None,
    context_name: str | None = None,
) -> str:
    """A kubeconfig for the cluster that holds no credential: the token comes from
    ``aws eks get-token`` (assuming ``role_arn`` when given, else with the caller's own
    credentials). One context (named ``context_name``, default the cluster's name), the
    current one. JSON, which is valid YAML, byte-stable."""
    args = ["--region", region, "eks", "get-token", "--cluster-name", cluster_name]
    if role_arn is not None:
        args += ["--role-arn", role_arn]
    name = context_name or cluster_name
    context: dict[str, str] = {"cluster": name, "user": name}
    if namespace is not None:
        context["namespace"] = namespace
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": name,
                "cluster": {"server": facts.endpoint, "certificate-authority-data": facts.certificate_authority},
            }
        ],
        "contexts": [{"name": name, "context": context}],
        "current-context": name,
        "users": [
            {
                "name": name,
                "user": {
                    "exec": {"apiVersion": EXEC_API_VERSION, "command": "aws", "args": args, "interactiveMode": "Never"}
                },
            }
        ],
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def mwaa_kubeconfig(config: StackConfig) -> str | None:
    """The kubeconfig the stack writes for MWAA, only when the installation opts in
    (``platform:kubernetes.manageKubeconfig``): token with MWAA's execution role."""
    if config.kubernetes.bucket_path is None:
        return None
    return kubeconfig(
        config.cluster.name,
        literal_facts(config.cluster),
        config.region,
        namespace=config.namespace,
        context_name=config.kubernetes.cluster_context,
    )


# --------------------------------------------------------------------------- placeholders

# Account ids AWS documentation and templates use, and all-same-digit ids: never a real account here.
EXAMPLE_ACCOUNT_IDS = frozenset(
    {"123456789012", "210987654321", "111122223333", "444455556666", "777788889999", "123412341234"}
    | {digit * 12 for digit in "0123456789"}
)
_ACCOUNT_ID = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")
_MARKERS = re.compile(r"replace[ _-]?(with|me)|placeholder|example|changeme|\bTODO\b|<[a-z][a-z -]*>", re.IGNORECASE)
_ZEROS = re.compile(r"0{10,}")


@dataclass(frozen=True)
class Placeholder:
    key: str  # the stack config key (or secret key) the value came from
    value: str
    why: str

    def __str__(self) -> str:
        shown = self.value if len(self.value) <= 60 else self.value[:57] + "..."
        return f"{self.key}: {shown!r} {self.why}"


def placeholder_in(value: str) -> str | None:
    """Why ``value`` is a placeholder, or None."""
    marker = _MARKERS.search(value)
    if marker:
        return f"says {marker.group(0)!r}"
    for account in _ACCOUNT_ID.findall(value):
        if account in EXAMPLE_ACCOUNT_IDS:
            return f"has the example account id {account}"
    if _ZEROS.search(value):
        return "is a run of zeros"
    return None


def placeholders(config: StackConfig, facts: ClusterFacts | None = None) -> list[Placeholder]:
    """Every configured value (and cluster fact) that is a placeholder, by the key it came from."""
    found = [
        Placeholder(key, value, why)
        for key, value in config_values(config)
        if (why := placeholder_in(value)) is not None
    ]
    if facts is not None:
        names = fact_keys(config)
        if config.cluster.facts_secret is None:
            found = [p for p in found if p.key not in names.values()]  # reported below, once
        for name in FACTS:
            value = getattr(facts, name)
            why = placeholder_in(value)
            if name == "certificate_authority" and why is None:
                pem = decoded_certificate(value)
                if pem is None or "BEGIN CERTIFICATE" not in pem:
                    why = "is not a base64 PEM certificate"
                else:
                    why = placeholder_in(pem)
            if name == "endpoint" and why is None and not value.startswith("https://"):
                why = "is not an https:// URL"
            if why is not None:
                found.append(Placeholder(names[name], value, why))
    return found


def config_values(config: StackConfig) -> Iterator[tuple[str, str]]:
    """Every text value of the config, with its key as the stack file spells it."""

    def walk(value: Any, key: str) -> Iterator[tuple[str, str]]:
        if is_dataclass(value):
            for item in fields(value):
                yield from walk(getattr(value, item.name), f"{key}.{to_camel(item.name)}")
        elif isinstance(value, Mapping):
            for name, item in value.items():
                yield from walk(item, f"{key}.{name}")
        elif isinstance(value, tuple | list):
            for index, item in enumerate(value):
                yield from walk(item, f"{key}[{index}]")
        elif isinstance(value, str):
            yield key, value

    for item in fields(config):
        if item.name == "environment":
            continue
        key = "aws:region" if item.name == "region" else f"{NAMESPACE}:{to_camel(item.name)}"
        yield from walk(getattr(config, item.name), key)


def refusal(found: list[Placeholder]) -> str:
    """The message a deploy fails with."""
    lines = [f"  {placeholder}" for placeholder in found]
    return "\n".join(
        [
            "placeholder values in the stack config or the cluster facts; set the installation's own "
            "(a deploy never uses an example value):",
            *lines,
        ]
    )
