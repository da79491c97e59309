"""A ``python_dag`` workflow's own ``dag.py``, with its placeholders filled in.

Placeholders (``PLACEHOLDER_PROJECT`` …) are replaced inside string literals only
(escaped for the literal's kind); a placeholder in a comment stays as written. The
file must be read as UTF-8 (no encoding declaration naming another codec), and the
filled file, read exactly as Python reads its bytes, must parse to the same program
with only those strings changed, so a value can never turn into code or change how
the file is decoded.
"""

from __future__ import annotations

import ast
import codecs
import copy
import io
import re
import tokenize
from collections.abc import Iterator, Mapping
from pathlib import Path

from workflows.dags.literal import header
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
    quotes, backslashes, braces in f-strings), nowhere else: not in comments, where a
    value could become an encoding declaration (``# coding=PLACEHOLDER_OWNER``). The
    file must declare no encoding but UTF-8, and the deployed file, compiled from its
    UTF-8 bytes as Python will read it, must parse to the same program with only those
    strings changed, so a value can never turn into code.
    """
    dag_py = workflow.path.parent / PYTHON_DAG_NAME
    source = workflow.python_dag_source
    if source is None:
        raise ManifestError(
            [Problem(dag_py, 1, 1, f"dag.python_dag is true but {PYTHON_DAG_NAME} is missing next to the manifest")]
        )
    _check_encoding(source.encode("utf-8"), dag_py, "")
    trailer = header(
        [
            f"Deployed from {names.folder}/{PYTHON_DAG_NAME} with its placeholders filled in",
            "by the analytical-platform-airflow stack — do not edit here.",
        ]
    )
    trailer += PRE_IMPORTS
    separator = "" if source.endswith("\n") or not source else "\n"
    ending = separator + "\n".join(trailer) + "\n"
    original = _parse((source + ending).encode("utf-8"), dag_py, "")
    values = placeholder_values(workflow, names)
    # A byte-order mark is not Python: fill the text after it, and keep it.
    bom = "\ufeff" if source.startswith("\ufeff") else ""
    rendered = bom + _fill_placeholders(source[len(bom) :], values, dag_py) + ending
    # The deployed file exactly as Python will read it: its UTF-8 bytes (as uploaded), decoded as they declare.
    deployed = rendered.encode("utf-8")
    when = " once its placeholders are filled in"
    _check_encoding(deployed, dag_py, when)
    _check_same_program(original, _parse(deployed, dag_py, when), values, dag_py)
    return rendered


# PEP 263: the codecs Python accepts as UTF-8 in an encoding declaration (``utf8``, ``UTF-8``, ``utf_8`` …).
_UTF8 = "utf-8"
_DECLARATION = re.compile(rb"^[ \t\f]*#.*?coding[:=]")


def _declaration_line(data: bytes) -> int:
    """The line (1 or 2) of the file's encoding declaration, else 1."""
    for number, line in enumerate(data.removeprefix(codecs.BOM_UTF8).splitlines()[:2], start=1):
        if _DECLARATION.match(line):
            return number
    return 1


def _check_encoding(data: bytes, dag_py: Path, when: str) -> None:
    """Python must read the file as UTF-8: an encoding declaration (``# coding: …`` or
    ``# vim: set fileencoding=…`` on line 1 or 2, PEP 263) may only name UTF-8."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:  # an unknown codec, or a byte-order mark with another declaration
        raise ManifestError(
            [
                Problem(
                    dag_py,
                    _declaration_line(data),
                    1,
                    f"{PYTHON_DAG_NAME}{when} has an encoding declaration Python cannot use ({error}): "
                    "save the file as UTF-8 and remove the declaration, or declare `# -*- coding: utf-8 -*-`",
                )
            ]
        ) from None
    if encoding == "utf-8-sig":  # a byte-order mark, no declaration or a UTF-8 one
        return
    try:
        name = codecs.lookup(encoding).name
    except LookupError:  # detect_encoding has looked it up already; kept for safety
        name = encoding
    if name != _UTF8:
        raise ManifestError(
            [
                Problem(
                    dag_py,
                    _declaration_line(data),
                    1,
                    f"{PYTHON_DAG_NAME}{when} declares the encoding {encoding!r}, so Python would not read it as "
                    "UTF-8: save the file as UTF-8 and remove the declaration, or declare `# -*- coding: utf-8 -*-`",
                )
            ]
        )


def _parse(source: bytes, dag_py: Path, when: str) -> ast.Module:
    """The program Python compiles from these bytes (decoded as they declare, as Python reads a file)."""
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
    for start, end in _string_spans(source):
        begin, finish = offset(start), offset(end)
        text = source[begin:finish]
        if not _PLACEHOLDER.search(text):
            continue
        edits.append((begin, finish, _fill_string(text, values, dag_py, start)))
    out, last = [], 0
    for begin, finish, new in edits:
        out += [source[last:begin], new]
        last = finish
    out.append(source[last:])
    return "".join(out)


def _string_spans(source: str) -> Iterator[tuple[tuple[int, int], tuple[int, int]]]:
    """Every string literal (an f-string as a whole), as (start, end) positions. Comments are not
    strings: a placeholder in one stays as written."""
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
                yield opened, token.end
        elif depth:
            continue
        elif token.type == tokenize.STRING:
            yield token.start, token.end


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
