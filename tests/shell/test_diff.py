"""``python -m workflows diff``: the base ref's manifests and stack config, rendered with the current code."""

from __future__ import annotations

import io
import json
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


def git_repo(tmp_path: Path, manifests: dict[str, str]) -> Path:
    """A repository on ``main`` whose first commit has the development stack file and ``manifests`` (by
    ``<project>/<workflow>``)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    shutil.copy(REPO / "Pulumi.development.yaml", repo)
    for key, text in manifests.items():
        write(repo, key, text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    return repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository whose first commit has three workflows (maintainer: octo-analyst)."""
    return git_repo(tmp_path, {"demo/bump": MINIMAL, "demo/gone": MINIMAL, "demo/same": MINIMAL})


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


# --- Approval by risk (issue 13): each rule both ways, on real renders of a real git repository. -------------

S3 = "iam:\n  s3_read_only:\n    - example-landing/a/*\n"


def verdict(repo: Path, author: str = "octo-analyst", checks_passed: bool = True) -> dict:
    out = io.StringIO()
    code = diff_command(
        "development",
        repo / "environments",
        "main",
        repo,
        author=author,
        out=out,
        output="json",
        checks_passed=checks_passed,
    )
    assert code == 0
    return json.loads(out.getvalue())


def edit(repo: Path, key: str, old: str, new: str) -> None:
    path = repo / "environments/development" / key / "workflow.yml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_tag_bump_by_a_maintainer_approves_and_by_someone_else_does_not(tmp_path: Path):
    repo = git_repo(tmp_path, {"demo/job": MINIMAL})
    edit(repo, "demo/job", "v1.0.0", "v1.1.0")

    mine = verdict(repo, author="Octo-Analyst")
    assert (mine["auto_approve"], mine["reasons"]) == (True, [])
    other = verdict(repo, author="mallory")
    assert other["auto_approve"] is False
    assert other["reasons"] == ["`demo/job`: @mallory is not a maintainer of this workflow at the base"]


def test_committed_changes_count_like_working_tree_ones(tmp_path: Path):
    repo = git_repo(tmp_path, {"demo/job": MINIMAL})
    git(repo, "checkout", "-q", "-b", "feature")
    edit(repo, "demo/job", "v1.0.0", "v1.1.0")
    git(repo, "commit", "-q", "-am", "bump")
    (repo / "notes.md").write_text("hello\n")
    git(repo, "add", "notes.md")
    git(repo, "commit", "-q", "-m", "notes")

    result = verdict(repo)

    assert result["auto_approve"] is False
    assert result["reasons"] == ["`notes.md` is outside environments/: needs review"]


def test_the_checks_must_have_passed(tmp_path: Path):
    repo = git_repo(tmp_path, {"demo/job": MINIMAL})
    edit(repo, "demo/job", "v1.0.0", "v1.1.0")
    result = verdict(repo, checks_passed=False)
    assert result["auto_approve"] is False
    assert result["reasons"] == ["the image and maintainer checks did not pass (or were not run)"]


def test_an_added_s3_path_needs_review_and_a_removed_one_does_not(tmp_path: Path):
    repo = git_repo(tmp_path, {"demo/job": MINIMAL + S3})
    edit(repo, "demo/job", "    - example-landing/a/*\n", "    - example-landing/a/*\n    - example-landing/b/*\n")
    added = verdict(repo)
    assert added["auto_approve"] is False
    assert "`demo/job`: grants more: Allow `s3:GetObject` on `arn:aws:s3:::example-landing/b/*`" in added["reasons"]

    edit(repo, "demo/job", "    - example-landing/a/*\n    - example-landing/b/*\n", "    - example-landing/b/*\n")
    moved = verdict(repo)  # a different path is a new grant too
    assert moved["auto_approve"] is False


def test_a_removed_s3_path_approves(tmp_path: Path):
    repo = git_repo(tmp_path, {"demo/job": MINIMAL + S3.replace("/a/*\n", "/a/*\n    - example-landing/b/*\n")})
    edit(repo, "demo/job", "    - example-landing/b/*\n", "")
    result = verdict(repo)
    assert (result["auto_approve"], result["reasons"]) == (True, [])


def test_a_new_workflow_needs_review_and_a_removed_one_too(tmp_path: Path):
    repo = git_repo(tmp_path, {"demo/job": MINIMAL, "demo/old": MINIMAL})
    write(repo, "demo/new", MINIMAL)
    shutil.rmtree(repo / "environments/development/demo/old")

    result = verdict(repo)

    assert result["auto_approve"] is False
    assert "`demo/new`: a new workflow needs review" in result["reasons"]
    assert "`demo/old`: a removed workflow needs review" in result["reasons"]


