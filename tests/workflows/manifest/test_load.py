"""workflows/manifest/load.py: YAML with positions, and the text of every scalar YAML did not read as text."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflows.errors import ManifestError
from workflows.manifest.load import load

PATH = Path("environments/development/demo/job/workflow.yml")


def test_the_text_of_scalars_yaml_read_as_something_else_is_kept():
    text = "a: 01234\nb: yes\nc: '01234'\nd: 1.10\ne: ~\nf:\ng: [1:20, 0x1F, x]\nh: {i: 2025-01-01, j: .inf}\n"
    data, positions = load(PATH, text)
    assert data == {
        "a": 668,
        "b": True,
        "c": "01234",
        "d": 1.1,
        "e": None,
        "f": None,
        "g": [80, 31, "x"],
        "h": {"i": "2025-01-01", "j": float("inf")},
    }
    assert positions.texts == {
        ("a",): "01234",
        ("b",): "yes",
        ("d",): "1.10",
        ("e",): "~",
        ("f",): "",
        ("g", 0): "1:20",
        ("g", 1): "0x1F",
        ("h", "j"): ".inf",
    }
    assert positions.text(("c",)) is None  # text stays text: nothing to keep
    assert positions.of(("g", 1)) == (7, 11)


def test_an_alias_keeps_the_text_at_every_place_it_is_used():
    data, positions = load(PATH, "a: &zip 01234\nb: *zip\n")
    assert data == {"a": 668, "b": 668}
    assert positions.texts == {("a",): "01234", ("b",): "01234"}


def test_problems_carry_a_severity():
    with pytest.raises(ManifestError) as caught:
        load(PATH, "a: [unclosed\n")
    assert [p.severity for p in caught.value.problems] == ["error"]
    _, positions = load(PATH, "a: 1\n")
    assert positions.problem(("a",), "m", severity="warning").severity == "warning"
    assert str(positions.problem(("a",), "m", severity="warning")) == f"{PATH}:1:4: warning: m"
    assert str(positions.problem(("a",), "m")) == f"{PATH}:1:4: m"


def _syntax_error(text: str) -> tuple[int, int, str]:
    with pytest.raises(ManifestError) as caught:
        load(Path("workflow.yml"), text)
    problem = caught.value.first
    return problem.line, problem.column, problem.message


def test_a_tab_in_the_indent_says_indent_with_spaces_and_shows_the_line() -> None:
    assert _syntax_error("dag:\n  repository: a\n\tretries: 2\n") == (
        3,
        1,
        "invalid YAML: found a tab character that violates indentation: indent with spaces, not tabs; "
        'line 3: ^ "\\tretries: 2"',
    )


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        (
            "dag:\n  schedule: @daily\n",
            2,
            13,
            "invalid YAML: found character that cannot start any token: a value starting with @ is read as a reserved "
            'character: if it is text, put it in quotes (\'@daily\'); line 2: "  schedule: " ^ "@daily"',
        ),
        (
            "dag:\n  env_vars:\n    A: *star's\n",
            3,
            8,
            "invalid YAML: did not find expected alphabetic or numeric character: a value starting with * is read as "
            "an alias: if it is text, put it "
            "in quotes ('*star''s'); line 3: \"    A: \" ^ \"*star's\"",
        ),
        (
            "dag:\n  x: [a, b\n  y: 2\n",
            2,
            6,
            "invalid YAML: did not find expected ',' or ']': a value starting with [ is read as a list written inline: "
            'if it is text, put it in quotes (\'[a, b\'); line 2: "  x: " ^ "[a, b"',
        ),
        (
            "dag:\n  x: {a} b\n",
            2,
            6,
            "invalid YAML: did not find expected key: a value starting with { is read as a mapping written inline: "
            'if it is text, put it in quotes (\'{a} b\'); line 2: "  x: " ^ "{a} b"',
        ),
    ],
)
def test_a_value_with_a_special_first_character_says_put_it_in_quotes(
    text: str, line: int, column: int, message: str
) -> None:
    assert _syntax_error(text) == (line, column, message)


def test_other_syntax_errors_show_the_line_with_a_caret() -> None:
    assert _syntax_error("a: b: c\n") == (
        1,
        5,
        'invalid YAML: mapping values are not allowed in this context; line 1: "a: b" ^ ": c"',
    )
