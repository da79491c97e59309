"""The validated, immutable model of one workflow manifest and of a stack's config.

Everything downstream (naming, IAM documents, DAG rendering, Pulumi components)
works from these values only; nothing here knows about YAML or Pulumi.
Mappings are read-only views (``MappingProxyType``) so a model cannot be
changed after validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from workflows.runtime_modules import compute_profiles

Environment = Literal["development", "test", "production"]
ENVIRONMENTS: tuple[Environment, ...] = ("development", "test", "production")

BusinessUnit = Literal[
    "Central Digital",
    "CICA",
    "HMCTS",
    "HMPPS",
    "HQ",
    "LAA",
    "OPG",
    "Platforms",
    "Technology Services",
]
SlackEvent = Literal["failure", "success"]
EmailEvent = Literal["failure", "retry", "success"]
AthenaAccess = Literal["read", "write"]

DEFAULT_COMPUTE_PROFILE: str = compute_profiles.DEFAULT
DEFAULT_START_DATE = date(2025, 1, 1)
DEFAULT_RETRY_DELAY_SECONDS = 300
MAIN_TASK = "main"


def frozen_map(values: Mapping[str, str] | None = None) -> Mapping[str, str]:
    """A read-only, key-sorted copy of ``values`` (sorted so output is stable)."""
    return MappingProxyType(dict(sorted((values or {}).items())))


@dataclass(frozen=True)
class CronSchedule:
    """A cron expression (``0 5 * * MON-FRI``) or an Airflow preset (``@daily``)."""

    expression: str


@dataclass(frozen=True)
class IntervalSchedule:
    """A fixed interval between runs, from ``seconds``/``minutes``/``hours``."""

    seconds: int


@dataclass(frozen=True)
class DatasetSchedule:
    """Data-aware scheduling: run when any of these dataset URIs is updated."""

    uris: tuple[str, ...]


Schedule = CronSchedule | IntervalSchedule | DatasetSchedule | None


@dataclass(frozen=True)
class Task:
    """One pod of the workflow, with every DAG-level default already applied.

    ``env_vars`` is the manifest's part of the environment only: ``dag.env_vars``
    overridden key by key by the task's own ``env_vars``. Platform defaults and
    secrets are added when the DAG is rendered.
    """

    name: str
    compute_profile: str = DEFAULT_COMPUTE_PROFILE
    env_vars: Mapping[str, str] = field(default_factory=frozen_map)
    dependencies: tuple[str, ...] = ()
    hmcts_sdp_networking: bool = False
    inlets: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dag:
    repository: str
    tag: str
    tasks: tuple[Task, ...]
    schedule: Schedule = None
    timezone: str = "UTC"
    catchup: bool = False
    depends_on_past: bool = False
    start_date: date = DEFAULT_START_DATE
    end_date: date | None = None
    is_paused_upon_creation: bool = False
    max_active_runs: int = 1
    retries: int = 0
    retry_delay: int = DEFAULT_RETRY_DELAY_SECONDS
    params: Mapping[str, str] = field(default_factory=frozen_map)
    python_dag: bool = False


@dataclass(frozen=True)
class Iam:
    external_role: str | None = None
    s3_read_only: tuple[str, ...] = ()
    s3_read_write: tuple[str, ...] = ()
    s3_write_only: tuple[str, ...] = ()
    s3_deny: tuple[str, ...] = ()
    kms: tuple[str, ...] = ()
    athena: AthenaAccess | None = None
    glue: bool = False
    bedrock: bool = False
    textract: bool = False
    lake_formation: bool = False
    # CloudWatch Logs log-group ARNs the workflow may read.
    cloudwatch_logs_read_only: tuple[str, ...] = ()
    # true/false, as live manifests write it: the workflow may put new values into each of its own ``secrets``.
    update_secrets: bool = False


@dataclass(frozen=True)
class Notifications:
    emails: tuple[str, ...] = ()
    slack_channel: str | None = None
    slack_events: tuple[SlackEvent, ...] = ("failure", "success")
    # Failure and retry: what the running service has always emailed.
    email_events: tuple[EmailEvent, ...] = ("failure", "retry")


@dataclass(frozen=True)
class Workflow:
    """One validated manifest: ``environments/<environment>/<project>/<workflow>/workflow.yml``."""

    path: Path
    environment: Environment
    project: str
    name: str
    dag: Dag
    maintainers: tuple[str, ...]
    business_unit: BusinessUnit
    owner: str
    iam: Iam = Iam()
    secrets: tuple[str, ...] = ()
    # Ids of the project's shared secrets (``project.yml``) this workflow's tasks read.
    shared_secrets: tuple[str, ...] = ()
    notifications: Notifications = Notifications()
    # Source of the workflow's own dag.py when ``dag.python_dag`` is true.
    python_dag_source: str | None = None

    @property
    def key(self) -> str:
        """``<project>/<workflow>``: unique within a stack, used in messages and paths."""
        return f"{self.project}/{self.name}"


@dataclass(frozen=True)
class Project:
    """A project's own manifest: ``environments/<environment>/<project>/project.yml``.

    ``secrets`` are shared by the project's workflows: each is one Secrets Manager secret whose value
    ``maintainers`` set, read only by the workflows that list it in ``shared_secrets``.
    """

    path: Path
    environment: Environment
    name: str
    secrets: tuple[str, ...]
    maintainers: tuple[str, ...]
