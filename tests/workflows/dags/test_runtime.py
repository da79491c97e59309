"""The platform runtime shipped next to the DAGs and the installation settings it reads
(workflows/dags/runtime.py)."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.workflows.dags.factory import make
from workflows.config import StackConfig
from workflows.dags.environment import platform_task_env
from workflows.dags.runtime import (
    PLATFORM_FILE,
    PRE_IMPORTS,
    RUNTIME_DIR,
    RUNTIME_PACKAGE,
    compute_profiles,
    content_type,
    platform_settings,
    runtime_files,
)
from workflows.model import ENVIRONMENTS
from workflows.plan.naming import derive


def test_runtime_files(config: StackConfig) -> None:
    files = runtime_files(config)
    assert list(files) == sorted(files)
    assert {
        ".airflowignore",
        "analytical_platform/__init__.py",
        "analytical_platform/compute_profiles.py",
        "analytical_platform/notifications.py",
        "analytical_platform/platform.json",
        "analytical_platform/pod_spec.py",
        "analytical_platform/settings.py",
        "analytical_platform/standard_operator.py",
    } <= set(files)
    assert not any("__pycache__" in path or path.endswith(".pyc") for path in files)
    mwaa = REPO / "mwaa" / "analytical_platform"
    assert files["analytical_platform/compute_profiles.py"] == (mwaa / "compute_profiles.py").read_text()
    assert json.loads(files["analytical_platform/platform.json"]) == platform_settings(config)
    # The cluster's own Terraform writes dags/.kube/config unless the stack is told to (manageKubeconfig).
    assert ".kube/config" not in files
    assert runtime_files(config) == files


def test_runtime_locations() -> None:
    assert RUNTIME_DIR == REPO / "mwaa"
    assert RUNTIME_PACKAGE == "analytical_platform"
    assert PLATFORM_FILE == "analytical_platform/platform.json"


def test_runtime_files_never_share_a_folder_with_dags(config: StackConfig) -> None:
    """DAGs live under ``<env>/`` (dags/<env>/<project>/<workflow>/dag.py): none can overwrite a runtime file."""
    assert derive(make(), config).dag_key.removeprefix(config.dags_prefix) == "development/demo/job/dag.py"
    assert not [path for path in runtime_files(config) if path.split("/")[0] in ENVIRONMENTS]


def test_airflowignore_skips_the_runtime_package_only(config: StackConfig) -> None:
    lines = runtime_files(config)[".airflowignore"].splitlines()
    patterns = [re.compile(re.sub(r"\s*#.*", "", line)) for line in lines if re.sub(r"\s*#.*", "", line)]

    def ignored(path: str) -> bool:
        return any(p.search(path) for p in patterns)

    assert ignored("analytical_platform") and ignored("analytical_platform/standard_operator.py")
    assert not ignored("analytical-platform/example.py")
    assert not ignored("demo/analytical_platform-like.py")
    assert not ignored("development/analytical-platform/example/dag.py")


def test_platform_json_reflects_the_stack_config(config: StackConfig) -> None:
    settings_ = platform_settings(config)
    assert settings_["environment"] == "development"
    assert settings_["namespace"] == "mwaa"
    assert settings_["image_registry"] == "509399598587.dkr.ecr.eu-west-2.amazonaws.com"
    assert settings_["kubernetes"] == {
        "config_file": config.kubernetes.config_file,
        "cluster_context": config.kubernetes.cluster_context,
        "conn_id": None,
    }
    assert settings_["task_env"]["AIRFLOW_ENVIRONMENT"] == "DEVELOPMENT"
    assert settings_["task_env"]["AIRFLOW_RUN_ID"] == "{{ run_id }}"
    assert settings_["project_aliases"] == {
        "electronic-monitoring-data-store": "emds",
        "electronic-monitoring-data-store-pp": "emds-pp",
    }
    assert settings_["slack_conn_id"] == "slack_api_default"
    # What a task whose secret has no value yet tells its maintainers (standard_operator.py).
    assert settings_["secrets"] == {"region": "eu-west-2", "refresh_interval": "5m"}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_stack_runs_tasks_as_the_running_service_does(environment: str) -> None:
    """HMCTS SDP networking and the XCom sidecar, as reference/live-installation.md has them, in every stack."""
    settings_ = platform_settings(StackConfig.from_stack_file(REPO / f"Pulumi.{environment}.yaml"))
    assert settings_["hmcts_sdp_networking"] == {
        "annotations": {"kubernetes.io/ingress-bandwidth": "175M", "kubernetes.io/egress-bandwidth": "175M"},
        "host_aliases": [
            {"ip": "10.168.4.13", "hostnames": ["mipersistentithc.blob.core.windows.net"]},
            {"ip": "10.168.4.5", "hostnames": ["miexportithc.blob.core.windows.net"]},
            {"ip": "10.168.3.8", "hostnames": ["mipersistentstg.blob.core.windows.net"]},
            {"ip": "10.168.3.7", "hostnames": ["miexportstg.blob.core.windows.net"]},
            {"ip": "10.168.5.13", "hostnames": ["mipersistentprod.blob.core.windows.net"]},
            {"ip": "10.168.5.8", "hostnames": ["miexportprod.blob.core.windows.net"]},
            {"ip": "10.225.251.100", "hostnames": ["baisbaumojapnle.blob.core.windows.net"]},
            {"ip": "10.224.251.100", "hostnames": ["baisbaumojapprod.blob.core.windows.net"]},
            {"ip": "10.168.5.4", "hostnames": ["miadhoclandingprod.blob.core.windows.net"]},
            {"ip": "10.168.1.14", "hostnames": ["mi-synapse-dev.sql.azuresynapse.net"]},
            {"ip": "10.168.1.15", "hostnames": ["mi-synapse-dev.dev.azuresynapse.net"]},
            {"ip": "10.168.1.16", "hostnames": ["mi-synapse-dev-ondemand.sql.azuresynapse.net"]},
            {"ip": "10.168.5.16", "hostnames": ["mi-synapse-prod.sql.azuresynapse.net"]},
            {"ip": "10.168.5.17", "hostnames": ["mi-synapse-prod-ondemand.sql.azuresynapse.net"]},
            {"ip": "10.168.5.18", "hostnames": ["mi-synapse-prod.dev.azuresynapse.net"]},
        ],
    }
    assert settings_["xcom_sidecar_image"] == (
        "ghcr.io/ministryofjustice/analytical-platform-airflow-xcom-sidecar:1.2.0"
        "@sha256:88cd127188efa6ed9d6c21d87a0223bb3f223b39f3f4033945b1b8cd1084314f"
    )


def _runtime_settings_module():
    if str(RUNTIME_DIR) not in sys.path:
        sys.path.append(str(RUNTIME_DIR))  # settings.py imports its sibling identity.py as Airflow would
    spec = importlib.util.spec_from_file_location(
        "_ap_settings_under_test", REPO / "mwaa" / "analytical_platform" / "settings.py"
    )
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.mark.parametrize("project", ["demo", "electronic-monitoring-data-store"])
def test_runtime_names_agree_with_the_stack(config: StackConfig, project: str) -> None:
    """The operator derives service account and labels as the stack named them (identity.py, with the
    project aliases of platform.json), whether a DAG names the project by its folder or by its alias."""
    settings = _runtime_settings_module()
    platform = settings.from_mapping(json.loads(json.dumps(platform_settings(config))))
    names = derive(make(project=project), config)
    for spelling in {project, names.project}:
        # As the operator does: the alias of the project a DAG names, then identity.py's names.
        alias = platform.alias(spelling)
        assert settings.identity.service_account(alias, "job") == names.service_account
        assert settings.identity.labels(platform.environment, alias, "job") == dict(names.labels)
    assert dict(platform.task_env) == platform_task_env(config)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("dags/development/demo/job/dag.py", "text/x-python"),
        ("analytical_platform/platform.json", "application/json"),
        (".airflowignore", "text/plain"),
        (".kube/config", "text/plain"),
    ],
)
def test_content_type(key: str, expected: str) -> None:
    assert content_type(key) == expected


def test_pre_imports_name_the_kubernetes_provider() -> None:
    assert PRE_IMPORTS[-1] == "import airflow.providers.cncf.kubernetes.operators.pod"
    assert all(line.startswith("#") for line in PRE_IMPORTS[:-1])


def test_compute_profiles_is_the_runtime_file() -> None:
    """One list of profiles: the validator reads the very file shipped to MWAA."""
    assert Path(compute_profiles.__file__).resolve() == REPO / "mwaa" / "analytical_platform" / "compute_profiles.py"
    assert "general-spot-1vcpu-4gb" in compute_profiles.names()
    assert "gpu-on-demand-128vcpu-512gb" in compute_profiles.names()
