"""Every resource names its provider: the account (and cluster) it lands in, never a default provider."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from shell.offline import ProgramFailed, Registration, render_stack
from tests.conftest import EXAMPLES, REPO
from workflows.model import ENVIRONMENTS

DATA, COMPUTE, COMMON, CLUSTER = "data-account", "compute-account", "common-account", "compute-cluster"
# Which provider each type goes through (written out: the account a reviewer expects it in).
PROVIDER_OF = {
    "aws:iam/role:Role": DATA,
    "aws:iam/policy:Policy": DATA,
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive": DATA,
    "aws:secretsmanager/secret:Secret": DATA,
    "aws:s3/bucketObjectv2:BucketObjectv2": COMPUTE,
    "kubernetes:core/v1:ServiceAccount": CLUSTER,
    "kubernetes:external-secrets.io/v1:ExternalSecret": CLUSTER,
}
COMPUTE_ACCOUNTS = {"development": "381491960855", "test": "767397661611", "production": "992382429243"}
TAGS = {
    "application": "Analytical Platform",
    "business-unit": "Platforms",
    "component": "Airflow Service",
    "infrastructure-support": "analytical-platform:analytical-platform@digital.justice.gov.uk",
    "owner": "analytical-platform:analytical-platform@digital.justice.gov.uk",
    "source-code": "github.com/ministryofjustice/analytical-platform-airflow/terraform",
}


@pytest.fixture(scope="module")
def examples(tmp_path_factory) -> Path:
    """The development examples, placed in every stack."""
    root = tmp_path_factory.mktemp("providers") / "environments"
    for stack in ENVIRONMENTS:
        shutil.copytree(EXAMPLES / "development", root / stack)
    return root


def providers(registrations: list[Registration]) -> dict[str, Registration]:
    return {r.name: r for r in registrations if r.type.startswith("pulumi:providers:")}


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_each_resource_goes_through_its_accounts_provider(examples, stack):
    rendered = render_stack(stack, examples, REPO)
    custom = [r for r in rendered.registrations if r.custom and not r.type.startswith("pulumi:providers:")]
    assert {r.type for r in custom} == set(PROVIDER_OF)  # the examples use every type
    for registration in custom:
        assert registration.provider == PROVIDER_OF[registration.type], (registration.type, registration.name)
    # Components name no provider (each child names its own), and neither do providers.
    assert all(r.provider is None for r in rendered.registrations if not r.custom or r.type.startswith("pulumi:"))


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_no_aws_or_kubernetes_resource_uses_a_default_provider(examples, stack):
    """A resource registered without a provider would go through the default provider: the ambient
    credentials' account, whatever it is. The stack files also make the engine refuse one."""
    rendered = render_stack(stack, examples, REPO)
    defaulted = [
        (r.type, r.name)
        for r in rendered.registrations
        if r.custom and r.type.split(":")[0] in ("aws", "kubernetes") and r.provider is None
    ]
    assert defaulted == []
    assert set(providers(rendered.registrations)) == {DATA, COMPUTE, COMMON, CLUSTER}
    config = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())["config"]
    assert config["pulumi:disable-default-providers"] == ["*"]


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_aws_providers_assume_the_accounts_roles_and_tag_as_the_running_service(examples, stack):
    found = providers(render_stack(stack, examples, REPO).registrations)
    tags = TAGS | {"environment": stack, "is-production": str(stack == "production").lower()}
    session = f"analytical-platform-airflow-{stack}-deploy"
    expected = {
        DATA: ("593291632749", "arn:aws:iam::593291632749:role/analytical-platform-airflow-deploy"),
        COMPUTE: (
            COMPUTE_ACCOUNTS[stack],
            f"arn:aws:iam::{COMPUTE_ACCOUNTS[stack]}:role/analytical-platform-airflow-deploy",
        ),
    }
    for name, (account, role) in expected.items():
        inputs = found[name].inputs
        assert found[name].type == "pulumi:providers:aws"
        assert inputs["region"] == "eu-west-2"
        # Provider inputs reach the engine JSON-encoded.
        assert json.loads(inputs["assumeRoles"]) == [{"roleArn": role, "sessionName": session}]
        assert json.loads(inputs["allowedAccountIds"]) == [account]
        assert json.loads(inputs["defaultTags"]) == {"tags": tags}
    # A deploy's preview phase assumes the same roles as its update: the ones its state records.
    assert "deploy" in json.loads(found[DATA].inputs["assumeRoles"])[0]["sessionName"]
    # The common account: read with the credentials CI runs with, which must be the common account's.
    common = found[COMMON].inputs
    assert "assumeRoles" not in common
    assert json.loads(common["allowedAccountIds"]) == ["509399598587"]
    # No provider in the replica region: the secrets' replicas are made by the primary secret.
    assert all(r.inputs.get("region") == "eu-west-2" for r in found.values() if r.type == "pulumi:providers:aws")


