"""Workflows built as models (no manifest) for the tests of ``workflows/plan/``.

``environments/development/<project>/<workflow>/workflow.yml``, one task, image ``org/repo:v1``,
maintainer ``octo``, business unit HMPPS: the values the expected names, tags and messages of these
tests are written for. Any field of Workflow or of its Dag may be given (see
:func:`tests.workflows.dags.factory.make`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.workflows.dags.factory import make
from workflows.model import Workflow

DEFAULTS: dict[str, Any] = {
    "root": Path("environments/development"),
    "repository": "org/repo",
    "tag": "v1",
    "maintainers": ("octo",),
    "business_unit": "HMPPS",
    "owner": "a@justice.gov.uk",
}


def workflow(project: str = "demo", name: str = "job", **fields: Any) -> Workflow:
    return make(**(DEFAULTS | {"project": project, "name": name} | fields))
