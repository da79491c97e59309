"""Stack config: every stack file loads; bad config is refused with a clear message."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import pytest

from tests.conftest import REPO
from workflows.config import (
    Account,
    Cluster,
    ClusterFactsSecret,
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

ACCOUNTS = {
    "data": {"id": "210000000001", "deployRole": "data-deploy"},
    "compute": {"id": "210000000002", "deployRole": "compute-deploy", "previewRole": "compute-preview"},
    "common": {"id": "210000000003"},
}
CLUSTER = {
    "name": "cluster",
    "endpoint": "https://cluster.example",
    "certificateAuthority": "Q0E=",
    "oidcIssuer": "https://oidc.example/id/X",
}
REQUIRED = {
    "region": "eu-west-2",
    "replicaRegion": "eu-west-1",
    "accounts": ACCOUNTS,
    "cluster": CLUSTER,
    "mwaaBucket": "bucket",
    "platformBuckets": ["bucket"],
    "imageRegistry": "registry",
    "secretsKmsKeyArn": "k1",
    "secretsReplicaKmsKeyArn": "k2",
    "kubernetes": {"connId": "kubernetes_eks"},
    "namespace": "mwaa",
    "dagsPrefix": "dags/",
    "allowedRepositoryOrganisations": ["ministryofjustice"],
    "allowedEmailDomains": ["justice.gov.uk"],
}

KNOWN = (
    "accounts, allowedEmailDomains, allowedRepositoryOrganisations, cluster, dagsPrefix, "
    "externalSecretRefreshInterval, extraPolicies, githubOrganisation, hmctsSdpNetworking, imageRegistry, "
    "kubernetes, maintainerUseridPattern, mwaaBucket, namespace, platformBuckets, projectAliases, region, "
    "replicaRegion, retainSecretsOnDelete, secretRecoveryWindowDays, secretStore, secretsKmsKeyArn, "
    "secretsReplicaKmsKeyArn, sharedPolicyPath, slackConnId, tags, taskEnv, xcomSidecarImage"
)
COMPUTE_ACCOUNTS = {"development": "381491960855", "test": "767397661611", "production": "992382429243"}


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
    # The accounts of the reference page; the data account has a deploy role of this stack's own.
    assert config.accounts.data == Account(
        id="593291632749",
        deploy_role="analytical-platform-airflow-deploy",
        preview_role="analytical-platform-airflow-preview",
    )
    assert config.accounts.compute == Account(
        id=COMPUTE_ACCOUNTS[environment],
        deploy_role="analytical-platform-airflow-deploy",
        preview_role="analytical-platform-airflow-preview",
    )
    assert config.accounts.common == Account(id="509399598587")
    assert config.account_id == "593291632749"
    # The cluster facts: read at plan time from the secret the cluster's own Terraform writes.
    assert config.cluster == Cluster(
        name=f"analytical-platform-compute-{environment}",
        facts_secret=ClusterFactsSecret(
            secret_id="analytical-platform-compute/cluster-data",
            endpoint_key=f"analytical-platform-compute-{environment}-api-endpoint",
            certificate_authority_key=f"analytical-platform-compute-{environment}-certificate",
            oidc_issuer_key=f"analytical-platform-compute-{environment}-oidc-endpoint",
        ),
    )
    assert config.mwaa_bucket == f"mojap-compute-{environment}-mwaa"
    # Every environment's MWAA bucket in every stack: no workflow of any stack may reach any of them.
    assert config.platform_buckets == (
        "mojap-compute-development-mwaa",
        "mojap-compute-test-mwaa",
        "mojap-compute-production-mwaa",
    )
    assert config.namespace == "mwaa"
    assert config.dags_prefix == "dags/"
    assert config.image_registry == "509399598587.dkr.ecr.eu-west-2.amazonaws.com"
    assert config.secrets_kms_key_arn == "arn:aws:kms:eu-west-2:593291632749:alias/secretsmanager/airflow"
    assert config.secrets_replica_kms_key_arn == "arn:aws:kms:eu-west-1:593291632749:alias/secretsmanager/airflow"
    assert config.secret_store == SecretStore(kind="SecretStore", name="analytical-platform-data-production")
    assert config.external_secret_refresh_interval == "5m"
    assert config.shared_policy_path == "airflow-service"
    # Project and workflow matched separately (issue 12): the live cadet workflows, and no other split.
    assert config.extra_policies == (
        ExtraPolicies(project="analytical-platform", workflow="cadet*", policies=("cadet",)),
    )
    assert dict(config.task_env) == {
        "AIRFLOW_ENVIRONMENT": environment.upper(),
        "AWS_ATHENA_QUERY_EXTRACT_REGION": "eu-west-1",
        "AWS_DEFAULT_EXTRACT_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_METADATA_SERVICE_NUM_ATTEMPTS": "5",
        "AWS_METADATA_SERVICE_TIMEOUT": "60",
    }
    assert dict(config.project_aliases) == {
        "electronic-monitoring-data-store": "emds",
        "electronic-monitoring-data-store-pp": "emds-pp",
    }
    # The operator reads the cluster's own kubeconfig with its default context; the stack does not write it.
    assert config.kubernetes == KubernetesConnection(config_file="/usr/local/airflow/dags/.kube/config")
    assert config.kubernetes.bucket_path is None
    assert config.hmcts_sdp_networking.host_aliases[0] == HostAlias(
        ip="10.168.4.13", hostnames=("mipersistentithc.blob.core.windows.net",)
    )
    assert config.slack_conn_id == "slack_api_default"
    assert config.secret_recovery_window_days == 30
    assert config.maintainer_userid_pattern == "*:{maintainer}"
    # The running service's provider default tags (reference page), in every stack.
    assert dict(config.tags) == {
        "application": "Analytical Platform",
        "business-unit": "Platforms",
        "component": "Airflow Service",
        "environment": environment,
        "infrastructure-support": "analytical-platform:analytical-platform@digital.justice.gov.uk",
        "is-production": str(environment == "production").lower(),
        "owner": "analytical-platform:analytical-platform@digital.justice.gov.uk",
        "source-code": "github.com/ministryofjustice/analytical-platform-airflow/terraform",
    }
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
    assert config.external_secret_refresh_interval == "5m"
    assert config.accounts.common.role_arn(preview=False) is None  # the program's own credentials
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
            # the engine JSON-decodes an unquoted account id
            "accounts": ACCOUNTS | {"data": {"id": 210000000004, "deployRole": "r"}},
            "taskEnv": {"AWS_METADATA_SERVICE_TIMEOUT": 60, "FLAG": True},
            "extraPolicies": [{"project": "p", "workflow": "*", "policies": [2024]}],
        },
    )
    assert config.secret_recovery_window_days == 7
    assert config.account_id == "210000000004"
    assert dict(config.task_env) == {"AWS_METADATA_SERVICE_TIMEOUT": "60", "FLAG": "True"}
    assert config.extra_policies == (ExtraPolicies(project="p", workflow="*", policies=("2024",)),)


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
    config = StackConfig.from_mapping(
        "test", REQUIRED | {"extraPolicies": [{"project": "a*", "workflow": "*", "policies": ["x"]}]}
    )
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
            "extraPolicies": [{"project": "x", "workflow": "y"}],
            "secretStore": {"kind": "ClusterSecretStore", "nmae": "store"},
            "kubernetes": {"connId": "x", "conId": "y"},
        }
    )
    assert message.splitlines() == [
        "platform:kubernetes.conId: unknown key; known: clusterContext, configFile, connId, manageKubeconfig",
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


def test_the_kubeconfig_in_the_bucket_is_managed_only_on_request():
    """dags/.kube/config belongs to the cluster's own Terraform: pointing at it writes nothing."""
    pointing = StackConfig.from_mapping(
        "test", REQUIRED | {"kubernetes": {"configFile": "/usr/local/airflow/dags/.kube/config"}}
    )
    assert pointing.kubernetes.bucket_path is None
    managed = StackConfig.from_mapping(
        "test",
        REQUIRED | {"kubernetes": {"configFile": "/usr/local/airflow/dags/.kube/config", "manageKubeconfig": True}},
    )
    assert managed.kubernetes.bucket_path == ".kube/config"
    assert refusal(REQUIRED | {"kubernetes": {"configFile": "/etc/kube/config", "manageKubeconfig": True}}) == (
        "platform:kubernetes: manageKubeconfig writes configFile into the MWAA bucket: configFile must be under "
        "/usr/local/airflow/dags/ and connId unset (got configFile /etc/kube/config, connId None)"
    )


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


