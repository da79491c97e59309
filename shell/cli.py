"""``python -m workflows``: the command line CI and reviewers rely on (DESIGN.md).

    validate [--format text|github|json] PATH...
    render --stack ENV [--environments DIR] --out OUT
    diff --stack ENV --base REF [--author LOGIN] [--format markdown|json] [--checks-passed]
    check-images [--format text|github] PATH...
    check-maintainers [--format text|github] PATH...
    import-plan --stack ENV --out FILE [--lookup]
    secrets-status --stack ENV [--environments DIR]

Exit status: 0 all good, 1 invalid manifests (or failed render), 2 usage errors.
A bad manifest never produces a traceback: every problem is a ``path:line:col: message``,
a warning ``path:line:col: warning: message`` (warnings alone leave the exit status 0).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from workflows.config import StackConfig, stack_file
from workflows.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, ConfigError, ManifestError, Problem
from workflows.manifest.discovery import expand, is_project_manifest, location, misplaced, project_location, scan
from workflows.model import ENVIRONMENTS
from workflows.plan.limits import name_clashes
from workflows.plan.workflow_plan import WorkflowPlan
from workflows.validate import check_project, check_workflow, load_workflow

REPO_ROOT = Path(__file__).resolve().parent.parent


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def parser() -> argparse.ArgumentParser:
    root = _Parser(prog="python -m workflows", description=__doc__.split("\n\n")[0])
    commands = root.add_subparsers(dest="command", required=True, parser_class=_Parser)

    validate = commands.add_parser("validate", help="check manifests and report every problem")
    validate.add_argument("--format", choices=("text", "github", "json"), default="text")
    validate.add_argument("--config-dir", type=Path, default=REPO_ROOT, help="folder holding Pulumi.<stack>.yaml")
    validate.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="a workflow.yml, or a folder to search")

    render = commands.add_parser("render", help="run the stack offline and write what it would declare")
    _stack_arguments(render)
    render.add_argument("--out", type=Path, required=True)

    diff = commands.add_parser("diff", help="Markdown summary of what changes between a git ref and the working tree")
    _stack_arguments(diff)
    diff.add_argument("--base", required=True, help="git ref to compare with (for example origin/main)")
    diff.add_argument("--author", help="GitHub user proposing the change (default: $DIFF_AUTHOR, then $GITHUB_ACTOR)")
    diff.add_argument("--format", choices=("markdown", "json"), default="markdown")
    diff.add_argument(
        "--checks-passed",
        action="store_true",
        help="the image and maintainer checks passed (CI says so); without it the change is never auto-approved",
    )

    for name, what in (
        ("check-maintainers", "every maintainer is an active member of the GitHub organisation, with the exact case"),
        ("check-images", "the image each manifest's DAG pulls exists in ECR"),
    ):
        check = commands.add_parser(name, help=what)
        check.add_argument("--format", choices=("text", "github"), default="text")
        check.add_argument("--config-dir", type=Path, default=REPO_ROOT, help="folder holding Pulumi.<stack>.yaml")
        check.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="a workflow.yml, or a folder to search")

    plan = commands.add_parser("import-plan", help="write a `pulumi import --file` plan adopting live resources")
    _stack_arguments(plan)
    plan.add_argument("--out", type=Path, required=True)
    plan.add_argument(
        "--lookup",
        action="store_true",
        help="look up secret ARNs, check roles and policies, and print what the first `pulumi up` changes "
        "(boto3, read-only, never a secret value)",
    )

    status = commands.add_parser(
        "secrets-status", help="list the secrets still waiting for a maintainer's value (never reads a value)"
    )
    _stack_arguments(status)
    return root


def _stack_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--stack", required=True, choices=ENVIRONMENTS)
    command.add_argument("--environments", type=Path, default=Path("environments"))
    command.add_argument("--config-dir", type=Path, default=REPO_ROOT, help="folder holding Pulumi.<stack>.yaml")


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "validate":
            return validate(args.paths, args.format, args.config_dir)
        if args.command == "render":
            from shell.offline import render_command  # noqa: PLC0415 - loads Pulumi only when needed

            return render_command(args.stack, args.environments, args.out, args.config_dir)
        if args.command == "diff":
            from shell.diff import diff_command  # noqa: PLC0415 - loads Pulumi only when needed

            return diff_command(
                args.stack,
                args.environments,
                args.base,
                args.config_dir,
                author=args.author,
                output=args.format,
                checks_passed=args.checks_passed,
            )
        if args.command == "check-maintainers":
            from shell.check_maintainers import check_maintainers_command  # noqa: PLC0415

            return check_maintainers_command(args.paths, args.config_dir, args.format)
        if args.command == "check-images":
            from shell.check_images import check_images_command  # noqa: PLC0415 - loads boto3 only when needed

            return check_images_command(args.paths, args.config_dir, args.format)
        if args.command == "import-plan":
            from shell.importplan import import_plan_command  # noqa: PLC0415

            return import_plan_command(args.stack, args.environments, args.out, args.config_dir, lookup=args.lookup)
        if args.command == "secrets-status":
            from shell.secrets_status import secrets_status_command  # noqa: PLC0415 - loads boto3 only when needed

            return secrets_status_command(args.stack, args.environments, args.config_dir)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ManifestError as error:
        report(error.problems, "text")
        return EXIT_FAILED
    return EXIT_USAGE


def missing_paths(paths: Sequence[Path]) -> bool:
    """Whether any of ``paths`` does not exist (said on stderr: a usage error)."""
    missing = [p for p in paths if not p.exists()]
    if missing:
        print(f"error: no such file or folder: {', '.join(map(str, missing))}", file=sys.stderr)
    return bool(missing)


def stack_configs(config_dir: Path) -> Callable[[str], StackConfig]:
    """An environment's stack config (``Pulumi.<environment>.yaml`` in ``config_dir``), each read once."""
    return functools.cache(lambda environment: StackConfig.from_stack_file(stack_file(config_dir, environment)))


