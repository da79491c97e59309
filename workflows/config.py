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

import fnmatch
import typing
from collections.abc import Mapping
from dataclasses import field, is_dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    TypeAdapter,
    ValidationError,
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
    """Shared managed policies attached to every workflow whose ``<project>-<workflow>``
    matches ``pattern`` (shell-style, as in ``analytical-platform-cadet*``)."""

    pattern: Text
    policies: tuple[Text, ...]

    def matches(self, project: str, workflow: str) -> bool:
        return fnmatch.fnmatchcase(f"{project}-{workflow}", self.pattern)


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
    """How MWAA (outside the cluster) reaches EKS: a kubeconfig (``config_file`` +
    ``cluster_context``) or an Airflow connection (``conn_id``).

    A ``config_file`` under MWAA's dags folder is written by the stack itself from
    ``cluster_name``, ``endpoint`` and ``certificate_authority`` (token from
    ``aws eks get-token``, no credential in the file), so it always exists.
    """

    config_file: Text | None = None
    cluster_context: Text | None = None
    conn_id: Text | None = None
    cluster_name: Text | None = None
    endpoint: Text | None = None
    certificate_authority: Text | None = None

    @property
    def bucket_path(self) -> str | None:
        """The kubeconfig's path relative to the dags prefix, when the stack ships it."""
        if self.conn_id is None and self.config_file and self.config_file.startswith(MWAA_DAGS_FOLDER):
            return self.config_file.removeprefix(MWAA_DAGS_FOLDER)
        return None

    @model_validator(mode="after")
    def _shipped_kubeconfig_is_complete(self) -> KubernetesConnection:
        if self.bucket_path is not None and not (self.cluster_name and self.endpoint and self.certificate_authority):
            raise PydanticCustomError(
                "kubeconfig_in_bucket",
                "configFile {config_file} is in the MWAA bucket, so the stack writes it: set clusterName, endpoint "
                "and certificateAuthority too (or use connId for an Airflow connection)",
                {"config_file": self.config_file},
            )
        return self


@dataclass(config=_CONFIG)
class SecretStore:
    kind: Text = "ClusterSecretStore"
    name: Text = "aws-secretsmanager"


@dataclass(config=_CONFIG)
class StackConfig:
    environment: Environment
    region: Text
    replica_region: Text
    account_id: Text
    data_account_id: Text
    oidc_provider: Text
    mwaa_bucket: Text
    image_registry: Text
    secrets_kms_key_arn: Text
    secrets_replica_kms_key_arn: Text
    kubernetes: KubernetesConnection
    # Required, with no default here: the policy pack reads these two from the stack file too
    # (policy/rules.py), so the stack file is their one home.
    namespace: Text
    dags_prefix: Text
    secret_store: SecretStore = field(default_factory=SecretStore)
    shared_policy_path: Text = "airflow-service"
    extra_policies: tuple[ExtraPolicies, ...] = ()
    task_env: TextMap = field(default_factory=frozen_map)
    project_aliases: TextMap = field(default_factory=frozen_map)
    hmcts_sdp_networking: SdpNetworking = field(default_factory=SdpNetworking)
    slack_conn_id: Text = "slack_api_default"
    secret_recovery_window_days: int = 30
    retain_secrets_on_delete: bool = False
    maintainer_userid_pattern: Text = "*:{maintainer}"
    tags: TextMap = field(default_factory=frozen_map)

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
    if kind in ("recovery_window", "too_many_tags", "kubeconfig_in_bucket"):
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
