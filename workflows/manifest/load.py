"""A YAML loader that remembers where every node came from and rejects duplicate keys.

``load`` returns plain Python values (dict, list, str, int, float, bool, None)
plus a :class:`Positions` table that maps a JSON-pointer-like path (a tuple of
keys and indexes) to the 1-based line and column of that node, so every later
check can point at the exact spot in the manifest. For a scalar YAML did not read
as text (``01234``, ``yes``, ``1.10``) it also keeps the text as written
(:meth:`Positions.text`), so a check can tell when reading changed it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from workflows.errors import ERROR, INVALID, ManifestError, Problem, Severity
from workflows.plan.limits import MANIFEST_SIZE_LIMIT

NodePath = tuple[str | int, ...]

# Bounds that stop pathological input (deep nesting, "billion laughs" aliases)
# long before memory or time run out; real manifests are far below both.
MAX_DEPTH = 64
MAX_NODES = 50_000


@dataclass(frozen=True)
class Positions:
    """Where each node is, plus problems found while loading that still let checking go on
    (duplicate keys: the first is kept; every one is reported)."""

    path: Path
    table: dict[NodePath, tuple[int, int]] = field(default_factory=dict)
    key_table: dict[NodePath, tuple[int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # The text as written of every scalar that YAML read as something other than text.
    texts: dict[NodePath, str] = field(default_factory=dict)

    def text(self, node: NodePath) -> str | None:
        """The text ``node`` was written as, when YAML read it as a number, boolean or null (else None)."""
        return self.texts.get(node)

    def of(self, node: NodePath, *, key: bool = False) -> tuple[int, int]:
        """Line and column of ``node`` (of its key when ``key``), or of its nearest parent."""
        table = self.key_table if key else self.table
        while node:
            if node in table:
                return table[node]
            if not key and node in self.key_table:
                return self.key_table[node]
            node = node[:-1]
            table = self.table
        return self.table.get((), (1, 1))

    def problem(
        self, node: NodePath, message: str, *, key: bool = False, severity: Severity = ERROR, code: str = INVALID
    ) -> Problem:
        line, column = self.of(node, key=key)
        return Problem(self.path, line, column, message, severity, code=code, key=key_path(node))


def key_path(node: NodePath) -> str:
    """``node`` as a manifest key path: ``dag.tasks.extract.env_vars.ZIP``, ``iam.s3_read_only[0]``."""
    return ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in node).replace(".[", "[")


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # the C parser when built, same results
    """SafeLoader that keeps YAML 1.1 scalars (as the running service reads them),
    except timestamps: ``2025-01-01`` stays the text it was, so dates are checked in one place."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load(path: Path, text: str | None = None) -> tuple[Any, Positions]:
    """Parse one manifest. Raises :class:`ManifestError` for unreadable or non-YAML input;
    recoverable problems are in ``positions.problems``."""
    if text is None:
        try:
            size = path.stat().st_size
            if size > MANIFEST_SIZE_LIMIT:  # not even read: bounded work whatever the file
                raise ManifestError([Problem(path, 1, 1, _too_big(size))])
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise ManifestError([Problem(path, 1, 1, f"the file is not UTF-8 text ({error.reason})")]) from None
        except OSError as error:
            raise ManifestError([Problem(path, 1, 1, f"cannot read the file: {error.strerror or error}")]) from None
    if len(text) > MANIFEST_SIZE_LIMIT or len(text.encode("utf-8", "surrogatepass")) > MANIFEST_SIZE_LIMIT:
        raise ManifestError([Problem(path, 1, 1, _too_big(len(text.encode("utf-8", "surrogatepass"))))])
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as error:
        raise ManifestError([_syntax_problem(path, text, error)]) from None
    except yaml.YAMLError as error:
        raise ManifestError([Problem(path, 1, 1, f"invalid YAML: {error}", code="yaml-syntax")]) from None
    except (ValueError, RecursionError) as error:  # e.g. unpaired surrogates, absurd nesting
        raise ManifestError([Problem(path, 1, 1, f"invalid YAML: {error}", code="yaml-syntax")]) from None

    positions = Positions(path)
    if node is None:
        return None, positions
    return _convert(node, (), positions, loader), positions


# A value YAML reads as something other than text when it starts with one of these: ``*`` an alias,
# ``@`` and ````` reserved, ``{`` and ``[`` a mapping or a list written inline.
_MEANINGS = {
    "*": "an alias",
    "@": "a reserved character",
    "`": "a reserved character",
    "{": "a mapping written inline",
    "[": "a list written inline",
}
_SPECIAL_START = re.compile(r"^\s*(?:-\s+)?(?:[^\s#'\"][^#]*?:\s+)?(?P<value>[*@`{\[].*)$")


