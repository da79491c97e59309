"""The workflow's Kubernetes service account (IRSA: annotated with the role it assumes).

A single resource, so it is created directly under the ``Workflow`` component
rather than wrapped in a component of its own (every registration costs preview time).
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from workflows import kubernetes
from workflows.config import StackConfig
from workflows.model import Workflow


def service_account(
    name: str, workflow: Workflow, config: StackConfig, role_arn: pulumi.Input[str], parent: pulumi.Resource
) -> k8s.core.v1.ServiceAccount:
    manifest = kubernetes.service_account(workflow, config, role_arn)
    return k8s.core.v1.ServiceAccount(
        f"{name}-service-account", metadata=manifest["metadata"], opts=pulumi.ResourceOptions(parent=parent)
    )
