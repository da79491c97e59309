"""Every name the stack derives for a workflow: computed once, by :func:`derive`.

These are the identities of live resources (DESIGN.md lists them): changing
one here renames, and so replaces, that resource for every workflow. Nothing
else in the project derives a name: the plan, the components, ``diff`` and
``import-plan`` read them from :class:`Names`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from workflows.config import StackConfig
from workflows.model import Project, Workflow
from workflows.runtime_modules import identity

LABEL_PREFIX = identity.LABEL_PREFIX
# The DAG file of every workflow, in a folder of its own (see ``dag_key``).
DAG_FILE = "dag.py"
WORKFLOW_TAG_KEYS = ("business-unit", "owner", "airflow-project", "airflow-workflow")


@dataclass(frozen=True)
class Names:
    """The names of one workflow's resources."""

    # ``<project>/<workflow>`` from the folder names: unique in a stack by construction ('/' is
    # not allowed in a folder name), so it roots every logical name and every message.
    key: str
    # The project part of derived names: the project's alias, or the project folder itself.
    project: str
    # The workflow folder's name: the part after the project in every derived name.
    workflow: str
    role: str
    policy: str
    service_account: str
    dag_id: str
    dag_key: str
    secret_prefix: str
    labels: Mapping[str, str]
    # ``<registry>/<repository lower-cased, _ as ->:<tag>``: the image every task runs.
    image: str
    # ``environments/<env>/<project>/<workflow>``: the manifest's folder in the repository.
    folder: str
    environment: str

    def secret_name(self, secret: str) -> str:
        """Secrets Manager name: ``/airflow/<env>/<project>/<workflow>/<secret>``."""
        return f"{self.secret_prefix}{secret}"

    def kubernetes_secret(self, secret: str) -> str:
        """The ExternalSecret and the Kubernetes Secret it writes: ``<project>-<workflow>-<secret>``."""
        return identity.kubernetes_secret(self.project, self.workflow, secret)

    def secret_logical_name(self, secret: str) -> str:
        """``<project>/<workflow>/<secret>``: the logical name of a secret's resources."""
        return f"{self.key}/{secret}"

    def shared_secret_name(self, secret: str) -> str:
        """Secrets Manager name of one of the project's shared secrets: ``/airflow/<env>/<project>/shared/<secret>``."""
        return identity.shared_secret_path(self.environment, self.project, secret)

    def shared_kubernetes_secret(self, secret: str) -> str:
        """The Kubernetes secret of one of the project's shared secrets: ``<project>-shared-<secret>``."""
        return identity.shared_kubernetes_secret(self.project, secret)


def derive(workflow: Workflow, config: StackConfig) -> Names:
    project = config.alias(workflow.project)
    env = workflow.environment
    base = f"airflow-{env}-{project}-{workflow.name}"
    return Names(
        key=workflow.key,
        project=project,
        workflow=workflow.name,
        role=base,
        policy=base,
        service_account=identity.service_account(project, workflow.name),
        # ``<project alias>.<workflow>``: the DAG ids the running service gives its DAGs (``emds.<workflow>``),
        # so every DAG keeps its run history.
        dag_id=f"{project}.{workflow.name}",
        # ``dags/<env>/<project>/<workflow>/dag.py``: under the fixed environment folder, as the
        # running service lays its files out, so no name a tenant chooses is ever a top-level
        # (importable) name in the DAG folder, and the file name is fixed too.
        dag_key=f"{config.dags_prefix}{env}/{project}/{workflow.name}/{DAG_FILE}",
        secret_prefix=identity.secrets_prefix(env, project, workflow.name),
        labels=identity.labels(env, project, workflow.name),
        image=f"{config.image_registry}/{repository_name(workflow.dag.repository)}:{workflow.dag.tag}",
        folder=f"environments/{env}/{workflow.project}/{workflow.name}",
        environment=env,
    )


def repository_name(repository: str) -> str:
    """``<org>/<name>`` as the image path spells it: lower case, ``_`` as ``-``."""
    return repository.lower().replace("_", "-")


def secret_env_var(secret: str) -> str:
    """``SECRET_<ID>``: ``-`` becomes ``_``, upper case."""
    return "SECRET_" + secret.replace("-", "_").upper()


def param_env_var(key: str) -> str:
    """``PARAM_<KEY>``: the variable a ``dag.params`` key fills."""
    return f"PARAM_{key.upper()}"


def resource_tags(workflow: Workflow, config: StackConfig) -> dict[str, str]:
    """Tags on every taggable resource of a workflow: the platform's, then the workflow's own.

    The stack config is checked to leave room for these within S3's ten tags per object.
    """
    own = dict(
        zip(WORKFLOW_TAG_KEYS, (workflow.business_unit, workflow.owner, workflow.project, workflow.name), strict=True)
    )
    return dict(sorted((dict(config.tags) | own).items()))


@dataclass(frozen=True)
class ProjectNames:
    """The names of a project's shared secrets' resources (``project.yml``)."""

    # The project folder's name: roots the logical names (``<project>/shared``, ``<project>/shared/<id>``).
    key: str
    # The project part of derived names: the project's alias, or the project folder itself.
    project: str
    environment: str
    labels: Mapping[str, str]
    folder: str  # environments/<env>/<project>

    @property
    def logical_name(self) -> str:
        """``<project>/shared``: the SharedSecrets component's logical name."""
        return f"{self.key}/{identity.SHARED}"

    def secret_logical_name(self, secret: str) -> str:
        """``<project>/shared/<secret>``: the logical name of a shared secret's resources."""
        return f"{self.logical_name}/{secret}"

    def secret_name(self, secret: str) -> str:
        """``/airflow/<env>/<project>/shared/<secret>``."""
        return identity.shared_secret_path(self.environment, self.project, secret)

    def kubernetes_secret(self, secret: str) -> str:
        """``<project>-shared-<secret>``: the ExternalSecret and the Kubernetes secret it writes."""
        return identity.shared_kubernetes_secret(self.project, secret)


def derive_project(project: Project, config: StackConfig) -> ProjectNames:
    alias = config.alias(project.name)
    return ProjectNames(
        key=project.name,
        project=alias,
        environment=project.environment,
        labels=identity.shared_labels(project.environment, alias),
        folder=f"environments/{project.environment}/{project.name}",
    )


def project_tags(project: Project, config: StackConfig) -> dict[str, str]:
    """Tags on a project's shared secrets: the platform's, then the project (no workflow: several read them)."""
    return dict(sorted((dict(config.tags) | {"airflow-project": project.name}).items()))
