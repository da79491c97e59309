"""The project's exceptions: every input problem names its file, line and column."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"


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
