"""Which stacks a pull request affects, and which manifests to validate, from its changed paths.

    git diff --name-only -z HEAD^1 HEAD | python3 .github/scripts/changed_stacks.py
        -> stacks=["development"]    (lines for $GITHUB_OUTPUT)
           program=false
           manifests=2
    ... | python3 .github/scripts/changed_stacks.py --manifests
        -> the manifests to validate, NUL-separated (for xargs -0)

Paths are read NUL-separated from stdin (``git diff -z``), relative to the repository
root, which is the current directory. Standard library only: it runs before any set-up.

- ``environments/<stack>/...`` and ``Pulumi.<stack>.yaml`` affect that stack;
- the program, the policy pack, the pipeline and the pinned dependencies affect every stack
  (``program=true``): main deploys them development → test → production, each after the
  previous one succeeded, while a change of manifests or stack config alone (``program=false``)
  deploys each affected stack at once, in parallel (``.github/workflows/main.yml``);
- anything else (docs, tests) affects none.

Deleted paths count (a deleted manifest deletes that workflow's resources); the manifests
to validate are only those that exist.

A changed file inside a workflow folder (its ``dag.py``, say) means that folder's
``workflow.yml`` is validated again; a ``workflow.yml`` at a wrong depth is passed
as it is, so that ``validate`` reports its layout. A changed (or deleted) project's
``project.yml`` (its shared secrets) means it and every ``workflow.yml`` of the
project are validated: a workflow may list a shared secret the change removed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

STACKS = ("development", "test", "production")
EVERY_STACK = re.compile(
    r"^(workflows/|components/|shell/|mwaa/|policy/|\.github/workflows/|\.github/actions/|\.github/scripts/"
    r"|__main__\.py$|Pulumi\.yaml$|requirements\.txt$)"
)
STACK_CONFIG = re.compile(r"^Pulumi\.([a-z]+)\.yaml$")
MANIFEST = "workflow.yml"
PROJECT_MANIFEST = "project.yml"


def program_changed(paths: Iterable[str]) -> bool:
    """Whether any path is part of what every stack runs (the program, its pins, the pipeline)."""
    return any(EVERY_STACK.match(path) for path in paths)


def affected_stacks(paths: Iterable[str]) -> list[str]:
    stacks: set[str] = set()
    for path in paths:
        parts = path.split("/")
        config = STACK_CONFIG.match(path)
        if EVERY_STACK.match(path):
            return list(STACKS)
        if parts[0] == "environments" and len(parts) > 2 and parts[1] in STACKS:
            stacks.add(parts[1])
        elif config and config.group(1) in STACKS:
            stacks.add(config.group(1))
    return [s for s in STACKS if s in stacks]


def manifests(paths: Iterable[str], root: Path) -> list[str]:
    found: set[str] = set()
    for path in paths:
        parts = path.split("/")
        if parts[0] != "environments":
            continue
        if parts[-1] == MANIFEST:
            found.add(path)
        elif parts[-1] == PROJECT_MANIFEST and len(parts) == 4:
            found.add(path)
            project = "/".join(parts[:3])
            found.update(f"{project}/{w.parent.name}/{MANIFEST}" for w in (root / project).glob(f"*/{MANIFEST}"))
        elif len(parts) >= 5 and (root / "/".join(parts[:4]) / MANIFEST).is_file():
            found.add("/".join([*parts[:4], MANIFEST]))
    return sorted(p for p in found if (root / p).is_file())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifests", action="store_true", help="print manifests to validate, NUL-separated")
    args = parser.parse_args(argv)
    paths = [p for p in sys.stdin.read().split("\0") if p.strip()]
    if args.manifests:
        sys.stdout.write("".join(f"{p}\0" for p in manifests(paths, Path())))
        return 0
    print(f"stacks={json.dumps(affected_stacks(paths))}")
    print(f"program={json.dumps(program_changed(paths))}")
    print(f"manifests={len(manifests(paths, Path()))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
