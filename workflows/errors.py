"""The project's exceptions: every input problem names its file, line and column."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"

# The stable code of every kind of problem (``validate --format json``) and its short title
# (``validate --format github``). A problem nobody gave a code to is ``invalid``.
INVALID = "invalid"
TITLES: dict[str, str] = {
    INVALID: "Invalid manifest",
    "yaml-syntax": "YAML syntax",
    "unknown-key": "Unknown key",
    "missing-key": "Missing key",
    "invalid-name": "Invalid name",
    "not-allowed": "Value not allowed",
    "wrong-type": "Wrong type",
    "invalid-value": "Invalid value",
    "duplicate": "Duplicate entry",
    "empty": "Empty value",
    "out-of-range": "Out of range",
    "too-long": "Name too long",
    "invalid-schedule": "Invalid schedule",
    "invalid-cron": "Invalid cron",
    "invalid-date": "Invalid date",
    "invalid-dataset": "Invalid dataset",
    "invalid-dependency": "Invalid dependency",
    "invalid-template": "Invalid template",
    "unknown-param": "Unknown param",
    "secret-shadows-env-var": "Secret replaces env var",
    "s3-path-matches-nothing": "S3 path matches nothing",
    "platform-bucket": "Platform bucket",
    "invalid-iam": "Invalid IAM grant",
    "invalid-location": "Wrong location",
    "invalid-repository": "Invalid repository",
    "invalid-email": "Invalid email",
    "invalid-tag": "Invalid tag",
    "yaml-reading": "YAML reads differently",
    "too-many": "Too many entries",
    "shared-secret-clash": "Shared secret clash",
    "undeclared-shared-secret": "Undeclared shared secret",
    "shared-secret-in-use": "Shared secret in use",
    "reserved-name": "Reserved name",
}


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in one manifest. Lines and columns are 1-based.

    An ``error`` stops the manifest (validate exits 1, the stack is not changed); a
    ``warning`` is reported in the same shape (``PATH:LINE:COL: warning: …``) and
    stops nothing: the manifest means something its author probably did not intend,
    and the warning says what to write instead.
    """

    path: Path
    line: int
    column: int
    message: str
    severity: Severity = ERROR
    # What kind of problem (a stable code for tools, see TITLES) and the manifest key it points at
    # (``dag.tasks.extract.env_vars.ZIP``; empty for the file as a whole). Neither takes part in
    # comparing or sorting problems: the same place and message is the same problem.
    code: str = field(default=INVALID, compare=False)
    key: str = field(default="", compare=False)

    @property
    def title(self) -> str:
        """A few words naming the kind of problem (the title of a GitHub annotation)."""
        return TITLES.get(self.code, TITLES[INVALID])

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def __str__(self) -> str:
        prefix = "" if self.is_error else f"{self.severity}: "
        return f"{self.path}:{self.line}:{self.column}: {prefix}{self.message}"


def errors(problems: Iterable[Problem]) -> list[Problem]:
    """The problems that stop a manifest (not the warnings)."""
    return [p for p in problems if p.is_error]


# Exit status of every command (DESIGN.md's command-line contract): all good; invalid input or a
# failed run; a usage error (bad arguments, unreadable stack config, no access to git or AWS).
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def escape_unprintable(text: str) -> str:
    """``text`` on one line: anything unprintable (line breaks included) written as its escape."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


class WorkflowsError(Exception):
    """Base class of the project's errors."""


class ConfigError(WorkflowsError):
    """The stack configuration is missing or malformed."""


class ManifestError(WorkflowsError):
    """One or more manifests are invalid. Carries every problem found, sorted."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(sorted(set(problems)))
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def first(self) -> Problem:
        return self.problems[0]