# --------------------------------------------------------------------------- accounts and cluster


def test_roles_are_named_in_their_account_and_previews_assume_the_preview_role():
    config = StackConfig.from_mapping("test", REQUIRED)
    assert config.accounts.compute.role_arn(preview=False) == "arn:aws:iam::210000000002:role/compute-deploy"
    assert config.accounts.compute.role_arn(preview=True) == "arn:aws:iam::210000000002:role/compute-preview"
    # No preview role named: a preview assumes the deploy role (the preview credentials must be allowed to).
    assert config.accounts.data.role_arn(preview=True) == "arn:aws:iam::210000000001:role/data-deploy"
    pathed = StackConfig.from_mapping(
        "test", REQUIRED | {"accounts": ACCOUNTS | {"data": {"id": "210000000001", "deployRole": "ci/deploy"}}}
    )
    assert pathed.accounts.data.role_arn(preview=False) == "arn:aws:iam::210000000001:role/ci/deploy"


def test_accounts_are_checked():
    message = refusal(
        REQUIRED
        | {
            "accounts": {
                "data": {"id": "5932917", "deployRole": "arn:aws:iam::593291632749:role/x"},
                "compute": {"id": "210000000002"},
                "common": {"id": "210000000003"},
            }
        }
    )
    assert message.splitlines() == [
        "platform:accounts.data.id: must be a 12-digit AWS account id, not '5932917'",
        "platform:accounts.data.deployRole: must be a role name such as analytical-platform-airflow-deploy (the "
        "account is `id`), not 'arn:aws:iam::593291632749:role/x'",
    ]
    assert refusal(REQUIRED | {"accounts": ACCOUNTS | {"compute": {"id": "210000000002"}}}) == (
        "platform:accounts: the stack writes to the compute account(s): name the role it assumes there (deployRole)"
    )


