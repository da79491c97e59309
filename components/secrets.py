"""The workflow's secrets: Secrets Manager placeholders synced into Kubernetes."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from workflows import iam, kubernetes, naming
from workflows.config import StackConfig
from workflows.model import Workflow

PLACEHOLDER_VALUE = "placeholder: set the value in Secrets Manager"


class WorkflowSecrets(pulumi.ComponentResource):
    """Per entry of ``secrets``: a Secrets Manager secret ``/airflow/<env>/<project>/<workflow>/<id>``
    (KMS key and replica region from stack config; a resource policy for the maintainers),
    its placeholder value, and an ExternalSecret ``<project>-<workflow>-<id>`` that syncs it
    into a Kubernetes secret of the same name under key ``data``."""

    def __init__(
        self, name: str, workflow: Workflow, config: StackConfig, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("analytical-platform:workflows:WorkflowSecrets", name, None, opts)
        names = naming.names_for(workflow, config)
        tags = naming.resource_tags(workflow, config)
        # Resource "*" in a secret's resource policy means "this secret".
        policy = iam.policy_json(iam.secret_policy_document(workflow, config, "*"))
        manifests = kubernetes.external_secrets(workflow, config)
        for secret_id, manifest in zip(workflow.secrets, manifests, strict=True):
            secret = aws.secretsmanager.Secret(
                f"{name}-{secret_id}",
                name=names.secret_name(secret_id),
                description=(
                    f"Airflow secret {secret_id} of {workflow.key} ({workflow.environment}), set by its maintainers"
                ),
                kms_key_id=config.secrets_kms_key_arn,
                replicas=[
                    aws.secretsmanager.SecretReplicaArgs(
                        region=config.replica_region, kms_key_id=config.secrets_replica_kms_key_arn
                    )
                ],
                # Deleting schedules deletion after this window, never an immediate force-delete,
                # so a removed secret (or workflow) can be restored with its value.
                recovery_window_in_days=config.secret_recovery_window_days,
                policy=policy,
                tags=tags,
                # retain_on_delete: production can keep secrets in AWS even when Pulumi stops
                # managing them (platform:retainSecretsOnDelete), so no value is ever lost.
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=config.retain_secrets_on_delete),
            )
            aws.secretsmanager.SecretVersion(
                f"{name}-{secret_id}-placeholder",
                secret_id=secret.id,
                secret_string=PLACEHOLDER_VALUE,
                # ignore_changes: maintainers set the real value after creation; the placeholder is
                # written once, on create, and no later deploy may overwrite (or reset) their value.
                opts=pulumi.ResourceOptions(parent=self, ignore_changes=["secretString", "versionStages"]),
            )
            k8s.apiextensions.CustomResource(
                f"{name}-{secret_id}-external-secret",
                api_version=manifest["apiVersion"],
                kind=manifest["kind"],
                metadata=manifest["metadata"],
                spec=manifest["spec"],
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"secret_names": [names.secret_name(s) for s in workflow.secrets]})
