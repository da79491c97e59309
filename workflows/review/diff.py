"""What a change to manifests or stack config does to a stack: the pure comparison behind ``diff``.

``python -m workflows diff`` (its runner is :mod:`shell.diff`) renders the
stack twice under the Pulumi mock runtime, once for a base git ref and once for
the working tree, and hands both resource lists here. This module knows nothing
about Pulumi or git: it compares plain ``{"type", "name", "urn", "parent",
"inputs"}`` dicts (what ``render`` writes to ``resources.json``) and parsed
manifests, and returns a :class:`StackDiff` that renders as Markdown.

- Resources are matched by type and logical name (what Pulumi's URN is made of);
  their inputs are compared field by field. JSON strings (IAM documents) are
  compared as JSON, so a change shows as ``policy.Statement`` rather than
  ``policy``.
- Each resource belongs to the workflow whose ``Workflow`` component is above it
  (``<project>/<workflow>``), or to the project whose ``SharedSecrets`` component is
  above it (a project's shared secrets, ``project.yml``); anything else (the platform
  runtime files) is reported as the platform's.
- A project's shared secrets are a :class:`ProjectDiff`: the secrets its ``project.yml``
  adds or removes, the workflows that start or stop reading one (their ``shared_secrets``),
  and the project's maintainers gained or lost (they set the values and may read them).
- A workflow change is *tag only* when its manifest differs only in ``dag.tag``
  and the only resources that change are its DAG objects. It is *tag only by a
  maintainer* when, in addition, the author (the pull request's) is listed in
  the workflow's ``maintainers`` at the base ref (GitHub names compare without
  case). A workflow that is new at the head has no base maintainers, so adding
  one is never a tag-only change; nor is a change to any other file of the
  workflow's folder (a ``dag.py`` is code: ``code_changed``).
- Whether the change may be approved without review is :mod:`workflows.review.approval`'s
  :class:`~workflows.review.approval.Verdict`, attached as ``verdict``.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from workflows import tokens
from workflows.review.live_diff import lineage
from workflows.runtime_modules import identity

if TYPE_CHECKING:
    from workflows.review.approval import Verdict

WORKFLOW_TYPE = tokens.WORKFLOW
SHARED_SECRETS_TYPE = tokens.SHARED_SECRETS
DAG_OBJECT_TYPES = frozenset({tokens.BUCKET_OBJECT})
PLATFORM = "(platform)"
TAG_FIELD = "dag.tag"
# Long unified diffs are cut so that a pull-request comment stays readable (and under GitHub's size limit).
MAX_TEXT_DIFF_LINES = 40

Change = Literal["added", "removed", "changed", "unchanged"]


@dataclass(frozen=True)
class ResourceChange:
    """One resource that is new, gone, or has different inputs."""

    type: str
    name: str
    change: Change
    fields: tuple[str, ...] = ()
    # Unified diff lines of changed multi-line text inputs (a DAG file's content).
    text_diff: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "change": self.change, "fields": list(self.fields)}


@dataclass(frozen=True)
class WorkflowDiff:
    """What happens to one workflow (``<project>/<workflow>``) of the stack."""

    key: str
    change: Change
    resources: tuple[ResourceChange, ...] = ()
    manifest_fields: tuple[str, ...] = ()
    tag: tuple[Any, Any] | None = None
    tag_only: bool = False
    author: str | None = None
    base_maintainers: tuple[str, ...] = ()
    code_changed: bool = False
    # The path of every secret the change adds (its value is a placeholder until a maintainer sets it),
    # and the maintainers listed at the head, who are the ones to set it.
    new_secrets: tuple[str, ...] = ()
    maintainers: tuple[str, ...] = ()

    @property
    def author_is_maintainer(self) -> bool:
        """Whether the author is listed in ``maintainers`` at the base ref (case-insensitive, like GitHub)."""
        if not self.author:
            return False
        return self.author.lower() in {m.lower() for m in self.base_maintainers}

    @property
    def tag_only_by_maintainer(self) -> bool:
        return self.tag_only and self.author_is_maintainer

    def as_dict(self) -> dict[str, Any]:
        return {
            "workflow": self.key,
            "change": self.change,
            "manifest_fields": list(self.manifest_fields),
            "tag": list(self.tag) if self.tag else None,
            "tag_only": self.tag_only,
            "code_changed": self.code_changed,
            "author": self.author,
            "author_is_maintainer": self.author_is_maintainer,
            "tag_only_by_maintainer": self.tag_only_by_maintainer,
            "resources": [r.as_dict() for r in self.resources],
        }


@dataclass(frozen=True)
class ProjectDiff:
    """What happens to one project's shared secrets (its ``project.yml`` and the ``SharedSecrets`` component)."""

    project: str  # the project folder
    change: Change
    resources: tuple[ResourceChange, ...] = ()
    manifest_fields: tuple[str, ...] = ()  # keys of project.yml that differ
    secrets_added: tuple[str, ...] = ()  # ids
    secrets_removed: tuple[str, ...] = ()
    # (workflow, secret id): a workflow of the project that starts (stops) listing the id in shared_secrets.
    readers_added: tuple[tuple[str, str], ...] = ()
    readers_removed: tuple[tuple[str, str], ...] = ()
    maintainers_added: tuple[str, ...] = ()  # compared without case, as GitHub does
    maintainers_removed: tuple[str, ...] = ()
    # The name of every shared secret the change creates, and the project's maintainers at the head (who set it).
    new_secrets: tuple[str, ...] = ()
    maintainers: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """``<project>/shared``: the SharedSecrets component's logical name."""
        return f"{self.project}/shared"

    def as_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "change": self.change,
            "manifest_fields": list(self.manifest_fields),
            "secrets_added": list(self.secrets_added),
            "secrets_removed": list(self.secrets_removed),
            "readers_added": [{"workflow": w, "secret": s} for w, s in self.readers_added],
            "readers_removed": [{"workflow": w, "secret": s} for w, s in self.readers_removed],
            "maintainers_added": list(self.maintainers_added),
            "maintainers_removed": list(self.maintainers_removed),
            "new_secrets": list(self.new_secrets),
            "resources": [r.as_dict() for r in self.resources],
        }


