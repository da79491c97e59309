"""The Kubernetes objects of a workflow, as plain manifests (apiVersion, kind, metadata, spec)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflows.config import StackConfig
from workflows.plan.naming import Names, ProjectNames
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
    return _external_secret(
        names.kubernetes_secret(secret), names.secret_name(secret), names.labels, {"labels": dict(names.labels)}, config
    )


def shared_external_secret(
    names: ProjectNames, secret: str, consumers: list[str], config: StackConfig
) -> dict[str, Any]:
    """The ExternalSecret of one of a project's shared secrets: ``/airflow/<env>/<project>/shared/<id>`` into the
    Kubernetes secret ``<project>-shared-<id>`` (key ``data``, the same store as every workflow secret), labelled
    as the project's and annotated with the workflows that list it (``consumers``): the operator lets only
    those mount it."""
    metadata = {
        "labels": dict(names.labels),
        "annotations": {identity.CONSUMERS_ANNOTATION: identity.consumers_annotation(consumers)},
    }
    return _external_secret(names.kubernetes_secret(secret), names.secret_name(secret), names.labels, metadata, config)


def _external_secret(
    name: str, remote: str, labels: Mapping[str, str], target_metadata: dict[str, Any], config: StackConfig
) -> dict[str, Any]:
    """ExternalSecret ``name`` syncing Secrets Manager secret ``remote`` into the Kubernetes secret ``name``
    (key ``data``), with ``target_metadata`` on the Kubernetes secret.

    The Kubernetes secret carries identity labels (and, for a shared secret, its readers): the operator refuses,
    at run time, a secret labelled for another workflow (a name alone is ambiguous: ``a-b-x`` is workflow ``a``'s
    ``b-x`` or workflow ``a-b``'s ``x``). A template with metadata only keeps the data as synced."""
    return {
        "apiVersion": EXTERNAL_SECRET_API_VERSION,
        "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": config.namespace, "labels": dict(labels)},
        "spec": {
            "refreshInterval": config.external_secret_refresh_interval,
            "secretStoreRef": {"kind": config.secret_store.kind, "name": config.secret_store.name},
            "target": {"name": name, "creationPolicy": "Owner", "template": {"metadata": target_metadata}},
            "data": [{"secretKey": EXTERNAL_SECRET_KEY, "remoteRef": {"key": remote}}],
        },
    }
