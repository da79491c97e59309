"""Approval by risk: whether a pull request may be approved without the platform team (issue 13).

The pure half of the verdict ``python -m workflows diff`` prints. It reads the two
renders (resource dicts as ``render`` writes them), the manifests at both sides,
the files the change touches (repository-relative, from git) and whether the image
and maintainer checks passed, and approves only when *every* rule holds:

1. **files** — every changed file is the ``workflow.yml`` of a workflow that exists
   at both sides. A new or removed workflow, any other file in a workflow folder (a
   ``dag.py`` is code: never "image tag only"), a project's ``project.yml`` (its shared
   secrets and who sets them), the stack config, or anything outside
   ``environments/`` needs review. Files of another stack's environment are that
   stack's ``diff``'s to judge (CI approves only when every affected stack's verdict does).
2. **author** — the author is a maintainer of every changed workflow *at the base*
   (GitHub logins compare case-insensitively).
3. **grants** — the change grants nothing new: every Allow statement after, as
   (effect, action, resource, condition) quads of the workflow's policy documents, is
   one before; no Deny is lost; no managed policy is newly attached; no trust
   (``assumeRolePolicy``) change; no ``iam.external_role`` change; no role appearing
   or disappearing. The one exception is what comes with a secret added by the same
   change: ``update_secrets`` grants on that new secret (secrets added or removed are
   day-to-day work; secret resource policies follow the maintainers, rule 4). Reading a
   project's shared secret (``shared_secrets``, the ``SecretsManagerShared`` statement) is
   a grant like any other: a workflow that starts reading one needs review, said as such.
4. **maintainers** — the maintainers list gains no one (case-insensitive).
5. **outlets** — no new outlet dataset URI (announcing a dataset can trigger other
   teams' DAGs: issue 12).
6. **checks** — the image and maintainer checks passed (an input: CI runs them).
7. nothing outside workflows changes (the platform runtime, a project's shared secrets:
   added, removed, read by other workflows, or their maintainers) and something changes.

Schedule, env vars, tasks, compute profile, tag, notifications and secrets added or
removed change only the DAG file and the secrets, and so approve.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from workflows import tokens
from workflows.manifest.discovery import MANIFEST_NAME, PROJECT_MANIFEST_NAME
from workflows.model import ENVIRONMENTS
from workflows.review.diff import ProjectDiff, StackDiff, as_json, group_by_workflow, listed

EXTERNAL_ROLE_FIELD = "iam.external_role"


@dataclass(frozen=True)
class Verdict:
    auto_approve: bool
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"auto_approve": self.auto_approve, "reasons": list(self.reasons)}

    def markdown(self) -> list[str]:
        if self.auto_approve:
            return ["**Approval: automatic** — day-to-day changes by a listed maintainer; every rule holds."]
        return ["**Approval: needs review by the platform team:**", "", *(f"- {r}" for r in self.reasons)]


def assess(
    diff: StackDiff,
    base: Sequence[Mapping[str, Any]],
    head: Sequence[Mapping[str, Any]],
    *,
    base_manifests: Mapping[str, Any],
    head_manifests: Mapping[str, Any],
    changed_files: Iterable[str],
    environments_prefix: str = "environments",
    author: str | None,
    checks_passed: bool,
    code_changed: Collection[str] = (),
) -> Verdict:
    """The verdict on one stack's change. ``changed_files`` are repository-relative POSIX paths;
    ``environments_prefix`` is where ``environments/`` is in the repository; ``code_changed`` are the
    ``<project>/<workflow>`` keys whose folder has a changed file other than ``workflow.yml``."""
    reasons: list[str] = []
    touched: set[str] = set()
    for path in sorted(set(changed_files)):
        problem, key = _file_rule(path, diff.stack, environments_prefix)
        if problem:
            reasons.append(problem)
        if key:
            touched.add(key)
    for key in sorted(set(code_changed)):
        reasons.append(f"`{key}`: code changed (a file other than {MANIFEST_NAME}): needs review")

    by_key = {w.key: w for w in diff.workflows}
    changed = sorted(touched | {w.key for w in diff.workflows if w.change != "unchanged"})
    base_groups, head_groups = group_by_workflow(base), group_by_workflow(head)
    for key in changed:
        workflow = by_key.get(key)
        change = workflow.change if workflow else "unchanged"
        if change == "added":
            reasons.append(f"`{key}`: a new workflow needs review")
            continue
        if change == "removed":
            reasons.append(f"`{key}`: a removed workflow needs review")
            continue
        before, after = base_manifests.get(key), head_manifests.get(key)
        if not _is_maintainer(author, before):
            who = f"@{author}" if author else "the author (unknown)"
            reasons.append(f"`{key}`: {who} is not a maintainer of this workflow at the base")
        gained = _lower(listed(after, "maintainers")) - _lower(listed(before, "maintainers"))
        if gained:
            reasons.append(f"`{key}`: maintainers gain {', '.join(sorted(gained))}")
        new_outlets = _outlets(after) - _outlets(before)
        if new_outlets:
            reasons.append(f"`{key}`: new outlet dataset(s) {', '.join(sorted(new_outlets))}")
        if _external_role(before) != _external_role(after):
            reasons.append(f"`{key}`: `{EXTERNAL_ROLE_FIELD}` changed")
        reading = [s for s in listed(after, "shared_secrets") if s not in listed(before, "shared_secrets")]
        if reading:
            reasons.append(
                f"`{key}`: starts reading the project's shared secret(s) {', '.join(reading)} "
                "(a new `SecretsManagerShared` grant): needs review"
            )
        reasons.extend(f"`{key}`: {r}" for r in _grant_reasons(base_groups.get(key, {}), head_groups.get(key, {})))
    for project in diff.changed_projects:
        reasons.append(_project_reason(project))
    if diff.platform:
        reasons.append("the platform runtime changes: needs review")
    if not changed and not reasons:
        reasons.append("nothing changes in this stack: nothing to approve")
    if not checks_passed:
        reasons.append("the image and maintainer checks did not pass (or were not run)")
    return Verdict(not reasons, tuple(reasons))


def _file_rule(path: str, stack: str, prefix: str) -> tuple[str | None, str | None]:
    """(why the file needs review or None, the ``<project>/<workflow>`` it belongs to in this stack or None)."""
    parts = PurePosixPath(path).parts
    root = PurePosixPath(prefix).parts if prefix not in ("", ".") else ()
    if parts[: len(root)] != root or len(parts) <= len(root) + 1:
        return f"`{path}` is outside environments/: needs review", None
    environment, rest = parts[len(root)], parts[len(root) + 1 :]
    if environment not in ENVIRONMENTS:
        return f"`{path}` is outside environments/: needs review", None
    if environment != stack:
        return None, None  # another stack's file: that stack's diff judges it
    if rest[1:] == (PROJECT_MANIFEST_NAME,):
        return f"`{path}`: a project's shared secrets and who sets them ({PROJECT_MANIFEST_NAME}): needs review", None
    if len(rest) < 3:
        return f"`{path}` is not in a workflow folder: needs review", None
    key = f"{rest[0]}/{rest[1]}"
    if len(rest) != 3 or rest[2] != MANIFEST_NAME:
        return f"`{path}`: code changed (a file other than {MANIFEST_NAME}): needs review", key
    return None, key


def _project_reason(project: ProjectDiff) -> str:
    """Why a change to a project's shared secrets needs review, saying what changes."""
    what = {"added": "are new", "removed": "are removed"}.get(project.change, "change")
    details = [
        *(f"secret {s} added" for s in project.secrets_added),
        *(f"secret {s} removed" for s in project.secrets_removed),
        *(f"{w} starts reading {s}" for w, s in project.readers_added),
        *(f"{w} stops reading {s}" for w, s in project.readers_removed),
        *(f"maintainer {m} added" for m in project.maintainers_added),
        *(f"maintainer {m} removed" for m in project.maintainers_removed),
    ]
    said = f": {'; '.join(details)}" if details else ""
    return f"`{project.key}`: the project's shared secrets {what} ({PROJECT_MANIFEST_NAME}){said}: needs review"


