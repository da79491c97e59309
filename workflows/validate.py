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

A project's ``project.yml`` (its shared secrets, :mod:`workflows.manifest.project`) is
checked by :func:`check_project`, with the ids its workflows list in ``shared_secrets``;
each workflow is checked against its project's file. :func:`load_stack` loads an
environment's projects and workflows and plans the projects' shared secrets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from workflows.config import StackConfig
from workflows.errors import ManifestError, Problem, errors, escape_unprintable
from workflows.manifest.build import build, build_project
from workflows.manifest.discovery import (
    MANIFEST_NAME,
    discover,
    discover_projects,
    link_problem,
    location,
    project_manifest,
    read_python_dag,
)
from workflows.manifest.load import NodePath, Positions, load
from workflows.manifest.project import project_location_problems, shared_secret_problems, undeclared_uses
from workflows.manifest.rules import bound_problems, document_problems, location_problems
from workflows.manifest.schema import PROJECT_SCHEMA_PATH, schema_problems
from workflows.model import Project
from workflows.plan.limits import limit_problems, name_clashes, project_limit_problems, shared_secret_clashes
from workflows.plan.project_plan import ProjectPlan, plan_project
from workflows.plan.workflow_plan import WorkflowPlan, plan


@dataclass(frozen=True)
class ProjectFile:
    """A project's ``project.yml`` as its workflows are checked against it."""

    path: Path
    project: Project | None  # None: the file has errors of its own


@dataclass(frozen=True)
class StackPlan:
    """Everything one environment's manifests declare: a plan per workflow, and per project with a
    ``project.yml`` the plan of its shared secrets."""

    workflows: list[WorkflowPlan]
    projects: list[ProjectPlan]


_UNREAD: Any = object()  # check_workflow's ``project`` when the caller has not read it: read it then


def load_workflow(path: Path, config: StackConfig, text: str | None = None) -> WorkflowPlan:
    """Load, validate and plan one manifest. Raises :class:`ManifestError` with every error (warnings
    do not stop it: :func:`check_workflow` returns them)."""
    result, problems = check_workflow(path, config, text)
    if result is None:
        raise ManifestError(errors(problems) or problems)
    return result


def check_workflow(
    path: Path, config: StackConfig, text: str | None = None, project: ProjectFile | None = _UNREAD
) -> tuple[WorkflowPlan | None, list[Problem]]:
    """One manifest's plan (None when it has an error) and every problem of it, errors and warnings.
    ``project``: its project's ``project.yml`` (None: there is none), read from beside the workflow's
    folder when not given."""
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
    if project is _UNREAD:
        project = read_project(path, config)
    problems, result = check(data, positions, config, python_dag_source, project)
    problems = sorted({_one_line(p) for p in problems})
    return (None if errors(problems) else result), problems


def read_project(manifest: Path, config: StackConfig) -> ProjectFile | None:
    """The ``project.yml`` of the project the workflow manifest ``manifest`` is in, or None when there is none."""
    path = project_manifest(manifest)
    if not (path.is_file() or path.is_symlink()):
        return None
    # The file's own model only: whether other workflows still use what it removed is its own check.
    return ProjectFile(path, _project_file(path, config)[0])


def check_project(path: Path, config: StackConfig, text: str | None = None) -> tuple[Project | None, list[Problem]]:
    """A project's ``project.yml``: its model (None when the file itself has an error) and every problem of it,
    including a shared secret that a workflow of the project still lists but the file no longer declares (an
    error that stops a deploy, but not one of the file's own: the workflows are still checked against it)."""
    project, problems, positions = _project_file(path, config, text)
    if project is not None and positions is not None:
        problems.extend(undeclared_uses(project, positions, shared_secret_uses(path.parent)))
    return project, sorted({_one_line(p) for p in problems})


def _project_file(
    path: Path, config: StackConfig, text: str | None = None
) -> tuple[Project | None, list[Problem], Positions | None]:
    """The file's own model (None when it has an error), its own problems, and where its nodes are."""
    if text is None and (refused := link_problem(path)) is not None:
        return None, [Problem(path, 1, 1, refused)], None
    try:
        data, positions = load(path, text)
    except ManifestError as error:
        return None, [_one_line(p) for p in error.problems], None
    problems = [*positions.problems, *project_location_problems(path, positions, config)]
    if data is None:
        problems.append(
            positions.problem((), "the project file is empty: it needs secrets (the shared ids) and maintainers")
        )
    elif not (too_much := bound_problems(data, positions)):
        problems.extend(schema_problems(data, positions, PROJECT_SCHEMA_PATH)[0])
    else:
        problems.extend(too_much)
    project = None if errors(problems) else build_project(data, path)
    if project is not None:
        for where, message in project_limit_problems(project, config):
            problems.append(positions.problem(_node(where), message))
        project = None if errors(problems) else project
    return project, problems, positions


