"""Manifest files: where they live, finding them, and reading a workflow's own ``dag.py``.

Layout: ``<environments>/<environment>/<project>/<workflow>/workflow.yml``, and for
``dag.python_dag`` workflows a ``dag.py`` beside it. Discovery is sorted, so
everything downstream is deterministic.
"""

from __future__ import annotations

from pathlib import Path

from workflows.errors import ManifestError, Problem

MANIFEST_NAME = "workflow.yml"
PYTHON_DAG_NAME = "dag.py"


def location(path: Path) -> tuple[str, str, str]:
    """``(environment, project, workflow)`` from ``…/<env>/<project>/<workflow>/workflow.yml``."""
    parts = path.resolve().parts if not path.is_absolute() else path.parts
    if len(parts) < 4:
        return "", "", ""
    return parts[-4], parts[-3], parts[-2]


def discover(environments: Path, environment: str) -> list[Path]:
    """Every manifest of one environment, in a stable order (project, then workflow)."""
    return sorted((environments / environment).glob(f"*/*/{MANIFEST_NAME}"))


def expand(paths: list[Path]) -> list[Path]:
    """CLI arguments → manifest paths: files as given, folders searched for ``workflow.yml``."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(path.rglob(MANIFEST_NAME)))
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
