"""Manifest files: where they live, finding them, and reading a workflow's own ``dag.py``.

Layout: ``<environments>/<environment>/<project>/<workflow>/workflow.yml``, and for
``dag.python_dag`` workflows a ``dag.py`` beside it; a project that shares secrets
between its workflows has ``<environments>/<environment>/<project>/project.yml``.
Discovery is sorted, so everything downstream is deterministic.

A file that looks like a manifest but is not where the stack reads one
(``workflow.yaml``, ``Workflow.yml``, a ``workflow.yml`` one folder too high or too
deep, a ``project.yml`` anywhere but in a project folder) would silently deploy
nothing: :func:`discover` refuses the whole environment while one exists, and
``validate`` reports it, each saying where the file must go.

Nothing is read through a symbolic link: a ``workflow.yml`` or ``dag.py`` that is one,
or in a project or workflow folder that is one, could bring any file of the deploy
machine into a DAG or a manifest (and so into the MWAA bucket). :func:`link_problem`
says why such a file is refused; :func:`discover` refuses the environment while one
exists, ``validate`` and :func:`read_python_dag` refuse the file.
"""

from __future__ import annotations

import os
from pathlib import Path

from workflows.errors import ManifestError, Problem
from workflows.model import ENVIRONMENTS

MANIFEST_NAME = "workflow.yml"
# A project's own manifest (its shared secrets), one folder above its workflows'.
PROJECT_MANIFEST_NAME = "project.yml"
PYTHON_DAG_NAME = "dag.py"
# Folders between the environment folder and a manifest: <project>/<workflow>/.
_DEPTH = 2
_LAYOUT = f"<environment>/<project>/<workflow>/{MANIFEST_NAME}"
_PROJECT_DEPTH = 1
_PROJECT_LAYOUT = f"<environment>/<project>/{PROJECT_MANIFEST_NAME}"


def _parts(path: Path) -> tuple[str, ...]:
    """The parts of ``path``, made absolute (a relative path resolved) first."""
    return path.resolve().parts if not path.is_absolute() else path.parts


def _folders(path: Path, count: int) -> tuple[str, ...]:
    """The names of the ``count`` folders the file at ``path`` is in, outermost first (all "" when it has fewer)."""
    parts = _parts(path)
    return parts[-count - 1 : -1] if len(parts) > count else ("",) * count


def location(path: Path) -> tuple[str, str, str]:
    """``(environment, project, workflow)`` from ``…/<env>/<project>/<workflow>/workflow.yml``."""
    environment, project, workflow = _folders(path, 3)
    return environment, project, workflow


def project_location(path: Path) -> tuple[str, str]:
    """``(environment, project)`` from ``…/<env>/<project>/project.yml``."""
    environment, project = _folders(path, 2)
    return environment, project


def project_manifest(manifest: Path) -> Path:
    """The ``project.yml`` of the project a workflow manifest (``…/<project>/<workflow>/workflow.yml``) is in."""
    return manifest.parent.parent / PROJECT_MANIFEST_NAME


def _named_like(path: Path, stems: tuple[str, ...]) -> bool:
    """``<stem>.yml`` or ``<stem>.yaml`` in any case, for one of ``stems``."""
    stem, dot, suffix = path.name.lower().rpartition(".")
    return bool(dot) and stem in stems and suffix in ("yml", "yaml")


def is_project_manifest(path: Path) -> bool:
    """Named like a project's manifest (``project.yml``/``project.yaml`` in any case), not a workflow's."""
    return _named_like(path, ("project",))