def test_pull_request_previews_assume_the_read_only_roles(examples, monkeypatch):
    """The pull request preview job sets PLATFORM_ROLES=preview (.github/workflows/pull-request.yml)."""
    monkeypatch.setenv("PLATFORM_ROLES", "preview")
    found = providers(render_stack("test", examples, REPO).registrations)
    assert json.loads(found[DATA].inputs["assumeRoles"]) == [
        {
            "roleArn": "arn:aws:iam::593291632749:role/analytical-platform-airflow-preview",
            "sessionName": "analytical-platform-airflow-test-preview",
        }
    ]
    kubeconfig = json.loads(found[CLUSTER].inputs["kubeconfig"])
    assert kubeconfig["users"][0]["user"]["exec"]["args"][-2:] == [
        "--role-arn",
        "arn:aws:iam::767397661611:role/analytical-platform-airflow-preview",
    ]


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_the_kubernetes_provider_is_built_from_the_cluster_facts(examples, stack):
    rendered = render_stack(stack, examples, REPO)
    cluster = providers(rendered.registrations)[CLUSTER]
    assert cluster.type == "pulumi:providers:kubernetes"
    kubeconfig = json.loads(cluster.inputs["kubeconfig"])
    name = f"analytical-platform-compute-{stack}"
    assert kubeconfig["current-context"] == name
    # Offline, the facts are the example ones (a deploy refuses them), read from the facts secret.
    assert kubeconfig["clusters"][0]["cluster"]["server"] == (
        "https://EXAMPLED539D4633E53DE1B71EXAMPLE.gr7.eu-west-2.eks.amazonaws.com"
    )
    assert kubeconfig["users"][0]["user"]["exec"]["args"] == [
        "--region",
        "eu-west-2",
        "eks",
        "get-token",
        "--cluster-name",
        name,
        "--role-arn",
        f"arn:aws:iam::{COMPUTE_ACCOUNTS[stack]}:role/analytical-platform-airflow-deploy",
    ]
    # The facts are read through the common account's provider, from the secret the cluster's Terraform writes.
    (invoke,) = rendered.invokes
    assert invoke.token == "aws:secretsmanager/getSecretVersion:getSecretVersion"
    assert invoke.args == {"secretId": "analytical-platform-compute/cluster-data"}
    assert invoke.provider == COMMON
    assert [e.key.split(" ")[0] for e in rendered.examples] == [
        f"{name}-api-endpoint",
        f"{name}-certificate",
        f"{name}-oidc-endpoint",
    ]


def test_resources_json_names_each_registrations_provider(examples, tmp_path, capsys):
    from shell.cli import main

    out = tmp_path / "out"
    assert main(["render", "--stack", "development", "--environments", str(examples), "--out", str(out)]) == 0
    written = json.loads((out / "resources.json").read_text())
    assert all("provider" in r for r in written)
    assert {r["provider"] for r in written if r["type"] == "aws:iam/role:Role"} == {DATA}
    names = {r["name"] for r in written if r["type"].startswith("pulumi:providers:")}
    assert names == {DATA, COMPUTE, COMMON, CLUSTER}
    printed = capsys.readouterr().out
    assert "used example values (offline only: `pulumi up` refuses them" in printed
    assert (
        "analytical-platform-compute-development-api-endpoint in secret analytical-platform-compute/cluster-data"
        in (printed)
    )


def test_an_unknown_role_choice_is_refused(examples, monkeypatch):
    monkeypatch.setenv("PLATFORM_ROLES", "admin")
    with pytest.raises(ProgramFailed, match="PLATFORM_ROLES='admin': expected deploy"):
        render_stack("test", examples, REPO)


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_default_and_own_tags_fit_an_s3_object_and_the_resources_win(examples, stack):
    """S3 objects take at most 10 tags: the provider's default tags and the object's own, together."""
    rendered = render_stack(stack, examples, REPO)
    found = providers(rendered.registrations)
    defaults = json.loads(found[COMPUTE].inputs["defaultTags"])["tags"]
    objects = [r for r in rendered.registrations if r.type == "aws:s3/bucketObjectv2:BucketObjectv2"]
    assert objects
    for registration in objects:
        assert len(set(defaults) | set(registration.inputs["tags"])) <= 10, registration.name
    # A workflow's own business unit and owner win over the platform's (the provider merges resource over default).
    (dag,) = [r for r in objects if r.name == "electronic-monitoring-data-store/load-case-notes"]
    assert (dag.inputs["tags"]["business-unit"], defaults["business-unit"]) == ("HMPPS", "Platforms")
    assert dag.inputs["tags"]["owner"] != defaults["owner"]
    # Every key of the running service's tags is on each resource.
    assert set(defaults) <= set(dag.inputs["tags"])
