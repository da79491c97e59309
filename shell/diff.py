"""``python -m workflows diff --stack ENV --base REF``: what a branch changes in a stack, and whether it may be
approved without review (Markdown, or JSON with ``auto_approve`` and ``reasons``).

Both sides are rendered by the *current* code under the Pulumi mock runtime
(:func:`components.offline.run_program`); only the inputs come from the base
ref: its ``environments/<ENV>/`` and its ``Pulumi.<ENV>.yaml``, exported with
``git archive`` into a temporary folder. So the summary shows what the
manifest and stack-config changes of a pull request do, and nothing of its code
changes (a code change shows in ``pulumi preview``, which compares with the
deployed state). Rendering the base with the base's own code would need a
second environment per ref and would mix "what the code does differently" into
an analyst's review; this is the simple, robust choice.

Each side's ``project.yml`` files (a project's shared secrets and their maintainers) are
read beside its manifests, so the summary says which shared secrets, readers and
maintainers a change adds or removes.

The pure comparison and the Markdown live in :mod:`workflows.review.diff`, the verdict in
:mod:`workflows.review.approval`. The changed files it judges come from git
(``git diff --name-only BASE...HEAD``, plus the working tree's changes and untracked
files), and, independently, from comparing each workflow folder at the base with the
working tree (any file but ``workflow.yml`` that differs is code).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

import yaml

from shell.offline import ProgramFailed, run_program
from workflows.config import StackConfig, stack_file
from workflows.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from workflows.manifest.discovery import MANIFEST_NAME, PROJECT_MANIFEST_NAME
from workflows.review.approval import assess
from workflows.review.diff import StackDiff, compare

# Who proposes the change, in order: the --author argument, DIFF_AUTHOR (CI sets it to the
# pull request's author), then GITHUB_ACTOR (who triggered the run).
AUTHOR_VARIABLES = ("DIFF_AUTHOR", "GITHUB_ACTOR")


class GitError(Exception):
    """The base ref or the repository cannot be read."""


def diff_command(
    stack: str,
    environments: Path,
    base: str,
    config_dir: Path,
    *,
    author: str | None = None,
    out: TextIO | None = None,
    output: str = "markdown",
    checks_passed: bool = False,
) -> int:
    """Print the summary of ``base`` → working tree for ``stack`` (``output`` ``markdown`` or ``json``, both with
    the approval verdict). Exit 0 (whatever the verdict), 1 (render failed), 2 (git)."""
    out = out or sys.stdout
    author = author or next((os.environ[v] for v in AUTHOR_VARIABLES if os.environ.get(v)), None)
    try:
        result = stack_diff(stack, environments, base, config_dir, author=author, checks_passed=checks_passed)
    except GitError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ProgramFailed as error:
        print(f"error: cannot render stack {stack}:\n{error}", file=sys.stderr)
        return EXIT_FAILED
    if output == "json":
        out.write(json.dumps(result.as_dict(), indent=2, sort_keys=True) + "\n")
    else:
        out.write(result.markdown())
    return EXIT_OK


def stack_diff(
    stack: str,
    environments: Path,
    base: str,
    config_dir: Path,
    author: str | None = None,
    *,
    checks_passed: bool = False,
) -> StackDiff:
    """Render ``stack`` at ``base`` (manifests and stack config from git) and in the working tree; compare,
    and judge whether the change may be approved without review."""
    with tempfile.TemporaryDirectory(prefix="workflows-diff-") as tmp:
        base_environments, base_config_dir = export_base(base, environments, config_dir, stack, Path(tmp))
        try:
            base_resources = run_program(stack, base_environments, base_config_dir)
        except ProgramFailed as error:
            raise ProgramFailed(f"at {base} (rendered with the current code): {error}", error.registrations) from None
        head_resources = run_program(stack, environments, config_dir)
        base_manifests = read_manifests(base_environments, stack)
        base_projects = read_projects(base_environments, stack)
        config_changed = _read(stack_file(base_config_dir, stack)) != _read(stack_file(config_dir, stack))
        code_changed = workflows_with_code_changes(base_environments / stack, environments / stack)
    head_manifests = read_manifests(environments, stack)
    head_projects = read_projects(environments, stack)
    base_json = [r.as_json() for r in base_resources]
    head_json = [r.as_json() for r in head_resources]
    result = compare(
        base_json,
        head_json,
        stack=stack,
        base_ref=base,
        base_manifests=base_manifests,
        head_manifests=head_manifests,
        author=author,
        config_changed=config_changed,
        code_changed=code_changed,
        region=StackConfig.from_stack_file(stack_file(config_dir, stack)).region,
        base_projects=base_projects,
        head_projects=head_projects,
    )
    repo, prefix = _locate(environments)
    verdict = assess(
        result,
        base_json,
        head_json,
        base_manifests=base_manifests,
        head_manifests=head_manifests,
        changed_files=changed_files(repo, base),
        environments_prefix=prefix,
        author=author,
        checks_passed=checks_passed,
        code_changed=code_changed,
    )
    return replace(result, verdict=verdict)


def changed_files(repo: Path, base: str) -> list[str]:
    """Repository-relative paths the branch changes: ``BASE...HEAD``, then the working tree (tracked changes
    and untracked files that are not ignored)."""
    paths: set[str] = set()
    for args in (
        ("diff", "--name-only", "-z", f"{base}...HEAD"),
        ("diff", "--name-only", "-z", "HEAD"),
        ("ls-files", "--others", "--exclude-standard", "-z"),
    ):
        paths.update(p for p in _git(repo, *args, what=f"the files changed since {base!r}").split("\0") if p)
    return sorted(paths)


def workflows_with_code_changes(base: Path, head: Path) -> set[str]:
    """``<project>/<workflow>`` of each workflow folder (at both sides) where a file other than the manifest
    is added, removed or different (a ``dag.py`` is code)."""
    keys = {f"{p.parent.name}/{p.name}" for side in (base, head) for p in side.glob("*/*") if p.is_dir()}
    return {key for key in keys if _folder_files(base / key) != _folder_files(head / key)}


def _folder_files(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.relative_to(folder).as_posix() != MANIFEST_NAME
    }


def export_base(base: str, environments: Path, config_dir: Path, stack: str, into: Path) -> tuple[Path, Path]:
    """Write ``environments/<stack>/`` and ``Pulumi.<stack>.yaml`` as they are at ``base`` under ``into``.

    Returns the exported environments folder and config folder. When the base
    has no stack file (a new stack), the working tree's is used.
    """
    env_repo, env_prefix = _locate(environments)
    config_repo, config_prefix = _locate(config_dir)
    commit = _commit(env_repo, base)
    base_environments = into / "environments"
    base_config_dir = into / "config"
    base_environments.mkdir()
    base_config_dir.mkdir()
    _export(env_repo, commit, _join(env_prefix, stack), base_environments / stack)
    if config_repo != env_repo:
        commit = _commit(config_repo, base)
    name = stack_file(Path(), stack).name
    _export(config_repo, commit, _join(config_prefix, name), base_config_dir / name)
    if not (base_config_dir / name).exists():
        (base_config_dir / name).write_bytes(stack_file(config_dir, stack).read_bytes())
    return base_environments, base_config_dir


def read_manifests(environments: Path, stack: str) -> dict[str, Any]:
    """``<project>/<workflow>`` → the manifest as data (``None`` when it is not valid YAML)."""
    return {
        f"{path.parent.parent.name}/{path.parent.name}": _read(path)
        for path in sorted((environments / stack).glob(f"*/*/{MANIFEST_NAME}"))
    }


def read_projects(environments: Path, stack: str) -> dict[str, Any]:
    """``<project>`` → its ``project.yml`` (shared secrets) as data (``None`` when it is not valid YAML)."""
    return {path.parent.name: _read(path) for path in sorted((environments / stack).glob(f"*/{PROJECT_MANIFEST_NAME}"))}


def _locate(path: Path) -> tuple[Path, str]:
    """The git repository holding ``path`` (or its nearest existing parent) and ``path`` relative to it."""
    path = path.resolve()
    existing = path
    while not existing.exists():
        existing = existing.parent
    top = Path(_git(existing, "rev-parse", "--show-toplevel", what=f"{path} is not in a git repository").strip())
    return top, path.relative_to(top.resolve()).as_posix()


def _commit(repo: Path, ref: str) -> str:
    """The commit ``ref`` names in ``repo``."""
    return _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", what=f"base ref {ref!r}").strip()


def _join(prefix: str, name: str) -> str:
    return name if prefix in ("", ".") else f"{prefix}/{name}"


def _export(repo: Path, commit: str, path: str, target: Path) -> None:
    """Extract ``path`` (a file or folder) of ``commit`` to ``target``; nothing when it does not exist there."""
    listed = _git(repo, "ls-tree", "--name-only", commit, "--", path, what=f"the tree of {commit}")
    if not listed.strip():
        return
    command = ["git", "-C", str(repo), "archive", "--format=tar", commit, "--", path]
    archive = subprocess.run(command, capture_output=True, check=False)
    if archive.returncode != 0:
        raise GitError(f"git archive {commit} -- {path} failed: {archive.stderr.decode(errors='replace').strip()}")
    with tempfile.TemporaryDirectory(prefix="workflows-diff-tree-") as tree:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tree, filter="data")
        extracted = Path(tree) / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(extracted, target)


def _git(cwd: Path, *args: str, what: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, check=False)
    except OSError as error:
        raise GitError(f"cannot run git: {error}") from error
    if done.returncode != 0:
        detail = done.stderr.strip()
        raise GitError(f"cannot read {what}" + (f": {detail}" if detail else ""))
    return done.stdout


def _read(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None
