"""The DAG cutover of docs/migration.md, step by step, in the Airflow that MWAA runs.

At every step the bucket's ``dags/`` prefix is mirrored as it would be — the running
service's files (its loader, one dag-factory YAML per generated workflow, the python_dag
workflows' ``dag.py``) and this stack's files as the step has them — and loaded in one
DagBag: every DAG id must be defined exactly once (a second definition is an import error),
none may disappear, and nothing may fail to import.

The running service's loader calls dag-factory (not installed here): a small stand-in
package ``dagfactory`` defines one DAG per YAML file, with the tasks and operator arguments
the file names, so the YAMLs exercise this stack's runtime with the running service's
``AnalyticalPlatformStandardOperator`` arguments (docs/migration.md lists them).
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from shell.offline import render_stack
from tests.airflow_harness.client import HarnessError, run_harness, write_folder
from tests.conftest import EXAMPLES, REPO
from workflows.config import StackConfig, stack_file

STACK = "development"
TRANSITIONAL_LOADER = REPO / "cutover" / "dag_factory.py"
# The running service's loader: dag-factory's load_yaml_dags over every workflow.yml.
OLD_LOADER = """\
from airflow import DAG
from dagfactory import load_yaml_dags

load_yaml_dags(globals_dict=globals(), suffix=["workflow.yml"])
"""
DAGFACTORY_STAND_IN = '''\
"""Stand-in for dag-factory: one DAG per YAML file, each task built from the operator and the
arguments the file names."""

import importlib
from pathlib import Path

import pendulum
import yaml
from airflow import DAG
from airflow.configuration import conf


class DagFactory:
    def __init__(self, config_filepath):
        self.config = yaml.safe_load(Path(config_filepath).read_text())

    def generate_dags(self, globals_dict):
        for dag_id, spec in self.config.items():
            start = pendulum.datetime(2025, 1, 1, tz="UTC")
            with DAG(dag_id, schedule=spec.get("schedule"), start_date=start, catchup=False) as dag:
                for task_id, task in spec["tasks"].items():
                    arguments = dict(task)
                    module, _, name = arguments.pop("operator").rpartition(".")
                    getattr(importlib.import_module(module), name)(task_id=task_id, **arguments)
            globals_dict[dag_id] = dag


def load_yaml_dags(globals_dict, dags_folder=None, suffix=("dag.yaml",)):
    for path in sorted(Path(dags_folder or conf.get("core", "dags_folder")).rglob("*")):
        if path.is_file() and any(path.name.endswith(s) for s in suffix):
            DagFactory(str(path)).generate_dags(globals_dict)
'''


def old_yaml(dag_id: str, alias: str, workflow: str, image: str) -> str:
    """A dag-factory YAML as the running service writes one: its standard operator with every
    argument the running service's operator takes (task_id is the task's key)."""
    task = {
        "operator": "analytical_platform.standard_operator.AnalyticalPlatformStandardOperator",
        "compute_profile": "general-spot-1vcpu-4gb",
        "name": f"{alias}.{workflow}",
        "image": image,
        "environment": STACK,
        "project": alias,
        "workflow": workflow,
        "hmcts_sdp_networking": False,
        "env_vars": {"EXAMPLE": "1", "RUN": "{{ run_id }}"},
    }
    return yaml.safe_dump({dag_id: {"schedule": None, "tasks": {"main": task}}}, sort_keys=True)


@pytest.fixture(scope="module")
def bucket() -> dict[str, Any]:
    """What the stack uploads for the examples (the render's dags/ mirror), split into its runtime and
    its DAG files, and the running service's files for the same workflows."""
    config = StackConfig.from_stack_file(stack_file(REPO, STACK))
    rendered = render_stack(STACK, EXAMPLES, REPO)
    uploads = {
        r.inputs["key"].removeprefix(config.dags_prefix): r.inputs["content"]
        for r in rendered.registrations
        if r.type == "aws:s3/bucketObjectv2:BucketObjectv2" and r.inputs["bucket"] == config.mwaa_bucket
    }
    dags: dict[str, str] = {}  # DAG file -> DAG id, this stack's
    old: dict[str, str] = {}  # the running service's per-workflow files
    for plan in rendered.plans:
        path = plan.names.dag_key.removeprefix(config.dags_prefix)
        dags[path] = plan.names.dag_id
        folder = path.rsplit("/", 1)[0]
        alias, workflow = folder.split("/")[-2:]
        if plan.workflow.dag.python_dag:
            # The running service keeps the workflow's own dag.py at the same key: uploading replaces it.
            old[path] = uploads[path]
        else:
            old[f"{folder}/workflow.yml"] = old_yaml(plan.names.dag_id, alias, workflow, "registry/image:v1")
    runtime = {path: content for path, content in uploads.items() if path not in dags}
    assert dags and runtime and any(p.endswith("workflow.yml") for p in old)
    assert any(p.endswith("dag.py") for p in old), "the examples have a python_dag workflow"
    return {"uploads": uploads, "runtime": runtime, "dags": dags, "old": old}


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory):
    """Load a dags folder in Airflow, with the dag-factory stand-in importable (as MWAA installs it)."""
    packages = tmp_path_factory.mktemp("site")
    (packages / "dagfactory.py").write_text(DAGFACTORY_STAND_IN)
    patch = pytest.MonkeyPatch()
    patch.setenv("PYTHONPATH", str(packages))
    counter = iter(range(1000))

    def load(files: dict[str, str]) -> dict[str, Any]:
        dags = write_folder(tmp_path_factory.mktemp(f"bucket-{next(counter)}"), files)
        try:
            return run_harness(dags, dags.parent / f"{dags.name}.json", "--no-render")
        except HarnessError as error:
            pytest.fail(str(error), pytrace=False)

    yield load
    patch.undo()