def _grant_reasons(
    base: Mapping[tuple[str, str], Mapping[str, Any]], head: Mapping[tuple[str, str], Mapping[str, Any]]
) -> list[str]:
    reasons: list[str] = []
    before, after = _quads(base), _quads(head)
    new_secrets = _secret_names(head) - _secret_names(base)
    for quad in sorted(after - before):
        effect, action, resource, _ = quad
        if effect != "Allow":
            continue
        if action.startswith("secretsmanager:") and any(resource.endswith(f":secret:{n}*") for n in new_secrets):
            continue  # comes with a secret this change adds
        reasons.append(f"grants more: {effect} `{action}` on `{resource}`" + (" (condition)" if quad[3] else ""))
    for quad in sorted(before - after):
        if quad[0] == "Deny":
            reasons.append(f"loses a Deny: `{quad[1]}` on `{quad[2]}`")
    arns_before, arns_after = _attached(base), _attached(head)
    for arn in sorted(arns_after - arns_before):
        reasons.append(f"attaches a managed policy `{arn}`")
    roles_before = {k: r for k, r in base.items() if k[0] == tokens.ROLE}
    roles_after = {k: r for k, r in head.items() if k[0] == tokens.ROLE}
    if set(roles_before) != set(roles_after):
        reasons.append("its IAM role appears or disappears (external_role)")
    for k in sorted(set(roles_before) & set(roles_after)):
        trust_before = as_json(_inputs(roles_before[k]).get("assumeRolePolicy"))
        if trust_before != as_json(_inputs(roles_after[k]).get("assumeRolePolicy")):
            reasons.append("its role's trust policy changes")
    return reasons


