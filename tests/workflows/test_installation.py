"""The installation as plain data (workflows/installation.py): providers, cluster facts, placeholders."""

from __future__ import annotations

import base64
import json

import pytest

from tests.conftest import REPO
from tests.workflows.test_config import REQUIRED
from workflows import installation
from workflows.config import StackConfig, example_cluster_facts, stack_file
from workflows.dags.runtime import runtime_files
from workflows.errors import ConfigError
from workflows.installation import AwsProviderSpec, ClusterFacts, Placeholder
from workflows.model import ENVIRONMENTS

TAGS = {
    "application": "Analytical Platform",
    "business-unit": "Platforms",
    "component": "Airflow Service",
    "environment": "development",
    "infrastructure-support": "analytical-platform:analytical-platform@digital.justice.gov.uk",
    "is-production": "false",
    "owner": "analytical-platform:analytical-platform@digital.justice.gov.uk",
    "source-code": "github.com/ministryofjustice/analytical-platform-airflow/terraform",
}
PEM = (
    "-----BEGIN CERTIFICATE-----\nMIIC5zCCAc+gAwIBAgIBADANBgkqhkiG9w0BAQsFADAVMRMwEQYDVQQDEwprdWJl\n"
    "-----END CERTIFICATE-----\n"
)
REAL_FACTS = ClusterFacts(
    endpoint="https://4F1A2B3C4D5E6F708192A3B4C5D6E7F8.gr7.eu-west-2.eks.amazonaws.com",
    certificate_authority=base64.b64encode(PEM.encode()).decode(),
    oidc_issuer="https://oidc.eks.eu-west-2.amazonaws.com/id/4F1A2B3C4D5E6F708192A3B4C5D6E7F8",
)
# The values today's stack files held before this change (written out: they must stay refused).
OLD_ENDPOINT = "https://DEVELOPMENT0000000000000000000000000000.gr7.eu-west-2.eks.amazonaws.com"
OLD_CA = (
    "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCnJlcGxhY2Ugd2l0aCB0aGUgY2x1c3RlcidzIENBCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"
)


def stack(environment: str = "development") -> StackConfig:
    return StackConfig.from_stack_file(stack_file(REPO, environment))


# --------------------------------------------------------------------------- providers


def test_one_provider_per_account_written_to_and_none_for_the_replica_region():
    specs = installation.aws_providers(stack(), preview=False)
    assert specs == (
        AwsProviderSpec(
            name="data-account",
            account_id="593291632749",
            region="eu-west-2",
            role_arn="arn:aws:iam::593291632749:role/analytical-platform-airflow-deploy",
            session_name="analytical-platform-airflow-development-deploy",
            default_tags=TAGS,
        ),
        AwsProviderSpec(
            name="compute-account",
            account_id="381491960855",
            region="eu-west-2",
            role_arn="arn:aws:iam::381491960855:role/analytical-platform-airflow-deploy",
            session_name="analytical-platform-airflow-development-deploy",
            default_tags=TAGS,
        ),
        # Only to read the cluster facts, with the credentials CI runs with (no role named).
        AwsProviderSpec(
            name="common-account",
            account_id="509399598587",
            region="eu-west-2",
            role_arn=None,
            session_name="analytical-platform-airflow-development-deploy",
            default_tags=TAGS,
        ),
    )
    assert all(spec.region != "eu-west-1" for spec in specs)


def test_previews_assume_the_preview_roles():
    specs = {spec.name: spec for spec in installation.aws_providers(stack("production"), preview=True)}
    assert specs["data-account"].role_arn == "arn:aws:iam::593291632749:role/analytical-platform-airflow-preview"
    assert specs["compute-account"].role_arn == "arn:aws:iam::992382429243:role/analytical-platform-airflow-preview"
    assert {spec.session_name for spec in specs.values()} == {"analytical-platform-airflow-production-preview"}
    assert {spec.default_tags["is-production"] for spec in specs.values()} == {"true"}


