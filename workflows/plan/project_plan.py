"""The plan of one project's shared secrets (``project.yml``): plain frozen data, as for a workflow.

:func:`plan_project` runs once per project with a ``project.yml``, after its workflows
are planned: each shared secret's ExternalSecret names the workflows that list it
(the operator lets only those mount it). The SharedSecrets component only maps this
plan to resources; each workflow's read grant is in its own plan (``iam.policy_document``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from workflows.config import StackConfig
from workflows.model import Project
from workflows.plan import iam, kubernetes
from workflows.plan.naming import ProjectNames, derive_project, project_tags
from workflows.plan.workflow_plan import WorkflowPlan


@dataclass(frozen=True)
class SharedSecret:
    """One entry of a project's ``secrets``: a Secrets Manager secret synced into Kubernetes once."""

    id: str
    logical_name: str  # <project>/shared/<id>
    name: str  # /airflow/<env>/<project>/shared/<id>
    description: str
    # The workflows (folder names) that list it in shared_secrets: the only ones that may read it.
    consumers: tuple[str, ...]
    external_secret: Mapping[str, Any]  # apiVersion, kind, metadata, spec


@dataclass(frozen=True)
class ProjectPlan:
    project: Project
    names: ProjectNames
    tags: Mapping[str, str]
    # The resource policy of every shared secret of the project: its maintainers may read and put the value.
    secret_policy: str
    secrets: tuple[SharedSecret, ...]

    @property
    def logical_name(self) -> str:
        """``<project>/shared``: the SharedSecrets component's logical name."""
        return self.names.logical_name


def plan_project(project: Project, workflows: Iterable[WorkflowPlan], config: StackConfig) -> ProjectPlan:
    """The shared secrets of ``project``, read by those of ``workflows`` (its own) that list them."""
    names = derive_project(project, config)
    users = [plan.workflow for plan in workflows if plan.workflow.project == project.name]
    secrets = []
    for secret in project.secrets:
        consumers = tuple(sorted(w.name for w in users if secret in w.shared_secrets))
        secrets.append(
            SharedSecret(
                id=secret,
                logical_name=names.secret_logical_name(secret),
                name=names.secret_name(secret),
                description=(
                    f"Airflow secret {secret} shared by the workflows of {project.name} ({project.environment}), "
                    "set by the project's maintainers"
                ),
                consumers=consumers,
                external_secret=kubernetes.shared_external_secret(names, secret, list(consumers), config),
            )
        )
    return ProjectPlan(
        project=project,
        names=names,
        tags=project_tags(project, config),
        secret_policy=iam.policy_json(iam.secret_policy_document(project.maintainers, config, "*")),
        secrets=tuple(secrets),
    )
