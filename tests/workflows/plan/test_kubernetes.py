"""Kubernetes objects of a workflow and the kubeconfig MWAA uses to reach the cluster (workflows/plan/kubernetes.py)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from workflows.config import KubernetesConnection, SecretStore
from workflows.dags.runtime import runtime_files
from workflows.errors import ConfigError
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
            "refreshInterval": "1h",
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": "aws-secretsmanager"},
            "target": {"name": "emds-load-api-key", "creationPolicy": "Owner"},
            "data": [{"secretKey": "data", "remoteRef": {"key": "/airflow/development/emds/load/api-key"}}],
        },
    }


def test_namespace_and_secret_store_follow_the_stack_config(config):
    other = dataclasses.replace(config, namespace="airflow", secret_store=SecretStore("SecretStore", "team-store"))
    names = derive(workflow("demo", "job"), other)
    assert kubernetes.service_account(names, other, ROLE_ARN)["metadata"]["namespace"] == "airflow"
    external = kubernetes.external_secret(names, "token", other)
    assert external["metadata"]["namespace"] == "airflow"
    assert external["spec"]["secretStoreRef"] == {"kind": "SecretStore", "name": "team-store"}
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


def test_kubeconfig_is_written_from_stack_config_without_credentials(config):
    document = json.loads(kubernetes.kubeconfig(config))
    context = config.kubernetes.cluster_context
    assert document["current-context"] == context
    (cluster,) = document["clusters"]
    assert cluster["cluster"]["server"] == config.kubernetes.endpoint
    (user,) = document["users"]
    assert user["user"]["exec"]["command"] == "aws"
    assert user["user"]["exec"]["args"][-2:] == ["--cluster-name", config.kubernetes.cluster_name]
    assert "token" not in user["user"] and "client-key-data" not in user["user"]


def test_the_kubeconfig_is_shipped_where_the_operator_reads_it(config):
    files = runtime_files(config)
    assert config.kubernetes.config_file == "/usr/local/airflow/dags/.kube/config"
    assert files[".kube/config"] == kubernetes.kubeconfig(config)
    assert json.loads(files["analytical_platform/platform.json"])["kubernetes"]["config_file"] == (
        config.kubernetes.config_file
    )


def test_an_airflow_connection_needs_no_kubeconfig(config):
    via_connection = dataclasses.replace(config, kubernetes=KubernetesConnection(config_file=None, conn_id="eks"))
    assert kubernetes.kubeconfig(via_connection) is None
    assert ".kube/config" not in runtime_files(via_connection)


def test_a_kubeconfig_in_the_bucket_needs_the_cluster_details(config):
    values = {
        "region": "eu-west-2",
        "replicaRegion": "eu-west-1",
        "accountId": "1",
        "dataAccountId": "1",
        "oidcProvider": "o",
        "mwaaBucket": "b",
        "imageRegistry": "r",
        "secretsKmsKeyArn": "k",
        "secretsReplicaKmsKeyArn": "k",
        "kubernetes": {"configFile": "/usr/local/airflow/dags/.kube/config"},
    }
    with pytest.raises(ConfigError, match="set clusterName, endpoint and certificateAuthority"):
        type(config).from_mapping("test", values)
    with pytest.raises(ConfigError, match="unknown key"):
        type(config).from_mapping("test", values | {"kubernetes": {"connId": "x", "conId": "y"}})
