"""One analyst workflow: everything its plan declares, as direct children of one component.

A workflow with a generated role and no secrets registers 6 resources (this
component, role, policy, the role's policy attachments, service account, DAG
object); each secret adds 2 (the secret and its ExternalSecret). A project with
shared secrets (``project.yml``) registers one SharedSecrets component and 2 per
shared secret, once for all its workflows. The stack manages
a secret, never its value: no ``SecretVersion``, so no value is ever read into the
program or its state, and the deploy role needs no ``GetSecretValue``; a maintainer
sets the value (a task whose secret has none yet fails at once, saying where).

Every resource names its provider (``components/providers.py``): the data account's
for the role, policy, attachments and secrets, the compute account's for the DAG
object, the cluster's for the service account and ExternalSecrets. Nothing is left
to a default provider.

Logical names are the plan's: ``<project>/<workflow>`` for the component and each
of its resources (their types tell them apart), ``<project>/<workflow>/<secret>``
for a secret's resources. Folder names cannot contain '/', so these are unique
by construction. Renaming rule (keep live resources): a logical name, type or
parent is part of a resource's URN, so changing one makes Pulumi replace the
resource — for a secret, that loses the value its maintainers set. When
restructuring, pass ``aliases=[pulumi.Alias(name=old_name, parent=old_parent)]``
on the moved resource so its URN history carries over, and check that
``pulumi preview`` shows no replacement before merging.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.providers import Providers
from workflows import tokens
from workflows.config import StackConfig
from workflows.plan.project_plan import ProjectPlan
from workflows.plan.workflow_plan import WorkflowPlan


@dataclass(frozen=True)
class PlatformArgs:
    """The stack-wide settings a workflow's resources need, from the stack config."""

    mwaa_bucket: str
    secrets_kms_key_id: str
    replica_region: str
    replica_kms_key_id: str
    secret_recovery_window_days: int
    retain_secrets_on_delete: bool

    @staticmethod
    def from_config(config: StackConfig) -> PlatformArgs:
        return PlatformArgs(
            mwaa_bucket=config.mwaa_bucket,
            secrets_kms_key_id=config.secrets_kms_key_arn,
            replica_region=config.replica_region,
            replica_kms_key_id=config.secrets_replica_kms_key_arn,
            secret_recovery_window_days=config.secret_recovery_window_days,
            retain_secrets_on_delete=config.retain_secrets_on_delete,
        )


def managed_secret(
    logical_name: str,
    name: str,
    description: str,
    policy: str,
    tags: Mapping[str, str],
    platform: PlatformArgs,
    data: pulumi.ResourceOptions,
) -> aws.secretsmanager.Secret:
    """A Secrets Manager secret (name, KMS key, replica, resource policy, tags, recovery window): never its
    value, which belongs to its maintainers and never passes through the program or its state. ``data``:
    the options with the data account's provider and the parent."""
    return aws.secretsmanager.Secret(
        logical_name,
        name=name,
        description=description,
        kms_key_id=platform.secrets_kms_key_id,
        # The replica is created by Secrets Manager from this setting: no provider in the
        # replica region is needed.
        replicas=[
            aws.secretsmanager.SecretReplicaArgs(region=platform.replica_region, kms_key_id=platform.replica_kms_key_id)
        ],
        # Deleting schedules deletion after this window, never an immediate force-delete,
        # so a removed secret (or workflow) can be restored with its value.
        recovery_window_in_days=platform.secret_recovery_window_days,
        policy=policy,
        tags=dict(tags),
        # retain_on_delete: production can keep secrets in AWS even when Pulumi stops
        # managing them (platform:retainSecretsOnDelete), so no value is ever lost.
        opts=pulumi.ResourceOptions.merge(
            data, pulumi.ResourceOptions(retain_on_delete=platform.retain_secrets_on_delete)
        ),
    )


