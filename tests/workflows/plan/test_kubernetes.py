"""Kubernetes objects and the kubeconfig MWAA uses to reach the cluster."""

from __future__ import annotations

import dataclasses
import json

import pytest

from workflows import dagrender, kubernetes
from workflows.config import KubernetesConnection
from workflows.errors import ConfigError


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
    files = dagrender.runtime_files(config)
    assert config.kubernetes.config_file == "/usr/local/airflow/dags/.kube/config"
    assert files[".kube/config"] == kubernetes.kubeconfig(config)
    assert json.loads(files["analytical_platform/platform.json"])["kubernetes"]["config_file"] == (
        config.kubernetes.config_file
    )


def test_an_airflow_connection_needs_no_kubeconfig(config):
    via_connection = dataclasses.replace(config, kubernetes=KubernetesConnection(config_file=None, conn_id="eks"))
    assert kubernetes.kubeconfig(via_connection) is None
    assert ".kube/config" not in dagrender.runtime_files(via_connection)


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
