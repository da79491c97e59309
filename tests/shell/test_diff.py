"""``python -m workflows diff``: the base ref's manifests and stack config, rendered with the current code."""

from __future__ import annotations

import io
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from shell.cli import main
from shell.diff import diff_command, stack_diff
from tests.conftest import MINIMAL, REPO


def git(repo: Path, *args: str) -> str:
    command = ["git", "-C", str(repo), "-c", "user.email=ci@example.com", "-c", "user.name=ci", *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def write(repo: Path, key: str, text: str) -> Path:
    path = repo / "environments" / "development" / key / "workflow.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository whose first commit has three workflows (maintainer: octo-analyst)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    shutil.copy(REPO / "Pulumi.development.yaml", repo)
    write(repo, "demo/bump", MINIMAL)
    write(repo, "demo/gone", MINIMAL)
    write(repo, "demo/same", MINIMAL)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    return repo


def test_summary_of_a_branch(repo: Path):
    bump = repo / "environments/development/demo/bump/workflow.yml"
    bump.write_text(bump.read_text().replace("v1.0.0", "v1.1.0"))
    shutil.rmtree(repo / "environments/development/demo/gone")
    write(repo, "demo/new", MINIMAL + "secrets: [api-key]\n")

    diff = stack_diff("development", repo / "environments", "main", repo, author="Octo-Analyst")

    changes = {w.key: w.change for w in diff.workflows}
    assert changes == {"demo/bump": "changed", "demo/gone": "removed", "demo/new": "added", "demo/same": "unchanged"}
    bumped = next(w for w in diff.workflows if w.key == "demo/bump")
    assert bumped.tag == ("v1.0.0", "v1.1.0")
    assert bumped.tag_only_by_maintainer
    assert [(r.type, r.name, r.fields) for r in bumped.resources] == [
        ("aws:s3/bucketObjectv2:BucketObjectv2", "demo/bump", ("content",))
    ]
    new = next(w for w in diff.workflows if w.key == "demo/new")
    assert "aws:secretsmanager/secret:Secret" in {r.type for r in new.resources}
    assert not diff.config_changed
    assert diff.platform == ()


def test_stack_config_changes_show(repo: Path):
    config = repo / "Pulumi.development.yaml"
    config.write_text(
        config.read_text().replace("platform:secretRecoveryWindowDays: 30", "platform:secretRecoveryWindowDays: 7")
    )
    write(repo, "demo/same", MINIMAL + "secrets: [token]\n")
    git(repo, "commit", "-q", "-am", "a secret")
    config.write_text(
        config.read_text().replace("platform:secretRecoveryWindowDays: 7", "platform:secretRecoveryWindowDays: 30")
    )

    diff = stack_diff("development", repo / "environments", "HEAD", repo)

    assert diff.config_changed
    (same,) = [w for w in diff.workflows if w.change != "unchanged"]
    assert same.key == "demo/same"
    assert same.manifest_fields == ()
    assert [(r.type, r.name, r.fields) for r in same.resources] == [
        ("aws:secretsmanager/secret:Secret", "demo/same/token", ("recoveryWindowInDays",))
    ]
    assert "manifest unchanged (stack config)" in diff.markdown()


def test_command_prints_markdown_and_takes_the_author_from_the_environment(repo: Path, monkeypatch):
    bump = repo / "environments/development/demo/bump/workflow.yml"
    bump.write_text(bump.read_text().replace("v1.0.0", "v2.0.0"))
    monkeypatch.setenv("DIFF_AUTHOR", "someone-else")
    out = io.StringIO()

    assert diff_command("development", repo / "environments", "main", repo, out=out) == 0

    text = out.getvalue()
    assert text.startswith("### Stack `development`")
    assert (
        "| `demo/bump` | image tag only | tag `v1.0.0` → `v2.0.0`; by @someone-else, **not** a listed maintainer"
        in text
    )


def test_a_stack_folder_new_since_the_base(tmp_path: Path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README").write_text("empty\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "nothing yet")
    shutil.copy(REPO / "Pulumi.development.yaml", repo)
    write(repo, "demo/first", MINIMAL)

    diff = stack_diff("development", repo / "environments", "main", repo)

    assert [(w.key, w.change) for w in diff.workflows] == [("demo/first", "added")]
    assert not diff.config_changed  # no stack file at the base: the working tree's is used for both


def test_cli_bad_base_ref_is_a_usage_error(repo: Path, capsys):
    code = main(
        ["diff", "--stack", "development", "--base", "no-such-ref", "--environments", str(repo / "environments")]
    )
    assert code == 2
    assert "no-such-ref" in capsys.readouterr().err


def test_cli_invalid_manifest_fails_without_traceback(repo: Path, capsys):
    write(repo, "demo/broken", "dag: {}\n")
    code = main(
        [
            "diff",
            "--stack",
            "development",
            "--base",
            "main",
            "--environments",
            str(repo / "environments"),
            "--config-dir",
            str(repo),
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "demo/broken/workflow.yml" in captured.err
    assert "Traceback" not in captured.err + captured.out