def _secret_names(group: Mapping[tuple[str, str], Mapping[str, Any]]) -> set[str]:
    return {str(_inputs(r).get("name")) for (type_, _), r in group.items() if type_ == tokens.SECRET}


def _quads(group: Mapping[tuple[str, str], Mapping[str, Any]]) -> set[tuple[str, str, str, str]]:
    """(effect, action, resource, condition JSON) of every statement of the workflow's identity policies."""
    quads: set[tuple[str, str, str, str]] = set()
    for identity, resource in group.items():
        if identity[0] != tokens.POLICY:
            continue
        document = as_json(_inputs(resource).get("policy")) or {}
        statements = document.get("Statement") or []
        for statement in statements if isinstance(statements, list) else [statements]:
            extra = set(statement) - {"Sid", "Effect", "Action", "Resource", "Condition"}
            condition = json.dumps(statement.get("Condition"), sort_keys=True) if statement.get("Condition") else ""
            if extra:  # NotAction, NotResource, Principal…: never written by the plan; counted whole
                quads.add((statement.get("Effect", "Allow"), json.dumps(statement, sort_keys=True), "*", condition))
                continue
            for action in _list(statement.get("Action")):
                for target in _list(statement.get("Resource")):
                    quads.add((statement.get("Effect", "Allow"), action, target, condition))
    return quads


def _attached(group: Mapping[tuple[str, str], Mapping[str, Any]]) -> set[str]:
    return {
        arn
        for identity, resource in group.items()
        if identity[0] == tokens.ROLE_POLICY_ATTACHMENTS
        for arn in _list(_inputs(resource).get("policyArns"))
    }


def _inputs(resource: Mapping[str, Any]) -> Mapping[str, Any]:
    return resource.get("inputs") or {}


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _lower(names: Iterable[str]) -> set[str]:
    return {n.lower() for n in names}


def _is_maintainer(author: str | None, manifest: Any) -> bool:
    return bool(author) and author.lower() in _lower(listed(manifest, "maintainers"))


def _external_role(manifest: Any) -> Any:
    iam = manifest.get("iam") if isinstance(manifest, Mapping) else None
    return iam.get("external_role") if isinstance(iam, Mapping) else None


def _outlets(manifest: Any) -> set[str]:
    """Every outlet URI a manifest announces (``dag.outlets`` and each task's ``outlets``)."""
    dag = manifest.get("dag") if isinstance(manifest, Mapping) else None
    if not isinstance(dag, Mapping):
        return set()
    found = set(_list(dag.get("outlets")))
    tasks = dag.get("tasks")
    if isinstance(tasks, Mapping):
        for spec in tasks.values():
            if isinstance(spec, Mapping):
                found |= set(_list(spec.get("outlets")))
    return found
