"""The Kubernetes objects of a workflow, as plain manifests (apiVersion, kind, metadata, spec)."""

from __future__ import annotations

import json
from typing import Any

from workflows import naming
from workflows.config import StackConfig
from workflows.model import Workflow

ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
EXTERNAL_SECRET_API_VERSION = "external-secrets.io/v1"  # noqa: S105 - not a password
EXTERNAL_SECRET_KEY = "data"  # noqa: S105 - the key inside the Kubernetes secret
REFRESH_INTERVAL = "1h"


def service_account(workflow: Workflow, config: StackConfig, role_arn: Any) -> dict[str, Any]:
    """ServiceAccount ``<project>-<workflow>`` annotated with the role it assumes (IRSA).

    ``role_arn`` is the generated role's ARN (possibly a Pulumi output) or ``iam.external_role``.
    """
    names = naming.names_for(workflow, config)
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": names.service_account,
            "namespace": config.namespace,
            "labels": names.labels,
            "annotations": {ROLE_ARN_ANNOTATION: role_arn},
        },
    }


def external_secrets(workflow: Workflow, config: StackConfig) -> list[dict[str, Any]]:
    """One ExternalSecret per secret: syncs ``/airflow/<env>/<project>/<workflow>/<id>`` into the
    Kubernetes secret ``<project>-<workflow>-<id>`` under key ``data``."""
    names = naming.names_for(workflow, config)
    return [
        {
            "apiVersion": EXTERNAL_SECRET_API_VERSION,
            "kind": "ExternalSecret",
            "metadata": {"name": names.kubernetes_secret(s), "namespace": config.namespace, "labels": names.labels},
            "spec": {
                "refreshInterval": REFRESH_INTERVAL,
                "secretStoreRef": {"kind": config.secret_store.kind, "name": config.secret_store.name},
                "target": {"name": names.kubernetes_secret(s), "creationPolicy": "Owner"},
                "data": [{"secretKey": EXTERNAL_SECRET_KEY, "remoteRef": {"key": names.secret_name(s)}}],
            },
        }
        for s in workflow.secrets
    ]


def kubeconfig(config: StackConfig) -> str | None:
    """The kubeconfig MWAA uses to reach EKS, when the stack ships it (see ``KubernetesConnection``).

    Authentication is ``aws eks get-token`` with MWAA's execution role: the file holds
    no credential, only the cluster's public endpoint and certificate authority.
    """
    connection = config.kubernetes
    if connection.bucket_path is None:
        return None
    context = connection.cluster_context or connection.cluster_name
    cluster = {"server": connection.endpoint, "certificate-authority-data": connection.certificate_authority}
    token = ["--region", config.region, "eks", "get-token", "--cluster-name", connection.cluster_name]
    exec_ = {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws", "args": token}
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": cluster}],
        "contexts": [
            {"name": context, "context": {"cluster": context, "user": context, "namespace": config.namespace}}
        ],
        "current-context": context,
        "users": [{"name": context, "user": {"exec": exec_ | {"interactiveMode": "Never"}}}],
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"  # JSON is valid YAML, and byte-stable