@dataclass(frozen=True)
class StackDiff:
    stack: str
    base_ref: str
    workflows: tuple[WorkflowDiff, ...]
    platform: tuple[ResourceChange, ...] = ()
    config_changed: bool = False
    verdict: Verdict | None = None
    # The stack's AWS region: where the console links of new secrets point (no links without it).
    region: str | None = None
    # The projects' shared secrets (project.yml), every project with one at either side.
    projects: tuple[ProjectDiff, ...] = ()

    def by_change(self, change: Change) -> list[WorkflowDiff]:
        return [w for w in self.workflows if w.change == change]

    @property
    def changed_projects(self) -> list[ProjectDiff]:
        return [p for p in self.projects if p.change != "unchanged"]

    @property
    def has_changes(self) -> bool:
        return (
            bool(self.platform) or any(w.change != "unchanged" for w in self.workflows) or bool(self.changed_projects)
        )

    @property
    def only_tag_bumps_by_maintainers(self) -> bool:
        """Every change is a workflow's image-tag bump by one of its listed maintainers (and there is one)."""
        changed = [w for w in self.workflows if w.change != "unchanged"]
        return (
            bool(changed)
            and not self.platform
            and not self.changed_projects
            and all(w.tag_only_by_maintainer for w in changed)
        )

    def as_dict(self) -> dict[str, Any]:
        verdict = self.verdict.as_dict() if self.verdict else {"auto_approve": False, "reasons": ["not assessed"]}
        return {
            **verdict,
            "stack": self.stack,
            "base": self.base_ref,
            "config_changed": self.config_changed,
            "only_tag_bumps_by_maintainers": self.only_tag_bumps_by_maintainers,
            "workflows": [w.as_dict() for w in self.workflows if w.change != "unchanged"],
            "projects": [p.as_dict() for p in self.changed_projects],
            "platform": [r.as_dict() for r in self.platform],
        }

    def markdown(self) -> str:
        return render_markdown(self)