def test_the_role_choice_comes_from_the_environment():
    assert installation.preview_roles({}) is False
    assert installation.preview_roles({"PLATFORM_ROLES": "deploy"}) is False
    assert installation.preview_roles({"PLATFORM_ROLES": "preview"}) is True
    with pytest.raises(ConfigError, match="expected deploy"):
        installation.preview_roles({"PLATFORM_ROLES": "Preview"})


def test_no_common_provider_when_the_facts_are_configured():
    config = StackConfig.from_mapping("test", REQUIRED)
    assert [spec.name for spec in installation.aws_providers(config, preview=False)] == [
        "data-account",
        "compute-account",
    ]


def test_session_names_fit_sts():
    for environment in ENVIRONMENTS:
        for preview in (False, True):
            name = installation.session_name(stack(environment), preview=preview)
            assert len(name) <= 64 and name.replace("-", "").isalnum()


# --------------------------------------------------------------------------- cluster facts


def test_facts_are_read_from_the_secret_under_the_configured_keys():
    config = stack("test")
    secret = json.dumps(
        {
            "analytical-platform-compute-test-api-endpoint": REAL_FACTS.endpoint,
            "analytical-platform-compute-test-certificate": REAL_FACTS.certificate_authority,
            "analytical-platform-compute-test-oidc-endpoint": REAL_FACTS.oidc_issuer,
            "analytical-platform-compute-production-api-endpoint": "https://elsewhere",
        }
    )
    assert installation.facts_from_secret(config.cluster, secret) == REAL_FACTS


def test_a_secret_without_a_key_says_which():
    config = stack("test")
    with pytest.raises(ConfigError) as caught:
        installation.facts_from_secret(
            config.cluster, json.dumps({"analytical-platform-compute-test-certificate": "x"})
        )
    assert str(caught.value) == (
        "the cluster facts secret analytical-platform-compute/cluster-data has no "
        "analytical-platform-compute-test-api-endpoint, analytical-platform-compute-test-oidc-endpoint "
        "(platform:cluster.factsSecret names the keys)"
    )
    with pytest.raises(ConfigError, match="does not hold a JSON object"):
        installation.facts_from_secret(config.cluster, "not json")


def test_the_kubeconfig_holds_no_credential_and_assumes_the_named_role():
    document = json.loads(
        installation.kubeconfig(
            "analytical-platform-compute-test", REAL_FACTS, "eu-west-2", role_arn="arn:aws:iam::767397661611:role/d"
        )
    )
    assert document["current-context"] == "analytical-platform-compute-test"
    (cluster,) = document["clusters"]
    assert cluster["cluster"] == {
        "server": REAL_FACTS.endpoint,
        "certificate-authority-data": REAL_FACTS.certificate_authority,
    }
    (user,) = document["users"]
    assert user["user"] == {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": [
                "--region",
                "eu-west-2",
                "eks",
                "get-token",
                "--cluster-name",
                "analytical-platform-compute-test",
                "--role-arn",
                "arn:aws:iam::767397661611:role/d",
            ],
            "interactiveMode": "Never",
        }
    }


def test_the_stack_writes_dags_kube_config_only_on_request():
    """The running service's dags/.kube/config is the cluster's own Terraform's."""
    for environment in ENVIRONMENTS:
        config = stack(environment)
        assert installation.mwaa_kubeconfig(config) is None
        assert ".kube/config" not in runtime_files(config)
        settings = json.loads(runtime_files(config)["analytical_platform/platform.json"])["kubernetes"]
        # The operator reads the existing file with its default context.
        assert settings["config_file"] == "/usr/local/airflow/dags/.kube/config"
        assert settings["cluster_context"] is None
    opted_in = StackConfig.from_mapping(
        "test",
        REQUIRED | {"kubernetes": {"configFile": "/usr/local/airflow/dags/.kube/config", "manageKubeconfig": True}},
    )
    document = json.loads(runtime_files(opted_in)[".kube/config"])
    assert document["clusters"][0]["cluster"]["server"] == "https://cluster.example"
    assert document["contexts"][0]["context"]["namespace"] == "mwaa"
    # MWAA's execution role gets the token: no role to assume in the file.
    assert "--role-arn" not in document["users"][0]["user"]["exec"]["args"]


