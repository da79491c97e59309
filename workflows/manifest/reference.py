"""``docs/workflow-reference.md``, generated from ``workflows/schema/workflow.schema.json`` and
``workflows/schema/project.schema.json``.

    python -m workflows.manifest.reference > docs/workflow-reference.md
    python -m workflows.manifest.reference --check docs/workflow-reference.md   # exit 1 when out of date

Every key of the workflow manifest gets a section: what it is (the schema's
description), its type and allowed values, whether it is required, its default
and an example. Examples come from the schema's ``examples`` when it has them,
else from :data:`EXAMPLES` below, else (booleans and enumerations) are derived;
``tests/workflows/manifest/test_reference.py`` checks each one against the schema and
that the committed document is exactly what this module generates, so the two
cannot drift. A project's ``project.yml`` (the secrets its workflows share) gets
its own part at the end, generated the same way (:data:`PROJECT_EXAMPLES`) after a
short account of how sharing works (:data:`PROJECT_INTRO`).

A ``$ref`` (``#/$defs/compute_profile``, or ``workflow.schema.json#/$defs/secret_id``
to a schema beside it) reads as the definition it points to with the referring
node's own keywords (its ``default``) on top, so a shared definition is documented
in full at every key that uses it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from workflows.manifest.schema import PROJECT_SCHEMA_PATH, SCHEMA_DIR, schema
from workflows.plan.naming import secret_env_var

DOC_PATH = Path("docs") / "workflow-reference.md"
TASK = "<task>"
NO_DEFAULT = object()

# Examples for keys whose schema has no ``examples`` (booleans and enumerations are derived).
EXAMPLES: Mapping[str, Any] = {
    "dag.start_date": "2024-06-01",
    "dag.end_date": "2026-12-31",
    "dag.max_active_runs": 3,
    "dag.retries": 2,
    "dag.retry_delay": 600,
    "dag.inlets": ["s3://my-bucket/raw/"],
    "dag.outlets": ["s3://my-bucket/curated/"],
    "dag.tasks": {"extract": {}, "load": {"dependencies": ["extract"], "compute_profile": "general-spot-4vcpu-16gb"}},
    f"dag.tasks.{TASK}.dependencies": ["extract"],
    f"dag.tasks.{TASK}.inlets": ["s3://my-bucket/raw/"],
    f"dag.tasks.{TASK}.outlets": ["s3://my-bucket/curated/"],
    "maintainers": ["octocat", "another-analyst"],
    "tags.owner": "someone@justice.gov.uk",
    "notifications.emails": ["someone@justice.gov.uk"],
    "notifications.slack_channel": "my-team-alerts",
    "notifications.slack_events": ["failure"],
    "notifications.email_events": ["failure", "success"],
    "iam": {"s3_read_only": ["my-bucket/some/prefix/*"], "athena": "read"},
    "notifications": {"emails": ["someone@justice.gov.uk"], "slack_channel": "my-team-alerts"},
    "iam.external_role": "arn:aws:iam::123456789012:role/my-existing-role",
    "iam.kms": ["arn:aws:kms:eu-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"],
    "iam.cloudwatch_logs_read_only": ["arn:aws:logs:eu-west-2:123456789012:log-group:/aws/my-log-group"],
}
# Keys whose example only makes sense with its neighbours: the whole document shown for them.
EXAMPLE_DOCUMENTS: Mapping[str, Any] = {
    f"dag.tasks.{TASK}.dependencies": {"dag": {"tasks": {"extract": {}, "load": {"dependencies": ["extract"]}}}},
    "iam.textract": {"iam": {"textract": True, "s3_read_only": ["my-bucket/documents/*"]}},
}

# The project.yml part: its title (and anchor), examples for its keys, and how sharing works.
PROJECT_TITLE = "Secrets shared by a project: `project.yml`"
PROJECT_EXAMPLES: Mapping[str, Any] = {
    "maintainers": ["octo-analyst"],
}
# Example blocks of the project part that are a workflow's manifest (the rest are project files) start so.
WORKFLOW_EXAMPLE_COMMENT = "# environments/<env>/<project>/<workflow>/workflow.yml"
PROJECT_EXAMPLE_COMMENT = "# environments/<env>/<project>/project.yml"


def _project_anchor() -> str:
    return _anchor(PROJECT_TITLE)


def _project_intro(project_minimal: Mapping[str, Any]) -> list[str]:
    """How sharing works, in analysts' words, with the two files side by side (the rules: workflows/manifest/
    project.py, rules.py, validate.check_project; tests/workflows/manifest/test_reference.py validates both)."""
    secret = project_minimal["secrets"][0]
    return [
        "When several workflows of one project use the same credential (one database login for ten",
        "extraction DAGs, say), declare it once for the project instead of copying it into every",
        "workflow's `secrets` and setting each copy. Two files:",
        "",
        "1. the project's `project.yml`, in the project folder next to its workflow folders, lists the",
        "   shared secret ids (`secrets`) and who sets their values (`maintainers`);",
        "2. each workflow that needs one lists its id under [`shared_secrets`](#shared_secrets) in its",
        "   `workflow.yml` (only those workflows can read it).",
        "",
        "```yaml",
        PROJECT_EXAMPLE_COMMENT,
        _yaml(project_minimal).rstrip(),
        "```",
        "",
        "```yaml",
        f"{WORKFLOW_EXAMPLE_COMMENT} (with its other keys)",
        _yaml({"shared_secrets": [secret]}).rstrip(),
        "```",
        "",
        "Start `project.yml` with `# yaml-language-server: $schema=../../../workflows/schema/project.schema.json`",
        "so that your editor checks it, and check it with",
        "`python -m workflows validate environments/<env>/<project>/project.yml`.",
        "",
        "What you get:",
        "",
        "- One Secrets Manager secret per id for the whole project, `/airflow/<env>/<project>/shared/<id>`",
        "  (`<project>` is the project's short alias where the platform has one, such as `emds`). It has no",
        "  value until one of the `maintainers` of `project.yml` sets it in the Secrets Manager console: the",
        "  secret's policy names them (not the workflows' maintainers) to read and change the value. A task",
        "  that reads it before then fails at once, saying which secret to set. A workflow's",
        "  [`iam.update_secrets`](#iamupdate_secrets) does not let it change a shared secret.",
        "- The tasks of each workflow that lists the id get the value as `SECRET_<ID>` (upper case, `-` as",
        f"  `_`: `{secret_env_var(secret)}`), exactly like one of its own secrets. Workflows of the project",
        "  that do not list it cannot read it. A `dag.python_dag` workflow mounts the Kubernetes secret",
        "  `<project>-shared-<id>` (key `data`) in its `dag.py`, and still lists the id in `shared_secrets`.",
        "",
        "`validate` refuses:",
        "",
        "- an id in `shared_secrets` that the project's `project.yml` does not declare, or a `shared_secrets`",
        "  in a project without one (it gives the line, and the declared id you may have meant);",
        "- an id that is both one of the workflow's own `secrets` and in its `shared_secrets` (tasks would",
        "  get both as the same `SECRET_<ID>`): keep one;",
        "- an env var (`dag.env_vars` or a task's) called `SECRET_<ID>` for a shared secret the workflow",
        "  reads: the secret would replace its value;",
        "- a workflow folder called `shared` in a project that has a `project.yml` (the shared secrets'",
        "  names use `shared` where a workflow's name would be);",
        "- an id removed from `project.yml` while a workflow still lists it: the error, on `project.yml`,",
        "  names those workflows. Remove the id from their `shared_secrets` first, or in the same pull",
        "  request: a shared secret that workflows use is never deleted.",
    ]


# A note after a workflow key's description: where the key meets project.yml.
SEE_ALSO: Mapping[str, str] = {
    "secrets": "To share one secret between several workflows of a project, see [{title}](#{anchor}).",
    "shared_secrets": (
        "Each id must be declared in the project's `project.yml`, whose maintainers set its value: "
        "see [{title}](#{anchor})."
    ),
    "iam.update_secrets": "It does not cover the project's shared secrets (see [{title}](#{anchor})).",
}


@dataclass(frozen=True)
class Key:
    """One manifest key: its dotted path (``dag.tasks.<task>.env_vars``) and schema."""

    path: tuple[str, ...]
    schema: Mapping[str, Any]
    required: bool
    parent_required: bool

    @property
    def name(self) -> str:
        return ".".join(self.path)


def manifest_keys(root: Mapping[str, Any] | None = None) -> list[Key]:
    """Every key of the manifest schema, parents before children, in the schema's order."""
    return list(_walk(inline_refs(root if root is not None else schema()), (), parent_required=True))


