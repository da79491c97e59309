"""Kubernetes objects of a workflow (workflows/plan/kubernetes.py).

The kubeconfig (the stack writes one only on request): tests/workflows/test_installation.py.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from workflows.config import SecretStore
from workflows.model import Dag, Task, Workflow
from workflows.plan import kubernetes
from workflows.plan.naming import derive

ROLE_ARN = "arn:aws:iam::593291632749:role/airflow-development-electronic-monitoring-data-store-load"
LABELS = {
    "airflow.compute.analytical-platform.service.justice.gov.uk/environment": "development",
    "airflow.compute.analytical-platform.service.justice.gov.uk/project": "emds",
    "airflow.compute.analytical-platform.service.justice.gov.uk/workflow": "load",
}


def workflow(project: str = "electronic-monitoring-data-store", name: str = "load") -> Workflow:
    return Workflow(
        path=Path(f"environments/development/{project}/{name}/workflow.yml"),
        environment="development",
        project=project,
        name=name,
        dag=Dag(repository="org/repo", tag="v1", tasks=(Task("main"),)),
        maintainers=("octo",),
        business_unit="HMPPS",
        owner="a@justice.gov.uk",
        secrets=("api-key",),
    )


def test_service_account(config):
    names = derive(workflow(), config)
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
    names = derive(workflow(), config)
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
    names = derive(workflow("demo", "job"), other)
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
    names = derive(workflow(), config)
    account = kubernetes.service_account(names, config, ROLE_ARN)
    account["metadata"]["labels"]["extra"] = "x"
    assert dict(names.labels) == LABELS
    assert kubernetes.external_secret(names, "api-key", config)["metadata"]["labels"] == LABELS
