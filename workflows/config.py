"""Stack configuration: everything that differs per environment or installation.

The values live in ``Pulumi.<stack>.yaml`` under the ``platform:`` namespace
(plus ``aws:region``). ``pulumi up`` hands them to the program through
``pulumi.Config``; the offline CLI reads the same file. Both end in
:func:`StackConfig.from_mapping`, so validate, render and deploy agree.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from workflows.errors import ConfigError
from workflows.model import ENVIRONMENTS, Environment, frozen_map

NAMESPACE = "platform"


@dataclass(frozen=True)
class ExtraPolicies:
    """Shared managed policies attached to every workflow whose ``<project>-<workflow>``
    matches ``pattern`` (shell-style, as in ``analytical-platform-cadet*``)."""

    pattern: str
    policies: tuple[str, ...]

    def matches(self, project: str, workflow: str) -> bool:
        return fnmatch.fnmatchcase(f"{project}-{workflow}", self.pattern)


@dataclass(frozen=True)
class HostAlias:
    ip: str
    hostnames: tuple[str, ...]


@dataclass(frozen=True)
class SdpNetworking:
    """Pod annotations and host aliases that route a task through HMCTS SDP networking."""

    annotations: Mapping[str, str] = field(default_factory=frozen_map)
    host_aliases: tuple[HostAlias, ...] = ()


MWAA_DAGS_FOLDER = "/usr/local/airflow/dags/"  # where MWAA syncs the bucket's dags/ prefix


@dataclass(frozen=True)
class KubernetesConnection:
    """How MWAA (outside the cluster) reaches EKS: a kubeconfig (``config_file`` +
    ``cluster_context``) or an Airflow connection (``conn_id``).

    A ``config_file`` under MWAA's dags folder is written by the stack itself from
    ``cluster_name``, ``endpoint`` and ``certificate_authority`` (token from
    ``aws eks get-token``, no credential in the file), so it always exists.
    """

    config_file: str | None = None
    cluster_context: str | None = None
    conn_id: str | None = None
    cluster_name: str | None = None
    endpoint: str | None = None
    certificate_authority: str | None = None

    @property
    def bucket_path(self) -> str | None:
        """The kubeconfig's path relative to the dags prefix, when the stack ships it."""
        if self.conn_id is None and self.config_file and self.config_file.startswith(MWAA_DAGS_FOLDER):
            return self.config_file.removeprefix(MWAA_DAGS_FOLDER)
        return None


@dataclass(frozen=True)
class SecretStore:
    kind: str = "ClusterSecretStore"
    name: str = "aws-secretsmanager"


