"""The loop both pull-request checks share: every manifest of the paths, with its stack's config.

``check-images`` and ``check-maintainers`` differ only in what they ask about one manifest;
finding the manifests, refusing those outside an environment folder, reading each stack's
config once, reporting and the exit status are here. A project's ``project.yml``
(``…/<env>/<project>/project.yml``: its shared secrets and their maintainers) is a manifest
too, one folder higher: each check is handed it and says what it asks of one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from shell.cli import missing_paths, report, stack_configs
from workflows.config import StackConfig
from workflows.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Problem
from workflows.manifest.discovery import expand, is_project_manifest, location, project_location
from workflows.model import ENVIRONMENTS
from workflows.review.checks import Unreachable

Check = Callable[[Path, StackConfig], Iterable[Problem]]


def run_checks(paths: list[Path], config_dir: Path, output: str, check: Check) -> int:
    """Run ``check`` on every manifest of ``paths``; print its problems. Exit 0, 1 (problems) or 2 (usage,
    or the service asked cannot be reached: ``check`` raises :class:`Unreachable`)."""
    if missing_paths(paths):
        return EXIT_USAGE
    manifests = expand(paths)
    configs = stack_configs(config_dir)
    problems: list[Problem] = []
    try:
        for path in manifests:
            environment = project_location(path)[0] if is_project_manifest(path) else location(path)[0]
            if environment not in ENVIRONMENTS:
                problems.append(Problem(path, 1, 1, f"not in an environment folder ({', '.join(ENVIRONMENTS)})"))
                continue
            problems.extend(check(path, configs(environment)))
    except Unreachable as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    report(problems, output)
    print(f"{len(manifests)} manifest(s) checked, {len(problems)} problem(s)", file=sys.stderr)
    return EXIT_FAILED if problems else EXIT_OK
