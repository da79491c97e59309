"""The Kubernetes objects of a workflow, as plain manifests (apiVersion, kind, metadata, spec)."""

from __future__ import annotations

import json
from typing import Any

from workflows.config import StackConfig
from workflows.plan.naming import Names

ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
EXTERNAL_SECRET_API_VERSION = "external-secrets.io/v1"  # noqa: S105 - not a password
EXTERNAL_SECRET_KEY = "data"  # noqa: S105 - the key inside the Kubernetes secret
REFRESH_INTERVAL = "1h"


def service_account(names: Names, config: StackConfig, role_arn: str) -> dict[str, Any]:
    """ServiceAccount ``<project>-<workflow>`` annotated with the role it assumes (IRSA):
    the generated role's ARN or ``iam.external_role``."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": names.service_account,
            "namespace": config.namespace,
            "labels": dict(names.labels),
            "annotations": {ROLE_ARN_ANNOTATION: role_arn},
        },
    }


def external_secret(names: Names, secret: str, config: StackConfig) -> dict[str, Any]:
    """The ExternalSecret that syncs ``/airflow/<env>/<project>/<workflow>/<id>`` into the
    Kubernetes secret ``<project>-<workflow>-<id>`` under key ``data``."""
    return {
        "apiVersion": EXTERNAL_SECRET_API_VERSION,
        "kind": "ExternalSecret",
        "metadata": {
            "name": names.kubernetes_secret(secret),
            "namespace": config.namespace,
            "labels": dict(names.labels),
        },
        "spec": {
            "refreshInterval": REFRESH_INTERVAL,
            "secretStoreRef": {"kind": config.secret_store.kind, "name": config.secret_store.name},
            "target": {"name": names.kubernetes_secret(secret), "creationPolicy": "Owner"},
            "data": [{"secretKey": EXTERNAL_SECRET_KEY, "remoteRef": {"key": names.secret_name(secret)}}],
        },
    }


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
