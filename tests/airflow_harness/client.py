"""The main environment's side of the Airflow harness, shared by the tests and ``bench/dag_parse.py``.

``load_dags.py`` runs under Airflow's own interpreter (``AIRFLOW_PYTHON``, default
``.venv-airflow/bin/python``); this module writes a dags folder, runs it there and
reads back the JSON it writes.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from workflows.config import StackConfig
from workflows.dags.runtime import runtime_files
from workflows.model import Workflow
from workflows.plan.workflow_plan import plan

REPO = Path(__file__).resolve().parents[2]
HARNESS = Path(__file__).resolve().with_name("load_dags.py")
TASK_RUNNER = Path(__file__).resolve().with_name("preflight.py")
AIRFLOW_PYTHON = Path(os.environ.get("AIRFLOW_PYTHON", REPO / ".venv-airflow" / "bin" / "python"))


class HarnessError(Exception):
    """Airflow could not be run, or the harness itself failed (not a DAG's import error)."""


def dags_folder_files(workflows: Iterable[Workflow], config: StackConfig) -> dict[str, str]:
    """What the stack puts under the dags prefix for these workflows, by path relative to it."""
    files = dict(runtime_files(config))
    for declared in (plan(workflow, config) for workflow in workflows):
        files[declared.names.dag_key.removeprefix(config.dags_prefix)] = declared.dag_source
    return files


def write_folder(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (path relative to the folder -> content) under ``root``."""
    for relative, content in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    return root


def run_harness(dags: Path, out: Path, *options: str) -> dict[str, Any]:
    """Load ``dags`` in Airflow and return the harness's description of it."""
    return _run(HARNESS, dags, out, *options)


def run_task(dags: Path, out: Path, dag_id: str, task_id: str) -> dict[str, Any]:
    """Execute one task of ``dags`` in Airflow (against the cluster its platform.json names) and return
    how it ended (``preflight.py``)."""
    return _run(TASK_RUNNER, dags, out, dag_id, task_id)


def _run(script: Path, dags: Path, out: Path, *options: str) -> dict[str, Any]:
    if not AIRFLOW_PYTHON.is_file():
        raise HarnessError(
            f"no Airflow interpreter at {AIRFLOW_PYTHON} (set AIRFLOW_PYTHON): run `make test`, "
            "which creates .venv-airflow with the Airflow that MWAA runs"
        )
    completed = subprocess.run(
        [str(AIRFLOW_PYTHON), str(script), str(dags), str(out), *options],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if completed.returncode != 0:
        raise HarnessError(f"the Airflow harness failed:\n{completed.stdout[-5000:]}\n{completed.stderr[-5000:]}")
    return json.loads(out.read_text())
