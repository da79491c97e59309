"""Manifest → validated plan, or every problem at once.

The passes over one file, all of whose problems are reported together:

1. YAML with positions and no duplicate keys (:mod:`workflows.manifest.load`);
2. the JSON Schema (:mod:`workflows.manifest.schema`);
3. rules the schema cannot express (:mod:`workflows.manifest.rules`);
4. the model (:mod:`workflows.manifest.build`) and its plan
   (:mod:`workflows.plan.workflow_plan`), whose names and documents are checked
   against their real limits (:mod:`workflows.plan.limits`).

Only a manifest with no error becomes a plan; warnings (a path that matches no
object, say) are reported in the same shape and never stop a plan, a render or a
deploy. :func:`load_all` also checks that no two workflows of a stack share a name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from workflows.config import StackConfig
from workflows.errors import ManifestError, Problem, errors, escape_unprintable
from workflows.manifest.build import build
from workflows.manifest.discovery import link_problem, read_python_dag
from workflows.manifest.load import NodePath, Positions, load
from workflows.manifest.rules import bound_problems, document_problems, location_problems
from workflows.manifest.schema import schema_problems
from workflows.plan.limits import limit_problems, name_clashes
from workflows.plan.workflow_plan import WorkflowPlan, plan


def load_workflow(path: Path, config: StackConfig, text: str | None = None) -> WorkflowPlan:
    """Load, validate and plan one manifest. Raises :class:`ManifestError` with every error (warnings
    do not stop it: :func:`check_workflow` returns them)."""
    result, problems = check_workflow(path, config, text)
    if result is None:
        raise ManifestError(errors(problems) or problems)
    return result


def check_workflow(
    path: Path, config: StackConfig, text: str | None = None
) -> tuple[WorkflowPlan | None, list[Problem]]:
    """One manifest's plan (None when it has an error) and every problem of it, errors and warnings."""
    if text is None and (refused := link_problem(path)) is not None:
        return None, [Problem(path, 1, 1, refused)]  # never read: it may be any file of this machine
    try:
        data, positions = load(path, text)
        wants_dag_py = (
            isinstance(data, dict) and isinstance(data.get("dag"), dict) and data["dag"].get("python_dag") is True
        )
        python_dag_source = read_python_dag(path) if wants_dag_py else None
    except ManifestError as error:
        return None, [_one_line(p) for p in error.problems]
    problems, result = check(data, positions, config, python_dag_source)
    problems = sorted({_one_line(p) for p in problems})
    return (None if errors(problems) else result), problems


def _one_line(problem: Problem) -> Problem:
    """The problem with anything unprintable in its message (a key's newline) escaped: one problem, one line."""
    if problem.message.isprintable():
        return problem
    return replace(problem, message=escape_unprintable(problem.message), key=escape_unprintable(problem.key))


def load_all(
    paths: Iterable[Path], config: StackConfig, warn: Callable[[Problem], None] | None = None
) -> list[WorkflowPlan]:
    """Load and plan every manifest; raise one :class:`ManifestError` with the errors of all of them.
    Warnings never stop it: each is handed to ``warn`` when given (the program logs them)."""
    plans: list[WorkflowPlan] = []
    problems: list[Problem] = []
    for path in paths:
        result, found = check_workflow(path, config)
        problems.extend(errors(found))
        if warn is not None:
            for problem in found:
                if not problem.is_error:
                    warn(problem)
        if result is not None:
            plans.append(result)
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
    too_much = bound_problems(data, positions)
    if too_much:  # nothing else is checked: its size must not make checking it slow
        return [*problems, *too_much], None
    found, schema_failed = schema_problems(data, positions)
    problems.extend(found)
    if not isinstance(data, dict):
        return problems, None
    problems.extend(document_problems(data, positions, config, has_dag_py=python_dag_source is not None))
    # Name limits and policy size need a whole, well-placed model: only then are they meaningful.
    # (Warnings do not stand in the way: the plan is what the stack declares.)
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