def project_keys(root: Mapping[str, Any] | None = None) -> list[Key]:
    """Every key of the project file's schema (``project.yml``), parents before children, in the schema's order."""
    return list(_walk(inline_refs(root if root is not None else schema(PROJECT_SCHEMA_PATH)), (), parent_required=True))


def inline_refs(root: Mapping[str, Any]) -> dict[str, Any]:
    """``root`` with every ``$ref`` replaced by what it points to, the referring node's keywords on top: a local
    one (``#/$defs/x``), or one into a schema beside it (``workflow.schema.json#/$defs/x``, read from
    ``workflows/schema/``; its own local ``$ref``s are that schema's)."""

    def inline(node: Any, base: Mapping[str, Any], document: str, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [inline(v, base, document, seen) for v in node]
        if not isinstance(node, Mapping):
            return node
        own = {k: inline(v, base, document, seen) for k, v in node.items() if k != "$ref"}
        ref = node.get("$ref")
        if ref is None:
            return own
        other, _, pointer = ref.partition("#")
        target_document = other or document
        where = f"{target_document}#{pointer}"
        if where in seen:
            raise ValueError(f"recursive $ref {ref} cannot be documented")
        target_root = _document(other) if other else base
        target = _pointer(target_root, f"#{pointer}")
        return {**inline(target, target_root, target_document, (*seen, where)), **own}

    inlined = inline(root, root, "", ())
    inlined.pop("$defs", None)
    return inlined


def _document(name: str) -> Mapping[str, Any]:
    """A schema beside this one, by the file name a ``$ref`` gives (no folder, no URL)."""
    if not name or "/" in name or "\\" in name or ":" in name or not (SCHEMA_DIR / name).is_file():
        raise ValueError(
            f"only $refs to #/... or to a schema in {SCHEMA_DIR.name}/ by file name are supported, not {name}"
        )
    return schema(SCHEMA_DIR / name)


def _pointer(root: Mapping[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        raise ValueError(f"only $refs to a definition (#/...) are supported, not {ref}")
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _walk(node: Mapping[str, Any], path: tuple[str, ...], *, parent_required: bool) -> Iterator[Key]:
    required = set(node.get("required", ()))
    for name, child in (node.get("properties") or {}).items():
        key = Key((*path, name), child, name in required, parent_required)
        yield key
        yield from _walk(child, key.path, parent_required=key.required and parent_required)
        task = _task_schema(child)
        if task is not None:
            yield from _walk(task, (*key.path, TASK), parent_required=False)


def _task_schema(node: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The schema of one entry of a name → object mapping (``dag.tasks``), if ``node`` is one."""
    extra = node.get("additionalProperties")
    if not isinstance(extra, Mapping):
        return None
    for variant in extra.get("anyOf", [extra]):
        if variant.get("type") == "object" and "properties" in variant:
            return variant
    return None


def example(key: Key, examples: Mapping[str, Any] = EXAMPLES) -> Any:
    """An example value of ``key``: from the schema, ``examples`` (:data:`EXAMPLES`, or :data:`PROJECT_EXAMPLES`
    for a project file's key), or derived; ``KeyError`` if none."""
    listed = key.schema.get("examples")
    if listed:
        return listed[0]
    if key.name in examples:
        return examples[key.name]
    if key.schema.get("type") == "boolean":
        return not _usual(key, False)
    if "enum" in key.schema:
        others = [v for v in key.schema["enum"] if v != _usual(key, None)]
        return others[0]
    properties = key.schema.get("properties")
    if properties:
        children = [
            Key((*key.path, n), s, n in key.schema.get("required", ()), key.required) for n, s in properties.items()
        ]
        shown = [c for c in children if c.required] or children[:1]
        return {c.path[-1]: example(c, examples) for c in shown}
    table = "PROJECT_EXAMPLES" if examples is PROJECT_EXAMPLES else "EXAMPLES"
    raise KeyError(f"no example for manifest key {key.name}: add one to workflows.manifest.reference.{table}")


def default(key: Key) -> Any:
    return key.schema.get("default", NO_DEFAULT)


def _usual(key: Key, fallback: Any) -> Any:
    """What ``key`` is when unset, for picking an example that differs: its default, or for a task's key
    (which takes the DAG's value) the default of the DAG-level key of the same name."""
    if "default" in key.schema:
        return key.schema["default"]
    dag_key = _dag_key(key)
    return dag_key.schema.get("default", fallback) if dag_key is not None else fallback


def _dag_key(key: Key) -> Key | None:
    """For a task's key, the DAG-level key of the same name whose value it takes when unset, if there is one."""
    if TASK not in key.path:
        return None
    return _dag_keys().get(key.path[-1])


@cache
def _dag_keys() -> dict[str, Key]:
    """The manifest's ``dag.<name>`` keys by name."""
    return {k.path[1]: k for k in manifest_keys() if len(k.path) == 2 and k.path[0] == "dag"}


def render(root: Mapping[str, Any] | None = None, project_root: Mapping[str, Any] | None = None) -> str:
    """The whole reference document (Markdown), deterministic for given schemas (the workflow's, the project's)."""
    root = inline_refs(root if root is not None else schema())
    all_keys = manifest_keys(root)
    required = [k for k in all_keys if len(k.path) == 1 and k.required]
    minimal = {k.name: example(k) for k in required}
    out = [
        "# Workflow manifest reference",
        "",
        "<!-- Generated by `python -m workflows.manifest.reference` from workflows/schema/workflow.schema.json and",
        "     workflows/schema/project.schema.json: do not edit; change the schemas (or the examples and text in",
        "     workflows/manifest/reference.py) and regenerate. -->",
        "",
        _text(f"{root.get('description', '')}.".replace("..", ".")),
        "",
        "Unknown keys are errors, so a typo such as `retires:` fails validation instead of being ignored.",
        "Check a manifest with `python -m workflows validate environments/<env>/<project>/<workflow>/workflow.yml`.",
        "Secrets that several workflows of a project share are declared once in the project's `project.yml`:",
        f"see [{PROJECT_TITLE}](#{_project_anchor()}).",
        "",
        "The smallest valid manifest:",
        "",
        "```yaml",
        _yaml(minimal).rstrip(),
        "```",
        "",
        "## Keys",
        "",
        "| key | required | default |",
        "| --- | --- | --- |",
    ]
    for key in all_keys:
        out.append(f"| [`{key.name}`](#{_anchor(key.name)}) | {_required(key)} | {_default_text(key)} |")
    for key in all_keys:
        out += ["", *_section(key)]
    out += ["", *_project_part(project_root)]
    return "\n".join(out) + "\n"


def _project_part(project_root: Mapping[str, Any] | None) -> list[str]:
    """The part on ``project.yml``: how sharing works, then a section per key as for the workflow manifest."""
    root = inline_refs(project_root if project_root is not None else schema(PROJECT_SCHEMA_PATH))
    keys = project_keys(root)
    minimal = {k.name: example(k, PROJECT_EXAMPLES) for k in keys if len(k.path) == 1 and k.required}
    out = [
        f"## {PROJECT_TITLE}",
        "",
        _text(f"{root.get('description', '')}.".replace("..", ".")),
        "",
        *_project_intro(minimal),
        "",
        "### Keys of project.yml",
        "",
        "| key | required | default |",
        "| --- | --- | --- |",
    ]
    for key in keys:
        out.append(f"| [`{key.name}`](#{_anchor(_project_heading(key))}) | {_required(key)} | {_default_text(key)} |")
    for key in keys:
        out += ["", *_section(key, heading=_project_heading(key), examples=PROJECT_EXAMPLES, documents={})]
    return out


def _project_heading(key: Key) -> str:
    """A project file's key's heading: its own anchor, apart from the workflow key of the same name."""
    return f"`{key.name}` in project.yml"


def _section(
    key: Key,
    *,
    heading: str | None = None,
    examples: Mapping[str, Any] = EXAMPLES,
    documents: Mapping[str, Any] = EXAMPLE_DOCUMENTS,
) -> list[str]:
    out = [f"### {heading or f'`{key.name}`'}", ""]
    if key.schema.get("description"):
        out += [_text(key.schema["description"]), ""]
    if examples is EXAMPLES and key.name in SEE_ALSO:
        out += [SEE_ALSO[key.name].format(title=PROJECT_TITLE, anchor=_project_anchor()), ""]
    out += [
        f"- Type: {_type_text(key.schema)}",
        f"- Required: {_required(key)}",
        f"- Default: {_default_text(key)}",
    ]
    values = _allowed(key.schema)
    if values:
        out.append(f"- Allowed values: {values}")
    if "pattern" in key.schema:
        out.append(f"- Must match: `{key.schema['pattern']}`")
    document = documents.get(key.name) or _nest(key.path, example(key, examples))
    out += ["", "Example:", "", "```yaml", _yaml(document).rstrip(), "```"]
    return out


def _nest(path: Sequence[str], value: Any) -> dict[str, Any]:
    """``{"dag": {"retries": 2}}`` for path ``dag.retries``; ``<task>`` becomes a task called ``extract``."""
    for part in reversed(path):
        value = {("extract" if part == TASK else part): value}
    return value


def _yaml(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000)


def _required(key: Key) -> str:
    if not key.required:
        return "no"
    if len(key.path) == 1:
        return "yes"
    return f"yes (when `{'.'.join(key.path[:-1])}` is set)" if not key.parent_required else "yes"


def _default_text(key: Key) -> str:
    dag_key = _dag_key(key)
    if dag_key is not None:
        # A task's unset key takes the DAG's value (env_vars: merged, the task's winning key by key).
        merged = ", which the task's own override key by key" if key.path[-1] == "env_vars" else ""
        return f"the value of [`{dag_key.name}`](#{_anchor(dag_key.name)}){merged}"
    value = default(key)
    if value is NO_DEFAULT:
        return "—" if key.required else "none"
    if value is None:
        return "none (`null`)"
    return f"`{json.dumps(value)}`"


def _allowed(node: Mapping[str, Any]) -> str:
    enum = node.get("enum") or (node.get("items") or {}).get("enum")
    if not enum:
        return ""
    return ", ".join(f"`{v}`" for v in enum)


def _type_text(node: Mapping[str, Any]) -> str:
    variants = node.get("oneOf") or node.get("anyOf")
    if variants:
        return "; or ".join(_type_text(v) for v in variants)
    if "enum" in node and "type" not in node:
        return "an allowed value"
    types = node.get("type")
    if isinstance(types, list):
        return " or ".join(_plain_type(t) for t in types)
    if types == "array":
        text = f"list of {_type_text(node.get('items') or {})}"
        bounds = []
        if node.get("minItems"):
            bounds.append(f"at least {node['minItems']}")
        if node.get("uniqueItems"):
            bounds.append("no duplicates")
        return text + (f" ({', '.join(bounds)})" if bounds else "")
    if types == "object":
        properties = list(node.get("properties") or {})
        extra = node.get("additionalProperties")
        if properties:
            return f"mapping with keys {', '.join(f'`{p}`' for p in properties)}"
        if isinstance(extra, Mapping):
            names = (node.get("propertyNames") or {}).get("pattern")
            named = f"names matching `{names}`" if names else "names"
            return f"mapping of {named} to {_type_text(extra)}"
        return "mapping"
    if types in ("integer", "number"):
        low, high = node.get("minimum"), node.get("maximum")
        if low is not None and high is not None:
            return f"{_plain_type(types)} from {low} to {high}"
        if low is not None:
            return f"{_plain_type(types)}, at least {low}"
        return _plain_type(types)
    if types == "string" and node.get("format"):
        return f"string ({node['format']})"
    return _plain_type(types) if types else "any value"


def _plain_type(name: Any) -> str:
    return {"null": "null (none)", "object": "mapping", "array": "list"}.get(name, str(name))


def _text(text: str) -> str:
    """Schema prose as Markdown: ``<project>`` placeholders must not read as HTML tags."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _anchor(name: str) -> str:
    """GitHub's heading anchor for ``### `name` ``: lower case, punctuation other than - and _ dropped."""
    return "".join(c for c in name.lower() if c.isalnum() or c in "-_ ").replace(" ", "-")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workflows.manifest.reference", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--check", type=Path, metavar="FILE", help="exit 1 if FILE differs from the generated text")
    args = parser.parse_args(argv)
    text = render()
    if args.check is not None:
        current = args.check.read_text() if args.check.exists() else ""
        if current != text:
            command = f"python -m workflows.manifest.reference > {args.check}"
            print(f"{args.check} is out of date: run `{command}`", file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
