"""The installation's settings, read from ``platform.json`` next to this file.

The stack writes ``platform.json`` from its stack config and its workflows
(``workflows/dags/runtime.py``) and uploads it with this package, so the operator
and the DAGs always agree with what the stack provisioned (namespace, project
aliases); service-account names and labels come from ``identity.py``, which the
stack reads too.
The file is read once per process, on first use, never at import time.
Standard library only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from analytical_platform import identity

PLATFORM_FILE = Path(__file__).resolve().with_name("platform.json")
# The DAG folder: the stack uploads this package to <dags folder>/analytical_platform/, next to the
# workflows' DAG files at <dags folder>/<environment>/<project alias>/<workflow>/dag.py.
DAGS_FOLDER = Path(__file__).resolve().parents[1]
DAG_FILE_NAME = "dag.py"


@dataclass(frozen=True)
class Platform:
    environment: str
    namespace: str
    image_registry: str
    # How MWAA reaches the cluster: a kubeconfig (config_file + cluster_context) or an Airflow connection.
    config_file: str | None
    cluster_context: str | None
    conn_id: str | None
    # Platform defaults and run identifiers, in the order they are applied.
    task_env: MappingProxyType
    project_aliases: MappingProxyType
    sdp_annotations: MappingProxyType
    # ({"ip": …, "hostnames": […]}, …), as the pod's hostAliases take them.
    sdp_host_aliases: tuple[MappingProxyType, ...]
    slack_conn_id: str
    # The XCom sidecar's image (digest-pinned), or None for Airflow's own.
    xcom_sidecar_image: str | None = None
    # Where the workflows' Secrets Manager secrets live, and how often ExternalSecrets sync them:
    # what a task whose secret has no value yet tells its maintainers.
    secrets_region: str | None = None
    secrets_refresh_interval: str | None = None

    def alias(self, project: str) -> str:
        """The project part of derived names (service account, labels)."""
        return self.project_aliases.get(project, project)

    def workflow_of_dag_file(self, fileloc: str | None) -> tuple[str, str] | None:
        """(project alias, workflow) of the DAG file at ``fileloc`` when it sits where the stack puts a
        workflow's DAG (``<dags folder>/<environment>/<project alias>/<workflow>/dag.py``), else None.
        Where the file is, not what it says, is whose it is: a file cannot choose its own key."""
        if not fileloc:
            return None
        try:
            parts = Path(fileloc).resolve().relative_to(DAGS_FOLDER).parts
        except (ValueError, OSError):
            return None
        if len(parts) != 4 or parts[0] != self.environment or parts[3] != DAG_FILE_NAME:
            return None
        return parts[1], parts[2]

    def secret_path(self, project: str, workflow: str, kubernetes_name: str) -> str | None:
        """The Secrets Manager name behind a Kubernetes secret the workflow may read: one of its own
        (``/airflow/<env>/<alias>/<workflow>/<id>``), else one of its project's shared secrets
        (``/airflow/<env>/<alias>/shared/<id>``); None for any other name (``identity.kubernetes_secret``
        and ``identity.shared_kubernetes_secret`` reversed). The workflow's own comes first, as its names
        read before shared secrets existed; the stack refuses a workflow called ``shared`` in a project
        with shared secrets, and at run time the secret's labels, not this name, say whose it is."""
        alias = self.alias(project)
        secret = identity.secret_of(alias, workflow, kubernetes_name)
        if secret is not None:
            return identity.secret_path(self.environment, alias, workflow, secret)
        shared = identity.shared_secret_of(alias, kubernetes_name)
        return None if shared is None else identity.shared_secret_path(self.environment, alias, shared)


def from_mapping(data: dict[str, Any]) -> Platform:
    kubernetes = data.get("kubernetes") or {}
    sdp = data.get("hmcts_sdp_networking") or {}
    return Platform(
        environment=data["environment"],
        namespace=data["namespace"],
        image_registry=data["image_registry"],
        config_file=kubernetes.get("config_file"),
        cluster_context=kubernetes.get("cluster_context"),
        conn_id=kubernetes.get("conn_id"),
        task_env=MappingProxyType(dict(data.get("task_env") or {})),
        project_aliases=MappingProxyType(dict(data.get("project_aliases") or {})),
        sdp_annotations=MappingProxyType(dict(sdp.get("annotations") or {})),
        sdp_host_aliases=tuple(MappingProxyType(dict(h)) for h in sdp.get("host_aliases") or ()),
        slack_conn_id=data["slack_conn_id"],
        xcom_sidecar_image=data.get("xcom_sidecar_image"),
        secrets_region=(data.get("secrets") or {}).get("region"),
        secrets_refresh_interval=(data.get("secrets") or {}).get("refresh_interval"),
    )


@cache
def platform() -> Platform:
    """The settings of this installation (cached for the life of the process)."""
    with PLATFORM_FILE.open(encoding="utf-8") as handle:
        return from_mapping(json.load(handle))
