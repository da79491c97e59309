"""The program (shell/program.py) as ``pulumi up`` runs it.

It reads its stack config through Pulumi exactly as the CLI reads the stack file, reads the
cluster facts at plan time, and refuses any placeholder value, naming its key.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest

from shell import offline
from shell.offline import pulumi_config
from shell.program import deploy, stack_config
from tests.conftest import MINIMAL, REPO
from tests.workflows import test_installation
from workflows.config import StackConfig, example_cluster_facts, stack_file
from workflows.errors import ConfigError
from workflows.model import ENVIRONMENTS


@pytest.fixture
def engine_config():
    def use(values: dict[str, str]) -> None:
        pulumi.runtime.set_all_config(values)

    yield use
    pulumi.runtime.set_all_config({})


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_program_and_cli_read_the_same_config(engine_config, environment):
    path = stack_file(REPO, environment)
    engine_config(pulumi_config(path))
    assert stack_config(environment) == StackConfig.from_stack_file(path)


def test_a_misspelt_key_fails_the_program(engine_config):
    engine_config(pulumi_config(stack_file(REPO, "development")) | {"platform:mwaBucket": "oops"})
    with pytest.raises(ConfigError, match="mwaBucket"):
        stack_config("development")


# --------------------------------------------------------------------------- the path `pulumi up` runs

# A run of the program as the engine runs it: deploy() with no offline flag (as __main__.py calls it),
# under a resource monitor that records registrations and answers the cluster facts' secret.
EXAMPLE_FACTS = example_cluster_facts("eu-west-2")
REAL_FACTS = dataclasses.asdict(test_installation.REAL_FACTS)
KEYS = {
    "endpoint": "analytical-platform-compute-development-api-endpoint",
    "certificate_authority": "analytical-platform-compute-development-certificate",
    "oidc_issuer": "analytical-platform-compute-development-oidc-endpoint",
}


class _ClusterSecret(offline._Mocks):
    """Providers as the offline runner answers them, but the cluster facts secret holds ``facts``."""

    def __init__(self, config: StackConfig, facts: dict[str, str]) -> None:
        super().__init__(config)
        self.facts = facts

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "aws:secretsmanager/getSecretVersion:getSecretVersion":
            secret = {KEYS[name]: value for name, value in self.facts.items()}
            return {"secretString": json.dumps(secret)}, []
        return {}, []


def run_as_the_engine(
    entry: Callable[[], Any], facts: dict[str, str], overrides: dict[str, str] | None = None
) -> list[offline.Registration]:
    path = stack_file(REPO, "development")
    values = pulumi_config(path) | (overrides or {})
    pulumi.runtime.set_all_config(values)
    mocks = _ClusterSecret(StackConfig.from_stack_file(path), facts)
    monitor = offline._RecordingMonitor(mocks)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        # Note: no offline flag anywhere — this is the program `pulumi up` runs.
        pulumi.runtime.set_mocks(mocks, project="analytical-platform-airflow", stack="development", monitor=monitor)
        loop.run_until_complete(pulumi.runtime.stack.run_pulumi_func(entry))
    except pulumi.RunError as error:
        raise Refused(str(error), monitor.registrations) from None
    finally:
        pulumi.runtime.settings.reset_options()
        pulumi.runtime.set_all_config({})
        loop.close()
        asyncio.set_event_loop(None)
    return monitor.registrations


class Refused(Exception):
    def __init__(self, message: str, registrations: list[offline.Registration]) -> None:
        super().__init__(message)
        self.registrations = registrations


@pytest.fixture
def environments(manifest) -> Path:
    return manifest(MINIMAL + "secrets: [api-key]\n").parents[3]


def test_a_deploy_with_real_facts_plans_the_irsa_trust_with_the_secrets_issuer(environments):
    registrations = run_as_the_engine(lambda: deploy(environments), REAL_FACTS)
    (role,) = [r for r in registrations if r.type == "aws:iam/role:Role"]
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    issuer = "oidc.eks.eu-west-2.amazonaws.com/id/4F1A2B3C4D5E6F708192A3B4C5D6E7F8"
    assert statement["Principal"] == {"Federated": f"arn:aws:iam::593291632749:oidc-provider/{issuer}"}
    assert f"{issuer}:sub" in statement["Condition"]["StringEquals"]
    (cluster,) = [r for r in registrations if r.type == "pulumi:providers:kubernetes"]
    kubeconfig = json.loads(cluster.inputs["kubeconfig"])
    assert kubeconfig["clusters"][0]["cluster"]["server"] == REAL_FACTS["endpoint"]


def test_a_deploy_refuses_example_cluster_facts_naming_their_keys(environments):
    with pytest.raises(Refused) as refused:
        run_as_the_engine(lambda: deploy(environments), EXAMPLE_FACTS)
    message = str(refused.value)
    assert message.startswith("the stack was not changed:\nplaceholder values")
    for key in KEYS.values():
        assert f"{key} in secret analytical-platform-compute/cluster-data (platform:cluster.factsSecret)" in message
    # Nothing but the provider the facts are read through was registered: no resource at all.
    assert [r.name for r in refused.value.registrations] == ["common-account"]


@pytest.mark.parametrize(
    ("override", "key"),
    [
        (
            {
                "platform:accounts": json.dumps(
                    {
                        "data": {"id": "593291632749", "deployRole": "analytical-platform-infrastructure-access"},
                        "compute": {"id": "123456789012", "deployRole": "analytical-platform-airflow-deploy"},
                        "common": {"id": "509399598587"},
                    }
                )
            },
            "platform:accounts.compute.id: '123456789012' has the example account id 123456789012",
        ),
        (
            # A bucket name (the platform buckets must list it, and hold bucket names only).
            {
                "platform:mwaaBucket": "replace-me-mwaa-bucket",
                "platform:platformBuckets": json.dumps(["replace-me-mwaa-bucket"]),
            },
            "platform:mwaaBucket: 'replace-me-mwaa-bucket' says 'replace-me'",
        ),
        (
            # Today's stack files before this change: the cluster facts as values, endpoint and CA placeholders.
            {
                "platform:cluster": json.dumps(
                    {
                        "name": "analytical-platform-compute-development",
                        "endpoint": "https://DEVELOPMENT0000000000000000000000000000.gr7.eu-west-2.eks.amazonaws.com",
                        "certificateAuthority": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCnJlcGxhY2Ugd2l0aCB0aGUgY2x1c3"
                        "RlcidzIENBCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K",
                        "oidcIssuer": "oidc.eks.eu-west-2.amazonaws.com/id/1972AFFBD0701A0D1FD291E34F7D1287",
                    }
                )
            },
            "platform:cluster.endpoint: 'https://DEVELOPMENT000",
        ),
    ],
    ids=["example account id", "replace with", "zeros endpoint"],
)
def test_a_deploy_refuses_placeholder_config_before_registering_anything(environments, override, key):
    with pytest.raises(Refused) as refused:
        run_as_the_engine(lambda: deploy(environments), REAL_FACTS, override)
    assert key in str(refused.value)
    assert refused.value.registrations == []


def test_pulumi_up_runs_the_refusal_too(environments, monkeypatch):
    """``__main__.py`` is what the engine runs: it must not tell the program it runs offline."""
    monkeypatch.chdir(environments.parent)
    with pytest.raises(Refused, match="analytical-platform-compute-development-api-endpoint in secret"):
        run_as_the_engine(lambda: runpy.run_path(str(REPO / "__main__.py")), EXAMPLE_FACTS)
    registrations = run_as_the_engine(lambda: runpy.run_path(str(REPO / "__main__.py")), REAL_FACTS)
    assert any(r.type == "aws:iam/role:Role" for r in registrations)


def test_offline_the_same_examples_are_used_and_reported(environments):
    rendered = offline.render_stack("development", environments, REPO)
    assert [e.key.split(" ")[0] for e in rendered.examples] == list(KEYS.values())
    assert any(r.type == "aws:iam/role:Role" for r in rendered.registrations)
