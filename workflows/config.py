"""Stack configuration: everything that differs per environment or installation.

The values live in ``Pulumi.<stack>.yaml`` under the ``platform:`` namespace
(plus ``aws:region``). ``pulumi up`` hands them to the program through
``pulumi.Config``; the offline CLI reads the same file. Both end in
:func:`StackConfig.from_mapping`, so validate, render and deploy agree.

The classes are pydantic dataclasses: pydantic validates and converts the values
(the engine hands scalars over as text, ``"30"``, ``"true"``), while they stay
plain frozen dataclasses for everything downstream (``dataclasses.replace`` works).
Stack files use the camelCase keys only; Python code may construct them by field name.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import re
import typing
from collections.abc import Mapping
from dataclasses import field, is_dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.dataclasses import dataclass
from pydantic_core import ErrorDetails, PydanticCustomError

from workflows.errors import ConfigError, escape_unprintable
from workflows.model import ENVIRONMENTS, Environment, frozen_map

NAMESPACE = "platform"
MWAA_DAGS_FOLDER = "/usr/local/airflow/dags/"  # where MWAA syncs the bucket's dags/ prefix
ACCOUNT_ID = re.compile(r"[0-9]{12}")
# An IAM role name, optionally with a path (``path/name``): the ARN is derived from the account's id.
ROLE_NAME = re.compile(r"[A-Za-z0-9+=,.@_-]+(/[A-Za-z0-9+=,.@_-]+)*")
# An S3 bucket name (the general-purpose bucket rules), as written in platform:platformBuckets.
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# A Go duration as the External Secrets Operator reads it (``5m``, ``1h``, ``1h30m``).
DURATION = re.compile(r"([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+")

_CONFIG = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)


def _text(value: Any) -> Any:
    """A YAML or engine scalar as text, as ``str()`` writes it (``593291632749`` → ``"593291632749"``)."""
    return str(value) if isinstance(value, int | float) else value  # bool is an int


def _text_map(value: Any) -> Any:
    return {str(k): _text(v) for k, v in value.items()} if isinstance(value, Mapping) else value


Text = Annotated[str, BeforeValidator(_text)]
# A read-only, key-sorted mapping (deterministic output); values as text.
TextMap = Annotated[Mapping[str, str], BeforeValidator(_text_map), AfterValidator(frozen_map)]


@dataclass(config=_CONFIG)
class ExtraPolicies:
    """Shared managed policies attached to every workflow whose project folder matches ``project``
    and whose workflow folder matches ``workflow`` (each a shell-style pattern, case-sensitive:
    ``{project: analytical-platform, workflow: "cadet*"}``).

    The two are matched separately, never as one joined name: both folder names are the tenant's,
    and ``analytical/platform-cadet-x`` joined with ``-`` would read as ``analytical-platform`` +
    ``cadet-x``. A project pattern cannot match across the ``/`` between the two (folder names have none).
    """

    project: Text
    workflow: Text
    policies: tuple[Text, ...]

    def matches(self, project: str, workflow: str) -> bool:
        return fnmatch.fnmatchcase(project, self.project) and fnmatch.fnmatchcase(workflow, self.workflow)


@dataclass(config=_CONFIG)
class HostAlias:
    ip: Text
    hostnames: tuple[Text, ...]


@dataclass(config=_CONFIG)
class SdpNetworking:
    """Pod annotations and host aliases that route a task through HMCTS SDP networking."""

    annotations: TextMap = field(default_factory=frozen_map)
    host_aliases: tuple[HostAlias, ...] = ()


@dataclass(config=_CONFIG)
class KubernetesConnection:
    """How MWAA (outside the cluster) reaches EKS: a kubeconfig (``config_file``, with its
    default context unless ``cluster_context`` names one) or an Airflow connection (``conn_id``).

    ``dags/.kube/config`` in the MWAA bucket belongs to the cluster's own Terraform, which
    writes it: by default the stack only points the operator at it. An installation without
    such a file may opt in with ``manage_kubeconfig``: the stack then writes ``config_file``
    (which must be under MWAA's dags folder) from the cluster facts (``platform:cluster``),
    token from ``aws eks get-token`` with MWAA's execution role, no credential in the file.
    """

    config_file: Text | None = None
    cluster_context: Text | None = None
    conn_id: Text | None = None
    manage_kubeconfig: bool = False

    @property
    def bucket_path(self) -> str | None:
        """The kubeconfig's path relative to the dags prefix, when the stack ships it (opt-in only)."""
        if self.manage_kubeconfig and self.config_file and self.config_file.startswith(MWAA_DAGS_FOLDER):
            return self.config_file.removeprefix(MWAA_DAGS_FOLDER)
        return None

    @model_validator(mode="after")
    def _managed_kubeconfig_is_in_the_bucket(self) -> KubernetesConnection:
        if self.manage_kubeconfig and (self.conn_id is not None or self.bucket_path is None):
            raise PydanticCustomError(
                "managed_kubeconfig",
                "manageKubeconfig writes configFile into the MWAA bucket: configFile must be under "
                "{folder} and connId unset (got configFile {config_file}, connId {conn_id})",
                {"folder": MWAA_DAGS_FOLDER, "config_file": self.config_file, "conn_id": self.conn_id},
            )
        return self


@dataclass(config=_CONFIG)
class Account:
    """An AWS account the stack reaches, and the roles its providers assume there.

    Roles are named without their account (``analytical-platform-infrastructure-access``,
    or ``path/name``): the account id has one home, ``id``. ``preview_role`` is assumed by
    previews (``pulumi preview`` and the preview phase of ``pulumi up``), ``deploy_role`` by
    updates; a preview falls back to the deploy role when no preview role is named. An account
    with no role is reached with the credentials the program runs with, which must then belong
    to it (every provider allows only its own account id).
    """

    id: Text
    deploy_role: Text | None = None
    preview_role: Text | None = None

    @field_validator("id")
    @classmethod
    def _twelve_digits(cls, value: str) -> str:
        if not ACCOUNT_ID.fullmatch(value):
            raise PydanticCustomError(
                "account_id", "must be a 12-digit AWS account id, not '{value}'", {"value": value}
            )
        return value

    @field_validator("deploy_role", "preview_role")
    @classmethod
    def _a_role_name(cls, value: str | None) -> str | None:
        if value is not None and not ROLE_NAME.fullmatch(value):
            raise PydanticCustomError(
                "role_name",
                "must be a role name such as analytical-platform-airflow-deploy (the account is `id`), not '{value}'",
                {"value": value},
            )
        return value

    def role_arn(self, *, preview: bool) -> str | None:
        """The ARN of the role a provider assumes here (None: the credentials it runs with)."""
        role = (self.preview_role or self.deploy_role) if preview else self.deploy_role
        return f"arn:aws:iam::{self.id}:role/{role}" if role else None


@dataclass(config=_CONFIG)
class Accounts:
    """The accounts of the installation (see docs/operations.md, "Deploy and preview roles")."""

    # Every workflow's IAM role and policy, and its secrets (primary region and replica).
    data: Account
    # The environment's MWAA bucket (DAG files, the runtime) and EKS cluster.
    compute: Account
    # ECR images; the secret holding the cluster facts (platform:cluster.factsSecret).
    common: Account

    @model_validator(mode="after")
    def _writes_need_a_role(self) -> Accounts:
        missing = [name for name in ("data", "compute") if getattr(self, name).deploy_role is None]
        if missing:
            raise PydanticCustomError(
                "deploy_role",
                "the stack writes to the {names} account(s): name the role it assumes there (deployRole)",
                {"names": " and ".join(missing)},
            )
        return self


@dataclass(config=_CONFIG)
class ClusterFactsSecret:
    """A Secrets Manager secret in the common account holding the cluster facts as a JSON
    object (the cluster's own Terraform writes it), read at plan time, as the running
    service does; ``*_key`` name its keys."""

    secret_id: Text
    endpoint_key: Text
    certificate_authority_key: Text
    oidc_issuer_key: Text


@dataclass(config=_CONFIG)
class Cluster:
    """The environment's EKS cluster: its name and facts (API endpoint, CA certificate as
    base64 PEM, OIDC issuer), either read from ``facts_secret`` at plan time or given here.

    The program resolves a ``facts_secret`` into the three values before it plans anything
    (:meth:`StackConfig.with_cluster_facts`), so the IRSA trust, the Kubernetes provider and an
    opt-in kubeconfig all use the same facts.
    """

    name: Text
    facts_secret: ClusterFactsSecret | None = None
    endpoint: Text | None = None
    certificate_authority: Text | None = None
    oidc_issuer: Text | None = None

    @property
    def resolved(self) -> bool:
        return self.facts_secret is None

    @model_validator(mode="after")
    def _one_source(self) -> Cluster:
        given = [v is not None for v in (self.endpoint, self.certificate_authority, self.oidc_issuer)]
        if any(given) if self.facts_secret is not None else not all(given):
            raise PydanticCustomError(
                "cluster_facts",
                "set either factsSecret (read at plan time) or all of endpoint, certificateAuthority and "
                "oidcIssuer, not both",
            )
        return self


def example_cluster_facts(region: str) -> dict[str, str]:
    """Obviously fake cluster facts for offline runs (``render``, ``validate``): a deploy refuses them.

    The OIDC id is the one AWS's own documentation uses.
    """
    certificate = "-----BEGIN CERTIFICATE-----\nexample: the cluster's CA certificate\n-----END CERTIFICATE-----\n"
    return {
        "endpoint": f"https://EXAMPLED539D4633E53DE1B71EXAMPLE.gr7.{region}.eks.amazonaws.com",
        "certificate_authority": base64.b64encode(certificate.encode()).decode(),
        "oidc_issuer": f"https://oidc.eks.{region}.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
    }


def decoded_certificate(value: str) -> str | None:
    """A base64 PEM (``certificate-authority-data``) as text, or None if it is not base64 of text."""
    try:
        return base64.b64decode(value, validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        return None


@dataclass(config=_CONFIG)
class SecretStore:
    kind: Text = "ClusterSecretStore"
    name: Text = "aws-secretsmanager"


@dataclass(config=_CONFIG)
class StackConfig:
    environment: Environment
    region: Text
    replica_region: Text
    accounts: Accounts
    cluster: Cluster
    mwaa_bucket: Text
    # Buckets no workflow may be granted anything on (iam.s3_*; each generated policy denies them too):
    # every environment's MWAA bucket (DAG files, the runtime every DAG imports), the Pulumi state.
    # Must include mwaa_bucket; declared after it, so that the check below sees it.
    platform_buckets: tuple[Text, ...]
    image_registry: Text
    secrets_kms_key_arn: Text
    secrets_replica_kms_key_arn: Text
    kubernetes: KubernetesConnection
    # Required, with no default here: the policy pack reads these two from the stack file too
    # (policy/rules.py), so the stack file is their one home.
    namespace: Text
    dags_prefix: Text
    # What a manifest may name, as the running service allows it (no default here: installation facts):
    # the GitHub organisations of dag.repository and the domains of tags.owner and notifications.emails.
    allowed_repository_organisations: tuple[Text, ...]
    allowed_email_domains: tuple[Text, ...]
    secret_store: SecretStore = field(default_factory=SecretStore)
    # The GitHub organisation whose active members may be maintainers (`check-maintainers`); the stack
    # file is its home (None: that check cannot run for the stack).
    github_organisation: Text | None = None
    # How often an ExternalSecret re-reads its secret: a maintainer's new value reaches pods within this.
    external_secret_refresh_interval: Text = "5m"  # noqa: S105 - a duration, not a password
    shared_policy_path: Text = "airflow-service"
    extra_policies: tuple[ExtraPolicies, ...] = ()
    task_env: TextMap = field(default_factory=frozen_map)
    project_aliases: TextMap = field(default_factory=frozen_map)
    hmcts_sdp_networking: SdpNetworking = field(default_factory=SdpNetworking)
    # The image of the XCom sidecar KubernetesPodOperator adds to a pod (digest-pinned); None: Airflow's own.
    xcom_sidecar_image: Text | None = None
    slack_conn_id: Text = "slack_api_default"
    secret_recovery_window_days: int = 30
    retain_secrets_on_delete: bool = False
    maintainer_userid_pattern: Text = "*:{maintainer}"
    tags: TextMap = field(default_factory=frozen_map)

    @field_validator("allowed_repository_organisations", "allowed_email_domains")
    @classmethod
    def _something_allowed(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        # An empty list would refuse every manifest of the stack.
        if not values or not all(v.strip() for v in values):
            raise PydanticCustomError("nothing_allowed", "must list at least one value, none of them empty", {})
        return values

    @field_validator("platform_buckets")
    @classmethod
    def _platform_buckets(cls, buckets: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        bad = [b for b in buckets if not BUCKET_NAME.fullmatch(b)]
        if bad:
            raise PydanticCustomError(
                "platform_buckets",
                "must list S3 bucket names (lower-case letters, digits, '.', '-'; no wildcard), not {bad}",
                {"bad": ", ".join(repr(b) for b in bad)},
            )
        own = info.data.get("mwaa_bucket")
        if own is not None and own not in buckets:
            raise PydanticCustomError(
                "platform_buckets",
                "must list this stack's own MWAA bucket (platform:mwaaBucket '{own}'): "
                "no workflow may be granted access to it",
                {"own": own},
            )
        return buckets

    @field_validator("secret_recovery_window_days")
    @classmethod
    def _recoverable(cls, days: int) -> int:
        # AWS accepts 7-30 days; 0 would mean an immediate force-delete of every removed secret.
        if not 7 <= days <= 30:
            raise PydanticCustomError(
                "recovery_window",
                "must be 7 to 30 days, not {days}: removed secrets must stay recoverable",
                {"days": days},
            )
        return days

    @field_validator("external_secret_refresh_interval")
    @classmethod
    def _a_duration(cls, value: str) -> str:
        if not DURATION.fullmatch(value) or not any(c in "123456789" for c in value):
            raise PydanticCustomError(
                "duration",
                "must be a duration such as 5m or 1h (0 would never refresh), not '{value}'",
                {"value": value},
            )
        return value

    @field_validator("tags")
    @classmethod
    def _room_for_workflow_tags(cls, tags: Mapping[str, str]) -> Mapping[str, str]:
        extra = set(tags) - {"business-unit", "owner"}
        if len(extra) > 6:
            raise PydanticCustomError(
                "too_many_tags",
                "{count} tags besides business-unit and owner; at most 6 fit, since every workflow adds 4 of its "
                "own and an S3 object takes at most 10",
                {"count": len(extra)},
            )
        return tags

    @staticmethod
    def from_mapping(environment: str, values: Mapping[str, Any]) -> StackConfig:
        """Build from the ``platform:`` keys (camelCase, namespace stripped) plus ``region``."""
        if environment not in ENVIRONMENTS:
            raise ConfigError(f"unknown stack {environment!r}: expected one of {', '.join(ENVIRONMENTS)}")
        if "environment" in values:  # the stack's name, not a key
            raise ConfigError(_unknown_keys(["environment"]))
        try:
            # by_name=False: a stack file must use the camelCase keys (mwaa_bucket is a misspelling there).
            return _STACK_CONFIG.validate_python({**values, "environment": environment}, by_alias=True, by_name=False)
        except ValidationError as error:
            raise ConfigError(_explain(environment, error)) from None

    @staticmethod
    def from_stack_file(path: Path) -> StackConfig:
        """Read ``Pulumi.<stack>.yaml`` as the offline CLI does."""
        environment = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        try:
            document = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as error:
            raise ConfigError(f"cannot read stack config {path}: {error}") from error
        config = document.get("config") or {}
        values: dict[str, Any] = {}
        for key, value in config.items():
            namespace, _, name = str(key).partition(":")
            if namespace == NAMESPACE:
                values[name] = value
            elif key == "aws:region":
                values["region"] = value
        return StackConfig.from_mapping(environment, values)

    @property
    def account_id(self) -> str:
        """The data account: every workflow's role, policy and secrets, and the principals (maintainers) that may
        read and put secret values (``platform:accounts.data.id``)."""
        return self.accounts.data.id

    @property
    def oidc_provider(self) -> str:
        """The cluster's OIDC issuer without ``https://`` (the IRSA trust).

        From the cluster facts; while they are still to be read from ``platform:cluster.factsSecret``
        (offline: ``validate``, a DAG harness), the example issuer, which a deploy never sees: the
        program resolves the facts first (:meth:`with_cluster_facts`) and refuses examples.
        """
        issuer = self.cluster.oidc_issuer or example_cluster_facts(self.region)["oidc_issuer"]
        return issuer.removeprefix("https://")

    def with_cluster_facts(self, endpoint: str, certificate_authority: str, oidc_issuer: str) -> StackConfig:
        """This config with the cluster facts as values (what :class:`Cluster` holds once resolved)."""
        cluster = Cluster(
            name=self.cluster.name,
            endpoint=endpoint,
            certificate_authority=certificate_authority,
            oidc_issuer=oidc_issuer,
        )
        return replace(self, cluster=cluster)

    def alias(self, project: str) -> str:
        """The project part used in derived names (the alias, or the project itself)."""
        return self.project_aliases.get(project, project)

    def extra_policy_names(self, project: str, workflow: str) -> tuple[str, ...]:
        names: list[str] = []
        for extra in self.extra_policies:
            if extra.matches(project, workflow):
                names.extend(p for p in extra.policies if p not in names)
        return tuple(names)


_STACK_CONFIG = TypeAdapter(StackConfig)


def stack_file(root: Path, environment: str) -> Path:
    return root / f"Pulumi.{environment}.yaml"


# --------------------------------------------------------------------------- errors


def _keys(model: type) -> list[str]:
    """The camelCase keys of a config class (``environment`` is the stack, not a key)."""
    return sorted(f.alias for name, f in model.__pydantic_fields__.items() if name != "environment")


def _unknown_keys(keys: list[str]) -> str:
    return f"unknown stack config key(s) {', '.join(keys)}; known: {', '.join(_keys(StackConfig))}"


def _explain(environment: str, error: ValidationError) -> str:
    """One line per problem, each naming its key as the stack file spells it."""
    unknown: list[str] = []
    missing: list[str] = []
    lines: list[str] = []
    for detail in error.errors():
        loc, kind = detail["loc"], detail["type"]
        if len(loc) == 1 and kind in ("unexpected_keyword_argument", "extra_forbidden"):
            unknown.append(str(loc[0]))
        elif len(loc) == 1 and kind in ("missing", "missing_argument"):
            missing.append("aws:region" if loc[0] == "region" else str(loc[0]))
        else:
            lines.append(f"{_qualified(loc)}: {_message(detail)}")
    if missing:
        lines.insert(0, f"stack config for {environment} is missing {', '.join(missing)}")
    if unknown:
        lines.insert(0, _unknown_keys(sorted(unknown)))
    return "\n".join(escape_unprintable(line) for line in lines)


def _qualified(loc: tuple[int | str, ...]) -> str:
    """``("hmctsSdpNetworking", "hostAliases", 0, "ip")`` → ``platform:hmctsSdpNetworking.hostAliases[0].ip``."""
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")
    return "aws:region" if path == "region" else f"{NAMESPACE}:{path}"


def _message(detail: ErrorDetails) -> str:
    kind, value = detail["type"], detail["input"]
    if kind in ("missing", "missing_argument"):
        return "missing"
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        model = _model_at(detail["loc"][:-1])
        return "unknown key" + (f"; known: {', '.join(_keys(model))}" if model else "")
    if kind in (
        "nothing_allowed",
        "recovery_window",
        "too_many_tags",
        "managed_kubeconfig",
        "account_id",
        "role_name",
        "deploy_role",
        "cluster_facts",
        "duration",
        "platform_buckets",
    ):
        return detail["msg"]
    shown = repr(value) if value is None or isinstance(value, str | int | float) else f"a {type(value).__name__}"
    return f"{detail['msg']} (got {shown[:80]})"


def _model_at(loc: tuple[int | str, ...]) -> type | None:
    """The config class whose keys ``loc`` (a key path) holds, if any."""
    model: type | None = StackConfig
    for part in loc:
        if isinstance(part, int):
            continue
        fields = {f.alias: f for f in model.__pydantic_fields__.values()} if model else {}
        model = _dataclass_in(fields[part].annotation) if part in fields else None
    return model


def _dataclass_in(annotation: Any) -> type | None:
    if isinstance(annotation, type) and is_dataclass(annotation):
        return annotation
    return next((m for m in map(_dataclass_in, typing.get_args(annotation)) if m), None)