def cutover_steps(bucket: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    """The bucket at each step of docs/migration.md's DAG cutover."""
    transitional = TRANSITIONAL_LOADER.read_text()
    old, runtime, uploads = bucket["old"], bucket["runtime"], bucket["uploads"]
    dag_files = sorted(bucket["dags"])
    half = dict.fromkeys(dag_files[: len(dag_files) // 2])
    without_yaml = {p: c for p, c in old.items() if not p.endswith("workflow.yml")}
    return [
        # C1: the transitional loader replaces the running service's (its runtime still in place:
        # not reproduced here, so the first state shown is C2's first upload).
        ("C2: runtime uploaded, no DAG file yet", {**old, "dag_factory.py": transitional, **runtime}),
        (
            "C2: half the DAG files uploaded",
            {**old, "dag_factory.py": transitional, **runtime, **{p: uploads[p] for p in half}},
        ),
        ("C2: pulumi up done", {**old, "dag_factory.py": transitional, **uploads}),
        ("C4: loader deleted", {**old, **uploads}),
        ("C4: YAML files deleted", {**without_yaml, "dag_factory.py": transitional, **uploads}),
        ("after the cutover: exactly the stack's files", dict(uploads)),
    ]


def test_every_dag_id_is_defined_exactly_once_at_every_step(bucket, airflow):
    expected = sorted(bucket["dags"].values())
    for step, files in cutover_steps(bucket):
        described = airflow(files)
        assert described["import_errors"] == {}, step
        assert sorted(described["dags"]) == expected, step
        # Each DAG id from exactly one file: the stack's dag.py once uploaded, the YAML (through the loader)
        # before; never both (a duplicate would have been an import error above).
        per_file = {f["file"]: f["dags"] for f in described["files"]}
        assert sum(per_file.values()) == len(expected), step
        for path, dag_id in bucket["dags"].items():
            yaml_file = path.rsplit("/", 1)[0] + "/workflow.yml"
            if path in files and yaml_file in files:  # both present: only dag.py may define it
                assert per_file[path] == 1, (step, dag_id)


def test_the_last_step_is_the_stacks_own_mirror(bucket):
    assert cutover_steps(bucket)[-1][1] == bucket["uploads"]
    assert "dag_factory.py" not in bucket["uploads"]
    assert not any(path.endswith("workflow.yml") for path in bucket["uploads"])


def test_the_running_service_loader_next_to_a_new_dag_file_is_a_duplicate(bucket, airflow):
    """The order the runbook avoids: the running service's own loader while the new DAG files land.
    The check above would catch it — Airflow reports the second definition of each id."""
    described = airflow({**bucket["old"], "dag_factory.py": OLD_LOADER, **bucket["uploads"]})
    duplicated = [error for error in described["import_errors"].values() if "AirflowDagDuplicatedIdException" in error]
    # One per workflow with a YAML: each of its new dag.py files defines an id the loader already defined.
    assert len(duplicated) == sum(path.endswith("workflow.yml") for path in bucket["old"]), described["import_errors"]


def test_the_transitional_loader_is_what_the_runbook_uploads():
    text = (REPO / "docs" / "migration.md").read_text()
    assert "aws s3 cp cutover/dag_factory.py" in text
    source = TRANSITIONAL_LOADER.read_text()
    # Safe-mode DAG discovery parses only files naming both.
    assert "airflow" in source.lower() and "dag" in source.lower()
    assert source.count("dagfactory.DagFactory(") == 1
