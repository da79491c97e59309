"""The project's exceptions: every input problem names its file, line and column."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in one manifest. Lines and columns are 1-based."""

    path: Path
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


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
