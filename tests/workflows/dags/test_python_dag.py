"""A ``python_dag`` workflow's own ``dag.py`` with its placeholders filled in (workflows/dags/python_dag.py)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from tests.workflows.dags.factory import PYTHON_DAG, imports, python_workflow, render
from workflows.config import StackConfig
from workflows.dags.python_dag import PLACEHOLDERS, placeholder_values, render_python_dag
from workflows.errors import ManifestError
from workflows.model import Workflow
from workflows.plan.naming import derive


def fill(workflow: Workflow, config: StackConfig) -> str:
    return render_python_dag(workflow, derive(workflow, config))


def test_placeholder_values(config: StackConfig) -> None:
    workflow = python_workflow(tag="v2.1", owner="o'brien@justice.gov.uk", repository="Org_Name/Repo_X")
    assert PLACEHOLDERS == ("REPOSITORY_NAME", "REPOSITORY_TAG", "PROJECT", "WORKFLOW", "ENVIRONMENT", "OWNER")
    assert placeholder_values(workflow, derive(workflow, config)) == {
        # As written in the manifest, as the running service fills it in (not the image path's spelling).
        "REPOSITORY_NAME": "Org_Name/Repo_X",
        "REPOSITORY_TAG": "v2.1",
        "PROJECT": "demo",
        "WORKFLOW": "job",
        "ENVIRONMENT": "development",
        "OWNER": "o'brien@justice.gov.uk",
    }


@pytest.mark.parametrize(
    ("project", "alias"),
    [("electronic-monitoring-data-store", "emds"), ("electronic-monitoring-data-store-pp", "emds-pp")],
)
def test_placeholder_project_is_the_alias(config: StackConfig, project: str, alias: str) -> None:
    """PLACEHOLDER_PROJECT is the project's alias, as the running service fills it in: the DAG id, service
    account and secret names the author builds from it are the ones the stack derives."""
    source = 'IDS = "PLACEHOLDER_PROJECT.PLACEHOLDER_WORKFLOW"\nSA = "PLACEHOLDER_PROJECT-PLACEHOLDER_WORKFLOW"\n'
    workflow = python_workflow(source, project=project)
    names = derive(workflow, config)
    assert fill(workflow, config).startswith(f'IDS = "{alias}.job"\nSA = "{alias}-job"\n')
    assert (names.dag_id, names.service_account) == (f"{alias}.job", f"{alias}-job")


def module_strings(source: str) -> dict[str, Any]:
    values = {}
    for node in ast.parse(source).body:
        named = isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
        if named and not isinstance(node.value, ast.JoinedStr):
            values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


def test_python_dag_placeholders_are_filled_in_strings_only(config: StackConfig) -> None:
    tag = "v1\"'\\\n{x}"
    workflow = python_workflow(tag=tag, owner="o'brien@justice.gov.uk", repository="Org_Name/Repo_X")
    rendered = fill(workflow, config)
    values = module_strings(rendered)
    assert values["NAME"] == "Org_Name/Repo_X"
    assert values["TAG"] == values["TRIPLE"] == tag
    assert values["OWNER"] == "o'brien@justice.gov.uk"
    assert values["B"] == b"o'brien@justice.gov.uk"
    assert values["ENV"] == "development"
    assert values["IDS"] == "demo.job"
    assert values["PLACEHOLDER_PROJECT"] == "an identifier is left alone"
    assert values["LONGER"] == "PLACEHOLDER_PROJECTS"
    assert ast.get_docstring(ast.parse(rendered)) == "demo docstring."
    f_string = next(
        n.value for n in ast.parse(rendered).body if isinstance(n, ast.Assign) and ast.unparse(n).startswith("F =")
    )
    assert isinstance(f_string, ast.JoinedStr)
    assert f_string.values[-1].value == ":" + tag  # braces doubled inside the f-string
    # A comment is not a string: its placeholder stays as written (issue 12 item 10).
    assert "from airflow.models import DAG  # PLACEHOLDER_OWNER\n" in rendered
    # Line numbers are kept (tracebacks point at the author's lines); the note goes at the end.
    original = PYTHON_DAG.splitlines()
    lines = rendered.splitlines()
    assert lines[1] == original[1]
    assert [a for a in original if "PLACEHOLDER_" not in a] == [
        b for a, b in zip(original, lines, strict=False) if "PLACEHOLDER_" not in a
    ]
    assert lines[len(original)].startswith("# Deployed from environments/development/demo/job/dag.py")
    assert lines[-1] == "import airflow.providers.cncf.kubernetes.operators.pod"  # see test_pre_import_hints
    assert fill(workflow, config) == rendered


def test_python_dag_refuses_a_value_that_would_become_code(config: StackConfig) -> None:
    source = "X = f\"{'PLACEHOLDER_REPOSITORY_TAG'}\"\n"
    with pytest.raises(ManifestError, match="would change the code"):
        fill(python_workflow(source, tag="' + str(__import__('os').getpid()) + '"), config)
    with pytest.raises(ManifestError, match="not valid Python once its placeholders are filled in"):
        fill(python_workflow(source, tag="it's"), config)


def test_python_dag_raw_string_that_cannot_hold_the_value(config: StackConfig) -> None:
    with pytest.raises(ManifestError, match="raw string") as caught:
        fill(python_workflow('\n\nX = r"PLACEHOLDER_REPOSITORY_TAG"\n', tag='a"b'), config)
    assert caught.value.first.line == 3
    assert fill(python_workflow('X = r"PLACEHOLDER_REPOSITORY_TAG"\n', tag="v1"), config).startswith('X = r"v1"\n')


def test_python_dag_problems_name_the_dag_file(config: StackConfig) -> None:
    with pytest.raises(ManifestError, match=r"dag\.py is missing") as missing:
        fill(python_workflow(None), config)
    assert missing.value.first.path == Path("/repo/environments/development/demo/job/dag.py")
    with pytest.raises(ManifestError, match="not valid Python") as broken:
        fill(python_workflow("x = 1\ndef broken(:\n"), config)
    assert broken.value.first.line == 2


# --------------------------------------------------------------------------- runtime files


def test_the_generated_dag_of_a_python_dag_workflow_is_its_own_file(config: StackConfig) -> None:
    workflow = python_workflow()
    assert render(workflow, config) == fill(workflow, config)


def test_pre_import_hint(config: StackConfig) -> None:
    """Its own file names the Kubernetes provider too, so the DAG processor imports it once for all files
    (see tests/workflows/dags/test_generate.py::test_pre_import_hints)."""
    assert "airflow.providers.cncf.kubernetes.operators.pod" in imports(fill(python_workflow(), config))


# --------------------------------------------------------------------------- comments and encodings (issue 12 item 10)

ENCODING_OWNER = "raw_unicode_escape@justice.gov.uk"


@pytest.mark.parametrize(
    "source",
    [
        "# coding=PLACEHOLDER_OWNER\nX = 'PLACEHOLDER_OWNER'\n",
        "#!/usr/bin/env python\n# -*- coding: PLACEHOLDER_OWNER -*-\nX = '\\u0041'\n",
        "# vim: set fileencoding=PLACEHOLDER_OWNER :\nX = 1\n",
    ],
    ids=["coding-line-1", "coding-line-2-after-shebang", "vim-fileencoding"],
)
def test_a_placeholder_in_an_encoding_declaration_is_not_filled_and_is_refused(
    config: StackConfig, source: str
) -> None:
    """Filled, ``# coding=raw_unicode_escape@…`` would make Python decode the file differently from the
    program validated; the comment is left alone and the declaration (of no codec) is refused."""
    with pytest.raises(ManifestError, match="encoding declaration Python cannot use") as caught:
        fill(python_workflow(source, owner=ENCODING_OWNER), config)
    assert caught.value.first.line == source.count("\n", 0, source.index("PLACEHOLDER_OWNER")) + 1


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("# -*- coding: latin-1 -*-\nX = 'PLACEHOLDER_OWNER'\n", 1),
        ("#!/usr/bin/env python\n# coding: raw_unicode_escape\nX = 'PLACEHOLDER_OWNER'\n", 2),
        ("\n# vim: set fileencoding=cp1252 :\nX = 1\n", 2),
        ("# coding=utf-16\nX = 1\n", 1),
    ],
    ids=["latin-1", "raw-unicode-escape-after-shebang", "vim-cp1252", "utf-16"],
)
def test_an_encoding_other_than_utf8_is_refused(config: StackConfig, source: str, line: int) -> None:
    with pytest.raises(ManifestError, match="declares the encoding") as caught:
        fill(python_workflow(source), config)
    assert caught.value.first.line == line


def test_a_byte_order_mark_with_another_declaration_is_refused(config: StackConfig) -> None:
    with pytest.raises(ManifestError, match="encoding declaration Python cannot use"):
        fill(python_workflow("\ufeff# coding: latin-1\nX = 'PLACEHOLDER_OWNER'\n"), config)


@pytest.mark.parametrize(
    "source",
    [
        "#!/usr/bin/env python\n# coding: utf8\nX = 'PLACEHOLDER_OWNER'\n",
        "# -*- coding: UTF-8 -*-\nX = 'PLACEHOLDER_OWNER'\n",
        "# vim: set fileencoding=utf-8 :\nX = 'PLACEHOLDER_OWNER'\n",
        "# coding: utf_8\nX = 'PLACEHOLDER_OWNER'\n",
        "\ufeff# coding: utf-8\nX = 'PLACEHOLDER_OWNER'\n",
        "\ufeffX = 'PLACEHOLDER_OWNER'\n",
        "X = 1\n# coding: latin-1 (line 2 after code is not a declaration)\nY = 'PLACEHOLDER_OWNER'\n",
    ],
    ids=["utf8-after-shebang", "UTF-8", "vim-utf-8", "utf_8", "bom-and-utf-8", "bom-only", "not-a-declaration"],
)
def test_utf8_declarations_are_accepted(config: StackConfig, source: str) -> None:
    rendered = fill(python_workflow(source, owner="é@justice.gov.uk"), config)
    # What Python reads from the deployed bytes.
    assert "é@justice.gov.uk" in strings_from_bytes(rendered.encode("utf-8"))


def strings_from_bytes(data: bytes) -> set[str]:
    """Every string constant of the program Python compiles from these bytes."""
    return {n.value for n in ast.walk(ast.parse(data)) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


@pytest.mark.parametrize(
    "comment",
    [
        "# PLACEHOLDER_OWNER",
        "# owner: PLACEHOLDER_OWNER; repo PLACEHOLDER_REPOSITORY_NAME",
        "#PLACEHOLDER_PROJECT-PLACEHOLDER_WORKFLOW",
    ],
)
def test_placeholders_in_comments_stay_as_written(config: StackConfig, comment: str) -> None:
    source = f"X = 'PLACEHOLDER_OWNER'  {comment}\n{comment}\n"
    rendered = fill(python_workflow(source, owner="a\nimport os@justice.gov.uk"), config)
    assert rendered.startswith(f"X = 'a\\nimport os@justice.gov.uk'  {comment}\n{comment}\n")
