"""Workflows built as models (no manifest), and readers of the DAG source rendered for them.

Shared by the tests of ``workflows/dags/``: ``render`` derives the names as the plan does,
then renders, so each test sees exactly the source the stack deploys.
"""

from __future__ import annotations

import ast
import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from workflows.config import StackConfig
from workflows.dags.generate import render_dag
from workflows.model import Dag, DatasetSchedule, Notifications, Task, Workflow, frozen_map
from workflows.plan.naming import derive

TEXT = st.text(st.characters(exclude_categories=("Cs",)))  # YAML cannot hold lone surrogates


# A development workflow demo/job with one task; ``root`` is the folder its project folder is in.
DEFAULTS: dict[str, Any] = {
    "root": Path("/repo/environments/development"),
    "project": "demo",
    "name": "job",
    "repository": "moj-analytical-services/Demo_Repo",
    "tag": "v1.0.0",
    "tasks": (Task("main"),),
    "maintainers": ("octo-analyst",),
    "business_unit": "Platforms",
    "owner": "someone@justice.gov.uk",
}
_DAG_FIELDS = frozenset(f.name for f in dataclasses.fields(Dag))


def make(**fields: Any) -> Workflow:
    """:data:`DEFAULTS` with ``fields`` (any field of Workflow or of its Dag, and ``root``) in their place."""
    fields = DEFAULTS | fields
    dag = {k: fields.pop(k) for k in list(fields) if k in _DAG_FIELDS}
    path = Path(fields.pop("root")) / fields["project"] / fields["name"] / "workflow.yml"
    return Workflow(path=path, environment="development", dag=Dag(**(dag | {"tasks": tuple(dag["tasks"])})), **fields)


def rich(**changes: Any) -> Workflow:
    """A workflow using every optional feature, so every generated construct appears."""
    fields: dict[str, Any] = {
        "tasks": (
            Task("first", env_vars=frozen_map({"A": "1", "B": "2", "C": "3"}), inlets=("s3://b/in",)),
            Task("second", "gpu-spot-4vcpu-16gb", dependencies=("first",), hmcts_sdp_networking=True),
            Task("third", dependencies=("first", "second"), outlets=("s3://b/out",)),
        ),
        "schedule": DatasetSchedule(("s3://b/in",)),
        "end_date": date(2026, 1, 1),
        "params": frozen_map({"p": "v"}),
        "secrets": ("api-key",),
        "notifications": Notifications(("a@justice.gov.uk",), "alerts", ("failure", "success")),
    }
    return make(**(fields | changes))


PYTHON_DAG = '''\
"""PLACEHOLDER_PROJECT docstring."""
from airflow.models import DAG  # PLACEHOLDER_OWNER
NAME = "PLACEHOLDER_REPOSITORY_NAME"
TAG = 'PLACEHOLDER_REPOSITORY_TAG'
TRIPLE = """PLACEHOLDER_REPOSITORY_TAG"""
F = f"{NAME}:PLACEHOLDER_REPOSITORY_TAG"
B = b"PLACEHOLDER_OWNER"
OWNER = "PLACEHOLDER_OWNER"
ENV = "PLACEHOLDER_ENVIRONMENT"
IDS = "PLACEHOLDER_PROJECT.PLACEHOLDER_WORKFLOW"
PLACEHOLDER_PROJECT = "an identifier is left alone"
LONGER = "PLACEHOLDER_PROJECTS"
'''


def python_workflow(source: str | None = PYTHON_DAG, **changes: Any) -> Workflow:
    return make(python_dag=True, python_dag_source=source, **changes)


def render(workflow: Workflow, config: StackConfig) -> str:
    """The DAG file the stack deploys for ``workflow`` (as ``plan`` renders it)."""
    return render_dag(workflow, derive(workflow, config))


def call_kwargs(source: str, func: str) -> list[dict[str, ast.expr]]:
    """Keyword arguments of every call of ``func`` in ``source``."""
    return [
        {k.arg: k.value for k in node.keywords if k.arg}
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and ast.unparse(node.func) == func
    ]


def vocabulary(source: str) -> set[str]:
    """Every name, attribute, keyword, import and statement kind in the code: what a value must not add to."""
    words: set[str] = set()
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            words.add(f"name:{node.id}")
        elif isinstance(node, ast.Attribute):
            words.add(f"attr:{node.attr}")
        elif isinstance(node, ast.keyword):
            words.add(f"kw:{node.arg}")
        elif isinstance(node, ast.alias):
            words.add(f"import:{node.name}")
        elif isinstance(node, ast.Constant):
            assert node.value is None or isinstance(node.value, str | int | bool), node.value
        elif isinstance(node, ast.stmt):
            words.add(f"stmt:{type(node).__name__}")
    return words


def imports(source: str) -> set[str]:
    """Modules named by ``import`` statements."""
    return {a.name for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Import) for a in n.names}
