"""``workflows/schema/workflow.schema.json``: a hand-written structure with its borrowed facts generated.

The committed file is what editors read (the ``yaml-language-server`` line of every
manifest) and what the validator runs, so it stays on disk. Its shape, types,
patterns and descriptions are written by hand there; two kinds of value in it are
facts whose one home is elsewhere, and :func:`generated_schema` fills them in:

- ``$defs/compute_profile``'s ``enum``: every profile name, from
  ``mwaa/analytical_platform/compute_profiles.py`` (``names()``). Both places a
  compute profile is written (``dag.compute_profile``, ``dag.tasks.<task>.compute_profile``)
  ``$ref`` that one definition.
- every ``default``: the default of the model field the key becomes
  (:mod:`workflows.model`: ``Dag``, then ``Task`` for the DAG-level task defaults
  such as ``dag.compute_profile``; ``Notifications``; ``Iam``). A key whose model
  default is a real value (not None, not empty) always shows it; a key whose model
  default is None or empty shows it only if the hand-written file gives it a
  ``default`` (``dag.schedule: null``). A ``default`` anywhere else (a task's keys
  take the DAG's value, not a fixed one) or on a key the model has no default for
  is an error.

``workflows/schema/project.schema.json`` (a project's ``project.yml``) is written by hand
too, but its ``$defs`` named in :data:`PROJECT_DEFS` (what a secret id and a GitHub
username are) are copies of the workflow schema's, filled in by
:func:`generated_project_schema`: one rule for each, and the project schema stays a
file an editor reads on its own (no ``$ref`` to another file).

    python -m workflows.manifest.schema_source --write   # regenerate the committed files
    python -m workflows.manifest.schema_source --check   # exit 1 when one is out of date

``tests/workflows/manifest/test_schema_source.py`` fails when the committed file is
not byte for byte what this module generates.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Any

from workflows.manifest.schema import PROJECT_SCHEMA_PATH, SCHEMA_PATH
from workflows.model import Dag, Iam, Notifications, Task
from workflows.runtime_modules import compute_profiles

COMPUTE_PROFILE_DEF = "compute_profile"
# Manifest sections whose keys' defaults come from the model, with the classes that
# hold them, searched in order: a DAG-level key that no Dag field has
# (compute_profile, hmcts_sdp_networking, ...) is the default of every task.
SECTIONS: Mapping[str, tuple[type, ...]] = {
    "dag": (Dag, Task),
    "notifications": (Notifications,),
    "iam": (Iam,),
}
REGENERATE = "python -m workflows.manifest.schema_source --write"
# Definitions of the workflow schema that the project schema uses, copied into it.
PROJECT_DEFS = ("secret_id", "github_username")


class SchemaSourceError(ValueError):
    """The hand-written structure asks for something the model cannot supply."""


def generated_schema(structure: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``structure`` (default: the committed schema file) with the compute profiles and every default filled in."""
    root = copy.deepcopy(dict(structure) if structure is not None else json.loads(SCHEMA_PATH.read_text()))
    definition = root.get("$defs", {}).get(COMPUTE_PROFILE_DEF)
    if not isinstance(definition, dict):
        raise SchemaSourceError(f"the schema needs $defs/{COMPUTE_PROFILE_DEF}, which the compute profile keys $ref")
    definition["enum"] = list(compute_profiles.names())
    filled: set[int] = set()
    for section, classes in SECTIONS.items():
        for name, node in root["properties"][section]["properties"].items():
            found = _model_default(classes, name)
            if found is _NONE:
                if "default" in node:
                    raise SchemaSourceError(
                        f"{section}.{name} has a default in the schema but no model field gives it one: "
                        f"remove it from {SCHEMA_PATH.name} or give the field a default in workflows/model.py"
                    )
                continue
            if "default" in node or _shown(found):
                node["default"] = _json(found)
                filled.add(id(node))
    stray = [pointer for pointer, node in _schemas(root) if "default" in node and id(node) not in filled]
    if stray:
        raise SchemaSourceError(
            f"a default outside {', '.join(SECTIONS)}'s own keys cannot come from the model: {', '.join(stray)}"
        )
    return root


