"""The plan of one workflow: everything the stack provisions for it, as plain frozen data.

:func:`plan` runs once per workflow. It derives the names (:mod:`.naming`) once and
builds every document from them: tags and labels, the trust and permission
policies and the managed policies to attach (:mod:`.iam`), the Kubernetes objects
(:mod:`.kubernetes`), the DAG key and source (:mod:`workflows.dags`). Validation
checks limits on the plan (:mod:`.limits`); the Pulumi components only map it to
resources; ``render``'s review files, ``diff`` and ``import-plan`` read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workflows.config import StackConfig
from workflows.dags.generate import render_dag
from workflows.dags.runtime import content_type
from workflows.model import Workflow
from workflows.plan import iam, kubernetes
from workflows.plan.naming import Names, derive, resource_tags, secret_env_var


@dataclass(frozen=True)
class Identity:
    """The generated IAM role and its policy (absent for ``iam.external_role``)."""

    role: str
    policy: str
    policy_arn: str
    trust_policy: str  # JSON, as the provider receives it
    permissions: str  # JSON
    permissions_size: int  # characters AWS counts against the managed-policy limit
    # Shared managed policies attached besides the workflow's own policy, in attachment order.
    shared_policy_arns: tuple[str, ...]
    max_session_seconds: int = iam.ROLE_MAX_SESSION_SECONDS


@dataclass(frozen=True)
class Secret:
    """One entry of ``secrets``: a Secrets Manager secret synced into Kubernetes."""

    id: str
    logical_name: str
    name: str  # /airflow/<env>/<project>/<workflow>/<id>
    description: str
    env_var: str  # SECRET_<ID>
    external_secret: Mapping[str, Any]  # apiVersion, kind, metadata, spec


@dataclass(frozen=True)
class SharedSecretUse:
    """One entry of ``shared_secrets``: a project secret (``project.yml``) the workflow's tasks read."""

    id: str
    name: str  # /airflow/<env>/<project>/shared/<id>
    kubernetes_secret: str  # <project>-shared-<id>
    env_var: str  # SECRET_<ID>


@dataclass(frozen=True)
class WorkflowPlan:
    workflow: Workflow
    names: Names
    tags: Mapping[str, str]
    role_arn: str  # the generated role's ARN, or iam.external_role
    identity: Identity | None
    # The resource policy of every secret of the workflow ("*": the secret it is attached to).
    secret_policy: str
    secrets: tuple[Secret, ...]
    shared_secrets: tuple[SharedSecretUse, ...]
    service_account: Mapping[str, Any]  # apiVersion, kind, metadata
    dag_source: str
    dag_content_type: str

    @property
    def logical_name(self) -> str:
        """``<project>/<workflow>``: the Workflow component's logical name, unique by construction."""
        return self.names.key


def plan(workflow: Workflow, config: StackConfig) -> WorkflowPlan:
    """Everything the stack declares for ``workflow``. Raises ``ManifestError`` for a ``python_dag``
    workflow whose ``dag.py`` cannot be deployed (see :func:`workflows.dags.python_dag.render_python_dag`)."""
    names = derive(workflow, config)
    identity = None
    if workflow.iam.external_role is not None:
        role_arn = workflow.iam.external_role
    else:
        role_arn = iam.role_arn(names, config)
        permissions = iam.policy_document(workflow.iam, names, config, workflow.secrets, workflow.shared_secrets)
        identity = Identity(
            role=names.role,
            policy=names.policy,
            policy_arn=iam.policy_arn(names, config),
            trust_policy=iam.policy_json(iam.trust_document(names, config)),
            permissions=iam.policy_json(permissions),
            permissions_size=iam.policy_size(permissions),
            shared_policy_arns=iam.managed_policy_arns(workflow.iam, workflow.project, workflow.name, config),
        )
    secrets = tuple(
        Secret(
            id=secret,
            logical_name=names.secret_logical_name(secret),
            name=names.secret_name(secret),
            description=f"Airflow secret {secret} of {workflow.key} ({workflow.environment}), set by its maintainers",
            env_var=secret_env_var(secret),
            external_secret=kubernetes.external_secret(names, secret, config),
        )
        for secret in workflow.secrets
    )
    return WorkflowPlan(
        workflow=workflow,
        names=names,
        tags=resource_tags(workflow, config),
        role_arn=role_arn,
        identity=identity,
        secret_policy=iam.policy_json(iam.secret_policy_document(workflow.maintainers, config, "*")),
        secrets=secrets,
        shared_secrets=tuple(
            SharedSecretUse(
                id=secret,
                name=names.shared_secret_name(secret),
                kubernetes_secret=names.shared_kubernetes_secret(secret),
                env_var=secret_env_var(secret),
            )
            for secret in workflow.shared_secrets
        ),
        service_account=kubernetes.service_account(names, config, role_arn),
        dag_source=render_dag(workflow, names),
        dag_content_type=content_type(names.dag_key),
    )
