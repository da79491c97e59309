"""A ``python_dag`` workflow's own ``dag.py``, with its placeholders filled in.

Placeholders (``PLACEHOLDER_PROJECT`` …) are replaced inside string literals
(escaped for the literal's kind) and comments only, and the result must parse to
the same program with only those strings changed, so a value can never turn into code.
"""

from __future__ import annotations

import ast
import copy
import io
import re
import tokenize
from collections.abc import Iterator, Mapping
from pathlib import Path

from workflows.dags.literal import comment_text, header
from workflows.dags.runtime import PRE_IMPORTS
from workflows.errors import ManifestError, Problem
from workflows.manifest.discovery import PYTHON_DAG_NAME
from workflows.model import Workflow
from workflows.plan.naming import Names

PLACEHOLDERS = (
    "REPOSITORY_NAME",
    "REPOSITORY_TAG",
    "PROJECT",
    "WORKFLOW",
    "ENVIRONMENT",
    "OWNER",
)
_PLACEHOLDER = re.compile(r"PLACEHOLDER_(" + "|".join(PLACEHOLDERS) + r")(?![A-Za-z0-9_])")


def placeholder_values(workflow: Workflow, names: Names) -> dict[str, str]:
    """What each ``PLACEHOLDER_<NAME>`` of a workflow's own ``dag.py`` becomes, as the running service
    fills them in: the repository exactly as the manifest writes it (the author's ``dag.py`` builds
    names from it, the image path among them), and the project's alias (``names.project``), from which
    the author builds the DAG id, the service account and secret names."""
    return {
        "REPOSITORY_NAME": workflow.dag.repository,
        "REPOSITORY_TAG": workflow.dag.tag,
        "PROJECT": names.project,
        "WORKFLOW": workflow.name,
        "ENVIRONMENT": workflow.environment,
        "OWNER": workflow.owner,
    }


def render_python_dag(workflow: Workflow, names: Names) -> str:
    """The workflow's own ``dag.py`` with its placeholders filled in.

    Placeholders are replaced inside string literals (escaped for the literal's kind:
    quotes, backslashes, braces in f-strings) and comments, nowhere else. The result
    must parse to the same program with only those strings changed, so a value can
    never turn into code.
    """
    dag_py = workflow.path.parent / PYTHON_DAG_NAME
    source = workflow.python_dag_source
    if source is None:
        raise ManifestError(
            [Problem(dag_py, 1, 1, f"dag.python_dag is true but {PYTHON_DAG_NAME} is missing next to the manifest")]
        )
    original = _parse(source, dag_py, "")
    values = placeholder_values(workflow, names)
    filled = _fill_placeholders(source, values, dag_py)
    _check_same_program(original, _parse(filled, dag_py, " once its placeholders are filled in"), values, dag_py)
    trailer = header(
        [
            f"Deployed from {names.folder}/{PYTHON_DAG_NAME} with its placeholders filled in",
            "by the analytical-platform-airflow stack — do not edit here.",
        ]
    )
    trailer += PRE_IMPORTS
    separator = "" if filled.endswith("\n") or not filled else "\n"
    return filled + separator + "\n".join(trailer) + "\n"


def _parse(source: str, dag_py: Path, when: str) -> ast.Module:
    try:
        return ast.parse(source, filename=str(dag_py))
    except SyntaxError as error:
        raise ManifestError(
            [
                Problem(
                    dag_py,
                    error.lineno or 1,
                    error.offset or 1,
                    f"{PYTHON_DAG_NAME} is not valid Python{when}: {error.msg}",
                )
            ]
        ) from error
    except ValueError as error:  # null bytes
        raise ManifestError([Problem(dag_py, 1, 1, f"{PYTHON_DAG_NAME} is not valid Python{when}: {error}")]) from error


def _fill_placeholders(source: str, values: Mapping[str, str], dag_py: Path) -> str:
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))

    def offset(position: tuple[int, int]) -> int:
        return starts[position[0] - 1] + position[1]

    edits: list[tuple[int, int, str]] = []
    for kind, start, end in _literal_spans(source):
        begin, finish = offset(start), offset(end)
        text = source[begin:finish]
        if not _PLACEHOLDER.search(text):
            continue
        if kind == "comment":
            new = _PLACEHOLDER.sub(lambda m: comment_text(values[m[1]]), text)
        else:
            new = _fill_string(text, values, dag_py, start)
        edits.append((begin, finish, new))
    out, last = [], 0
    for begin, finish, new in edits:
        out += [source[last:begin], new]
        last = finish
    out.append(source[last:])
    return "".join(out)


