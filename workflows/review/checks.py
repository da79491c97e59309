"""The pure halves of ``check-maintainers`` and ``check-images`` (issue 13): what each manifest asks of GitHub
and ECR, and the problem to report from each answer. The runners (HTTP, boto3) are ``shell/check_*.py``.

Every problem points at the line it is about (a maintainer's entry, ``dag.tag``) so that CI annotates it there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workflows.errors import Problem
from workflows.manifest.load import Positions

IMAGE_HINT = (
    "create a release of the repository with that tag (its image is built and pushed to ECR on release), "
    "and check that the image was pushed (the release's workflow run) before using the tag"
)


@dataclass(frozen=True)
class Membership:
    """GitHub's answer about one login in the organisation: ``None`` from the lookup means not a member."""

    login: str  # as GitHub spells it (user.login)
    state: str  # "active" or "pending"


class Unreachable(Exception):
    """The service (GitHub, ECR) could not be asked; the message says why."""


def maintainers(data: Any, positions: Positions) -> list[tuple[str, int, int]]:
    """Each maintainer as written, with its line and column: a workflow manifest's, or a project's ``project.yml``'s
    (the same ``maintainers`` list of GitHub logins)."""
    listed = data.get("maintainers") if isinstance(data, Mapping) else None
    if not isinstance(listed, list):
        return []
    return [(m, *positions.of(("maintainers", i))) for i, m in enumerate(listed) if isinstance(m, str)]


def maintainer_problem(path: Path, line: int, column: int, login: str, org: str, member: Membership | None):
    """The problem with one maintainer entry given GitHub's answer, or None."""
    if member is None:
        return Problem(
            path,
            line,
            column,
            f"maintainer '{login}' is not a member of the GitHub organisation {org}: check the spelling of the "
            f"login, or ask them to join {org} before listing them",
        )
    if member.state != "active":
        return Problem(
            path,
            line,
            column,
            f"maintainer '{login}' has not accepted the invitation to the GitHub organisation {org} "
            f"(membership {member.state}): they must accept it first",
        )
    if member.login != login:
        return Problem(
            path,
            line,
            column,
            f"maintainer '{login}' must be written exactly as the GitHub login is: '{member.login}'",
        )
    return None


@dataclass(frozen=True)
class ImageReference:
    registry_id: str  # the AWS account of the registry
    region: str
    repository: str
    tag: str

    def __str__(self) -> str:
        return f"{self.repository}:{self.tag}"


def image_reference(image: str) -> ImageReference:
    """``<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>`` (the plan's ``names.image``) in parts."""
    host, _, rest = image.partition("/")
    repository, _, tag = rest.rpartition(":")
    labels = host.split(".")
    region = labels[3] if len(labels) > 3 and labels[1:3] == ["dkr", "ecr"] else ""
    return ImageReference(labels[0], region, repository, tag)


def missing_image_problem(path: Path, positions: Positions, image: ImageReference, why: str) -> Problem:
    return positions.problem(
        ("dag", "tag"),
        f"the image {image} does not exist in ECR ({why}) in account {image.registry_id}: {IMAGE_HINT}",
    )