def _syntax_problem(path: Path, text: str, error: yaml.MarkedYAMLError) -> Problem:
    """A YAML syntax error at its line: what the parser says, the usual cause in words, and the offending
    line with a caret under the spot (on one line: ``line 5: "  schedule: " ^ "@daily"``)."""
    mark = error.problem_mark or error.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    reason = error.problem or error.context or "invalid YAML"
    lines = text.splitlines()
    hint, shown = "", line
    if "tab" in reason or (0 < line <= len(lines) and "\t" in _indent(lines[line - 1])):
        hint = "indent with spaces, not tabs"
    else:
        # The value at fault is on the error's line, where the inline list or mapping began, or just before.
        candidates = [line, *([error.context_mark.line + 1] if error.context_mark else []), line - 1]
        for number in candidates:
            found = _SPECIAL_START.match(lines[number - 1]) if 0 < number <= len(lines) else None
            if found:
                value = found["value"].rstrip()
                quoted = "'" + value.replace("'", "''") + "'"
                hint = (
                    f"a value starting with {value[0]} is read as {_MEANINGS[value[0]]}: "
                    f"if it is text, put it in quotes ({quoted})"
                )
                shown, column = number, found.start("value") + 1
                break
    message = f"invalid YAML: {reason}"
    if hint:
        message += f": {hint}"
    if 0 < shown <= len(lines):
        message += f"; {_caret(lines[shown - 1], column, shown)}"
    return Problem(path, shown, column, message, code="yaml-syntax")


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _caret(line: str, column: int, number: int) -> str:
    """The line with a caret at ``column``: ``line 5: "  schedule: " ^ "@daily"`` (tabs shown as \\t)."""

    def shown(part: str) -> str:
        return '"' + part.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t") + '"'

    text = line if len(line) <= 200 else line[:200] + "..."
    before, after = text[: column - 1], text[column - 1 :]
    return f"line {number}: {shown(before)} ^ {shown(after)}" if before else f"line {number}: ^ {shown(after)}"


def _too_big(size: int) -> str:
    return (
        f"the manifest is {size:,} bytes, over the limit of {MANIFEST_SIZE_LIMIT:,} "
        f"({MANIFEST_SIZE_LIMIT // 1024} KiB) for one workflow: split it into several workflows"
    )


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _convert(
    node: yaml.Node,
    where: NodePath,
    positions: Positions,
    loader: _Loader,
    depth: int = 0,
) -> Any:
    problems = positions.problems  # found while loading: checking goes on
    positions.table[where] = _mark(node)
    if depth > MAX_DEPTH or len(positions.table) > MAX_NODES:
        if not problems or "too large" not in problems[-1].message:
            problems.append(Problem(positions.path, *_mark(node), "the document is too large or nested too deeply"))
        return None
    if isinstance(node, yaml.MappingNode):
        try:
            loader.flatten_mapping(node)  # resolves "<<" merge keys
        except yaml.MarkedYAMLError as error:  # "<<: 5": not a mapping to merge (that "<<" is dropped)
            mark = error.problem_mark or node.start_mark
            problems.append(
                Problem(
                    positions.path, mark.line + 1, mark.column + 1, f"invalid YAML: {error.problem}", code="yaml-syntax"
                )
            )
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(
                    Problem(positions.path, *_mark(key_node), "a key must be a plain name, not a list or mapping")
                )
                continue
            # A key is a name, kept as written: YAML 1.1 would silently turn a task called ``on`` or
            # ``no`` into "True"/"False", ``0x1F`` into "31" and ``null`` into "None".
            key = key_node.value
            if key in result:
                first = positions.key_table[(*where, key)]
                problems.append(
                    Problem(
                        positions.path,
                        *_mark(key_node),
                        f"duplicate key '{key}' (first defined on line {first[0]}); "
                        "YAML would silently keep only the last",
                    )
                )
                continue
            positions.key_table[(*where, key)] = _mark(key_node)
            result[key] = _convert(value_node, (*where, key), positions, loader, depth + 1)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*where, index), positions, loader, depth + 1) for index, item in enumerate(node.value)]
    try:
        value = loader.construct_object(node)
    except Exception:
        # e.g. 2025-13-01 looks like a date but is not one, or an explicit tag on the wrong text
        # (PyYAML's constructors then raise anything: "!!int" on nothing IndexError, "!!bool x"
        # KeyError, "!!timestamp x" AttributeError): keep the text, and let the checks that know
        # what the key means say what is wrong.
        return node.value
    if not isinstance(value, str):
        positions.texts[where] = node.value
    return value
