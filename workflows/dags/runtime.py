"""The platform runtime shipped next to the DAGs, and the installation settings it reads.

``mwaa/`` holds ``.airflowignore`` and the ``analytical_platform`` package (the
standard operator every task runs through, the compute profiles, notifications).
:func:`runtime_files` lists them with ``platform.json``, the installation's
settings built from the stack config, for upload under the dags prefix.

:data:`compute_profiles` is ``mwaa/analytical_platform/compute_profiles.py`` itself,
loaded from its file (by :mod:`workflows.compute_profiles`, re-exported here): the one
list of profiles and the default one, shared by the validator, the schema, the model
and the operator at run time.
"""

from __future__ import annotations

import json
from typing import Any

from workflows.config import StackConfig
from workflows.dags.environment import platform_task_env
from workflows.installation import mwaa_kubeconfig
from workflows.runtime_modules import RUNTIME_DIR, RUNTIME_PACKAGE, compute_profiles  # noqa: F401  (re-exported)

PLATFORM_FILE = f"{RUNTIME_PACKAGE}/platform.json"
# Named in every DAG file so that Airflow's DAG processor imports it once for all files
# ([scheduler] parsing_pre_import_modules) rather than once per file.
PRE_IMPORTS = (
    "# Named so that Airflow's DAG processor imports them once for all DAG files",
    "# (parsing_pre_import_modules) rather than once per file: the standard operator uses them.",
    "import airflow.providers.cncf.kubernetes.operators.pod",
)


def platform_settings(config: StackConfig) -> dict[str, Any]:
    """What the runtime package needs to know about this installation (``platform.json``)."""
    return {
        "environment": config.environment,
        "namespace": config.namespace,
        "image_registry": config.image_registry,
        "kubernetes": {
            "config_file": config.kubernetes.config_file,
            "cluster_context": config.kubernetes.cluster_context,
            "conn_id": config.kubernetes.conn_id,
        },
        "task_env": platform_task_env(config),
        "project_aliases": dict(config.project_aliases),
        "hmcts_sdp_networking": {
            "annotations": dict(config.hmcts_sdp_networking.annotations),
            "host_aliases": [
                {"ip": alias.ip, "hostnames": list(alias.hostnames)}
                for alias in config.hmcts_sdp_networking.host_aliases
            ],
        },
        "slack_conn_id": config.slack_conn_id,
        "xcom_sidecar_image": config.xcom_sidecar_image,
        "secrets": {"region": config.region, "refresh_interval": config.external_secret_refresh_interval},
    }


def runtime_files(config: StackConfig) -> dict[str, str]:
    """Files uploaded under the dags prefix besides the DAGs, by path relative to it, sorted."""
    files: dict[str, str] = {}
    for path in sorted(RUNTIME_DIR.rglob("*")):
        relative = path.relative_to(RUNTIME_DIR)
        hidden = any(part.startswith(".") for part in relative.parts) and relative.name != ".airflowignore"
        if not path.is_file() or hidden or "__pycache__" in relative.parts or path.suffix == ".pyc":
            continue
        files[relative.as_posix()] = path.read_text(encoding="utf-8")
    files[PLATFORM_FILE] = json.dumps(platform_settings(config), indent=2, sort_keys=True) + "\n"
    # Only when the installation opts in (platform:kubernetes.manageKubeconfig): by default
    # dags/.kube/config is the cluster's own Terraform's, and the stack leaves it alone.
    kubeconfig = mwaa_kubeconfig(config)
    if kubeconfig is not None:
        files[config.kubernetes.bucket_path] = kubeconfig  # type: ignore[index]
    return dict(sorted(files.items()))


_CONTENT_TYPES = {".py": "text/x-python", ".json": "application/json"}


def content_type(key: str) -> str:
    """The Content-Type of an object under the dags prefix, from its name."""
    for suffix, type_ in _CONTENT_TYPES.items():
        if key.endswith(suffix):
            return type_
    return "text/plain"
