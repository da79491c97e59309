"""Stack config: every stack file loads; bad config is refused with a clear message."""

from __future__ import annotations

import pytest

from tests.conftest import REPO
from workflows.config import StackConfig, stack_file
from workflows.errors import ConfigError
from workflows.model import ENVIRONMENTS

REQUIRED = {
    "region": "eu-west-2",
    "replicaRegion": "eu-west-1",
    "accountId": "111111111111",
    "dataAccountId": "111111111111",
    "oidcProvider": "oidc.example/id/X",
    "mwaaBucket": "bucket",
    "imageRegistry": "registry",
    "secretsKmsKeyArn": "k1",
    "secretsReplicaKmsKeyArn": "k2",
    "kubernetes": {"connId": "kubernetes_eks"},
}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_stack_file_loads(environment):
    config = StackConfig.from_stack_file(stack_file(REPO, environment))
    assert config.environment == environment
    assert config.namespace == "mwaa"
    assert config.image_registry == "509399598587.dkr.ecr.eu-west-2.amazonaws.com"
    assert config.task_env["AIRFLOW_ENVIRONMENT"] == environment.upper()
    assert config.alias("electronic-monitoring-data-store") == "emds"
    assert config.extra_policy_names("analytical-platform", "cadet-compile") == ("cadet",)
    assert config.extra_policy_names("analytical-platform", "example") == ()


def test_only_production_retains_secrets():
    retained = {e: StackConfig.from_stack_file(stack_file(REPO, e)).retain_secrets_on_delete for e in ENVIRONMENTS}
    assert retained == {"development": False, "test": False, "production": True}


def test_defaults_and_unknown_keys():
    config = StackConfig.from_mapping("test", REQUIRED)
    assert (config.secret_recovery_window_days, config.dags_prefix) == (30, "dags/")
    with pytest.raises(ConfigError, match="unknown stack config key\\(s\\) mwaBucket"):
        StackConfig.from_mapping("test", REQUIRED | {"mwaBucket": "x"})


def test_missing_and_malformed_values():
    with pytest.raises(ConfigError, match="missing mwaaBucket"):
        StackConfig.from_mapping("test", {k: v for k, v in REQUIRED.items() if k != "mwaaBucket"})
    with pytest.raises(ConfigError, match="extraPolicies is malformed"):
        StackConfig.from_mapping("test", REQUIRED | {"extraPolicies": [{"pattern": "x"}]})
    with pytest.raises(ConfigError, match="unknown stack 'staging'"):
        StackConfig.from_mapping("staging", REQUIRED)


def test_tags_must_leave_room_for_the_workflow_tags():
    tags = {f"tag-{i}": "x" for i in range(7)}
    with pytest.raises(ConfigError, match="at most 6 fit"):
        StackConfig.from_mapping("test", REQUIRED | {"tags": tags})