def test_cluster_facts_come_from_one_source():
    secret = {
        "secretId": "s",
        "endpointKey": "e",
        "certificateAuthorityKey": "c",
        "oidcIssuerKey": "o",
    }
    from_secret = StackConfig.from_mapping("test", REQUIRED | {"cluster": {"name": "c", "factsSecret": secret}})
    assert from_secret.cluster.facts_secret == ClusterFactsSecret("s", "e", "c", "o")
    assert not from_secret.cluster.resolved
    # Until the program has read the secret, offline tools see the example issuer (a deploy refuses it).
    assert from_secret.oidc_provider == "oidc.eks.eu-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    resolved = from_secret.with_cluster_facts("https://e", "Q0E=", "https://oidc.eks.x/id/REAL")
    assert resolved.cluster == Cluster(
        name="c", endpoint="https://e", certificate_authority="Q0E=", oidc_issuer="https://oidc.eks.x/id/REAL"
    )
    assert resolved.cluster.resolved
    assert resolved.oidc_provider == "oidc.eks.x/id/REAL"
    expected = (
        "platform:cluster: set either factsSecret (read at plan time) or all of endpoint, certificateAuthority and "
        "oidcIssuer, not both"
    )
    assert refusal(REQUIRED | {"cluster": CLUSTER | {"factsSecret": secret}}) == expected
    assert refusal(REQUIRED | {"cluster": {"name": "c", "endpoint": "https://e"}}) == expected
    assert refusal(REQUIRED | {"cluster": {"name": "c", "factsSecret": secret | {"oidcKey": "x"}}}) == (
        "platform:cluster.factsSecret.oidcKey: unknown key; known: certificateAuthorityKey, endpointKey, "
        "oidcIssuerKey, secretId"
    )