def link_problem(path: Path) -> str | None:
    """Why ``path`` (a manifest or a workflow's ``dag.py``) must not be read, or None when it may: it is a
    symbolic link, a folder between it and the environments folder (workflow, project, environment) is one,
    or it resolves outside the environments folder (``…/<environments>/<env>/<project>/<workflow>/<file>``)."""
    path = Path(os.path.abspath(path))  # '..' resolved as written, links untouched
    places = [(path, path.name)]
    kinds = ("project", "environment") if path.name == PROJECT_MANIFEST_NAME else ("workflow", "project", "environment")
    for depth, kind in enumerate(kinds):
        if depth < len(path.parents) - 1:
            places.append((path.parents[depth], f"the {kind} folder {path.parents[depth].name}"))
    for place, what in places:
        if place.is_symlink():
            return (
                f"{what} is a symbolic link (to {os.readlink(place)}): the stack reads nothing through a link, "
                "only files in the repository: replace the link with the real file or folder"
            )
    up = len(kinds)
    environments = path.parents[up] if len(path.parents) > up + 1 else path.parent
    if not path.resolve().is_relative_to(environments.resolve()):
        return (
            f"{path.name} resolves to {path.resolve()}, outside {environments}: the stack reads only files "
            "in the repository's environments folder"
        )
    return None


def _refused(path: Path) -> list[Problem]:
    """A problem for a manifest or ``dag.py`` that is (or is reached through) a link, else none."""
    reason = link_problem(path)
    return [] if reason is None else [Problem(path, 1, 1, reason)]


def looks_like_manifest(path: Path) -> bool:
    """A file someone meant as a manifest: ``workflow.yml``/``project.yml`` (or ``.yaml``) in any case."""
    return _named_like(path, ("workflow", "project"))


def misplaced(path: Path) -> str | None:
    """Why the stack will never read ``path`` (a file that looks like a manifest), or None when it is
    named and placed as a manifest must be. The environment folder is the one above the project
    (``…/<env>/<project>/<workflow>/``), else the nearest folder above the file named like an environment."""
    parts = _parts(path)
    folders = parts[:-1]
    depth = _PROJECT_DEPTH if is_project_manifest(path) else _DEPTH
    candidates = [len(folders) - depth - 1] if len(folders) > depth else []
    candidates += range(len(folders) - 1, -1, -1)
    environment_at = next((i for i in candidates if i >= 0 and folders[i] in ENVIRONMENTS), None)
    if environment_at is None:
        # No environment folder at all: the location check says what the layout is.
        return None if path.name in (MANIFEST_NAME, PROJECT_MANIFEST_NAME) else _wrong_name(path.name)
    return stray_reason(parts[environment_at], parts[environment_at + 1 :])


def stray_reason(environment: str, below: tuple[str, ...]) -> str | None:
    """Why a manifest-like file at ``<environment>/<below…>`` is never read, or None when it is read."""
    if is_project_manifest(Path(below[-1])):
        return _project_stray_reason(environment, below)
    if below[-1] != MANIFEST_NAME:
        reason = _wrong_name(below[-1])
        if len(below) - 1 == _DEPTH:
            return reason
        return f"{reason}, and {_wrong_depth(environment, below)}"
    if len(below) - 1 == _DEPTH:
        return None
    return f"this file is never read: {_wrong_depth(environment, below)}"


def _project_stray_reason(environment: str, below: tuple[str, ...]) -> str | None:
    wrong_name = below[-1] != PROJECT_MANIFEST_NAME
    wrong_depth = len(below) - 1 != _PROJECT_DEPTH
    if not (wrong_name or wrong_depth):
        return None
    reasons = []
    if wrong_name:
        reasons.append(
            f"the stack reads only project files called exactly {PROJECT_MANIFEST_NAME} (lower-case, .yml): "
            f"rename {below[-1]} to {PROJECT_MANIFEST_NAME}"
        )
    if wrong_depth:
        here = "/".join((environment, *below))
        reasons.append(
            f"a project's {PROJECT_MANIFEST_NAME} sits in the project folder, as {_PROJECT_LAYOUT}, and this one "
            f"is at {here}: move it to {environment}/<project>/{PROJECT_MANIFEST_NAME}"
        )
    return "this file is never read: " + ", and ".join(reasons)


def _wrong_name(name: str) -> str:
    return (
        f"this file is never read: the stack reads only files called exactly {MANIFEST_NAME} "
        f"(lower-case, .yml): rename {name} to {MANIFEST_NAME}"
    )


def _wrong_depth(environment: str, below: tuple[str, ...]) -> str:
    here = "/".join((environment, *below))
    return (
        f"a manifest must be two folders below the environment folder, as {_LAYOUT}, and this one is at {here}: "
        f"move it to {environment}/<project>/<workflow>/{MANIFEST_NAME}"
    )


