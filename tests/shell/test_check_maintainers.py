"""``python -m workflows check-maintainers`` against a local fake of GitHub's membership endpoint."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shell.cli import main
from tests.conftest import REPO

# login (lower case) -> (login as GitHub spells it, state); absent -> 404
MEMBERS = {
    "octo-analyst": ("octo-analyst", "active"),
    "mixedcase": ("MixedCase", "active"),
    "newbie": ("newbie", "pending"),
}


class FakeGitHub(BaseHTTPRequestHandler):
    requests: list[tuple[str, str | None]] = []
    status: int | None = None  # force an answer (401, 500)

    def do_GET(self) -> None:
        FakeGitHub.requests.append((self.path, self.headers.get("Authorization")))
        parts = self.path.strip("/").split("/")
        if FakeGitHub.status:
            self._answer(FakeGitHub.status, {"message": "nope"})
        elif len(parts) == 4 and parts[0] == "orgs" and parts[1] == "ministryofjustice" and parts[2] == "memberships":
            member = MEMBERS.get(parts[3].lower())
            if member:
                self._answer(200, {"state": member[1], "role": "member", "user": {"login": member[0]}})
            else:
                self._answer(404, {"message": "Not Found"})
        else:
            self._answer(404, {"message": "Not Found"})

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def github(monkeypatch) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeGitHub.requests = []
    FakeGitHub.status = None
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("GITHUB_API_URL", url)
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    yield url
    server.shutdown()
    server.server_close()


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