@pytest.mark.parametrize("interval", ["5m", "1h", "1h30m", "30s"])
def test_refresh_intervals(interval):
    config = StackConfig.from_mapping("test", REQUIRED | {"externalSecretRefreshInterval": interval})
    assert config.external_secret_refresh_interval == interval


@pytest.mark.parametrize("interval", ["0", "0s", "5 minutes", "", "5"])
def test_refresh_intervals_that_are_no_duration(interval):
    assert refusal(REQUIRED | {"externalSecretRefreshInterval": interval}) == (
        f"platform:externalSecretRefreshInterval: must be a duration such as 5m or 1h (0 would never refresh), "
        f"not '{interval}'"
    )


# --------------------------------------------------------------------------- what manifests may name


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_stack_allows_todays_organisations_and_domain(environment):
    config = StackConfig.from_stack_file(stack_file(REPO, environment))
    assert config.allowed_repository_organisations == ("ministryofjustice", "moj-analytical-services")
    assert config.allowed_email_domains == ("justice.gov.uk",)


def test_the_allowed_lists_are_required_installation_facts():
    values = {k: v for k, v in REQUIRED.items() if not k.startswith("allowed")}
    assert refusal(values) == ("stack config for test is missing allowedRepositoryOrganisations, allowedEmailDomains")


@pytest.mark.parametrize("empty", [[], [""], ["justice.gov.uk", " "]])
def test_an_allowed_list_cannot_be_empty(empty):
    assert refusal(REQUIRED | {"allowedEmailDomains": empty}) == (
        "platform:allowedEmailDomains: must list at least one value, none of them empty"
    )


# --------------------------------------------------------------------------- platform buckets, extra policies


def test_the_platform_buckets_must_include_the_stacks_own_mwaa_bucket():
    message = refusal(REQUIRED | {"platformBuckets": ["other-bucket"]})
    assert message == (
        "platform:platformBuckets: must list this stack's own MWAA bucket (platform:mwaaBucket 'bucket'): "
        "no workflow may be granted access to it"
    )
    assert refusal(REQUIRED | {"platformBuckets": []}).startswith("platform:platformBuckets: must list this stack")
    values = {k: v for k, v in REQUIRED.items() if k != "platformBuckets"}
    assert refusal(values) == "stack config for test is missing platformBuckets"
    config = StackConfig.from_mapping("test", REQUIRED | {"platformBuckets": ["state", "bucket", "other"]})
    assert config.platform_buckets == ("state", "bucket", "other")


@pytest.mark.parametrize("bad", ["mojap-*", "*", "Bucket", "s3://bucket", "arn:aws:s3:::bucket", "b", ""])
def test_platform_buckets_are_bucket_names(bad):
    message = refusal(REQUIRED | {"platformBuckets": ["bucket", bad]})
    assert message == (
        "platform:platformBuckets: must list S3 bucket names (lower-case letters, digits, '.', '-'; no wildcard), "
        f"not {bad!r}"
    )


def test_replace_checks_the_platform_buckets_too():
    config = StackConfig.from_mapping("test", REQUIRED)
    with pytest.raises(ValueError, match="must list this stack's own MWAA bucket"):
        dataclasses.replace(config, mwaa_bucket="another")


def test_extra_policies_name_project_and_workflow_separately():
    cadet = {"project": "analytical-platform", "workflow": "cadet*", "policies": ["c"]}
    config = StackConfig.from_mapping("test", REQUIRED | {"extraPolicies": [cadet]})
    assert config.extra_policy_names("analytical-platform", "cadet-x") == ("c",)
    assert config.extra_policy_names("analytical", "platform-cadet-x") == ()
    assert config.extra_policy_names("analytical-platform-cadet", "x") == ()
    # The old shape, one pattern over "<project>-<workflow>", is refused: it could be met by another split.
    message = refusal(REQUIRED | {"extraPolicies": [{"pattern": "analytical-platform-cadet*", "policies": ["c"]}]})
    assert message.splitlines() == [
        "platform:extraPolicies[0].project: missing",
        "platform:extraPolicies[0].workflow: missing",
        "platform:extraPolicies[0].pattern: unknown key; known: policies, project, workflow",
    ]