def test_a_maintainer_added_needs_review_and_one_removed_does_not(tmp_path: Path):
    repo = git_repo(tmp_path, {"demo/job": MINIMAL.replace("[octo-analyst]", "[octo-analyst, other-analyst]")})
    edit(repo, "demo/job", "[octo-analyst, other-analyst]", "[octo-analyst, other-analyst, new-analyst]")
    added = verdict(repo)
    assert added["auto_approve"] is False
    assert "`demo/job`: maintainers gain new-analyst" in added["reasons"]

    edit(repo, "demo/job", "[octo-analyst, other-analyst, new-analyst]", "[octo-analyst]")
    assert verdict(repo)["auto_approve"] is True


def test_a_dag_py_change_needs_review_and_is_never_image_tag_only(tmp_path: Path):
    example = REPO / "environments/development/platform-examples/python-dag"
    repo = git_repo(tmp_path, {"demo/code": (example / "workflow.yml").read_text()})
    dag = repo / "environments/development/demo/code/dag.py"
    shutil.copy(example / "dag.py", dag)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "dag.py")
    edit(repo, "demo/code", "v1.0.0", "v1.1.0")
    assert verdict(repo)["auto_approve"] is True  # the tag bump alone approves

    dag.write_text(dag.read_text() + "\n# a change\n")
    result = verdict(repo)
    assert result["auto_approve"] is False
    code = "`environments/development/demo/code/dag.py`: code changed (a file other than workflow.yml): needs review"
    assert code in result["reasons"]
    (workflow,) = result["workflows"]
    assert workflow["code_changed"] is True
    assert workflow["tag_only"] is False
    markdown = io.StringIO()
    diff_command(
        "development", repo / "environments", "main", repo, author="octo-analyst", out=markdown, checks_passed=True
    )
    assert "image tag only" not in markdown.getvalue()
    assert "**Approval: needs review by the platform team:**" in markdown.getvalue()


def test_several_workflows_in_one_change(tmp_path: Path):
    repo = git_repo(tmp_path, {"demo/one": MINIMAL, "demo/two": MINIMAL, "team/three": MINIMAL})
    edit(repo, "demo/one", "v1.0.0", "v1.1.0")
    edit(repo, "demo/two", "  tag: v1.0.0\n", "  tag: v1.0.0\n  schedule: '@daily'\n")
    result = verdict(repo)
    assert (result["auto_approve"], result["reasons"]) == (True, [])

    edit(repo, "team/three", "v1.0.0", "v2.0.0")
    assert verdict(repo)["auto_approve"] is True
    assert verdict(repo, author="someone-else")["auto_approve"] is False
    # One workflow the author does not maintain is enough to need review.
    three = repo / "environments/development/team/three/workflow.yml"
    bumped = three.read_text()
    three.write_text(bumped.replace("v2.0.0", "v1.0.0").replace("[octo-analyst]", "[someone-else]"))
    git(repo, "commit", "-q", "-am", "three belongs to someone else")
    three.write_text(bumped.replace("[octo-analyst]", "[someone-else]"))
    result = verdict(repo, author="octo-analyst")
    # base is main, which now has someone-else as three's maintainer
    assert result["auto_approve"] is False
    assert result["reasons"] == ["`team/three`: @octo-analyst is not a maintainer of this workflow at the base"]


# --- A project's shared secrets (project.yml): shown, never approved without review ---------------------------

PROJECT_YML = "secrets: [warehouse-login]\nmaintainers: [project-lead]\n"
SHARED_LINK = (
    "https://eu-west-2.console.aws.amazon.com/secretsmanager/secret"
    "?name=%2Fairflow%2Fdevelopment%2Fdemo%2Fshared%2Fwarehouse-login&region=eu-west-2"
)


def markdown(repo: Path, author: str = "octo-analyst") -> str:
    out = io.StringIO()
    diff_command("development", repo / "environments", "main", repo, author=author, out=out, checks_passed=True)
    return out.getvalue()


