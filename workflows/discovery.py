"""Finding manifests: ``<environments>/<environment>/<project>/<workflow>/workflow.yml``, sorted."""

from __future__ import annotations

from pathlib import Path

from workflows.validate import MANIFEST_NAME


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
