"""Shared fixtures: the repository's stack config, and a way to write manifests where they belong."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from workflows.config import StackConfig, stack_file

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus" / "environments"
EXAMPLES = REPO / "environments"

MINIMAL = """
dag:
  repository: moj-analytical-services/example
  tag: v1.0.0
maintainers: [octo-analyst]
tags:
  business_unit: Platforms
  owner: someone@justice.gov.uk
"""


def with_dag(extra: str) -> str:
    """MINIMAL with ``extra`` (dedented, then indented two spaces) added under ``dag:`` after line 3 (tag),
    so it starts on line 4."""
    lines = MINIMAL.strip("\n").split("\n")
    indented = textwrap.indent(textwrap.dedent(extra).strip("\n"), "  ").split("\n")
    return "\n".join([*lines[:3], *indented, *lines[3:]]) + "\n"


@pytest.fixture(scope="session")
def config() -> StackConfig:
    return StackConfig.from_stack_file(stack_file(REPO, "development"))


@pytest.fixture
def manifest(tmp_path: Path) -> Callable[..., Path]:
    """Write a manifest at ``<tmp>/environments/<env>/<project>/<workflow>/workflow.yml``."""

    def write(text: str = MINIMAL, project: str = "demo", workflow: str = "job", env: str = "development") -> Path:
        path = tmp_path / "environments" / env / project / workflow / "workflow.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return write
