"""The program reads its stack config through Pulumi exactly as the CLI reads the stack file."""

from __future__ import annotations

import pulumi
import pytest

from shell.offline import pulumi_config
from shell.program import stack_config
from tests.conftest import REPO
from workflows.config import StackConfig, stack_file
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
