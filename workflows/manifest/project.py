"""A project's own manifest, ``environments/<env>/<project>/project.yml``, and what it means for its workflows.

A project declares the secrets its workflows share (``secrets:``) and who sets their
values (``maintainers:``); a workflow reads one by listing its id in ``shared_secrets``.
Checked here, on documents as written (pure, no file is read):

- the project file's place and folder name (:func:`project_location_problems`);
- a workflow's ``shared_secrets`` against its project's file (:func:`shared_secret_problems`):
  every id must be declared there, and a project with a ``project.yml`` may not have a
  workflow folder called ``shared`` (its shared secrets' names take that place);
- a project file against the workflows that use it (:func:`undeclared_uses`): a shared
  secret may not be removed while a workflow still lists it, so it is never deleted in use.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from workflows.config import StackConfig
from workflows.errors import Problem
from workflows.manifest.discovery import PROJECT_MANIFEST_NAME, project_location
from workflows.manifest.load import Positions
from workflows.model import ENVIRONMENTS, Project
from workflows.runtime_modules import identity

_LAYOUT = f"environments/<environment>/<project>/{PROJECT_MANIFEST_NAME}"


def project_location_problems(path: Path, positions: Positions, config: StackConfig) -> Iterator[Problem]:
    """The project file is where the stack reads it, for this stack's environment."""
    environment, _ = project_location(path)
    if path.name != PROJECT_MANIFEST_NAME:
        yield positions.problem((), f"a project file must be called {PROJECT_MANIFEST_NAME}", code="invalid-location")
    if environment not in ENVIRONMENTS:
        yield positions.problem(
            (),
            f"a project file must live at {_LAYOUT} with environment one of {', '.join(ENVIRONMENTS)}; "
            f"'{environment}' is not",
            code="invalid-location",
        )
    elif environment != config.environment:
        yield positions.problem(
            (),
            f"this project file belongs to {environment} but was checked with the {config.environment} stack",
            code="invalid-location",
        )


def shared_secret_problems(
    data: Mapping[str, Any],
    positions: Positions,
    workflow: str,
    project_file: Path,
    project: Project | None,
    *,
    exists: bool,
) -> Iterator[Problem]:
    """A workflow manifest's problems with its project's file ``project_file``: ``exists`` says whether there
    is one; ``project`` is its model, None when it has errors of its own (reported for that file)."""
    if exists and workflow == identity.SHARED:
        yield positions.problem(
            (),
            f"the workflow folder name '{identity.SHARED}' is taken in a project with a {PROJECT_MANIFEST_NAME}: "
            f"the project's shared secrets are named /airflow/<environment>/<project>/{identity.SHARED}/<id>, "
            f"so a workflow called '{identity.SHARED}' could read them all: rename the workflow folder",
            code="reserved-name",
        )
    shared = data.get("shared_secrets")
    if not isinstance(shared, list) or not shared:
        return
    if not exists:
        yield positions.problem(
            ("shared_secrets",),
            f"shared_secrets needs the project to declare them, in {project_file} (secrets: the ids, maintainers: "
            "who sets their values), which does not exist: add it, or list the secrets under secrets instead",
            key=True,
            code="undeclared-shared-secret",
        )
        return
    if project is None:
        yield positions.problem(
            ("shared_secrets",),
            f"shared_secrets cannot be checked: {project_file} has errors (reported for that file): fix them first",
            key=True,
            code="undeclared-shared-secret",
        )
        return
    declared = list(project.secrets)
    for index, secret in enumerate(shared):
        if not isinstance(secret, str) or secret in declared:
            continue
        close = difflib.get_close_matches(secret, declared, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        yield positions.problem(
            ("shared_secrets", index),
            f"shared secret '{secret}' is not declared in {project_file} (it declares: {', '.join(declared)}): "
            f"{hint}add it to that file's secrets, or remove it here",
            code="undeclared-shared-secret",
        )


def undeclared_uses(project: Project, positions: Positions, uses: Mapping[str, Sequence[str]]) -> Iterator[Problem]:
    """The project file's problem with its workflows: ``uses`` maps each workflow of the project to the
    ids it lists in ``shared_secrets``. An id a workflow lists that the file does not declare (removed, or
    never added) is reported on ``secrets``, naming the workflows: a shared secret in use is never deleted."""
    users: dict[str, list[str]] = {}
    for workflow, ids in sorted(uses.items()):
        for secret in ids:
            if secret not in project.secrets:
                users.setdefault(secret, []).append(workflow)
    for secret, workflows in sorted(users.items()):
        yield positions.problem(
            ("secrets",),
            f"workflow(s) {', '.join(workflows)} read shared secret '{secret}' (their shared_secrets), which this "
            "file does not declare: declare it here, or take it out of their shared_secrets too, in the same pull "
            "request (a shared secret is never removed while workflows still read it)",
            key=True,
            code="shared-secret-in-use",
        )