def validate(paths: list[Path], output: str, config_dir: Path) -> int:
    if missing_paths(paths):
        return EXIT_USAGE
    manifests = expand(paths)
    problems: list[Problem] = []
    configs = stack_configs(config_dir)
    valid: dict[Path, list[WorkflowPlan]] = {}  # by environment folder
    for path in manifests:
        never_read = misplaced(path)
        if never_read is not None:  # a workflow.yaml, Workflow.yml, or a workflow.yml at the wrong depth
            problems.append(Problem(path, 1, 1, never_read))
            continue
        if is_project_manifest(path):
            problems.extend(_check_project_file(path, configs))
            continue
        environment = location(path)[0]
        if environment not in ENVIRONMENTS:
            problems.append(
                Problem(
                    path,
                    1,
                    1,
                    f"a manifest must live at environments/<environment>/<project>/<workflow>/workflow.yml "
                    f"with environment one of {', '.join(ENVIRONMENTS)}; '{environment}' is not",
                )
            )
            continue
        result, found = check_workflow(path, configs(environment))
        problems.extend(found)
        if result is not None:
            valid.setdefault(path.parents[2], []).append(result)
    for folder, plans in valid.items():
        problems.extend(_clashes_with_siblings(folder, plans, configs(folder.name)))
    report(problems, output, checked=len(manifests))
    return EXIT_FAILED if any(p.is_error for p in problems) else EXIT_OK


def _check_project_file(path: Path, configs: Callable[[str], StackConfig]) -> list[Problem]:
    """A project's ``project.yml``, with its environment's stack config (and the shared secrets its workflows use)."""
    environment = project_location(path)[0]
    if environment not in ENVIRONMENTS:
        return [
            Problem(
                path,
                1,
                1,
                f"a project file must live at environments/<environment>/<project>/project.yml with environment "
                f"one of {', '.join(ENVIRONMENTS)}; '{environment}' is not",
            )
        ]
    return check_project(path, configs(environment))[1]


def _clashes_with_siblings(folder: Path, plans: list[WorkflowPlan], config: StackConfig) -> list[Problem]:
    """Name clashes of the checked manifests with each other and with every other valid manifest of
    their environment, as the stack (``load_all``) reports them: validating only the files a pull
    request changes must still catch a clash with one it does not."""
    checked = {p.workflow.path for p in plans}
    siblings: list[WorkflowPlan] = []
    for path in scan(folder.parent, folder.name)[0]:
        if path not in checked:
            with contextlib.suppress(ManifestError):  # invalid siblings are not what is being checked
                siblings.append(load_workflow(path, config))
    return [p for p in name_clashes([*plans, *siblings]) if p.path in checked]


def report(problems: Sequence[Problem], output: str, checked: int | None = None) -> None:
    """Every problem in the chosen format, errors and warnings alike; with ``checked``, a summary on stderr."""
    problems = sorted(problems)
    errors = [p for p in problems if p.is_error]
    if output == "json":
        print(
            json.dumps(
                {
                    "checked": checked,
                    "valid": not errors,
                    "problems": [
                        {
                            "path": str(p.path),
                            "line": p.line,
                            "column": p.column,
                            "severity": p.severity,
                            "code": p.code,
                            "key": p.key,
                            "message": p.message,
                        }
                        for p in problems
                    ],
                },
                indent=2,
            )
        )
        return
    for problem in problems:
        if output == "github":
            print(
                f"::{problem.severity} file={_escape(str(problem.path), True)},line={problem.line},"
                f"col={problem.column},title={_escape(problem.title, True)}::{_escape(problem.message)}"
            )
        else:
            print(problem)
    if checked is not None:
        invalid = len({p.path for p in errors})
        warnings = len(problems) - len(errors)
        summary = f"{checked} manifest(s) checked, {invalid} invalid, {len(errors)} error(s), {warnings} warning(s)"
        print(summary, file=sys.stderr)


def _escape(value: str, property_value: bool = False) -> str:
    """GitHub workflow-command escaping (``%``, CR, LF; also ``:`` and ``,`` in properties)."""
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value