def scan(environments: Path, environment: str) -> tuple[list[Path], list[Problem]]:
    """The manifests of one environment in a stable order (project, then workflow), and a problem for
    every file under it that looks like a manifest but would never be read, and for every symbolic link
    that a manifest or ``dag.py`` is or is reached through (never followed, so never read)."""
    root = environments / environment
    manifests: list[Path] = []
    strays: list[Problem] = []
    if root.is_symlink():
        return [], [Problem(root, 1, 1, _link_folder(root, "environment"))]
    for folder, subfolders, files in os.walk(root):
        subfolders.sort()
        for name in subfolders:
            if (Path(folder) / name).is_symlink():  # os.walk does not enter it: say so rather than skip it
                strays.append(Problem(Path(folder) / name, 1, 1, _link_folder(Path(folder) / name, "")))
        for name in sorted(files):
            path = Path(folder) / name
            if name == PYTHON_DAG_NAME:
                strays.extend(_refused(path) if path.is_symlink() else [])
                continue
            if not looks_like_manifest(path):
                continue
            reason = stray_reason(environment, path.relative_to(root).parts)
            if reason is None and path.is_symlink():
                strays.extend(_refused(path))
            elif reason is None and name == MANIFEST_NAME:
                manifests.append(path)
            elif reason is not None:
                strays.append(Problem(path, 1, 1, reason))
            # else: a project's project.yml, read by discover_projects
    return sorted(manifests), strays


def _link_folder(folder: Path, kind: str) -> str:
    what = f"the {kind} folder {folder.name}" if kind else f"the folder {folder.name}"
    return (
        f"{what} is a symbolic link (to {os.readlink(folder)}): the stack never reads manifests or dag.py "
        "through a link: replace the link with the real folder"
    )


def discover(environments: Path, environment: str) -> list[Path]:
    """Every manifest of one environment, in a stable order (project, then workflow).

    Raises :class:`ManifestError` when a file under the environment looks like a manifest but
    would never be read: deploying without it would drop that workflow without a word.
    """
    manifests, strays = scan(environments, environment)
    if strays:
        raise ManifestError(strays)
    return manifests


def discover_projects(environments: Path, environment: str) -> list[Path]:
    """Every project's ``project.yml`` of one environment, sorted by project (none is required)."""
    root = environments / environment
    if root.is_symlink() or not root.is_dir():
        return []
    found = (folder / PROJECT_MANIFEST_NAME for folder in root.iterdir() if folder.is_dir())
    return sorted(path for path in found if path.is_file() and not path.is_symlink() and not path.parent.is_symlink())


def expand(paths: list[Path]) -> list[Path]:
    """CLI arguments → files to check: files as given, folders searched for anything that looks
    like a manifest (``workflow.yml``, and the names and places that are never read). Linked folders
    are searched too (each real folder once), so that the check refuses what is found through them."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            seen: set[str] = set()
            for folder, subfolders, files in os.walk(path, followlinks=True):
                real = os.path.realpath(folder)
                if real in seen:  # a link back up the tree: searched already
                    subfolders[:] = []
                    continue
                seen.add(real)
                found.extend(Path(folder) / name for name in files if looks_like_manifest(Path(name)))
        else:
            found.append(path)
    return sorted(dict.fromkeys(found))


def read_python_dag(manifest: Path) -> str | None:
    """The ``dag.py`` beside a manifest, or None when there is none.

    Raises :class:`ManifestError` when it is not UTF-8 text (Python source must be), or when it is a
    symbolic link or reached through one (:func:`link_problem`): it is never read then.
    """
    dag_py = manifest.parent / PYTHON_DAG_NAME
    if dag_py.is_symlink() or (dag_py.is_file() and link_problem(dag_py)):
        raise ManifestError(_refused(dag_py))
    if not dag_py.is_file():
        return None
    try:
        return dag_py.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        message = f"{PYTHON_DAG_NAME} is not UTF-8 text (byte {error.start}): save it as UTF-8"
        raise ManifestError([Problem(dag_py, 1, 1, message)]) from None
