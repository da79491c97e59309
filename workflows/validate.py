"""Manifest → validated plan, or every problem at once.

The passes over one file, all of whose problems are reported together:

1. YAML with positions and no duplicate keys (:mod:`workflows.manifest.load`);
2. the JSON Schema (:mod:`workflows.manifest.schema`);
3. rules the schema cannot express (:mod:`workflows.manifest.rules`);
4. the model (:mod:`workflows.manifest.build`) and its plan
   (:mod:`workflows.plan.workflow_plan`), whose names and documents are checked
   against their real limits (:mod:`workflows.plan.limits`).

Only a manifest with no problem becomes a plan. :func:`load_all` also checks that
no two workflows of a stack share a name.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from workflows.config import StackConfig
from workflows.errors import ManifestError, Problem, escape_unprintable
from workflows.manifest.build import build
from workflows.manifest.discovery import read_python_dag
from workflows.manifest.load import NodePath, Positions, load
from workflows.manifest.rules import document_problems, location_problems
from workflows.manifest.schema import schema_problems
from workflows.plan.limits import limit_problems, name_clashes
from workflows.plan.workflow_plan import WorkflowPlan, plan


def load_workflow(path: Path, config: StackConfig, text: str | None = None) -> WorkflowPlan:
    """Load, validate and plan one manifest. Raises :class:`ManifestError` with every problem."""
    try:
        data, positions = load(path, text)
    except ManifestError as error:
        raise ManifestError(map(_one_line, error.problems)) from None
    wants_dag_py = (
        isinstance(data, dict) and isinstance(data.get("dag"), dict) and data["dag"].get("python_dag") is True
    )
    problems, result = check(data, positions, config, read_python_dag(path) if wants_dag_py else None)
    if problems or result is None:
        raise ManifestError(map(_one_line, problems))
    return result


def _one_line(problem: Problem) -> Problem:
    """The problem with anything unprintable in its message (a key's newline) escaped: one problem, one line."""
    if problem.message.isprintable():
        return problem
    return Problem(problem.path, problem.line, problem.column, escape_unprintable(problem.message))


def load_all(paths: Iterable[Path], config: StackConfig) -> list[WorkflowPlan]:
    """Load and plan every manifest; raise one :class:`ManifestError` with the problems of all of them."""
    plans: list[WorkflowPlan] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            plans.append(load_workflow(path, config))
        except ManifestError as error:
            problems.extend(error.problems)
    problems.extend(name_clashes(plans))
    if problems:
        raise ManifestError(problems)
    return plans


def check(
    data: Any, positions: Positions, config: StackConfig, python_dag_source: str | None = None
) -> tuple[list[Problem], WorkflowPlan | None]:
    """Every problem of one loaded manifest, and its plan when it has none that stop planning."""
    problems = [*positions.problems, *location_problems(positions.path, positions, config)]
    placed = len(problems) == len(positions.problems)
    if data is None:
        problems.append(
            positions.problem(
                (), "the manifest is empty: it needs at least dag.repository, dag.tag, maintainers and tags"
            )
        )
        return problems, None
    found, schema_failed = schema_problems(data, positions)
    problems.extend(found)
    if not isinstance(data, dict):
        return problems, None
    problems.extend(document_problems(data, positions, has_dag_py=python_dag_source is not None))
    # Name limits and policy size need a whole, well-placed model: only then are they meaningful.
    if schema_failed or not placed or (data["dag"].get("python_dag") is True and python_dag_source is None):
        return problems, None
    try:
        # The workflow's own dag.py is deployed with its placeholders filled in: one that cannot be
        # (not Python, a placeholder where no value fits) fails here, not half way through a deploy.
        result = plan(build(data, positions.path, python_dag_source), config)
    except ManifestError as error:
        return [*problems, *error.problems], None
    for where, message in limit_problems(result):
        node: NodePath = tuple(int(p) if p.isdigit() else p for p in where.split(".")) if where else ()
        problems.append(positions.problem(node, message, key=where == "iam"))
    return problems, result