def test_a_new_project_file_and_its_reader_show_and_need_review(tmp_path: Path):
    repo = git_repo(tmp_path, {"demo/job": MINIMAL, "demo/other": MINIMAL})
    (repo / "environments/development/demo/project.yml").write_text(PROJECT_YML)
    write(repo, "demo/job", MINIMAL + "shared_secrets: [warehouse-login]\n")

    result = verdict(repo)

    assert result["auto_approve"] is False
    shared = "arn:aws:secretsmanager:{}:593291632749:secret:/airflow/development/demo/shared/warehouse-login-??????"
    assert result["reasons"] == [
        "`environments/development/demo/project.yml`: a project's shared secrets and who sets them (project.yml): "
        "needs review",
        "`demo/job`: starts reading the project's shared secret(s) warehouse-login (a new `SecretsManagerShared` "
        "grant): needs review",
        f"`demo/job`: grants more: Allow `secretsmanager:GetSecretValue` on `{shared.format('eu-west-1')}`",
        f"`demo/job`: grants more: Allow `secretsmanager:GetSecretValue` on `{shared.format('eu-west-2')}`",
        "`demo/shared`: the project's shared secrets are new (project.yml): secret warehouse-login added; job "
        "starts reading warehouse-login; maintainer project-lead added: needs review",
    ]
    (project,) = result["projects"]
    assert project["change"] == "added"
    assert project["new_secrets"] == ["/airflow/development/demo/shared/warehouse-login"]
    assert {(r["type"], r["name"], r["change"]) for r in project["resources"]} == {
        ("aws:secretsmanager/secret:Secret", "demo/shared/warehouse-login", "added"),
        ("kubernetes:external-secrets.io/v1:ExternalSecret", "demo/shared/warehouse-login", "added"),
    }
    # The shared secret is neither the platform's nor a workflow's resource.
    assert result["platform"] == []
    (job,) = result["workflows"]
    assert job["workflow"] == "demo/job" and job["manifest_fields"] == ["shared_secrets"]
    assert "aws:secretsmanager/secret:Secret" not in {r["type"] for r in job["resources"]}

    text = markdown(repo)
    assert (
        "| `demo` | added | secrets added: `warehouse-login`; readers added: `job` (`warehouse-login`); maintainers "
        "added: @project-lead; resources: 2 added |"
    ) in text
    assert (
        "- `demo/shared` (shared by the project's workflows, project.yml): @project-lead, set "
        f"[`/airflow/development/demo/shared/warehouse-login`]({SHARED_LINK}) in the AWS Secrets Manager console"
    ) in text
    assert "**Approval: needs review by the platform team:**" in text


def test_project_maintainers_and_readers_changed_need_review(tmp_path: Path):
    repo = git_repo(tmp_path, {"demo/job": MINIMAL + "shared_secrets: [warehouse-login]\n", "demo/other": MINIMAL})
    (repo / "environments/development/demo/project.yml").write_text(PROJECT_YML)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a shared secret")

    (repo / "environments/development/demo/project.yml").write_text(PROJECT_YML.replace("project-lead", "new-lead"))
    maintainers = verdict(repo)
    assert maintainers["auto_approve"] is False
    assert maintainers["reasons"] == [
        "`environments/development/demo/project.yml`: a project's shared secrets and who sets them (project.yml): "
        "needs review",
        "`demo/shared`: the project's shared secrets change (project.yml): maintainer new-lead added; maintainer "
        "project-lead removed: needs review",
    ]
    (project,) = maintainers["projects"]
    assert project["resources"] == [
        {
            "type": "aws:secretsmanager/secret:Secret",
            "name": "demo/shared/warehouse-login",
            "change": "changed",
            "fields": ["policy.Statement"],
        }
    ]
    assert project["new_secrets"] == []
    assert "Secrets to set" not in markdown(repo)

    git(repo, "checkout", "-q", "--", "environments")
    edit(repo, "demo/other", "  tag: v1.0.0\n", "  tag: v1.0.0\nshared_secrets: [warehouse-login]\n")
    edit(repo, "demo/job", "shared_secrets: [warehouse-login]\n", "")
    readers = verdict(repo)
    assert readers["auto_approve"] is False
    assert readers["reasons"] == [
        "`demo/other`: starts reading the project's shared secret(s) warehouse-login (a new `SecretsManagerShared` "
        "grant): needs review",
        "`demo/other`: grants more: Allow `secretsmanager:GetSecretValue` on `arn:aws:secretsmanager:eu-west-1:"
        "593291632749:secret:/airflow/development/demo/shared/warehouse-login-??????`",
        "`demo/other`: grants more: Allow `secretsmanager:GetSecretValue` on `arn:aws:secretsmanager:eu-west-2:"
        "593291632749:secret:/airflow/development/demo/shared/warehouse-login-??????`",
        "`demo/shared`: the project's shared secrets change (project.yml): other starts reading warehouse-login; "
        "job stops reading warehouse-login: needs review",
    ]
    assert (
        "| `demo` | changed | readers added: `other` (`warehouse-login`); readers removed: `job` (`warehouse-login`); "
        "resources: 1 changed |"
    ) in markdown(repo)


def test_a_removed_project_file_needs_review(tmp_path: Path):
    repo = git_repo(tmp_path, {"demo/job": MINIMAL})
    (repo / "environments/development/demo/project.yml").write_text(PROJECT_YML)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a shared secret nobody reads")
    (repo / "environments/development/demo/project.yml").unlink()

    result = verdict(repo)

    assert result["auto_approve"] is False
    assert result["reasons"] == [
        "`environments/development/demo/project.yml`: a project's shared secrets and who sets them (project.yml): "
        "needs review",
        "`demo/shared`: the project's shared secrets are removed (project.yml): secret warehouse-login removed; "
        "maintainer project-lead removed: needs review",
    ]
    assert "| `demo` | removed | secrets removed: `warehouse-login`; maintainers removed: @project-lead; " in (
        markdown(repo)
    )