def compare(
    base: Sequence[Mapping[str, Any]],
    head: Sequence[Mapping[str, Any]],
    *,
    stack: str,
    base_ref: str,
    base_manifests: Mapping[str, Any] | None = None,
    head_manifests: Mapping[str, Any] | None = None,
    author: str | None = None,
    config_changed: bool = False,
    code_changed: Collection[str] = (),
    region: str | None = None,
    base_projects: Mapping[str, Any] | None = None,
    head_projects: Mapping[str, Any] | None = None,
) -> StackDiff:
    """Compare two renders of one stack.

    ``base``/``head`` are resource dicts as ``render`` writes them; ``*_manifests``
    map ``<project>/<workflow>`` to the parsed manifest (YAML as data) at each side,
    ``*_projects`` a project to its parsed ``project.yml``;
    ``author`` is the GitHub user proposing the change; ``code_changed`` are the workflows whose
    folder has a changed file other than the manifest (never "image tag only").
    """
    base_manifests = base_manifests or {}
    head_manifests = head_manifests or {}
    base_projects = base_projects or {}
    head_projects = head_projects or {}
    base_groups = group_by_workflow(base)
    head_groups = group_by_workflow(head)
    base_shared, head_shared = group_by_project(base), group_by_project(head)
    base_readers, head_readers = shared_secret_readers(base_manifests), shared_secret_readers(head_manifests)
    projects = [
        _project_diff(
            project,
            base=base_shared.get(project, {}),
            head=head_shared.get(project, {}),
            base_project=base_projects.get(project),
            head_project=head_projects.get(project),
            base_readers=base_readers.get(project, set()),
            head_readers=head_readers.get(project, set()),
        )
        for project in sorted(set(base_shared) | set(head_shared) | set(base_projects) | set(head_projects))
    ]
    keys = sorted((set(base_groups) | set(head_groups) | set(base_manifests) | set(head_manifests)) - {PLATFORM})
    workflows = [
        _workflow_diff(
            key,
            base=base_groups.get(key, {}),
            head=head_groups.get(key, {}),
            base_manifest=base_manifests.get(key),
            head_manifest=head_manifests.get(key),
            author=author,
            code_changed=key in code_changed,
        )
        for key in keys
    ]
    platform = _resource_changes(base_groups.get(PLATFORM, {}), head_groups.get(PLATFORM, {}))
    return StackDiff(
        stack=stack,
        base_ref=base_ref,
        workflows=tuple(workflows),
        platform=tuple(platform),
        config_changed=config_changed,
        region=region,
        projects=tuple(projects),
    )


def shared_secret_readers(manifests: Mapping[str, Any]) -> dict[str, set[tuple[str, str]]]:
    """Per project, ``(workflow, secret id)`` for each id a workflow manifest lists in ``shared_secrets``."""
    readers: dict[str, set[tuple[str, str]]] = {}
    for key, manifest in manifests.items():
        project, _, workflow = key.partition("/")
        for secret in listed(manifest, "shared_secrets"):
            readers.setdefault(project, set()).add((workflow, secret))
    return readers