def generated_project_schema(
    structure: Mapping[str, Any] | None = None, workflow: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """``structure`` (default: the committed project schema) with :data:`PROJECT_DEFS` copied from ``workflow``
    (default: the committed workflow schema)."""
    root = copy.deepcopy(dict(structure) if structure is not None else json.loads(PROJECT_SCHEMA_PATH.read_text()))
    source = workflow if workflow is not None else json.loads(SCHEMA_PATH.read_text())
    definitions = root.setdefault("$defs", {})
    for name in PROJECT_DEFS:
        if name not in source.get("$defs", {}):
            raise SchemaSourceError(f"{SCHEMA_PATH.name} has no $defs/{name}, which {PROJECT_SCHEMA_PATH.name} uses")
        definitions[name] = copy.deepcopy(source["$defs"][name])
    return root


def text(root: Mapping[str, Any]) -> str:
    """The file's bytes for ``root`` (the formatting the committed file has always had)."""
    return json.dumps(root, indent=2, ensure_ascii=False) + "\n"


_NONE = object()


def _model_default(classes: Sequence[type], name: str) -> Any:
    for cls in classes:
        for f in dataclasses.fields(cls):
            if f.name != name:
                continue
            if f.default is not dataclasses.MISSING:
                return f.default
            if f.default_factory is not dataclasses.MISSING:
                return f.default_factory()
            return _NONE
    return _NONE


def _shown(value: Any) -> bool:
    """Whether a model default is worth stating even where the hand-written schema gives none."""
    return value is not None and not (isinstance(value, (str, tuple, list, Mapping)) and not value)


def _json(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return [_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _json(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise SchemaSourceError(f"a model default of type {type(value).__name__} has no JSON form: {value!r}")


_SUBSCHEMA = ("items", "additionalProperties", "propertyNames", "contains", "not", "if", "then", "else")
_SUBSCHEMA_LISTS = ("oneOf", "anyOf", "allOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs")


def _schemas(node: Any, pointer: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every (sub)schema under ``node`` with its JSON pointer (values such as examples are not walked)."""
    if not isinstance(node, dict):
        return
    yield pointer, node
    for keyword in _SUBSCHEMA:
        yield from _schemas(node.get(keyword), f"{pointer}/{keyword}")
    for keyword in _SUBSCHEMA_LISTS:
        for i, child in enumerate(node.get(keyword) or ()):
            yield from _schemas(child, f"{pointer}/{keyword}/{i}")
    for keyword in _SUBSCHEMA_MAPS:
        for name, child in (node.get(keyword) or {}).items():
            yield from _schemas(child, f"{pointer}/{keyword}/{name.replace('~', '~0').replace('/', '~1')}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workflows.manifest.schema_source", description=__doc__.split("\n\n")[0]
    )
    action = parser.add_mutually_exclusive_group()
    files = f"{SCHEMA_PATH.name} and {PROJECT_SCHEMA_PATH.name}"
    action.add_argument("--write", action="store_true", help=f"rewrite {files} in place")
    action.add_argument("--check", action="store_true", help=f"exit 1 if {files} are out of date")
    args = parser.parse_args(argv)
    current = SCHEMA_PATH.read_text()
    wanted = text(generated_schema(json.loads(current)))
    current_project = PROJECT_SCHEMA_PATH.read_text()
    wanted_project = text(generated_project_schema(json.loads(current_project), json.loads(wanted)))
    pairs = ((SCHEMA_PATH, current, wanted), (PROJECT_SCHEMA_PATH, current_project, wanted_project))
    if args.check:
        stale = [path for path, now, want in pairs if now != want]
        for path in stale:
            print(f"{path} is out of date: run `{REGENERATE}`", file=sys.stderr)
        return 1 if stale else 0
    if args.write:
        for path, now, want in pairs:
            if now != want:
                path.write_text(want)
        return 0
    sys.stdout.write(wanted)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
