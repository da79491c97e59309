"""The Kubernetes objects of a workflow, as plain manifests (apiVersion, kind, metadata, spec)."""

from __future__ import annotations

from typing import Any

from workflows.config import StackConfig
from workflows.plan.naming import Names
from workflows.runtime_modules import identity

ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
EXTERNAL_SECRET_API_VERSION = "external-secrets.io/v1"  # noqa: S105 - not a password
EXTERNAL_SECRET_KEY = identity.SECRET_KEY  # the key inside the Kubernetes secret (one home: identity.py)


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
    Kubernetes secret ``<project>-<workflow>-<id>`` under key ``data``, labelled with the workflow's labels."""
    return {
        "apiVersion": EXTERNAL_SECRET_API_VERSION,
        "kind": "ExternalSecret",
        "metadata": {
            "name": names.kubernetes_secret(secret),
            "namespace": config.namespace,
            "labels": dict(names.labels),
        },
        "spec": {
            "refreshInterval": config.external_secret_refresh_interval,
            "secretStoreRef": {"kind": config.secret_store.kind, "name": config.secret_store.name},
            # The Kubernetes secret carries the workflow's identity labels too: the operator refuses, at run
            # time, a secret labelled for another workflow (a name alone is ambiguous: ``a-b-x`` is workflow
            # ``a``'s ``b-x`` or workflow ``a-b``'s ``x``). A template with metadata only keeps the data as synced.
            "target": {
                "name": names.kubernetes_secret(secret),
                "creationPolicy": "Owner",
                "template": {"metadata": {"labels": dict(names.labels)}},
            },
            "data": [{"secretKey": EXTERNAL_SECRET_KEY, "remoteRef": {"key": names.secret_name(secret)}}],
        },
    }
