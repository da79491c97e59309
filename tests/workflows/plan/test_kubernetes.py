"""Kubernetes objects of a workflow (workflows/plan/kubernetes.py).

The kubeconfig (the stack writes one only on request): tests/workflows/test_installation.py.
"""

from __future__ import annotations

import dataclasses

from tests.workflows.plan.factory import workflow
from workflows.config import SecretStore
from workflows.plan import kubernetes
from workflows.plan.naming import derive

ROLE_ARN = "arn:aws:iam::593291632749:role/airflow-development-electronic-monitoring-data-store-load"
LABELS = {
    "airflow.compute.analytical-platform.service.justice.gov.uk/environment": "development",
    "airflow.compute.analytical-platform.service.justice.gov.uk/project": "emds",
    "airflow.compute.analytical-platform.service.justice.gov.uk/workflow": "load",
}


EMDS_LOAD = workflow("electronic-monitoring-data-store", "load")


def test_service_account(config):
    names = derive(EMDS_LOAD, config)
    assert kubernetes.service_account(names, config, ROLE_ARN) == {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": "emds-load",
            "namespace": "mwaa",
            "labels": LABELS,
            "annotations": {"eks.amazonaws.com/role-arn": ROLE_ARN},
        },
    }


def test_external_secret(config):
    names = derive(EMDS_LOAD, config)
    assert kubernetes.external_secret(names, "api-key", config) == {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": "emds-load-api-key", "namespace": "mwaa", "labels": LABELS},
        "spec": {
            "refreshInterval": "5m",
            "secretStoreRef": {"kind": "SecretStore", "name": "analytical-platform-data-production"},
            "target": {
                "name": "emds-load-api-key",
                "creationPolicy": "Owner",
                "template": {"metadata": {"labels": LABELS}},
            },
            "data": [{"secretKey": "data", "remoteRef": {"key": "/airflow/development/emds/load/api-key"}}],
        },
    }


def test_namespace_and_secret_store_follow_the_stack_config(config):
    other = dataclasses.replace(
        config,
        namespace="airflow",
        secret_store=SecretStore("ClusterSecretStore", "team-store"),
        external_secret_refresh_interval="1h",
    )
    names = derive(workflow(), other)
    assert kubernetes.service_account(names, other, ROLE_ARN)["metadata"]["namespace"] == "airflow"
    external = kubernetes.external_secret(names, "token", other)
    assert external["metadata"]["namespace"] == "airflow"
    assert external["spec"]["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "team-store"}
    assert external["spec"]["refreshInterval"] == "1h"
    assert external["spec"]["data"] == [
        {"secretKey": "data", "remoteRef": {"key": "/airflow/development/demo/job/token"}}
    ]


def test_objects_hold_their_own_copy_of_the_labels(config):
    """Labels are copied into each object, so changing one manifest cannot change the names or another object."""
    names = derive(EMDS_LOAD, config)
    account = kubernetes.service_account(names, config, ROLE_ARN)
    account["metadata"]["labels"]["extra"] = "x"
    assert dict(names.labels) == LABELS
    assert kubernetes.external_secret(names, "api-key", config)["metadata"]["labels"] == LABELS
