"""``python -m workflows check-maintainers`` against a local fake of GitHub's membership endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest

from shell.cli import main
from tests.conftest import REPO
from tests.fake_http import JsonHandler, serving

# login (lower case) -> (login as GitHub spells it, state); absent -> 404
MEMBERS = {
    "octo-analyst": ("octo-analyst", "active"),
    "mixedcase": ("MixedCase", "active"),
    "newbie": ("newbie", "pending"),
}


class FakeGitHub(JsonHandler):
    requests: list[tuple[str, str | None]] = []
    status: int | None = None  # force an answer (401, 500)

    def do_GET(self) -> None:
        FakeGitHub.requests.append((self.path, self.headers.get("Authorization")))
        parts = self.path.strip("/").split("/")
        if FakeGitHub.status:
            self.answer(FakeGitHub.status, {"message": "nope"})
        elif len(parts) == 4 and parts[0] == "orgs" and parts[1] == "ministryofjustice" and parts[2] == "memberships":
            member = MEMBERS.get(parts[3].lower())
            if member:
                self.answer(200, {"state": member[1], "role": "member", "user": {"login": member[0]}})
            else:
                self.answer(404, {"message": "Not Found"})
        else:
            self.answer(404, {"message": "Not Found"})


@pytest.fixture
def github(monkeypatch) -> Iterator[str]:
    FakeGitHub.requests = []
    FakeGitHub.status = None
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), FakeGitHub)) as url:
        monkeypatch.setenv("GITHUB_API_URL", url)
        monkeypatch.setenv("GITHUB_TOKEN", "test-token")
        yield url


MANIFEST = """\
dag:
  repository: moj-analytical-services/example
  tag: v1.0.0
maintainers:
  - octo-analyst
  - mixedcase
  - stranger
  - newbie
tags:
  business_unit: Platforms
  owner: someone@justice.gov.uk
"""


def run(manifest, text: str, capsys, *extra: str) -> tuple[int, str, str]:
    path = manifest(text)
    code = main(["check-maintainers", "--config-dir", str(REPO), *extra, str(path)])
    out, err = capsys.readouterr()
    return code, out.replace(str(path), "M"), err


def test_every_problem_on_its_line_with_the_right_spelling(github, manifest, capsys):
    code, out, _ = run(manifest, MANIFEST, capsys)
    assert code == 1
    assert out.splitlines() == [
        "M:6:5: maintainer 'mixedcase' must be written exactly as the GitHub login is: 'MixedCase'",
        "M:7:5: maintainer 'stranger' is not a member of the GitHub organisation ministryofjustice: check the "
        "spelling of the login, or ask them to join ministryofjustice before listing them",
        "M:8:5: maintainer 'newbie' has not accepted the invitation to the GitHub organisation ministryofjustice "
        "(membership pending): they must accept it first",
    ]
    assert ("/orgs/ministryofjustice/memberships/octo-analyst", "Bearer test-token") in FakeGitHub.requests


def test_all_good(github, manifest, capsys):
    text = MANIFEST.replace("  - mixedcase\n  - stranger\n  - newbie\n", "  - MixedCase\n")
    code, out, _ = run(manifest, text, capsys)
    assert (code, out) == (0, "")


def test_github_format_annotates_the_line(github, manifest, capsys):
    code, out, _ = run(manifest, MANIFEST, capsys, "--format", "github")
    assert code == 1
    assert out.splitlines()[0].startswith("::error file=M,line=6,col=5,title=Invalid manifest::maintainer 'mixedcase'")


@pytest.mark.parametrize("status", [401, 500])
def test_github_refusing_is_exit_2_with_the_reason(github, manifest, capsys, status):
    FakeGitHub.status = status
    code, out, err = run(manifest, MANIFEST, capsys)
    assert code == 2
    assert out == ""
    assert f"GitHub answered {status}" in err


def test_github_unreachable_is_exit_2(manifest, capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    code, _, err = run(manifest, MANIFEST, capsys)
    assert code == 2
    assert "cannot reach GitHub at http://127.0.0.1:9" in err


# A project's project.yml (shared secrets) lists maintainers too: who set the values. Same checks, same positions.
PROJECT_FILE = """\
# The project's shared secrets.
secrets: [warehouse-login]
maintainers:
  - octo-analyst
  - stranger
  - mixedcase
"""


def project_file(tmp_path, text: str = PROJECT_FILE, env: str = "development"):
    path = tmp_path / "environments" / env / "demo" / "project.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_project_files_maintainers_are_checked_on_their_lines(github, tmp_path, capsys):
    path = project_file(tmp_path)
    code = main(["check-maintainers", "--config-dir", str(REPO), str(path)])
    out, err = capsys.readouterr()
    assert code == 1
    assert out.replace(str(path), "P").splitlines() == [
        "P:5:5: maintainer 'stranger' is not a member of the GitHub organisation ministryofjustice: check the "
        "spelling of the login, or ask them to join ministryofjustice before listing them",
        "P:6:5: maintainer 'mixedcase' must be written exactly as the GitHub login is: 'MixedCase'",
    ]
    assert "1 manifest(s) checked, 2 problem(s)" in err


def test_a_folder_is_searched_for_project_files_too(github, manifest, tmp_path, capsys):
    workflow = manifest(MANIFEST.replace("  - stranger\n  - newbie\n", "").replace("mixedcase", "MixedCase"))
    path = project_file(tmp_path, PROJECT_FILE.replace("  - mixedcase\n", ""))
    code = main(["check-maintainers", "--config-dir", str(REPO), str(tmp_path / "environments")])
    out, err = capsys.readouterr()
    assert code == 1
    assert out.splitlines() == [
        f"{path}:5:5: maintainer 'stranger' is not a member of the GitHub organisation ministryofjustice: check the "
        "spelling of the login, or ask them to join ministryofjustice before listing them",
    ]
    assert "2 manifest(s) checked, 1 problem(s)" in err
    assert workflow.exists()


def test_a_project_file_outside_an_environment_folder_is_refused(github, tmp_path, capsys):
    path = tmp_path / "somewhere" / "demo" / "project.yml"
    path.parent.mkdir(parents=True)
    path.write_text(PROJECT_FILE)
    code = main(["check-maintainers", "--config-dir", str(REPO), str(path)])
    out, _ = capsys.readouterr()
    assert code == 1
    assert out == f"{path}:1:1: not in an environment folder (development, test, production)\n"
    assert FakeGitHub.requests == []


def test_check_images_skips_project_files_without_asking_ecr(tmp_path, capsys, monkeypatch):
    # Any ECR call would fail (nothing listens on the discard port) and exit 2: a project file asks none.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    path = project_file(tmp_path)
    for argument in (path, tmp_path / "environments"):
        code = main(["check-images", "--config-dir", str(REPO), str(argument)])
        out, err = capsys.readouterr()
        assert (code, out) == (0, "")
        assert "1 manifest(s) checked, 0 problem(s)" in err
