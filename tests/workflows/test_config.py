"""Stack config: every stack file loads; bad config is refused with a clear message."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import pytest

from tests.conftest import REPO
from workflows.config import (
    ExtraPolicies,
    HostAlias,
    KubernetesConnection,
    SdpNetworking,
    SecretStore,
    StackConfig,
    stack_file,
)
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
    "namespace": "mwaa",
    "dagsPrefix": "dags/",
}

KNOWN = (
    "accountId, dagsPrefix, dataAccountId, extraPolicies, hmctsSdpNetworking, imageRegistry, kubernetes, "
    "maintainerUseridPattern, mwaaBucket, namespace, oidcProvider, projectAliases, region, replicaRegion, "
    "retainSecretsOnDelete, secretRecoveryWindowDays, secretStore, secretsKmsKeyArn, secretsReplicaKmsKeyArn, "
    "sharedPolicyPath, slackConnId, tags, taskEnv"
)


def refusal(values: dict, environment: str = "test") -> str:
    """The ConfigError message for ``values``; the pydantic error never leaks."""
    with pytest.raises(ConfigError) as caught:
        StackConfig.from_mapping(environment, values)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__
    assert "pydantic" not in str(caught.value)
    return str(caught.value)


# --------------------------------------------------------------------------- the repository's stacks


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_stack_file_loads(environment):
    config = StackConfig.from_stack_file(stack_file(REPO, environment))
    assert config.environment == environment
    assert (config.region, config.replica_region) == ("eu-west-2", "eu-west-1")
    assert (config.account_id, config.data_account_id) == ("593291632749", "593291632749")
    assert config.mwaa_bucket == f"mojap-{environment}-mwaa"
    assert config.namespace == "mwaa"
    assert config.dags_prefix == "dags/"
    assert config.image_registry == "509399598587.dkr.ecr.eu-west-2.amazonaws.com"
    assert config.secrets_kms_key_arn == (
        f"arn:aws:kms:eu-west-2:593291632749:alias/secretsmanager/airflow-{environment}"
    )
    assert config.secrets_replica_kms_key_arn == (
        f"arn:aws:kms:eu-west-1:593291632749:alias/secretsmanager/airflow-{environment}"
    )
    assert config.secret_store == SecretStore(kind="ClusterSecretStore", name="aws-secretsmanager")
    assert config.shared_policy_path == "airflow-service"
    assert config.extra_policies == (ExtraPolicies(pattern="analytical-platform-cadet*", policies=("cadet",)),)
    assert dict(config.task_env) == {
        "AIRFLOW_ENVIRONMENT": environment.upper(),
        "AWS_ATHENA_QUERY_EXTRACT_REGION": "eu-west-1",
        "AWS_DEFAULT_EXTRACT_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_METADATA_SERVICE_NUM_ATTEMPTS": "5",
        "AWS_METADATA_SERVICE_TIMEOUT": "60",
    }
    assert dict(config.project_aliases) == {"electronic-monitoring-data-store": "emds"}
    assert config.kubernetes.config_file == "/usr/local/airflow/dags/.kube/config"
    assert config.kubernetes.cluster_context == f"analytical-platform-compute-{environment}"
    assert config.kubernetes.cluster_name == f"analytical-platform-compute-{environment}"
    assert config.kubernetes.conn_id is None
    assert config.kubernetes.bucket_path == ".kube/config"
    assert config.hmcts_sdp_networking == SdpNetworking(
        annotations={"networking.analytical-platform.service.justice.gov.uk/route": "hmcts-sdp"},
        host_aliases=(HostAlias(ip="10.168.4.13", hostnames=("mi-ingestion.hmcts-sdp.internal",)),),
    )
    assert config.slack_conn_id == "slack_api_default"
    assert config.secret_recovery_window_days == 30
    assert config.maintainer_userid_pattern == "*:{maintainer}"
    assert list(config.tags) == [
        "application",
        "business-unit",
        "environment-name",
        "is-production",
        "owner",
        "source-code",
    ]
    assert config.tags["is-production"] == str(environment == "production").lower()
    assert config.alias("electronic-monitoring-data-store") == "emds"
    assert config.alias("analytical-platform") == "analytical-platform"
    assert config.extra_policy_names("analytical-platform", "cadet-compile") == ("cadet",)
    assert config.extra_policy_names("analytical-platform", "example") == ()


def test_only_production_retains_secrets():
    retained = {e: StackConfig.from_stack_file(stack_file(REPO, e)).retain_secrets_on_delete for e in ENVIRONMENTS}
    assert retained == {"development": False, "test": False, "production": True}


def test_an_unreadable_stack_file(tmp_path):
    path = tmp_path / "Pulumi.test.yaml"
    path.write_text("config: [unclosed\n")
    with pytest.raises(ConfigError, match=r"cannot read stack config .*Pulumi\.test\.yaml"):
        StackConfig.from_stack_file(path)


# --------------------------------------------------------------------------- defaults and types


def test_defaults():
    config = StackConfig.from_mapping("test", REQUIRED)
    assert config.kubernetes == KubernetesConnection(conn_id="kubernetes_eks")
    assert config.kubernetes.bucket_path is None
    assert (config.namespace, config.dags_prefix, config.shared_policy_path) == ("mwaa", "dags/", "airflow-service")
    assert config.secret_store == SecretStore(kind="ClusterSecretStore", name="aws-secretsmanager")
    assert config.extra_policies == ()
    assert dict(config.task_env) == dict(config.project_aliases) == dict(config.tags) == {}
    assert config.hmcts_sdp_networking == SdpNetworking(annotations={}, host_aliases=())
    assert config.slack_conn_id == "slack_api_default"
    assert (config.secret_recovery_window_days, config.retain_secrets_on_delete) == (30, False)
    assert config.maintainer_userid_pattern == "*:{maintainer}"


@pytest.mark.parametrize(
    ("raw", "retain"), [("true", True), ("false", False), ("True", True), ("False", False), (True, True)]
)
def test_booleans_as_the_engine_hands_them_over(raw, retain):
    config = StackConfig.from_mapping("test", REQUIRED | {"retainSecretsOnDelete": raw})
    assert config.retain_secrets_on_delete is retain


def test_numbers_as_the_engine_hands_them_over():
    config = StackConfig.from_mapping(
        "test",
        REQUIRED
        | {
            "secretRecoveryWindowDays": "7",
            "accountId": 111111111111,  # the engine JSON-decodes an unquoted account id
            "taskEnv": {"AWS_METADATA_SERVICE_TIMEOUT": 60, "FLAG": True},
            "extraPolicies": [{"pattern": "p-*", "policies": [2024]}],
        },
    )
    assert config.secret_recovery_window_days == 7
    assert config.account_id == "111111111111"
    assert dict(config.task_env) == {"AWS_METADATA_SERVICE_TIMEOUT": "60", "FLAG": "True"}
    assert config.extra_policies == (ExtraPolicies(pattern="p-*", policies=("2024",)),)


def test_mappings_are_read_only_and_sorted():
    config = StackConfig.from_mapping(
        "test",
        REQUIRED
        | {
            "taskEnv": {"B": "2", "A": "1"},
            "projectAliases": {"zeta": "z", "alpha": "a"},
            "tags": {"owner": "o", "business-unit": "Platforms"},
            "hmctsSdpNetworking": {"annotations": {"y": "2", "x": "1"}},
        },
    )
    mappings = {
        "task_env": config.task_env,
        "project_aliases": config.project_aliases,
        "tags": config.tags,
        "annotations": config.hmcts_sdp_networking.annotations,
    }
    assert {name: list(m.items()) for name, m in mappings.items()} == {
        "task_env": [("A", "1"), ("B", "2")],
        "project_aliases": [("alpha", "a"), ("zeta", "z")],
        "tags": [("business-unit", "Platforms"), ("owner", "o")],
        "annotations": [("x", "1"), ("y", "2")],
    }
    for mapping in mappings.values():
        assert isinstance(mapping, MappingProxyType)
        with pytest.raises(TypeError):
            mapping["new"] = "value"  # type: ignore[index]


def test_the_config_is_frozen_and_replace_revalidates():
    config = StackConfig.from_mapping("test", REQUIRED | {"extraPolicies": [{"pattern": "a*", "policies": ["x"]}]})
    assert isinstance(config.extra_policies, tuple)
    assert isinstance(config.extra_policies[0].policies, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.region = "us-east-1"  # type: ignore[misc]
    moved = dataclasses.replace(config, region="us-east-1", replica_region="us-west-2")
    assert (moved.region, moved.replica_region, moved.mwaa_bucket) == ("us-east-1", "us-west-2", "bucket")
    assert moved == dataclasses.replace(moved) != config
    assert isinstance(moved.task_env, MappingProxyType)
    # Python code may use field names; a stack file may not (see test_snake_case_keys_are_unknown).
    assert KubernetesConnection(config_file=None, conn_id="eks").conn_id == "eks"
    assert hash(config.kubernetes) == hash(KubernetesConnection(conn_id="kubernetes_eks"))


# --------------------------------------------------------------------------- refusals


def test_an_unknown_stack():
    assert refusal(REQUIRED, "staging") == "unknown stack 'staging': expected one of development, test, production"


def test_unknown_keys_are_named_in_camel_case():
    message = refusal(REQUIRED | {"mwaBucket": "x", "fooBar": "y"})
    assert message == f"unknown stack config key(s) fooBar, mwaBucket; known: {KNOWN}"


def test_snake_case_keys_are_unknown():
    assert refusal(REQUIRED | {"mwaa_bucket": "x"}) == f"unknown stack config key(s) mwaa_bucket; known: {KNOWN}"
    assert refusal(REQUIRED | {"environment": "test"}) == f"unknown stack config key(s) environment; known: {KNOWN}"


def test_missing_keys():
    values = {k: v for k, v in REQUIRED.items() if k not in ("mwaaBucket", "region")}
    assert refusal(values) == "stack config for test is missing aws:region, mwaaBucket"


def test_malformed_nested_values_name_their_path():
    message = refusal(
        REQUIRED
        | {
            "hmctsSdpNetworking": {
                "hostAliases": [{"hostnames": ["a.internal"]}, {"ip": "10.0.0.1", "hostnames": "b"}],
            },
            "extraPolicies": [{"pattern": "x"}],
            "secretStore": {"kind": "ClusterSecretStore", "nmae": "store"},
            "kubernetes": {"connId": "x", "conId": "y"},
        }
    )
    assert message.splitlines() == [
        "platform:kubernetes.conId: unknown key; known: certificateAuthority, clusterContext, clusterName, "
        "configFile, connId, endpoint",
        "platform:secretStore.nmae: unknown key; known: kind, name",
        "platform:extraPolicies[0].policies: missing",
        "platform:hmctsSdpNetworking.hostAliases[0].ip: missing",
        "platform:hmctsSdpNetworking.hostAliases[1].hostnames: Input should be a valid tuple (got 'b')",
    ]


def test_malformed_scalars_and_mappings():
    message = refusal(
        REQUIRED | {"retainSecretsOnDelete": "maybe", "namespace": ["mwaa"], "tags": "owner=me", "taskEnv": {"A": None}}
    )
    assert message.splitlines() == [
        "platform:namespace: Input should be a valid string (got a list)",
        "platform:taskEnv.A: Input should be a valid string (got None)",
        "platform:retainSecretsOnDelete: Input should be a valid boolean, unable to interpret input (got 'maybe')",
        "platform:tags: Input should be a valid dictionary (got 'owner=me')",
    ]


@pytest.mark.parametrize("days", [7, 30, "7", "30"])
def test_recovery_windows_aws_keeps(days):
    config = StackConfig.from_mapping("test", REQUIRED | {"secretRecoveryWindowDays": days})
    assert config.secret_recovery_window_days == int(days)


@pytest.mark.parametrize("days", [0, 6, 31, "6", "31"])
def test_recovery_windows_aws_would_not_keep(days):
    assert refusal(REQUIRED | {"secretRecoveryWindowDays": days}) == (
        f"platform:secretRecoveryWindowDays: must be 7 to 30 days, not {int(days)}: "
        "removed secrets must stay recoverable"
    )


def test_a_recovery_window_that_is_no_number():
    assert refusal(REQUIRED | {"secretRecoveryWindowDays": "thirty"}) == (
        "platform:secretRecoveryWindowDays: Input should be a valid integer, unable to parse string as an integer "
        "(got 'thirty')"
    )


def test_a_kubeconfig_in_the_bucket_needs_the_cluster_details():
    assert refusal(REQUIRED | {"kubernetes": {"configFile": "/usr/local/airflow/dags/.kube/config"}}) == (
        "platform:kubernetes: configFile /usr/local/airflow/dags/.kube/config is in the MWAA bucket, so the stack "
        "writes it: set clusterName, endpoint and certificateAuthority too (or use connId for an Airflow connection)"
    )
    elsewhere = StackConfig.from_mapping("test", REQUIRED | {"kubernetes": {"configFile": "/etc/kube/config"}})
    assert elsewhere.kubernetes.bucket_path is None


def test_tags_must_leave_room_for_the_workflow_tags():
    six = {f"tag-{i}": "x" for i in range(6)} | {"business-unit": "Platforms", "owner": "o"}
    assert len(StackConfig.from_mapping("test", REQUIRED | {"tags": six}).tags) == 8
    assert refusal(REQUIRED | {"tags": six | {"tag-6": "x"}}) == (
        "platform:tags: 7 tags besides business-unit and owner; at most 6 fit, since every workflow adds 4 of its "
        "own and an S3 object takes at most 10"
    )


def test_every_problem_is_reported_at_once():
    values = {k: v for k, v in REQUIRED.items() if k != "imageRegistry"}
    message = refusal(values | {"mwaBucket": "x", "secretRecoveryWindowDays": 0})
    assert message.splitlines() == [
        f"unknown stack config key(s) mwaBucket; known: {KNOWN}",
        "stack config for test is missing imageRegistry",
        "platform:secretRecoveryWindowDays: must be 7 to 30 days, not 0: removed secrets must stay recoverable",
    ]
