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
