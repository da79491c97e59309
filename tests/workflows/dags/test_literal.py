"""The literal code writer (workflows/dags/literal.py): data is written as Python literals, never as code."""

from __future__ import annotations

import ast
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.workflows.dags.factory import TEXT
from workflows.dags.literal import WIDTH, Call, Raw, comment_text, flat, format_code, header, jinja_string

DATA = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=10,
)


def test_flat_writes_literals_calls_and_raw_code() -> None:
    assert flat("it's") == '"it\'s"'
    assert flat(None) == "None"
    assert flat(True) == "True"
    assert flat(-3) == "-3"
    assert flat(("a", 1)) == "['a', 1]"  # tuples are written as lists
    assert flat({"k": [True, None]}) == "{'k': [True, None]}"
    assert flat(Raw("tasks['a']")) == "tasks['a']"
    assert flat(Call("f", ("a", 1), {"k": Call("g"), "raw": Raw("IMAGE")})) == "f('a', 1, k=g(), raw=IMAGE)"


@pytest.mark.parametrize("value", [1.5, b"bytes", {"a"}, date(2025, 1, 1), object()])
def test_flat_refuses_anything_else(value: object) -> None:
    with pytest.raises(TypeError, match=r"cannot write \w+ as a literal"):
        flat(value)


@settings(max_examples=200, deadline=None)
@given(value=DATA)
def test_every_value_comes_back_unchanged(value: object) -> None:
    assert ast.literal_eval(flat(value)) == value
    assert ast.literal_eval(format_code(value, 8)) == value


def test_format_code_keeps_what_fits_on_one_line() -> None:
    assert WIDTH == 100
    assert format_code(["a" * 10] * 2, 4) == "['aaaaaaaaaa', 'aaaaaaaaaa']"
    fits = ["x" * 95]  # 99 characters written out, plus the one after it: exactly WIDTH
    assert format_code(fits, 0) == f"['{'x' * 95}']"
    assert format_code(["x" * 96], 0) == f"[\n    '{'x' * 96}',\n]"
    assert format_code(fits, 0, 1) == f"[\n    '{'x' * 95}',\n]"  # the text before it counts too
    assert format_code("y" * 200, 0) == repr("y" * 200)  # a scalar cannot be split


def test_format_code_splits_one_argument_or_item_per_line() -> None:
    value = Call(
        "DAG",
        kwargs={
            "dag_id": "x" * 50,
            "tags": ["a" * 40, "b" * 40],
            "default_args": {"owner": "o" * 30, "retries": 0, "email": ["e" * 45, "f" * 45]},
        },
    )
    assert format_code(value, 0, 5) == "\n".join(
        [
            "DAG(",
            f"    dag_id='{'x' * 50}',",
            f"    tags=['{'a' * 40}', '{'b' * 40}'],",
            "    default_args={",
            f"        'owner': '{'o' * 30}',",
            "        'retries': 0,",
            "        'email': [",
            f"            '{'e' * 45}',",
            f"            '{'f' * 45}',",
            "        ],",
            "    },",
            ")",
        ]
    )
    compile("with " + format_code(value, 0, 5) + " as dag:\n    pass\n", "dag.py", "exec")


def test_jinja_string() -> None:
    assert jinja_string("run_date_1") == "'run_date_1'"
    assert jinja_string("it's {x}") == "'it\\u0027s\\u0020\\u007bx\\u007d'"
    assert jinja_string("é\\") == "'\\u00e9\\u005c'"
    assert jinja_string("😀") == "'\\U0001f600'"


def test_comments_stay_on_one_line() -> None:
    assert comment_text("a\nimport os\r\u2028b") == "a\\nimport os\\r\\u2028b"
    assert comment_text("plain — text") == "plain — text"
    assert header(["Generated from x\ny", "", "last"]) == ["# Generated from x\\ny", "#", "# last"]