@dataclass(frozen=True)
class StackConfig:
    environment: Environment
    region: str
    replica_region: str
    account_id: str
    data_account_id: str
    oidc_provider: str
    mwaa_bucket: str
    image_registry: str
    secrets_kms_key_arn: str
    secrets_replica_kms_key_arn: str
    kubernetes: KubernetesConnection
    namespace: str = "mwaa"
    dags_prefix: str = "dags/"
    secret_store: SecretStore = SecretStore()
    shared_policy_path: str = "airflow-service"
    extra_policies: tuple[ExtraPolicies, ...] = ()
    task_env: Mapping[str, str] = field(default_factory=frozen_map)
    project_aliases: Mapping[str, str] = field(default_factory=frozen_map)
    hmcts_sdp_networking: SdpNetworking = SdpNetworking()
    slack_conn_id: str = "slack_api_default"
    secret_recovery_window_days: int = 30
    retain_secrets_on_delete: bool = False
    maintainer_userid_pattern: str = "*:{maintainer}"
    tags: Mapping[str, str] = field(default_factory=frozen_map)

    @staticmethod
    def from_mapping(environment: str, values: Mapping[str, Any]) -> StackConfig:
        """Build from the ``platform:`` keys (camelCase, namespace stripped) plus ``region``."""
        if environment not in ENVIRONMENTS:
            raise ConfigError(f"unknown stack {environment!r}: expected one of {', '.join(ENVIRONMENTS)}")
        known = {camel(f.name): f.name for f in fields(StackConfig) if f.name != "environment"}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(f"unknown stack config key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        kwargs: dict[str, Any] = {}
        for key, name in known.items():
            if key in values:
                kwargs[name] = _convert(name, values[key])
        missing = [
            camel(f.name)
            for f in fields(StackConfig)
            if f.name != "environment"
            and f.name not in kwargs
            and f.default is MISSING
            and f.default_factory is MISSING
        ]
        if missing:
            raise ConfigError(f"stack config for {environment} is missing {', '.join(missing)}")
        config = StackConfig(environment=environment, **kwargs)  # type: ignore[arg-type]
        if not 7 <= config.secret_recovery_window_days <= 30:
            # AWS accepts 7-30 days; 0 would mean an immediate force-delete of every removed secret.
            raise ConfigError(
                f"platform:secretRecoveryWindowDays must be 7 to 30 days, not {config.secret_recovery_window_days}: "
                "removed secrets must stay recoverable"
            )
        kubernetes = config.kubernetes
        if kubernetes.bucket_path is not None and not (
            kubernetes.cluster_name and kubernetes.endpoint and kubernetes.certificate_authority
        ):
            raise ConfigError(
                f"platform:kubernetes.configFile {kubernetes.config_file} is in the MWAA bucket, so the stack "
                "writes it: set clusterName, endpoint and certificateAuthority too (or use connId for an Airflow "
                "connection)"
            )
        extra = set(config.tags) - {"business-unit", "owner"}
        if len(extra) > 6:
            raise ConfigError(
                f"platform:tags has {len(extra)} tags besides business-unit and owner; at most 6 fit, since every "
                "workflow adds 4 of its own and an S3 object takes at most 10"
            )
        return config

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

    def alias(self, project: str) -> str:
        """The project part used in derived names (the alias, or the project itself)."""
        return self.project_aliases.get(project, project)

    def extra_policy_names(self, project: str, workflow: str) -> tuple[str, ...]:
        names: list[str] = []
        for extra in self.extra_policies:
            if extra.matches(project, workflow):
                names.extend(p for p in extra.policies if p not in names)
        return tuple(names)


def stack_file(root: Path, environment: str) -> Path:
    return root / f"Pulumi.{environment}.yaml"


_KUBERNETES_KEYS = {
    "configFile": "config_file",
    "clusterContext": "cluster_context",
    "connId": "conn_id",
    "clusterName": "cluster_name",
    "endpoint": "endpoint",
    "certificateAuthority": "certificate_authority",
}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _convert(name: str, value: Any) -> Any:
    try:
        if name == "secret_store":
            return SecretStore(**value)
        if name == "extra_policies":
            return tuple(ExtraPolicies(e["pattern"], tuple(e["policies"])) for e in value)
        if name == "kubernetes":
            unknown = sorted(set(value) - set(_KUBERNETES_KEYS))
            if unknown:
                raise KeyError(f"unknown key(s) {', '.join(unknown)}; known: {', '.join(_KUBERNETES_KEYS)}")
            return KubernetesConnection(**{name: value.get(key) for key, name in _KUBERNETES_KEYS.items()})
        if name == "hmcts_sdp_networking":
            return SdpNetworking(
                annotations=frozen_map({str(k): str(v) for k, v in (value.get("annotations") or {}).items()}),
                host_aliases=tuple(
                    HostAlias(ip=str(h["ip"]), hostnames=tuple(str(n) for n in h["hostnames"]))
                    for h in value.get("hostAliases") or ()
                ),
            )
        if name in ("task_env", "project_aliases", "tags"):
            return frozen_map({str(k): str(v) for k, v in value.items()})
        if name == "secret_recovery_window_days":
            return int(value)
        if name == "retain_secrets_on_delete":
            if isinstance(value, str):
                return value.lower() == "true"
            return bool(value)
        return str(value)
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise ConfigError(f"stack config {camel(name)} is malformed: {error}") from error