def _project_diff(
    project: str,
    *,
    base: Mapping[tuple[str, str], Mapping[str, Any]],
    head: Mapping[tuple[str, str], Mapping[str, Any]],
    base_project: Any,
    head_project: Any,
    base_readers: set[tuple[str, str]],
    head_readers: set[tuple[str, str]],
) -> ProjectDiff:
    resources = tuple(_resource_changes(base, head))
    in_base = bool(base) or base_project is not None
    in_head = bool(head) or head_project is not None
    secrets_before, secrets_after = listed(base_project, "secrets"), listed(head_project, "secrets")
    maintainers_before, maintainers_after = listed(base_project, "maintainers"), listed(head_project, "maintainers")
    lower_before, lower_after = {m.lower() for m in maintainers_before}, {m.lower() for m in maintainers_after}
    known = base_project is not None and head_project is not None
    manifest_fields = tuple(changed_fields(base_project, head_project)) if known else ()
    diff = ProjectDiff(
        project,
        "changed",
        resources,
        manifest_fields=manifest_fields,
        secrets_added=tuple(s for s in secrets_after if s not in secrets_before),
        secrets_removed=tuple(s for s in secrets_before if s not in secrets_after),
        readers_added=tuple(sorted(head_readers - base_readers)),
        readers_removed=tuple(sorted(base_readers - head_readers)),
        maintainers_added=tuple(m for m in maintainers_after if m.lower() not in lower_before),
        maintainers_removed=tuple(m for m in maintainers_before if m.lower() not in lower_after),
        new_secrets=_new_secrets(base, head),
        maintainers=maintainers_after,
    )
    if not in_base:
        return replace(diff, change="added")
    if not in_head:
        return replace(diff, change="removed", maintainers=maintainers_before)
    if not (resources or manifest_fields or diff.readers_added or diff.readers_removed):
        return ProjectDiff(project, "unchanged", maintainers=maintainers_after)
    return diff


def listed(manifest: Any, key: str) -> tuple[str, ...]:
    """The list a manifest (or project.yml) gives under ``key``, as text (``maintainers``, ``secrets``,
    ``shared_secrets``); nothing when it has none or is not valid."""
    values = manifest.get(key) if isinstance(manifest, Mapping) else None
    return tuple(str(v) for v in values) if isinstance(values, list) else ()


def _new_secrets(
    base: Mapping[tuple[str, str], Mapping[str, Any]], head: Mapping[tuple[str, str], Mapping[str, Any]]
) -> tuple[str, ...]:
    """The name of every secret in ``head`` and not in ``base`` (each holds no value until a maintainer sets it)."""
    return tuple(
        sorted(
            str((resource.get("inputs") or {}).get("name", name))
            for (type_, name), resource in head.items()
            if type_ == tokens.SECRET and (type_, name) not in base
        )
    )


def _workflow_diff(
    key: str,
    *,
    base: Mapping[tuple[str, str], Mapping[str, Any]],
    head: Mapping[tuple[str, str], Mapping[str, Any]],
    base_manifest: Any,
    head_manifest: Any,
    author: str | None,
    code_changed: bool = False,
) -> WorkflowDiff:
    resources = tuple(_resource_changes(base, head))
    in_base = bool(base) or base_manifest is not None
    in_head = bool(head) or head_manifest is not None
    maintainers = listed(base_manifest, "maintainers")
    new_secrets = _new_secrets(base, head)
    if not in_base:
        return WorkflowDiff(
            key,
            "added",
            resources,
            author=author,
            new_secrets=new_secrets,
            maintainers=listed(head_manifest, "maintainers"),
        )
    if not in_head:
        return WorkflowDiff(key, "removed", resources, author=author, base_maintainers=maintainers)
    # Without both manifests (a side that is not valid YAML), only the resources can tell what changed.
    known = base_manifest is not None and head_manifest is not None
    manifest_fields = tuple(changed_fields(base_manifest, head_manifest)) if known else ()
    if not resources and not manifest_fields and not code_changed:
        return WorkflowDiff(key, "unchanged", author=author, base_maintainers=maintainers)
    tag = None
    if TAG_FIELD in manifest_fields:
        tag = (_dag_tag(base_manifest), _dag_tag(head_manifest))
    tag_only = (
        not code_changed
        and manifest_fields == (TAG_FIELD,)
        and all(r.type in DAG_OBJECT_TYPES and r.change == "changed" for r in resources)
    )
    return WorkflowDiff(
        key,
        "changed",
        resources,
        manifest_fields=manifest_fields,
        tag=tag,
        tag_only=tag_only,
        author=author,
        base_maintainers=maintainers,
        code_changed=code_changed,
        new_secrets=new_secrets,
        maintainers=listed(head_manifest, "maintainers"),
    )


