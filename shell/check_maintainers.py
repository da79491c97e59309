"""``python -m workflows check-maintainers PATH...``: every maintainer is an active member of the stack's GitHub
organisation, written with the exact case of their login: those of each workflow manifest, and those of each
project's ``project.yml`` (who set its shared secrets' values), each at its line.

GitHub REST ``GET /orgs/{org}/memberships/{username}`` at ``$GITHUB_API_URL`` (default https://api.github.com)
with ``$GITHUB_TOKEN``: 200 with ``state`` and ``user.login``; 404 not a member. Any other answer, or no
answer, means GitHub cannot be asked: exit 2 with the reason (never a guess). Standard library only.
"""

from __future__ import annotations

import functools
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from shell.manifest_checks import run_checks
from workflows.config import StackConfig
from workflows.errors import ManifestError, Problem
from workflows.manifest.load import load
from workflows.review.checks import Membership, Unreachable, maintainer_problem, maintainers

DEFAULT_API = "https://api.github.com"
TIMEOUT_SECONDS = 20


def github_membership(org: str) -> Callable[[str], Membership | None]:
    api = (os.environ.get("GITHUB_API_URL") or DEFAULT_API).rstrip("/")
    token = os.environ.get("GITHUB_TOKEN")

    def lookup(login: str) -> Membership | None:
        url = f"{api}/orgs/{urllib.parse.quote(org, safe='')}/memberships/{urllib.parse.quote(login, safe='')}"
        request = urllib.request.Request(url, headers={"Accept": "application/vnd.github+json"})  # noqa: S310
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - https or a test
                body = json.load(response)
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise Unreachable(f"GitHub answered {error.code} {error.reason} for {url}" + _hint(error.code)) from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise Unreachable(f"cannot reach GitHub at {api}: {getattr(error, 'reason', error)}") from None
        user = body.get("user") if isinstance(body, dict) else None
        if not isinstance(user, dict) or not isinstance(user.get("login"), str):
            raise Unreachable(f"GitHub's answer for {url} has no user.login")
        return Membership(user["login"], str(body.get("state")))

    return lookup


def _hint(code: int) -> str:
    if code in (401, 403):
        return " (set GITHUB_TOKEN to a token that can read the organisation's members: read:org)"
    return ""


def check_maintainers_command(paths: list[Path], config_dir: Path, output: str = "text") -> int:
    lookups = functools.cache(github_membership)  # by organisation
    answers: dict[tuple[str, str], Membership | None] = {}

    def check(path: Path, config: StackConfig) -> list[Problem]:
        org = config.github_organisation
        if not org:
            raise Unreachable(f"platform:githubOrganisation is not set for stack {config.environment}")
        lookup = lookups(org)
        try:
            data, positions = load(path)
        except ManifestError as error:
            return list(error.problems)
        problems = []
        for login, line, column in maintainers(data, positions):
            key = (org, login.lower())
            if key not in answers:
                answers[key] = lookup(login)
            problem = maintainer_problem(path, line, column, login, org, answers[key])
            if problem:
                problems.append(problem)
        return problems

    return run_checks(paths, config_dir, output, check)
