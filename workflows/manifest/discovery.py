"""Manifest files: where they live, finding them, and reading a workflow's own ``dag.py``.

Layout: ``<environments>/<environment>/<project>/<workflow>/workflow.yml``, and for
``dag.python_dag`` workflows a ``dag.py`` beside it. Discovery is sorted, so
everything downstream is deterministic.

A file that looks like a manifest but is not where the stack reads one
(``workflow.yaml``, ``Workflow.yml``, a ``workflow.yml`` one folder too high or too
deep) would silently deploy nothing: :func:`discover` refuses the whole environment
while one exists, and ``validate`` reports it, each saying where the file must go.
"""

from __future__ import annotations

import os
from pathlib import Path

from workflows.errors import ManifestError, Problem
from workflows.model import ENVIRONMENTS

MANIFEST_NAME = "workflow.yml"
PYTHON_DAG_NAME = "dag.py"
# Folders between the environment folder and a manifest: <project>/<workflow>/.
_DEPTH = 2
_LAYOUT = f"<environment>/<project>/<workflow>/{MANIFEST_NAME}"


def location(path: Path) -> tuple[str, str, str]:
    """``(environment, project, workflow)`` from ``…/<env>/<project>/<workflow>/workflow.yml``."""
    parts = path.resolve().parts if not path.is_absolute() else path.parts
    if len(parts) < 4:
        return "", "", ""
    return parts[-4], parts[-3], parts[-2]


def looks_like_manifest(path: Path) -> bool:
    """A file someone meant as a manifest: ``workflow.yml`` or ``workflow.yaml`` in any case."""
    stem, dot, suffix = path.name.lower().rpartition(".")
    return bool(dot) and stem == "workflow" and suffix in ("yml", "yaml")


def misplaced(path: Path) -> str | None:
    """Why the stack will never read ``path`` (a file that looks like a manifest), or None when it is
    named and placed as a manifest must be. The environment folder is the one above the project
    (``…/<env>/<project>/<workflow>/``), else the nearest folder above the file named like an environment."""
    parts = path.resolve().parts if not path.is_absolute() else path.parts
    folders = parts[:-1]
    candidates = [len(folders) - _DEPTH - 1] if len(folders) > _DEPTH else []
    candidates += range(len(folders) - 1, -1, -1)
    environment_at = next((i for i in candidates if i >= 0 and folders[i] in ENVIRONMENTS), None)
    if environment_at is None:
        # No environment folder at all: the location check says what the layout is.
        return None if path.name == MANIFEST_NAME else _wrong_name(path.name)
    return stray_reason(parts[environment_at], parts[environment_at + 1 :])


def stray_reason(environment: str, below: tuple[str, ...]) -> str | None:
    """Why a manifest-like file at ``<environment>/<below…>`` is never read, or None when it is read."""
    if below[-1] != MANIFEST_NAME:
        reason = _wrong_name(below[-1])
        if len(below) - 1 == _DEPTH:
            return reason
        return f"{reason}, and {_wrong_depth(environment, below)}"
    if len(below) - 1 == _DEPTH:
        return None
    return f"this file is never read: {_wrong_depth(environment, below)}"


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
    every file under it that looks like a manifest but would never be read."""
    root = environments / environment
    manifests: list[Path] = []
    strays: list[Problem] = []
    for folder, subfolders, files in os.walk(root):
        subfolders.sort()
        for name in sorted(files):
            path = Path(folder) / name
            if not looks_like_manifest(path):
                continue
            reason = stray_reason(environment, path.relative_to(root).parts)
            if reason is None:
                manifests.append(path)
            else:
                strays.append(Problem(path, 1, 1, reason))
    return sorted(manifests), strays


def discover(environments: Path, environment: str) -> list[Path]:
    """Every manifest of one environment, in a stable order (project, then workflow).

    Raises :class:`ManifestError` when a file under the environment looks like a manifest but
    would never be read: deploying without it would drop that workflow without a word.
    """
    manifests, strays = scan(environments, environment)
    if strays:
        raise ManifestError(strays)
    return manifests


def expand(paths: list[Path]) -> list[Path]:
    """CLI arguments → files to check: files as given, folders searched for anything that looks
    like a manifest (``workflow.yml``, and the names and places that are never read)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                Path(folder) / name
                for folder, _, files in os.walk(path)
                for name in files
                if looks_like_manifest(Path(name))
            )
        else:
            found.append(path)
    return sorted(dict.fromkeys(found))


def read_python_dag(manifest: Path) -> str | None:
    """The ``dag.py`` beside a manifest, or None when there is none.

    Raises :class:`ManifestError` when it is not UTF-8 text (Python source must be).
    """
    dag_py = manifest.parent / PYTHON_DAG_NAME
    if not dag_py.is_file():
        return None
    try:
        return dag_py.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        message = f"{PYTHON_DAG_NAME} is not UTF-8 text (byte {error.start}): save it as UTF-8"
        raise ManifestError([Problem(dag_py, 1, 1, message)]) from None