def external_secret(
    logical_name: str, manifest: Mapping[str, Any], cluster: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    """The ExternalSecret of a plan (``cluster``: the options with the cluster's provider and the parent)."""
    return k8s.apiextensions.CustomResource(
        logical_name,
        api_version=manifest["apiVersion"],
        kind=manifest["kind"],
        metadata=manifest["metadata"],
        spec=manifest["spec"],
        opts=cluster,
    )


class SharedSecrets(pulumi.ComponentResource):
    """A project's shared secrets (``project.yml``): each a Secrets Manager secret and its ExternalSecret,
    as direct children, logical names ``<project>/shared/<id>``. Registered before the project's workflows,
    whose DAG objects wait for the ExternalSecrets they use (:attr:`external_secrets`, by id)."""

    def __init__(
        self,
        plan: ProjectPlan,
        platform: PlatformArgs,
        providers: Providers,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        project = plan.project
        props = {"environment": project.environment, "project": project.name}
        super().__init__(tokens.SHARED_SECRETS, plan.logical_name, props, opts)
        # As for a workflow: the data account's provider for the secrets, the cluster's for the ExternalSecrets.
        data = pulumi.ResourceOptions(parent=self, provider=providers.data)
        cluster = pulumi.ResourceOptions(parent=self, provider=providers.cluster)
        self.external_secrets: dict[str, pulumi.Resource] = {}
        for secret in plan.secrets:
            managed_secret(
                secret.logical_name, secret.name, secret.description, plan.secret_policy, plan.tags, platform, data
            )
            self.external_secrets[secret.id] = external_secret(secret.logical_name, secret.external_secret, cluster)
        self.register_outputs({"secrets": [secret.name for secret in plan.secrets]})


class Workflow(pulumi.ComponentResource):
    """Role, policy and attachments (unless ``iam.external_role``), secrets with their
    ExternalSecrets, the service account and the DAG object of one workflow."""

    def __init__(
        self,
        plan: WorkflowPlan,
        platform: PlatformArgs,
        providers: Providers,
        runtime: pulumi.Resource | None = None,
        shared_secrets: Sequence[pulumi.Resource] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``shared_secrets``: the ExternalSecrets of the project's shared secrets the workflow lists (its
        DAG waits for them as for its own)."""
        workflow = plan.workflow
        # The identity of the workflow as component inputs, so previews and renders show it.
        props = {"environment": workflow.environment, "project": workflow.project, "workflow": workflow.name}
        super().__init__(tokens.WORKFLOW, plan.logical_name, props, opts)
        name = plan.logical_name
        # Each child names its provider here rather than inheriting one from the component, so that a
        # child without one falls back to the (disabled) default provider and fails, never silently
        # lands in another account. IAM and Secrets Manager: the data account.
        data = pulumi.ResourceOptions(parent=self, provider=providers.data)
        # Service accounts and ExternalSecrets: the environment's cluster (compute account).
        cluster = pulumi.ResourceOptions(parent=self, provider=providers.cluster)
        prerequisites: list[pulumi.Resource] = []

        identity = plan.identity
        if identity is not None:
            role = aws.iam.Role(
                name,
                name=identity.role,
                assume_role_policy=identity.trust_policy,
                max_session_duration=identity.max_session_seconds,
                tags=dict(plan.tags),
                opts=data,
            )
            policy = aws.iam.Policy(
                name, name=identity.policy, policy=identity.permissions, tags=dict(plan.tags), opts=data
            )
            # One resource for the whole set of the role's managed policies: it also detaches any
            # policy attached by hand, so the role grants exactly what the manifest says. Names and
            # ARNs come from the plan; depends_on: attach only once the role and its policy exist.
            attachments = aws.iam.RolePolicyAttachmentsExclusive(
                name,
                role_name=identity.role,
                policy_arns=[identity.policy_arn, *identity.shared_policy_arns],
                opts=pulumi.ResourceOptions.merge(data, pulumi.ResourceOptions(depends_on=[role, policy])),
            )
            prerequisites += [role, attachments]

        for secret in plan.secrets:
            managed_secret(
                secret.logical_name, secret.name, secret.description, plan.secret_policy, plan.tags, platform, data
            )
            prerequisites.append(external_secret(secret.logical_name, secret.external_secret, cluster))

        prerequisites.append(k8s.core.v1.ServiceAccount(name, metadata=plan.service_account["metadata"], opts=cluster))
        aws.s3.BucketObjectv2(
            name,
            bucket=platform.mwaa_bucket,
            key=plan.names.dag_key,
            content=plan.dag_source,
            content_type=plan.dag_content_type,
            tags=dict(plan.tags),
            # The MWAA bucket: the compute account. depends_on: the DAG is uploaded last, so Airflow
            # never schedules a pod whose role, permissions, service account or secrets do not exist yet,
            # nor parses a DAG file before the runtime package it imports (the platform runtime) is there.
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=providers.compute,
                depends_on=[*prerequisites, *shared_secrets, *([runtime] if runtime is not None else [])],
            ),
        )
        self.register_outputs({"role_arn": plan.role_arn, "dag_id": plan.names.dag_id, "dag_key": plan.names.dag_key})