# --------------------------------------------------------------------------- placeholders


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_stack_files_hold_no_placeholder(environment):
    config = stack(environment)
    assert installation.placeholders(config) == []
    assert installation.placeholders(config, REAL_FACTS) == []


@pytest.mark.parametrize(
    "value",
    [
        OLD_ENDPOINT,
        "arn:aws:iam::123456789012:role/x",
        "111111111111",
        "000000000000",
        "replace with the bucket",
        "REPLACE-ME",
        "<state-bucket>",
        "oidc.eks.eu-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
    ],
)
def test_placeholder_values(value):
    assert installation.placeholder_in(value) is not None


@pytest.mark.parametrize(
    "value",
    [
        "593291632749",
        "arn:aws:kms:eu-west-2:593291632749:alias/secretsmanager/airflow",
        "mojap-compute-production-mwaa",
        "10.168.4.13",
        "ghcr.io/ministryofjustice/analytical-platform-airflow-xcom-sidecar:1.2.0@sha256:"
        "88cd127188efa6ed9d6c21d87a0223bb3f223b39f3f4033945b1b8cd1084314f",
        REAL_FACTS.endpoint,
        REAL_FACTS.oidc_issuer,
    ],
)
def test_real_values(value):
    assert installation.placeholder_in(value) is None


def test_each_placeholder_is_named_by_its_key():
    config = StackConfig.from_mapping(
        "test",
        REQUIRED
        | {
            "accounts": REQUIRED["accounts"] | {"compute": {"id": "123456789012", "deployRole": "d"}},
            "cluster": {
                "name": "c",
                "endpoint": OLD_ENDPOINT,
                "certificateAuthority": OLD_CA,
                "oidcIssuer": "https://oidc.eks.eu-west-2.amazonaws.com/id/1972AFFBD0701A0D1FD291E34F7D1287",
            },
        },
    )
    found = installation.placeholders(config, installation.literal_facts(config.cluster))
    assert [(p.key, p.why) for p in found] == [
        ("platform:accounts.compute.id", "has the example account id 123456789012"),
        ("platform:cluster.endpoint", "is a run of zeros"),
        ("platform:cluster.certificateAuthority", "says 'replace with'"),
    ]
    message = installation.refusal(found)
    assert (
        message.splitlines()[1]
        == "  platform:accounts.compute.id: '123456789012' has the example account id 123456789012"
    )


def test_facts_from_the_secret_are_named_by_their_secret_key():
    config = stack("production")
    example = ClusterFacts(**example_cluster_facts(config.region))
    found = installation.placeholders(config, example)
    assert [p.key for p in found] == [
        f"analytical-platform-compute-production-{key} in secret analytical-platform-compute/cluster-data "
        "(platform:cluster.factsSecret)"
        for key in ("api-endpoint", "certificate", "oidc-endpoint")
    ]
    not_a_certificate = ClusterFacts(REAL_FACTS.endpoint, "bm90IGEgY2VydGlmaWNhdGU=", REAL_FACTS.oidc_issuer)
    assert [p.why for p in installation.placeholders(config, not_a_certificate)] == ["is not a base64 PEM certificate"]
    plain_http = ClusterFacts("http://4F1A.gr7.eu-west-2.eks.amazonaws.com", PEM, REAL_FACTS.oidc_issuer)
    assert "is not an https:// URL" in [p.why for p in installation.placeholders(config, plain_http)]


def test_a_placeholder_prints_its_key_and_a_short_value():
    assert str(Placeholder("platform:x", "a" * 100, "says 'example'")) == (
        f"platform:x: '{'a' * 57}...' says 'example'"
    )