def shared_secret_uses(project_folder: Path) -> dict[str, list[str]]:
    """The ids each workflow of the project lists in ``shared_secrets``, as written (a workflow with other
    problems counts too: its uses are what keep a shared secret). Read through no symbolic link."""
    uses: dict[str, list[str]] = {}
    for folder in sorted(project_folder.iterdir()) if project_folder.is_dir() else ():
        manifest = folder / MANIFEST_NAME
        if folder.is_symlink() or not manifest.is_file() or link_problem(manifest) is not None:
            continue
        try:
            data, _ = load(manifest)
        except ManifestError:
            continue
        listed = data.get("shared_secrets") if isinstance(data, dict) else None
        if isinstance(listed, list) and listed:
            uses[folder.name] = [s for s in listed if isinstance(s, str)]
    return uses


def _one_line(problem: Problem) -> Problem:
    """The problem with anything unprintable in its message (a key's newline) escaped: one problem, one line."""
    if problem.message.isprintable():
        return problem
    return replace(problem, message=escape_unprintable(problem.message), key=escape_unprintable(problem.key))


def load_all(
    paths: Iterable[Path],
    config: StackConfig,
    warn: Callable[[Problem], None] | None = None,
    projects: Callable[[Path], ProjectFile | None] | None = None,
) -> list[WorkflowPlan]:
    """Load and plan every manifest; raise one :class:`ManifestError` with the errors of all of them.
    Warnings never stop it: each is handed to ``warn`` when given (the program logs them). ``projects``
    gives a manifest's project file when the caller has read them (else each is read beside it)."""
    plans: list[WorkflowPlan] = []
    problems: list[Problem] = []
    for path in paths:
        result, found = check_workflow(path, config, project=_UNREAD if projects is None else projects(path))
        problems.extend(_errors_warning(found, warn))
        if result is not None:
            plans.append(result)
    problems.extend(name_clashes(plans))
    if problems:
        raise ManifestError(problems)
    return plans


def _errors_warning(found: list[Problem], warn: Callable[[Problem], None] | None) -> list[Problem]:
    """The errors of ``found``; each warning is handed to ``warn`` (when given)."""
    for problem in found if warn is not None else ():
        if not problem.is_error:
            warn(problem)
    return errors(found)


def load_stack(environments: Path, config: StackConfig, warn: Callable[[Problem], None] | None = None) -> StackPlan:
    """Every project file and workflow manifest of the stack's environment, checked together; one
    :class:`ManifestError` with the errors of all of them. Each project with a ``project.yml`` gets a plan
    of its shared secrets, naming the workflows that read each."""
    problems: list[Problem] = []
    files: dict[Path, ProjectFile] = {}
    for path in discover_projects(environments, config.environment):
        project, found = check_project(path, config)
        problems.extend(_errors_warning(found, warn))
        files[path] = ProjectFile(path, project)
    try:
        plans = load_all(
            discover(environments, config.environment),
            config,
            warn,
            projects=lambda manifest: files.get(project_manifest(manifest)),
        )
    except ManifestError as error:
        raise ManifestError([*problems, *error.problems]) from None
    if problems:
        raise ManifestError(problems)
    projects = [
        plan_project(file.project, [p for p in plans if p.workflow.project == file.project.name], config)
        for file in files.values()
        if file.project is not None
    ]
    problems = list(shared_secret_clashes(projects, plans))
    if problems:
        raise ManifestError(problems)
    return StackPlan(plans, projects)


def check(
    data: Any,
    positions: Positions,
    config: StackConfig,
    python_dag_source: str | None = None,
    project: ProjectFile | None = None,
) -> tuple[list[Problem], WorkflowPlan | None]:
    """Every problem of one loaded manifest (checked against its ``project``'s file, None: it has none),
    and its plan when it has none that stop planning."""
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
    problems.extend(
        shared_secret_problems(
            data,
            positions,
            location(positions.path)[2],
            project.path if project is not None else project_manifest(positions.path),
            project.project if project is not None else None,
            exists=project is not None,
        )
    )
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
        problems.append(positions.problem(_node(where), message, key=where == "iam"))
    return problems, result


def _node(where: str) -> NodePath:
    """A limit problem's key (``secrets.0``) as a node path."""
    return tuple(int(p) if p.isdigit() else p for p in where.split(".")) if where else ()