def _literal_spans(source: str) -> Iterator[tuple[str, tuple[int, int], tuple[int, int]]]:
    """Every string literal (an f-string as a whole) and comment, as (kind, start, end) positions."""
    fstring_start = getattr(tokenize, "FSTRING_START", None)  # Python 3.12+ splits f-strings
    fstring_end = getattr(tokenize, "FSTRING_END", None)
    depth, opened = 0, (0, 0)
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if fstring_start is not None and token.type == fstring_start:
            if depth == 0:
                opened = token.start
            depth += 1
        elif fstring_end is not None and token.type == fstring_end:
            depth -= 1
            if depth == 0:
                yield "string", opened, token.end
        elif depth:
            continue
        elif token.type == tokenize.STRING:
            yield "string", token.start, token.end
        elif token.type == tokenize.COMMENT:
            yield "comment", token.start, token.end


_STRING_PREFIX = re.compile(r"(?i)([rbuf]*)('''|\"\"\"|'|\")")


def _fill_string(text: str, values: Mapping[str, str], dag_py: Path, start: tuple[int, int]) -> str:
    match = _STRING_PREFIX.match(text)
    if not match:
        raise ValueError(f"not a string literal: {text!r}")
    prefix, quote = match[1].lower(), match[2]
    raw, fstring, triple = "r" in prefix, "f" in prefix, len(quote) == 3

    def escape(name: str) -> str:
        value = values[name]
        if raw:
            bad = "\\" in value or quote[0] in value or (not triple and ("\n" in value or "\r" in value))
            if bad:
                raise ManifestError(
                    [
                        Problem(
                            dag_py,
                            start[0],
                            start[1] + 1,
                            f"PLACEHOLDER_{name} is in a raw string, which cannot hold its value {value!r}: "
                            "use a normal string",
                        )
                    ]
                )
            escaped = value
        else:
            escaped = "".join(_escape_char(ch, quote[0], bytes_literal="b" in prefix) for ch in value)
        if fstring:
            escaped = escaped.replace("{", "{{").replace("}", "}}")
        return escaped

    body = text[len(match[0]) : len(text) - len(quote)]
    return match[0] + _PLACEHOLDER.sub(lambda m: escape(m[1]), body) + quote


def _escape_char(ch: str, quote: str, *, bytes_literal: bool) -> str:
    if ch == "\\":
        return "\\\\"
    if ch == quote:
        return "\\" + ch
    if ch == "\n":
        return "\\n"
    if ch == "\r":
        return "\\r"
    if bytes_literal and not ch.isascii():
        return "".join(f"\\x{byte:02x}" for byte in ch.encode("utf-8"))
    if not ch.isprintable():
        return ch.encode("unicode_escape").decode("ascii")
    return ch


def _check_same_program(before: ast.Module, after: ast.Module, values: Mapping[str, str], dag_py: Path) -> None:
    """``after`` must be ``before`` with placeholders replaced inside string values, and nothing else."""
    same = _shape(before) == _shape(after)
    if same:
        for old, new in zip(ast.walk(before), ast.walk(after), strict=True):
            constant = isinstance(old, ast.Constant) and isinstance(old.value, str | bytes)
            if constant and new.value != _expected_constant(old.value, values):
                same = False
                break
    if not same:
        raise ManifestError(
            [
                Problem(
                    dag_py,
                    1,
                    1,
                    f"{PYTHON_DAG_NAME}: filling in its placeholders would change the code, not just strings; "
                    "use PLACEHOLDER_<NAME> only inside ordinary string literals",
                )
            ]
        )


_PLACEHOLDER_BYTES = re.compile(_PLACEHOLDER.pattern.encode("ascii"))


def _expected_constant(value: str | bytes, values: Mapping[str, str]) -> str | bytes:
    if isinstance(value, bytes):
        return _PLACEHOLDER_BYTES.sub(lambda m: values[m[1].decode("ascii")].encode("utf-8"), value)
    return _PLACEHOLDER.sub(lambda m: values[m[1]], value)


class _Blank(ast.NodeTransformer):
    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        if isinstance(node.value, str | bytes):
            return ast.Constant(value=type(node.value)())
        return node


def _shape(tree: ast.Module) -> str:
    """The program with every string and bytes constant blanked out (positions ignored)."""
    return ast.dump(_Blank().visit(copy.deepcopy(tree)))