def _dag_tag(manifest: Any) -> Any:
    dag = manifest.get("dag") if isinstance(manifest, Mapping) else None
    return dag.get("tag") if isinstance(dag, Mapping) else None


Group = dict[tuple[str, str], Mapping[str, Any]]


def group_by_workflow(resources: Iterable[Mapping[str, Any]]) -> dict[str, Group]:
    """Resources by the workflow above them (``<project>/<workflow>``, or :data:`PLATFORM`), then by (type, name).
    A project's shared secrets are not among them (:func:`group_by_project`).

    Component resources themselves are left out: they have no inputs a provider
    sees, except the Workflow component, whose inputs only name the workflow.
    """
    return {key: group for (kind, key), group in _groups(resources).items() if kind != SHARED_SECRETS_TYPE}


def group_by_project(resources: Iterable[Mapping[str, Any]]) -> dict[str, Group]:
    """The resources of each project's shared secrets (below its ``SharedSecrets`` component), by project
    folder, then by (type, name)."""
    return {key: group for (kind, key), group in _groups(resources).items() if kind == SHARED_SECRETS_TYPE}


def _groups(resources: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], Group]:
    resources = list(resources)
    by_urn = {r["urn"]: r for r in resources if r.get("urn")}
    groups: dict[tuple[str, str], Group] = {}
    for resource in resources:
        group = groups.setdefault(_owner_of(resource, by_urn), {})
        if resource.get("custom", True) and resource["type"] not in (WORKFLOW_TYPE, SHARED_SECRETS_TYPE):
            group[(resource["type"], resource["name"])] = resource
    return groups


def _owner_of(resource: Mapping[str, Any], by_urn: Mapping[str, Mapping[str, Any]]) -> tuple[str, str]:
    """(the component type, the key): a workflow (``<project>/<workflow>``), a project's shared secrets
    (the project), or the platform's (:data:`PLATFORM`)."""
    for current in lineage(resource, by_urn):
        inputs = current.get("inputs") or {}
        if current["type"] == WORKFLOW_TYPE:
            return WORKFLOW_TYPE, f"{inputs.get('project')}/{inputs.get('workflow')}"
        if current["type"] == SHARED_SECRETS_TYPE:
            return SHARED_SECRETS_TYPE, str(inputs.get("project"))
    return PLATFORM, PLATFORM


def _resource_changes(
    base: Mapping[tuple[str, str], Mapping[str, Any]], head: Mapping[tuple[str, str], Mapping[str, Any]]
) -> list[ResourceChange]:
    changes: list[ResourceChange] = []
    for key in sorted(set(base) | set(head)):
        type_, name = key
        if key not in base:
            changes.append(ResourceChange(type_, name, "added"))
        elif key not in head:
            changes.append(ResourceChange(type_, name, "removed"))
        else:
            old, new = base[key].get("inputs") or {}, head[key].get("inputs") or {}
            if old != new:
                changes.append(
                    ResourceChange(type_, name, "changed", tuple(changed_fields(old, new)), tuple(_text_diff(old, new)))
                )
    return changes


