"""The workflow's Kubernetes service account (IRSA: annotated with the role it assumes)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from workflows import kubernetes
from workflows.config import StackConfig
from workflows.model import Workflow


class WorkflowServiceAccount(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        workflow: Workflow,
        config: StackConfig,
        role_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("analytical-platform:workflows:WorkflowServiceAccount", name, None, opts)
        manifest = kubernetes.service_account(workflow, config, role_arn)
        account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account", metadata=manifest["metadata"], opts=pulumi.ResourceOptions(parent=self)
        )
        self.register_outputs({"name": account.metadata.name})
