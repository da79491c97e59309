"""The literal code writer: generated DAG files are fixed code plus data written by :func:`repr`.

:class:`Call` is a call of one of our own names with data arguments, :class:`Raw` a
piece of code we write ourselves; every other value (str, int, bool, None, lists,
dicts) is written as a Python literal, so no manifest value can become code.
:func:`format_code` lays a value out on one line when it fits in :data:`WIDTH`
columns, else one argument or item per line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from workflows.errors import escape_unprintable

WIDTH = 100  # generated lines longer than this are split, one argument or item per line


@dataclass(frozen=True)
class Raw:
    """Code we write ourselves (never from a manifest value)."""

    code: str


@dataclass(frozen=True)
class Call:
    """A call of one of our own names; arguments are data, written as literals."""

    func: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] | None = None


def flat(value: Any) -> str:
    """``value`` as code on one line."""
    return _Writer().flat(value)


def format_code(value: Any, indent: int, lead: int = 0) -> str:
    """``value`` as code on a line indented by ``indent`` after ``lead`` characters: on one line
    when it fits, else one argument or item per line (nested values indented four more)."""
    return _Writer().format(value, indent, lead)


_SCALARS = (str, int, bool, type(None))


class _Writer:
    """Writes one value; each container's one-line form is built once and reused by the
    layout of every level above it (so deep values cost linear, not quadratic, time)."""

    def __init__(self) -> None:
        # By id(): every value is alive (held by the one being written) for the writer's life.
        self._flat: dict[int, str] = {}

    def flat(self, value: Any) -> str:
        kind = type(value)
        if kind in _SCALARS:
            return repr(value)
        cached = self._flat.get(id(value))
        if cached is not None:
            return cached
        if kind is Raw:
            text = value.code
        elif kind is Call:
            parts = [self.flat(a) for a in value.args]
            parts += [f"{k}={self.flat(v)}" for k, v in (value.kwargs or {}).items()]
            text = f"{value.func}({', '.join(parts)})"
        elif kind is list or kind is tuple:
            text = "[" + ", ".join([self.flat(v) for v in value]) + "]"
        elif isinstance(value, Mapping):
            text = "{" + ", ".join([f"{self.flat(k)}: {self.flat(v)}" for k, v in value.items()]) + "}"
        elif isinstance(value, _SCALARS):  # subclasses of str and int (bool included)
            text = repr(value)
        else:
            raise TypeError(f"cannot write {kind.__name__} as a literal")
        self._flat[id(value)] = text
        return text

    def format(self, value: Any, indent: int, lead: int = 0) -> str:
        one_line = self.flat(value)
        if indent + lead + len(one_line) + 1 <= WIDTH or not isinstance(value, Call | Mapping | list | tuple):
            return one_line
        inner = indent + 4
        pad = " " * inner
        if isinstance(value, Call):
            items = [f"{pad}{self.format(a, inner)}," for a in value.args]
            items += [f"{pad}{k}={self.format(v, inner, len(k) + 1)}," for k, v in (value.kwargs or {}).items()]
            opening, closing = f"{value.func}(", ")"
        elif isinstance(value, Mapping):
            items = []
            for k, v in value.items():
                key = self.flat(k)
                items.append(f"{pad}{key}: {self.format(v, inner, len(key) + 2)},")
            opening, closing = "{", "}"
        else:
            items = [f"{pad}{self.format(v, inner)}," for v in value]
            opening, closing = "[", "]"
        if not items:
            return one_line
        return opening + "\n" + "\n".join(items) + "\n" + " " * indent + closing


def comment_text(text: str) -> str:
    """Text safe on one comment line: anything unprintable (line breaks included) is escaped."""
    return escape_unprintable(text)


def jinja_string(text: str) -> str:
    """A Jinja string literal for ``text``: letters, digits and ``_`` as they are, every other
    character as a ``\\uXXXX`` escape, so no quote, brace or backslash can end it early."""
    out = []
    for ch in text:
        if ch.isascii() and (ch.isalnum() or ch == "_"):
            out.append(ch)
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return "'" + "".join(out) + "'"


def header(lines: Sequence[str]) -> list[str]:
    """Comment lines, each made safe with :func:`comment_text`."""
    return [f"# {comment_text(line)}" if line else "#" for line in lines]