def changed_fields(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths of the leaves that differ between two JSON-like values (lists compare whole).

    Strings holding JSON objects (IAM documents) are compared as JSON.
    """
    if old == new:
        return []
    old, new = as_json(old), as_json(new)
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        paths: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in old or key not in new:
                paths.append(path)
            else:
                paths.extend(changed_fields(old[key], new[key], path))
        return paths
    return [prefix or "(value)"]


def _document(value: Any) -> str | None:
    parsed = as_json(value)
    if isinstance(parsed, Mapping):
        return json.dumps(parsed, indent=2, sort_keys=True, ensure_ascii=False)
    return value if isinstance(value, str) else None


def as_json(value: Any) -> Any:
    """A string holding a JSON object (an IAM document) parsed; any other value as it is."""
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _text_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """A short unified diff of each top-level text input that changed and is a document: a file's
    content (several lines) or a JSON document such as an IAM policy (compared pretty-printed)."""
    lines: list[str] = []
    for key in sorted(set(old) & set(new)):
        a, b = _document(old[key]), _document(new[key])
        if a == b or a is None or b is None or ("\n" not in a and "\n" not in b):
            continue
        diff = list(
            difflib.unified_diff(a.splitlines(), b.splitlines(), f"{key} (base)", f"{key} (head)", n=1, lineterm="")
        )
        if len(diff) > MAX_TEXT_DIFF_LINES:
            diff = [*diff[:MAX_TEXT_DIFF_LINES], f"… {len(diff) - MAX_TEXT_DIFF_LINES} more line(s)"]
        lines.extend(diff)
    return lines


# --- Markdown -------------------------------------------------------------------------------------------------


def render_markdown(diff: StackDiff) -> str:
    """A pull-request-sized Markdown summary: one table row per changed workflow, details folded."""
    added, removed, changed = diff.by_change("added"), diff.by_change("removed"), diff.by_change("changed")
    unchanged = len(diff.by_change("unchanged"))
    out = [f"### Stack `{diff.stack}`", ""]
    out.append(
        f"`{diff.base_ref}` → working tree: **{len(added)} added, {len(removed)} removed, {len(changed)} changed** "
        f"workflow(s), {unchanged} unchanged."
    )
    projects = diff.changed_projects
    if projects:
        out.append(f"Shared secrets (`project.yml`) of **{len(projects)} project(s)** change.")
    if diff.config_changed:
        out.append("")
        out.append(f"The stack config (`Pulumi.{diff.stack}.yaml`) changed: it can affect every workflow.")
    if not diff.has_changes:
        out.append("")
        out.append("No resource of this stack changes.")
        if diff.verdict is not None:
            out += ["", *diff.verdict.markdown()]
        return "\n".join(out) + "\n"
    if added or removed or changed or diff.platform:
        out += ["", "| workflow | change | summary |", "| --- | --- | --- |"]
    for workflow in [*added, *removed, *changed]:
        out.append(f"| `{workflow.key}` | {_change_label(workflow)} | {_summary(workflow)} |")
    if diff.platform:
        out.append(f"| platform runtime | changed | {_count_summary(diff.platform)} |")
    if projects:
        out += ["", "| project (shared secrets) | change | summary |", "| --- | --- | --- |"]
    for project in projects:
        out.append(f"| `{project.project}` | {project.change} | {_project_summary(project)} |")
    if diff.only_tag_bumps_by_maintainers:
        out += ["", "Every change is an image-tag bump by a listed maintainer of the workflow."]
    out += _secrets_to_set(diff)
    if diff.verdict is not None:
        out += ["", *diff.verdict.markdown()]
    for workflow in [*added, *removed, *changed]:
        out += ["", *_details(f"<code>{workflow.key}</code>", workflow.resources, workflow.manifest_fields)]
    for project in projects:
        title = f"<code>{project.project}</code> shared secrets"
        out += ["", *_details(title, project.resources, project.manifest_fields, "project.yml keys changed")]
    if diff.platform:
        out += ["", *_details("platform runtime", diff.platform, ())]
    return "\n".join(out) + "\n"


def _secrets_to_set(diff: StackDiff) -> list[str]:
    """The reminder, for each workflow that adds a secret, that its maintainers set the value after the merge
    (until then it holds the placeholder the stack creates), with the console page of the secret; and for
    each project that adds a shared secret, the same to the project's maintainers (``project.yml``)."""
    adding = [w for w in diff.workflows if w.new_secrets and w.change in ("added", "changed")]
    sharing = [p for p in diff.projects if p.new_secrets and p.change in ("added", "changed")]
    if not adding and not sharing:
        return []
    out = ["", "**Secrets to set after the merge** (each has no value until a maintainer sets it):"]
    for workflow in adding:
        who = ", ".join(f"@{m}" for m in workflow.maintainers) or "the workflow's maintainers"
        for name in workflow.new_secrets:
            out.append(f"- `{workflow.key}`: {who}, set {_secret_link(diff, name)} in the AWS Secrets Manager console")
    for project in sharing:
        who = ", ".join(f"@{m}" for m in project.maintainers) or "the project's maintainers"
        for name in project.new_secrets:
            out.append(
                f"- `{project.key}` (shared by the project's workflows, project.yml): {who}, set "
                f"{_secret_link(diff, name)} in the AWS Secrets Manager console"
            )
    return out


def _secret_link(diff: StackDiff, name: str) -> str:
    return f"[`{name}`]({identity.console_link(diff.region, name)})" if diff.region else f"`{name}`"


def _project_summary(project: ProjectDiff) -> str:
    parts: list[str] = []
    for label, ids in (("secrets added", project.secrets_added), ("secrets removed", project.secrets_removed)):
        if ids:
            parts.append(f"{label}: " + ", ".join(f"`{i}`" for i in ids))
    for label, pairs in (("readers added", project.readers_added), ("readers removed", project.readers_removed)):
        if pairs:
            parts.append(f"{label}: " + ", ".join(f"`{w}` (`{s}`)" for w, s in pairs))
    for label, who in (
        ("maintainers added", project.maintainers_added),
        ("maintainers removed", project.maintainers_removed),
    ):
        if who:
            parts.append(f"{label}: " + ", ".join(f"@{m}" for m in who))
    parts.append(_count_summary(project.resources))
    return "; ".join(parts)


def _change_label(workflow: WorkflowDiff) -> str:
    if workflow.change == "changed" and workflow.tag_only:
        return "image tag only"
    return workflow.change


def _summary(workflow: WorkflowDiff) -> str:
    parts: list[str] = []
    if workflow.tag is not None:
        old, new = workflow.tag
        parts.append(f"tag `{old}` → `{new}`")
    if workflow.code_changed:
        parts.append("**code changed** (a file other than the manifest)")
    if workflow.tag_only:
        who = f"@{workflow.author}" if workflow.author else "an unknown author"
        if workflow.author_is_maintainer:
            parts.append(f"by {who}, a listed maintainer")
        else:
            parts.append(f"by {who}, **not** a listed maintainer")
    elif workflow.change == "changed" and workflow.manifest_fields:
        shown = ", ".join(f"`{f}`" for f in workflow.manifest_fields[:6])
        more = f" and {len(workflow.manifest_fields) - 6} more" if len(workflow.manifest_fields) > 6 else ""
        parts.append(f"manifest: {shown}{more}")
    elif workflow.change == "changed":
        parts.append("manifest unchanged (stack config)")
    parts.append(_count_summary(workflow.resources))
    return "; ".join(parts)


def _count_summary(resources: Sequence[ResourceChange]) -> str:
    counts = {c: sum(1 for r in resources if r.change == c) for c in ("added", "removed", "changed")}
    text = ", ".join(f"{n} {c}" for c, n in counts.items() if n)
    return f"resources: {text}" if text else "no resource changes"


def _details(
    title: str,
    resources: Sequence[ResourceChange],
    manifest_fields: Sequence[str],
    fields_label: str = "Manifest keys changed",
) -> list[str]:
    out = [f"<details><summary>{title}: {len(resources)} resource change(s)</summary>", ""]
    if manifest_fields:
        out.append(f"{fields_label}: " + ", ".join(f"`{f}`" for f in manifest_fields))
        out.append("")
    if resources:
        out += ["| change | type | name | fields |", "| --- | --- | --- | --- |"]
        for resource in resources:
            fields = ", ".join(f"`{_cell(f)}`" for f in resource.fields)
            out.append(f"| {resource.change} | `{resource.type}` | `{resource.name}` | {fields} |")
        texts = [line for r in resources for line in r.text_diff]
        if texts:
            out += ["", "````diff", *texts, "````"]
    out += ["", "</details>"]
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'")
