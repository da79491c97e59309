"""README.md's layout table says where things are: every path it names exists, and every
top-level folder of the repository (and every folder under ``workflows/``) has its row.

Paths named: the backticked paths of a row's first column, and in its second column each
backticked token that looks like a path (it holds a ``/``, starts with a dot or ends in a file
suffix), looked for under the row's folder, then from the repository root. ``<placeholder>``
parts match any one name (``Pulumi.<stack>.yaml``).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"

# Named in the table for what they are on the MWAA bucket (or in any workflow's folder: `dag.py`),
# not as files of this repository.
NOT_IN_REPOSITORY = {"dags/", "dags/analytical_platform/", "platform.json", "dag.py"}
SUFFIXES = (".py", ".json", ".md", ".yml", ".yaml", ".txt", ".toml", ".sh")


def _layout_rows() -> list[tuple[list[str], list[str]]]:
    """(first-column paths, second-column tokens) of each row of the Layout section's table."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        assert len(cells) == 2, f"a layout row has two columns: {line}"
        rows.append((re.findall(r"`([^`]+)`", cells[0]), re.findall(r"`([^`]+)`", cells[1])))
    assert rows, "README.md has no Layout table"
    return rows


def _path_like(token: str) -> bool:
    return " " not in token and ("/" in token or token.startswith(".") or token.endswith(SUFFIXES))


def _exists(path: str, base: Path = REPO) -> bool:
    """Whether ``path`` (a ``/`` at the end: a folder; ``<x>``: any one name) exists under ``base``."""
    pattern = re.sub(r"<[^>/]+>", "*", path.rstrip("/"))
    matches = list(base.glob(pattern)) if "*" in pattern else [base / pattern]
    return any(m.is_dir() if path.endswith("/") else m.exists() for m in matches)


def _tracked_folders() -> set[str]:
    """Top-level folders of the tracked files, and the folders directly under ``workflows/``."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the tracked files are unknown")
    folders = set()
    for name in filter(None, listed.split("\0")):
        parts = name.split("/")
        if len(parts) > 1:
            folders.add(parts[0] + "/")
        if parts[0] == "workflows" and len(parts) > 2:
            folders.add(f"workflows/{parts[1]}/")
    return folders


def test_every_path_named_in_the_layout_table_exists():
    missing = []
    for paths, tokens in _layout_rows():
        missing += [p for p in paths if not _exists(p)]
        folder = next((REPO / p for p in paths if p.endswith("/") and _exists(p)), REPO)
        for token in tokens:
            named = _path_like(token) and token not in NOT_IN_REPOSITORY
            if named and not (_exists(token, folder) or _exists(token)):
                missing.append(f"{token} (row {', '.join(paths)})")
    assert not missing, f"README.md's layout table names paths that do not exist: {missing}"


def _without_row(folders: set[str], rows: list[str]) -> list[str]:
    """The folders that no row names, neither itself nor a folder inside it."""
    return sorted(f for f in folders if not any(row.startswith(f) for row in rows))


def test_every_tracked_folder_has_a_row():
    rows = [p for paths, _ in _layout_rows() for p in paths if p.endswith("/")]
    absent = _without_row(_tracked_folders(), rows)
    assert not absent, f"README.md's layout table has no row for: {absent}"


def test_the_checks_see_a_wrong_path_and_a_missing_folder():
    """The two checks above fail for the right reasons (a misspelt module, a folder with no row)."""
    rows = ["workflows/", "workflows/plan/", "mwaa/analytical_platform/"]
    assert _without_row({"workflows/", "workflows/plan/", "mwaa/"}, rows) == []
    assert _without_row({"workflows/schema/", "docs/"}, rows) == ["docs/", "workflows/schema/"]
    assert _exists("workflows/plan/naming.py")
    assert not _exists("workflows/plan/nameing.py")
    assert _exists("Pulumi.<stack>.yaml")
    assert _exists("environments/<environment>/<project>/<workflow>/workflow.yml")
    assert not _exists("<stack>/", REPO / "docs")
    assert _path_like(".airflowignore") and _path_like("schema/") and _path_like("rules.py")
    assert not _path_like("shell.program.deploy") and not _path_like("python -m workflows")
