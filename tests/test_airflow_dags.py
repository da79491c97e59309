"""The generated DAGs, loaded in the Airflow that MWAA runs (2.10.3 with the cncf-kubernetes
and slack providers), compared with the workflows they came from.

One session-wide run of ``tests/airflow_harness/load_dags.py`` (in ``.venv-airflow``,
found through ``AIRFLOW_PYTHON``) parses a dags folder holding, side by side with the
runtime package exactly as the stack uploads it:

* hand-made workflows covering every feature, including strings no template or
  quoting may alter;
* every example manifest under ``environments/``;
* every manifest of ``../shared/corpus`` when it is there (the ``python_dag`` ones with
  a ``dag.py`` of our own, written as the service's users write theirs).
"""

from __future__ import annotations

import dataclasses
import functools
import http.server
import json
import os
import re
import subprocess
import sys
import urllib.parse
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.airflow_harness.client import (
    AIRFLOW_PYTHON,
    HarnessError,
    dags_folder_files,
    run_harness,
    run_task,
    write_folder,
)
from tests.fake_http import JsonHandler, serving
from tests.workflows.dags.factory import make
from workflows.config import StackConfig, stack_file
from workflows.dags.environment import task_environment, task_secrets
from workflows.dags.runtime import compute_profiles
from workflows.model import (
    CronSchedule,
    DatasetSchedule,
    IntervalSchedule,
    Notifications,
    Task,
    Workflow,
    frozen_map,
)
from workflows.plan.naming import Names, derive, param_env_var, secret_env_var

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "environments"
EXAMPLES = REPO / "environments"
NODE_POOL_LABEL = compute_profiles.NODE_POOL_LABEL
JINJA = re.compile(r"\{[{%#]")
# Airflow's cron presets, as its timetable spells them.
PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}

# A workflow's own dag.py, in the style of the service's python DAGs.
PYTHON_DAG = '''\
"""PLACEHOLDER_PROJECT.PLACEHOLDER_WORKFLOW: a hand-written DAG (placeholders filled in on upload)."""

from datetime import datetime

from airflow.models import DAG
from airflow.operators.python import PythonOperator
from airflow.providers.cncf.kubernetes.secret import Secret
from analytical_platform.standard_operator import AnalyticalPlatformStandardOperator

REPOSITORY_NAME = "PLACEHOLDER_REPOSITORY_NAME"
REPOSITORY_TAG = "PLACEHOLDER_REPOSITORY_TAG"
PROJECT = "PLACEHOLDER_PROJECT"
WORKFLOW = "PLACEHOLDER_WORKFLOW"
ENVIRONMENT = "PLACEHOLDER_ENVIRONMENT"
OWNER = 'PLACEHOLDER_OWNER'  # PLACEHOLDER_OWNER owns it
IMAGE = f"509399598587.dkr.ecr.eu-west-2.amazonaws.com/{REPOSITORY_NAME}:{REPOSITORY_TAG}"

default_args = {
    "depends_on_past": False,
    "email_on_failure": False,
    "owner": f"{OWNER}",
    "retries": 2,
    "retry_delay": 60,
}

dag = DAG(
    dag_id=f"{PROJECT}.{WORKFLOW}",
    default_args=default_args,
    start_date=datetime(2025, 6, 26),
    schedule="0 6 * * *",
    catchup=False,
)

extract = AnalyticalPlatformStandardOperator(
    dag=dag,
    task_id="extract",
    name=f"{PROJECT}.{WORKFLOW}",
    compute_profile="general-on-demand-2vcpu-8gb",
    image=IMAGE,
    environment=f"{ENVIRONMENT}",
    project=f"{PROJECT}",
    workflow=f"{WORKFLOW}",
    hmcts_sdp_networking=True,
    env_vars={"STAGE": "extract", "BATCH": 3, "RUN": "{{ run_id }}", "SECRET_EXAMPLE": "not the secret"},
    secrets=[Secret("env", "SECRET_EXAMPLE", f"{PROJECT}-{WORKFLOW}-example", "data")],
    do_xcom_push=True,
)


def _report(**context):
    return context["ti"].xcom_pull(task_ids="extract")


report = PythonOperator(dag=dag, task_id="report", python_callable=_report)

extract >> report
'''

# Values that must reach the container exactly as written (none uses Jinja).
LITERALS = {
    "SINGLE_QUOTE": "it's",
    "DOUBLE_QUOTE": 'say "hi"',
    "TRIPLE_QUOTES": "''' and \"\"\" and '''\"",
    "BACKSLASHES": "C:\\temp\\new \\n is not a newline \\",
    "NEWLINES": "line one\nline two\n\nline four",
    "CRLF": "windows\r\nline\rcarriage",
    "TRAILING_NEWLINE": "ends with a newline\n",
    "LEADING_SPACES": "  padded  ",
    "EMPTY": "",
    "BRACES": "{x} {0} }} { } f'{y}'",
    "PERCENT": "100% %s %(name)s %% %d",
    "SHELL": "${HOME} $(id) `id` && rm -rf / ; echo ok",
    "CODE": "'); import os; os.system('id'); ('",
    "CODE_DOUBLE": '"); __import__("os").system("id"); ("',
    "UNICODE": "é 漢字 🚀 \u2028 \u00a0 \ufeff",
    "CONTROL": "tab\there\x0bvt\x0cff\x1b[31m",
    "JSON_FILE": "settings.json",
    "YAML_FILE": "config.yaml",
    "LOOKS_ESCAPED": "\\u0041 \\x41 \\N{DASH}",
    "HASH": "# not a comment",
    "NONE": "None",
}
TEMPLATED = {
    "FROM_PARAM": "prefix-{{ params.output_name }}-suffix",
    "DATE": "{{ ds }}",
}
WEIRD_PARAMS = {"output_name": "quote ' \" \\ {x} }} % end\n", "we'ird key": "odd"}


def _workflow(project: str, name: str, tasks: list[Task], **fields: Any) -> Workflow:
    """A development workflow of the feature-test image (``factory.make`` with this file's defaults)."""
    defaults = {"repository": "moj-analytical-services/Feature_Tests", "tag": "v1.2.3", "owner": "owner@justice.gov.uk"}
    root = Path("/nonexistent/environments/development")
    return make(**(defaults | fields), root=root, project=project, name=name, tasks=tuple(tasks))


def hand_made() -> list[Workflow]:
    """Workflows that between them use every feature of a manifest."""
    env = frozen_map({"SHARED": "dag-level", "AWS_DEFAULT_REGION": "eu-west-2", "SECRET_API_KEY": "must-not-win"})
    return [
        _workflow(
            "feature-tests",
            "everything",
            [
                Task("extract", "general-on-demand-2vcpu-8gb", env),
                Task("transform", "gpu-spot-4vcpu-16gb", env, ("extract",), hmcts_sdp_networking=True),
                Task("load", env_vars=frozen_map({"SHARED": "task-level"}), dependencies=("extract", "transform")),
                Task("report", dependencies=("load",), inlets=("s3://bucket/in",), outlets=("s3://bucket/out",)),
            ],
            schedule=CronSchedule("30 6 * * MON-FRI"),
            timezone="Europe/London",
            start_date=date(2025, 3, 24),
            end_date=date(2026, 1, 1),
            catchup=True,
            depends_on_past=True,
            is_paused_upon_creation=True,
            max_active_runs=3,
            retries=2,
            retry_delay=90,
            params=frozen_map({"output_name": "weekly", "RUN_DATE": ""}),
            secrets=("api-key", "db-password"),
            notifications=Notifications(("a@justice.gov.uk", "b@justice.gov.uk"), "de-alerts", ("failure", "success")),
        ),
        _workflow(
            "feature-tests",
            "dst",
            [Task("main")],
            schedule=CronSchedule("0 8 * * *"),
            timezone="Europe/London",
            start_date=date(2025, 3, 28),
            catchup=True,
        ),
        _workflow(
            "feature-tests",
            "interval",
            [Task("main")],
            schedule=IntervalSchedule(12 * 3600),
            notifications=Notifications(slack_channel="only-success", slack_events=("success",)),
        ),
        _workflow(
            "feature-tests",
            "datasets",
            [Task("consume", inlets=("s3://bucket/a.json",))],
            schedule=DatasetSchedule(("s3://bucket/a.json", "s3://bucket/b")),
            notifications=Notifications(slack_channel="only-failure", slack_events=("failure",)),
        ),
        _workflow(
            "feature-tests",
            "email-success",
            [Task("main")],
            notifications=Notifications(("a@justice.gov.uk", "b@justice.gov.uk"), email_events=("success",)),
        ),
        _workflow(
            "feature-tests",
            "email-and-slack-success",
            [Task("main")],
            notifications=Notifications(("a@justice.gov.uk",), "de-alerts", email_events=("retry", "success")),
        ),
        _workflow(
            "feature-tests", "preset", [Task("main")], schedule=CronSchedule("@daily"), timezone="America/New_York"
        ),
        _workflow(
            "feature-tests",
            "strings",
            [Task("main", env_vars=frozen_map({**LITERALS, **TEMPLATED}))],
            params=frozen_map(WEIRD_PARAMS),
            owner="o'brien.d'arcy@justice.gov.uk",
        ),
        _workflow(
            "electronic-monitoring-data-store",
            "aliased",
            [Task("main")],
            secrets=("token",),
        ),
        _workflow(
            "feature-tests",
            "own-dag",
            [Task("main")],
            repository="moj-analytical-services/Own_DAG",
            tag="v2.0.0",
            python_dag=True,
            python_dag_source=PYTHON_DAG,
            owner="o'neill@justice.gov.uk",
        ),
        _workflow(
            "electronic-monitoring-data-store",
            "own-dag",
            [Task("main")],
            python_dag=True,
            python_dag_source=PYTHON_DAG,
        ),
    ]


@functools.cache
def _config() -> StackConfig:
    return StackConfig.from_stack_file(stack_file(REPO, "development"))


@functools.cache
def cases() -> tuple[tuple[str, Workflow], ...]:
    """(id, workflow) for every DAG the harness loads: hand-made, examples, corpus."""
    found: dict[str, tuple[str, Workflow]] = {}
    for workflow in hand_made():
        found[workflow.key] = (f"cases/{workflow.key}", workflow)
    for source, root in (("examples", EXAMPLES), ("corpus", CORPUS)):
        for path in _manifests(root):
            workflow = _load(path)
            found.setdefault(workflow.key, (f"{source}/{workflow.key}", workflow))
    return tuple(found.values())


def _manifests(root: Path) -> list[Path]:
    if not (root / "development").is_dir():
        return []
    from workflows.manifest.discovery import discover

    return discover(root, "development")


def _load(path: Path) -> Workflow:
    """Load a manifest; a python_dag one without its dag.py gets our own dag.py."""
    from workflows.manifest.discovery import PYTHON_DAG_NAME
    from workflows.validate import load_workflow

    text = path.read_text(encoding="utf-8")
    if (path.parent / PYTHON_DAG_NAME).is_file() or not re.search(r"^\s*python_dag:\s*true\s*$", text, re.M):
        return load_workflow(path, _config()).workflow
    without = re.sub(r"^\s*python_dag:\s*true\s*$", "", text, flags=re.M)
    workflow = load_workflow(path, _config(), text=without).workflow
    return dataclasses.replace(
        workflow, dag=dataclasses.replace(workflow.dag, python_dag=True), python_dag_source=PYTHON_DAG
    )


CASES = cases()
GENERATED = [pytest.param(w, id=i) for i, w in CASES if not w.dag.python_dag]
PYTHON_DAGS = [pytest.param(w, id=i) for i, w in CASES if w.dag.python_dag]


@pytest.fixture(scope="session")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every case's DAG file and the runtime files in one dags folder, described by the harness."""
    config = _config()
    dags = write_folder(tmp_path_factory.mktemp("dags"), dags_folder_files((w for _, w in CASES), config))
    try:
        return run_harness(dags, dags.parent / "airflow.json")
    except HarnessError as error:
        pytest.fail(str(error), pytrace=False)


def _names(workflow: Workflow) -> Names:
    return derive(workflow, _config())


def _dag_path(workflow: Workflow) -> str:
    """The DAG file's path in the dags folder: its key without the dags prefix."""
    return _names(workflow).dag_key.removeprefix(_config().dags_prefix)


def _dag(airflow: dict[str, Any], workflow: Workflow) -> dict[str, Any]:
    dag_id = _names(workflow).dag_id
    assert dag_id in airflow["dags"], f"{dag_id} did not load; import errors: {airflow['import_errors']}"
    dag = airflow["dags"][dag_id]
    assert "harness_error" not in dag, dag.get("harness_error")
    return dag


# --------------------------------------------------------------------------- the whole folder


def test_every_file_parses_without_errors_or_warnings(airflow: dict[str, Any]) -> None:
    assert airflow["airflow_version"] == "2.10.3"
    assert airflow["import_errors"] == {}
    assert airflow["warnings"] == {}


def test_one_dag_per_file_and_nothing_parsed_from_the_runtime_package(airflow: dict[str, Any]) -> None:
    config = _config()
    expected = {_dag_path(w) for _, w in CASES}
    assert {f["file"] for f in airflow["files"]} == expected
    assert all(f["dags"] == 1 for f in airflow["files"])
    assert {d["dag_id"] for d in airflow["dags"].values()} == {derive(w, config).dag_id for _, w in CASES}


def test_dag_files_sit_at_env_project_alias_workflow_dag_py(airflow: dict[str, Any]) -> None:
    """The key layout (``dags/<env>/<project alias>/<workflow>/dag.py``), written out."""
    files = {f["file"] for f in airflow["files"]}
    assert {"development/feature-tests/everything/dag.py", "development/emds/aliased/dag.py"} <= files
    assert _dag(airflow, _case("electronic-monitoring-data-store/aliased"))["fileloc"] == (
        "development/emds/aliased/dag.py"
    )
    assert _dag(airflow, _case("feature-tests/own-dag"))["fileloc"] == "development/feature-tests/own-dag/dag.py"


def test_every_dag_validates_and_serializes(airflow: dict[str, Any]) -> None:
    broken = {
        dag_id: (dag.get("harness_error") or dag.get("validate_error") or dag.get("serialize_error"))
        for dag_id, dag in airflow["dags"].items()
        if dag.get("harness_error") or dag.get("validate_error") or dag.get("serialize_error")
    }
    assert broken == {}


# --------------------------------------------------------------------------- generated DAGs


def _local_midnight(day: date | None, timezone: str) -> datetime | None:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(timezone)) if day else None


def _dataset(uri: str) -> str:
    """How Airflow spells a dataset URI: no trailing slash, no fragment, query sorted."""
    parts = urllib.parse.urlsplit(uri)
    query = urllib.parse.urlencode(sorted(urllib.parse.parse_qsl(parts.query)))
    return urllib.parse.urlunsplit(parts._replace(path=parts.path.rstrip("/") or "/", query=query, fragment=""))


def _instant(text: str | None) -> datetime | None:
    """Airflow keeps dates in UTC: compare instants, not spellings."""
    return datetime.fromisoformat(text) if text else None


@pytest.mark.parametrize("workflow", GENERATED)
def test_dag_settings_match_the_manifest(airflow: dict[str, Any], workflow: Workflow) -> None:
    dag, model = _dag(airflow, workflow), workflow.dag
    assert dag["fileloc"] == _dag_path(workflow)
    assert dag["timezone"] == model.timezone
    assert _instant(dag["start_date"]) == _local_midnight(model.start_date, model.timezone)
    assert _instant(dag["end_date"]) == _local_midnight(model.end_date, model.timezone)
    assert dag["catchup"] is model.catchup
    assert dag["max_active_runs"] == model.max_active_runs
    assert dag["is_paused_upon_creation"] is model.is_paused_upon_creation
    assert dag["params"] == dict(model.params)
    assert dag["owner"] == workflow.owner
    assert dag["jinja_environment_kwargs"] == {"keep_trailing_newline": True}
    schedule = dag["schedule"]
    if model.schedule is None:
        assert schedule["timetable"] == "NullTimetable"
    elif isinstance(model.schedule, CronSchedule):
        expression = model.schedule.expression
        if expression in ("@once", "@continuous"):
            assert schedule["timetable"] == {"@once": "OnceTimetable", "@continuous": "ContinuousTimetable"}[expression]
        else:
            assert schedule["timetable"] == "CronDataIntervalTimetable"
            assert schedule["cron"] == PRESETS.get(expression, expression)
    elif isinstance(model.schedule, IntervalSchedule):
        assert schedule["timetable"] == "DeltaDataIntervalTimetable"
        assert schedule["interval_seconds"] == model.schedule.seconds
    else:
        assert schedule["timetable"] == "DatasetTriggeredTimetable"
        assert schedule["datasets"] == [_dataset(uri) for uri in model.schedule.uris]


@pytest.mark.parametrize("workflow", GENERATED)
def test_tasks_match_the_manifest(airflow: dict[str, Any], workflow: Workflow) -> None:
    dag, config = _dag(airflow, workflow), _config()
    names = derive(workflow, config)
    assert set(dag["tasks"]) == {t.name for t in workflow.dag.tasks}
    notes = workflow.notifications
    for task in workflow.dag.tasks:
        got = dag["tasks"][task.name]
        assert got["operator"] == "AnalyticalPlatformStandardOperator"
        assert got["upstream"] == sorted(task.dependencies)
        assert got["image"] == names.image
        assert got["namespace"] == config.namespace
        assert got["service_account_name"] == names.service_account
        assert got["compute_profile"] == task.compute_profile
        assert got["retries"] == workflow.dag.retries
        assert got["retry_delay_seconds"] == workflow.dag.retry_delay
        assert got["depends_on_past"] is workflow.dag.depends_on_past
        assert got["owner"] == workflow.owner
        assert got["email"] == list(notes.emails)
        assert got["email_on_failure"] is (bool(notes.emails) and "failure" in notes.email_events)
        assert got["email_on_retry"] is (bool(notes.emails) and "retry" in notes.email_events)
        assert got["inlets"] == [_dataset(uri) for uri in task.inlets]
        assert got["outlets"] == [_dataset(uri) for uri in task.outlets]
        assert got["config_file"] == config.kubernetes.config_file
        assert got["cluster_context"] == config.kubernetes.cluster_context
        assert got["in_cluster"] is False
        # The running service's operator settings.
        assert got["get_logs"] is True
        assert got["startup_timeout_seconds"] == 600
        assert got["log_pod_spec_on_failure"] is True
        assert got["image_pull_policy"] == "Always"
        assert got["on_finish_action"] == "delete_pod"
        assert got["render_error"] is None


@pytest.mark.parametrize("workflow", GENERATED)
def test_environment_and_secrets(airflow: dict[str, Any], workflow: Workflow) -> None:
    dag, config = _dag(airflow, workflow), _config()
    secrets = task_secrets(workflow, derive(workflow, config))
    for task in workflow.dag.tasks:
        got = dag["tasks"][task.name]
        expected = task_environment(workflow, task, config)
        assert got["env"] == expected
        assert got["env_templated"] == sorted(k for k, v in expected.items() if JINJA.search(v))
        assert got["secrets"] == {v: {"type": "env", "secret": s, "key": "data"} for v, s in secrets.items()}
        pod_env = got["pod_env"]
        names = [e["name"] for e in pod_env]
        assert len(names) == len(set(names)), "an environment variable is set twice"
        values = {e["name"]: e for e in pod_env}
        for name, value in expected.items():
            if not JINJA.search(value):
                assert values[name] == {"name": name, "value": value}  # byte for byte
            else:
                assert not JINJA.search(values[name]["value"]), f"{name} was not rendered"
        for key, value in workflow.dag.params.items():
            if param_env_var(key) not in task.env_vars:
                assert values[param_env_var(key)]["value"] == value
        for variable, secret in secrets.items():
            assert values[variable] == {"name": variable, "secret": secret, "key": "data"}
        assert values["AIRFLOW_ENVIRONMENT"]["value"] == config.task_env["AIRFLOW_ENVIRONMENT"]
        assert values["AIRFLOW_DAG_ID"]["value"] == dag["dag_id"]
        assert values["AIRFLOW_TASK_ID"]["value"] == task.name
        assert values["AIRFLOW_RUN_ID"]["value"].startswith(("manual__", "scheduled__"))


@pytest.mark.parametrize("workflow", GENERATED)
def test_pod_follows_the_compute_profile_and_security_rules(airflow: dict[str, Any], workflow: Workflow) -> None:
    dag, config = _dag(airflow, workflow), _config()
    names = derive(workflow, config)
    for task in workflow.dag.tasks:
        pod = dag["tasks"][task.name]["pod"]
        profile = compute_profiles.parse(task.compute_profile)
        assert profile is not None
        spec, container = pod["spec"], pod["spec"]["containers"][0]
        assert pod["metadata"]["namespace"] == config.namespace
        assert spec["serviceAccountName"] == names.service_account
        assert container["image"] == names.image
        assert pod["metadata"]["labels"].items() >= names.labels.items()
        expression = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert expression["nodeSelectorTerms"] == [
            {"matchExpressions": [{"key": NODE_POOL_LABEL, "operator": "In", "values": [profile.node_pool]}]}
        ]
        assert spec["tolerations"] == [
            {"key": NODE_POOL_LABEL, "operator": "Equal", "value": profile.node_pool, "effect": "NoSchedule"}
        ]
        amounts = {"cpu": str(profile.vcpu), "memory": f"{profile.memory_gb}Gi"}
        if profile.fleet == "gpu":
            amounts["nvidia.com/gpu"] = "1"
        assert container["resources"] == {"requests": amounts, "limits": amounts}
        annotations = {"karpenter.sh/do-not-disrupt": "true"}
        if task.hmcts_sdp_networking:
            annotations |= dict(config.hmcts_sdp_networking.annotations)
            assert spec["hostAliases"] == [
                {"ip": a.ip, "hostnames": list(a.hostnames)} for a in config.hmcts_sdp_networking.host_aliases
            ]
        else:
            assert "hostAliases" not in spec
        assert pod["metadata"]["annotations"] == annotations
        assert spec["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "privileged": False,
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        }


@pytest.mark.parametrize("workflow", GENERATED)
def test_notifications(airflow: dict[str, Any], workflow: Workflow) -> None:
    dag, notes = _dag(airflow, workflow), workflow.notifications
    channel = notes.slack_channel
    dag_success = dag["callbacks"]["on_success"]
    email_success = bool(notes.emails) and "success" in notes.email_events
    if email_success:
        assert dag_success[-1]["class"] == "DagSuccessEmail"
        dag_success = dag_success[:-1]
    if channel and "success" in notes.slack_events:
        [notifier] = dag_success
        assert notifier["class"] == "PlatformSlackNotifier"
        assert notifier["channel"] == notifier["rendered_channel"] == channel
        assert notifier["slack_conn_id"] == _config().slack_conn_id
        assert notifier["render_error"] is None
        assert dag["dag_id"] in notifier["rendered_text"]
    else:
        assert dag_success == []
    assert dag["callbacks"]["on_failure"] == []
    for task in workflow.dag.tasks:
        failure = dag["tasks"][task.name]["callbacks"]["on_failure"]
        assert dag["tasks"][task.name]["callbacks"]["on_success"] == []
        if channel and "failure" in notes.slack_events:
            [notifier] = failure
            assert notifier["channel"] == notifier["rendered_channel"] == channel
            assert notifier["render_error"] is None
            text = notifier["rendered_text"]
            assert "Airflow development" in text
            assert f"`{dag['dag_id']}`" in text
            assert f"`{task.name}`" in text
            assert "https://airflow.example.invalid/" in text  # the log link
        else:
            assert failure == []


# --------------------------------------------------------------------------- specific behaviours


def _case(key: str) -> Workflow:
    return next(w for i, w in CASES if i == f"cases/{key}")


def test_cron_schedule_follows_local_time_across_daylight_saving(airflow: dict[str, Any]) -> None:
    runs = _dag(airflow, _case("feature-tests/dst"))["schedule"]["runs"]
    # 08:00 in London: 08:00 UTC before the clocks go forward on 30 March 2025, 07:00 UTC after.
    assert [r["run_after"] for r in runs] == [
        "2025-03-29T08:00:00+00:00",
        "2025-03-30T07:00:00+00:00",
        "2025-03-31T07:00:00+00:00",
        "2025-04-01T07:00:00+00:00",
    ]


def test_strings_reach_the_container_unchanged(airflow: dict[str, Any]) -> None:
    task = _dag(airflow, _case("feature-tests/strings"))["tasks"]["main"]
    values = {e["name"]: e.get("value") for e in task["pod_env"]}
    for name, value in LITERALS.items():
        assert values[name] == value, name
    assert values["FROM_PARAM"] == f"prefix-{WEIRD_PARAMS['output_name']}-suffix"
    assert values["DATE"] == "2025-01-01"
    assert values[param_env_var("output_name")] == WEIRD_PARAMS["output_name"]
    assert values[param_env_var("we'ird key")] == "odd"


def test_a_secret_always_wins_over_env_vars(airflow: dict[str, Any]) -> None:
    task = _dag(airflow, _case("feature-tests/everything"))["tasks"]["extract"]
    entries = [e for e in task["pod_env"] if e["name"] == secret_env_var("api-key")]
    assert entries == [{"name": "SECRET_API_KEY", "secret": "feature-tests-everything-api-key", "key": "data"}]
    assert {e["name"]: e.get("value") for e in task["pod_env"]}["AWS_DEFAULT_REGION"] == "eu-west-2"


def _in_airflow(dags: Path, home: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """Run ``command`` (the Airflow environment's ``python`` or ``airflow``) in ``home``, with an Airflow
    configured there (a fresh SQLite database) reading ``dags``, and none of this process's Airflow settings."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAG_IGNORE_FILE_SYNTAX": "regexp",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
    }
    return subprocess.run(list(command), env=env, cwd=home, capture_output=True, text=True, timeout=300, check=False)


# Loads the dags folder in Airflow, fires the DAG's success callbacks with Airflow's
# send_email replaced by a recorder, and prints what would have been sent.
FIRE_SUCCESS = """
import json, sys
from airflow.models import DagBag
dags, dag_id = sys.argv[1], sys.argv[2]
bag = DagBag(dags, include_examples=False)
assert not bag.import_errors, bag.import_errors
dag = bag.dags[dag_id]
from analytical_platform import notifications
sent = []
notifications.send_email = lambda **kwargs: sent.append(kwargs)
for callback in dag.on_success_callback:
    if isinstance(callback, notifications.DagSuccessEmail):
        callback({"dag": dag, "run_id": "scheduled__2025-01-01T00:00:00+00:00"})
print(json.dumps(sent))
"""


def test_email_on_success_sends_one_email_per_run_to_the_addresses(tmp_path: Path) -> None:
    workflow = _case("feature-tests/email-success")
    dags = write_folder(tmp_path / "dags", dags_folder_files([workflow], _config()))
    completed = _in_airflow(dags, tmp_path, str(AIRFLOW_PYTHON), "-c", FIRE_SUCCESS, str(dags), _names(workflow).dag_id)
    assert completed.returncode == 0, completed.stderr[-3000:]
    [email] = json.loads(completed.stdout.strip().splitlines()[-1])
    assert email["to"] == ["a@justice.gov.uk", "b@justice.gov.uk"]
    assert email["subject"] == "Airflow development: feature-tests.email-success run succeeded"
    assert "scheduled__2025-01-01T00:00:00+00:00" in email["html_content"]


def test_project_alias_names_the_dag_the_service_account_and_labels(airflow: dict[str, Any]) -> None:
    dag = _dag(airflow, _case("electronic-monitoring-data-store/aliased"))
    assert dag["dag_id"] == "emds.aliased"
    task = dag["tasks"]["main"]
    assert task["service_account_name"] == "emds-aliased"
    assert task["labels"]["airflow.compute.analytical-platform.service.justice.gov.uk/project"] == "emds"
    assert task["secrets"] == {"SECRET_TOKEN": {"type": "env", "secret": "emds-aliased-token", "key": "data"}}


@pytest.mark.parametrize("workflow", PYTHON_DAGS)
def test_python_dags_load_with_placeholders_filled_in(airflow: dict[str, Any], workflow: Workflow) -> None:
    config = _config()
    dag, names = _dag(airflow, workflow), derive(workflow, config)
    assert dag["fileloc"] == _dag_path(workflow)
    assert dag["owner"] == workflow.owner
    assert not any("PLACEHOLDER_" in json.dumps(t) for t in dag["tasks"].values())
    if workflow.python_dag_source != PYTHON_DAG:
        return  # an example's own dag.py: loading without errors is what we can check
    extract = dag["tasks"]["extract"]
    # PLACEHOLDER_REPOSITORY_NAME is the repository exactly as the manifest writes it (as today).
    repository = workflow.dag.repository
    assert extract["image"] == f"509399598587.dkr.ecr.eu-west-2.amazonaws.com/{repository}:{workflow.dag.tag}"
    # The operator's defaults come from platform.json, so hand-written DAGs get the same identity.
    assert extract["service_account_name"] == names.service_account
    assert extract["namespace"] == config.namespace
    pod = extract["pod"]
    assert pod["metadata"]["labels"].items() >= names.labels.items()
    assert pod["metadata"]["annotations"]["karpenter.sh/do-not-disrupt"] == "true"
    assert pod["spec"]["hostAliases"]  # hmcts_sdp_networking=True
    values = {e["name"]: e.get("value") for e in extract["pod_env"]}
    assert values["AIRFLOW_ENVIRONMENT"] == "DEVELOPMENT"
    # PLACEHOLDER_PROJECT is the alias, so names built from it are the stack's.
    assert dag["dag_id"] == names.dag_id
    assert [e for e in extract["pod_env"] if e["name"] == "SECRET_EXAMPLE"] == [
        {"name": "SECRET_EXAMPLE", "secret": names.kubernetes_secret("example"), "key": "data"}
    ]
    assert values["BATCH"] == "3"
    assert values["RUN"].startswith("scheduled__")
    assert extract["retries"] == 2
    assert extract["retry_delay_seconds"] == 60
    # The XCom sidecar Airflow adds: the platform's image (stack config), with the restricted security context
    # (the image runs as its own non-root user).
    sidecar = pod["spec"]["containers"][1]
    assert sidecar["name"] == "airflow-xcom-sidecar"
    assert sidecar["image"] == config.xcom_sidecar_image
    assert sidecar["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert dag["tasks"]["report"]["upstream"] == ["extract"]


def test_harness_reports_per_file_parse_time(airflow: dict[str, Any]) -> None:
    assert airflow["files"] and all(f["seconds"] >= 0 for f in airflow["files"])
    print(
        f"\nDagBag: {len(airflow['files'])} files in {airflow['dagbag_seconds']:.2f} s; slowest "
        + ", ".join(
            f"{f['file']} {f['seconds']:.3f} s" for f in sorted(airflow["files"], key=lambda f: -f["seconds"])[:3]
        ),
        file=sys.stderr,
    )


# --------------------------------------------------------------------------- the operator against a Kubernetes API


class FakeKubernetes(http.server.ThreadingHTTPServer):
    """A Kubernetes API that knows some secrets in namespace ``mwaa`` and refuses to create pods.

    ``GET /api/v1/namespaces/mwaa/secrets/<name>`` answers 200 (metadata only, with the labels
    ``secrets`` gives it and the annotations ``annotations`` gives it, if any) for a name in
    ``secrets``, else 404, or ``secret_status`` for every name when set; listing pods finds none;
    creating a pod is refused with 422, so a task that gets that far ends at once. Every request
    is kept in ``requests`` as (method, path, Accept header)."""

    def __init__(
        self,
        secrets: dict[str, dict[str, str]],
        secret_status: int | None = None,
        annotations: dict[str, dict[str, str]] | None = None,
    ) -> None:
        super().__init__(("127.0.0.1", 0), _FakeKubernetesHandler)
        self.secrets, self.secret_status = secrets, secret_status
        self.annotations = annotations or {}
        self.requests: list[tuple[str, str, str]] = []
        self.created: list[dict[str, Any]] = []  # bodies of pod creations


class _FakeKubernetesHandler(JsonHandler):
    server: FakeKubernetes

    def _status(self, code: int, reason: str) -> None:
        self.answer(code, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason, "code": code})

    def do_GET(self) -> None:
        self.server.requests.append(("GET", self.path, self.headers.get("Accept", "")))
        path = urllib.parse.urlsplit(self.path).path
        prefix = "/api/v1/namespaces/mwaa/secrets/"
        if path.startswith(prefix):
            name = path.removeprefix(prefix)
            if self.server.secret_status is not None:
                self._status(self.server.secret_status, "Forbidden")
            elif name in self.server.secrets:
                meta = {"name": name, "namespace": "mwaa", "labels": self.server.secrets[name]}
                if name in self.server.annotations:
                    meta["annotations"] = self.server.annotations[name]
                self.answer(200, {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta})
            else:
                self._status(404, "NotFound")
        elif path == "/api/v1/namespaces/mwaa/pods":
            self.answer(200, {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": []})
        else:
            self._status(404, "NotFound")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.created.append(json.loads(self.rfile.read(length) or b"{}"))
        self.server.requests.append(("POST", self.path, self.headers.get("Accept", "")))
        self._status(422, "Invalid")


SECRETS_CASE = "electronic-monitoring-data-store-pp/with-secrets"


@functools.cache
def _secrets_workflow() -> Workflow:
    return _workflow(
        "electronic-monitoring-data-store-pp", "with-secrets", [Task("main")], secrets=("api-key", "db-password")
    )


LABEL = "airflow.compute.analytical-platform.service.justice.gov.uk"
POD_CREATED = ("POST", "/api/v1/namespaces/mwaa/pods", "application/json")  # the request that creates the pod


def labelled(project: str, workflow: str, environment: str = "development") -> dict[str, str]:
    """The identity labels the stack's ExternalSecrets put on a workflow's Kubernetes secrets, written out."""
    return {f"{LABEL}/environment": environment, f"{LABEL}/project": project, f"{LABEL}/workflow": workflow}


def _execute_against(
    tmp_path: Path,
    secrets: set[str] | dict[str, dict[str, str]],
    secret_status: int | None = None,
    workflow: Workflow | None = None,
    annotations: dict[str, dict[str, str]] | None = None,
) -> tuple[dict[str, Any], FakeKubernetes]:
    """Execute the main task of a DAG (by default a generated one with two secrets) against a fake
    Kubernetes API; secrets given as a set carry the secrets workflow's own labels."""
    if not isinstance(secrets, dict):
        secrets = dict.fromkeys(secrets, labelled("emds-pp", "with-secrets"))
    workflow = workflow or _secrets_workflow()
    server = FakeKubernetes(secrets, secret_status, annotations)
    with serving(server) as url:
        return _execute_in(tmp_path, url, workflow), server


def _execute_in(tmp_path: Path, url: str, workflow: Workflow) -> dict[str, Any]:
    """The result of executing ``workflow``'s main task against the Kubernetes API at ``url``."""
    try:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "fake", "cluster": {"server": url}}],
                    "users": [{"name": "fake", "user": {"token": "not-a-real-token"}}],
                    "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
                    "current-context": "fake",
                }
            )
        )
        config = dataclasses.replace(
            _config(),
            kubernetes=dataclasses.replace(_config().kubernetes, config_file=str(kubeconfig), cluster_context=None),
        )
        dags = write_folder(tmp_path / "dags", dags_folder_files([workflow], config))
        return run_task(dags, tmp_path / "result.json", derive(workflow, config).dag_id, "main")
    except HarnessError as error:
        pytest.fail(str(error), pytrace=False)


def test_a_task_whose_secret_has_no_value_fails_at_once_saying_where_to_set_it(tmp_path: Path) -> None:
    result, server = _execute_against(tmp_path, secrets={"emds-pp-with-secrets-api-key"})
    requests, error = server.requests, result["exception"]
    assert error is not None and error["fail_at_once"] is True, result  # AirflowFailException: no retry
    assert result["seconds"] < 30  # not the 600 s start-up timeout
    message = error["message"]
    assert "Secrets Manager secret /airflow/development/emds-pp/with-secrets/db-password has no value yet" in message
    assert "Kubernetes secret 'emds-pp-with-secrets-db-password' does not exist in namespace 'mwaa'" in message
    assert (
        "https://eu-west-2.console.aws.amazon.com/secretsmanager/secret"
        "?name=%2Fairflow%2Fdevelopment%2Femds-pp%2Fwith-secrets%2Fdb-password&region=eu-west-2"
    ) in message
    assert "https://eu-west-2.console.aws.amazon.com/secretsmanager/listsecrets?region=eu-west-2" in message
    assert "api-key" not in message  # that one exists
    # Both secrets were looked up (metadata only: a value never reaches the worker); no pod was created.
    secret_gets = sorted((path, accept) for method, path, accept in requests if "/secrets/" in path)
    assert secret_gets == [
        (f"/api/v1/namespaces/mwaa/secrets/emds-pp-with-secrets-{name}", operator_metadata_only())
        for name in ("api-key", "db-password")
    ]
    assert not [r for r in requests if r[0] == "POST"]


def test_a_task_whose_secrets_exist_goes_on_to_create_its_pod(tmp_path: Path) -> None:
    present = {"emds-pp-with-secrets-api-key", "emds-pp-with-secrets-db-password"}
    result, server = _execute_against(tmp_path, secrets=present)
    error = result["exception"]
    # It got as far as creating the pod (which the fake API refuses), the pod reading both secrets.
    assert POD_CREATED in server.requests
    assert error["type"] == "ApiException" and error["status"] == 422 and error["fail_at_once"] is False, result
    [pod] = server.created
    refs = {
        e["name"]: e["valueFrom"]["secretKeyRef"]["name"]
        for e in pod["spec"]["containers"][0]["env"]
        if "valueFrom" in e
    }
    assert refs == {
        "SECRET_API_KEY": "emds-pp-with-secrets-api-key",
        "SECRET_DB_PASSWORD": "emds-pp-with-secrets-db-password",
    }


def test_a_secret_check_that_cannot_be_made_does_not_fail_the_task(tmp_path: Path) -> None:
    """No permission to look secrets up (403): the check is skipped with a warning, the pod is created."""
    result, server = _execute_against(tmp_path, secrets={}, secret_status=403)
    assert POD_CREATED in server.requests
    assert result["exception"]["fail_at_once"] is False, result


def operator_metadata_only() -> str:
    """The Accept header the operator's secret check sends, written out: PartialObjectMetadata first."""
    return "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json"


# --------------------------------------------------------------------------- a task's identity (issue 12 item 9)

OTHER_SECRET = "feature-tests-everything-api-key"  # workflow feature-tests/everything's secret api-key
OTHER_SHARED = "emds-shared-x"  # project emds's (electronic-monitoring-data-store's) shared secret x
IDENTITY_DAG = """\
from datetime import datetime

from airflow.models import DAG
from airflow.providers.cncf.kubernetes.secret import Secret
from kubernetes.client import models as k8s
from analytical_platform.standard_operator import AnalyticalPlatformStandardOperator

OTHER = "{other}"
OWN = "PLACEHOLDER_PROJECT-PLACEHOLDER_WORKFLOW-own"

with DAG(dag_id="PLACEHOLDER_PROJECT.PLACEHOLDER_WORKFLOW", start_date=datetime(2025, 1, 1), schedule=None) as dag:
    task = AnalyticalPlatformStandardOperator(
        task_id="main",
        image="registry.invalid/image:v1",
        project={project},
        workflow={workflow},
        {extra}
    )
{after}
"""
# variant -> (keyword arguments, statements after the DAG, project=, workflow=)
IDENTITY_ATTACKS = {
    "service-account": ('service_account_name="feature-tests-everything",', "", None, None),
    "namespace": ('namespace="kube-system",', "", None, None),
    "secret-env": ('secrets=[Secret("env", "X", OTHER, "data")],', "", None, None),
    "secret-volume": ('secrets=[Secret("volume", "/mnt/x", OTHER)],', "", None, None),
    "env-var-value-from": (
        'env_vars=[k8s.V1EnvVar(name="X", value_from=k8s.V1EnvVarSource('
        'secret_key_ref=k8s.V1SecretKeySelector(name=OTHER, key="data")))],',
        "",
        None,
        None,
    ),
    "env-from": ("env_from=[k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name=OTHER))],", "", None, None),
    "volume": (
        'volumes=[k8s.V1Volume(name="s", secret=k8s.V1SecretVolumeSource(secret_name=OTHER))],',
        "",
        None,
        None,
    ),
    "projected-volume": (
        'volumes=[k8s.V1Volume(name="s", projected=k8s.V1ProjectedVolumeSource('
        "sources=[k8s.V1VolumeProjection(secret=k8s.V1SecretProjection(name=OTHER))]))],",
        "",
        None,
        None,
    ),
    "init-container": (
        'init_containers=[k8s.V1Container(name="i", image="x", '
        "env_from=[k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name=OTHER))])],",
        "",
        None,
        None,
    ),
    "image-pull-secret": ('image_pull_secrets=OWN + "," + OTHER,', "", None, None),
    "image-pull-secret-object": ("image_pull_secrets=[k8s.V1LocalObjectReference(name=OTHER)],", "", None, None),
    # A dag.py in its own folder naming another workflow (and so that workflow's secret).
    "other-workflow-named": ('secrets=[Secret("env", "X", OTHER, "data")],', "", "feature-tests", "everything"),
    # Another project's shared secret (OTHER_SHARED): a project's shared secrets are its own workflows' only.
    "other-project-shared-env": ('secrets=[Secret("env", "X", "emds-shared-x", "data")],', "", None, None),
    "other-project-shared-env-from": (
        'env_from=[k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name="emds-shared-x"))],',
        "",
        None,
        None,
    ),
}
# Changed after the operator was made: caught on the pod as built (the harness builds every task's pod).
IDENTITY_LATE_ATTACKS = {
    "service-account-set-later": ("", 'task.service_account_name = "feature-tests-everything"', None, None),
    "secret-added-later": ("", 'task.secrets.append(Secret("env", "X", OTHER, "data"))', None, None),
    "volume-added-later": (
        "",
        'task.volumes = [k8s.V1Volume(name="s", secret=k8s.V1SecretVolumeSource(secret_name=OTHER))]',
        None,
        None,
    ),
    "other-project-shared-added-later": (
        "",
        'task.secrets.append(Secret("env", "X", "emds-shared-x", "data"))',
        None,
        None,
    ),
}
IDENTITY_ALLOWED = {
    # Its own service account and secrets, spelled out as the running service's DAGs do.
    "own": (
        'service_account_name="feature-tests-own", namespace="mwaa", '
        'secrets=[Secret("env", "X", OWN, "data"), Secret("volume", "/mnt/x", OWN)], '
        'volumes=[k8s.V1Volume(name="scratch", empty_dir=k8s.V1EmptyDirVolumeSource())], '
        'env_vars={"SECRET_NAME": "a value, not a secret", "DB_SECRET_NAME": "x"},',
        "",
        None,
        None,
    ),
    # Its project's shared secrets, however mounted: the name is the project's (whether the workflow lists
    # them in shared_secrets is the secret's consumers annotation, read at run time).
    "own-project-shared": (
        'secrets=[Secret("env", "SECRET_X", "feature-tests-shared-x", "data")], '
        'env_from=[k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name="feature-tests-shared-y"))], '
        'volumes=[k8s.V1Volume(name="s", secret=k8s.V1SecretVolumeSource(secret_name="feature-tests-shared-z"))],',
        "",
        None,
        None,
    ),
}


def _identity_dag(
    project: str, name: str, extra: str, after: str = "", named_project: str | None = None, named: str | None = None
) -> Workflow:
    """Workflow ``project/name`` whose dag.py (IDENTITY_DAG) passes ``extra`` to its task and runs ``after``;
    the task names ``project=named_project, workflow=named`` when given, else the workflow's own placeholders."""
    source = IDENTITY_DAG.format(
        other=OTHER_SECRET,
        extra=extra,
        after=after,
        project=repr(named_project) if named_project else '"PLACEHOLDER_PROJECT"',
        workflow=repr(named) if named else '"PLACEHOLDER_WORKFLOW"',
    )
    return _workflow(project, name, [Task("main")], python_dag=True, python_dag_source=source)


@pytest.fixture(scope="module")
def identity_airflow(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    cases = {**IDENTITY_ATTACKS, **IDENTITY_LATE_ATTACKS, **IDENTITY_ALLOWED}
    workflows = [_identity_dag("feature-tests", variant, *case) for variant, case in cases.items()]
    dags = write_folder(tmp_path_factory.mktemp("identity-dags"), dags_folder_files(workflows, _config()))
    try:
        return run_harness(dags, dags.parent / "airflow.json")
    except HarnessError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.mark.parametrize("variant", IDENTITY_ATTACKS)
def test_a_dag_cannot_run_as_or_read_the_secrets_of_another_workflow(
    identity_airflow: dict[str, Any], variant: str
) -> None:
    error = identity_airflow["import_errors"].get(f"development/feature-tests/{variant}/dag.py")
    assert error is not None, f"feature-tests.{variant} loaded"
    assert "TypeError" in error
    if variant in ("service-account", "namespace"):
        assert "always runs with" in error
    elif variant == "other-workflow-named":
        assert "this DAG file is workflow feature-tests/other-workflow-named's" in error
    else:
        assert f"can only read its own secrets (Kubernetes secrets 'feature-tests-{variant}-<id>'" in error
        assert (
            "and its project's shared secrets (Kubernetes secrets 'feature-tests-shared-<id>', "
            "for a workflow that lists <id> in shared_secrets), not: "
        ) in error
        assert (OTHER_SHARED if variant.startswith("other-project-shared") else OTHER_SECRET) in error


@pytest.mark.parametrize("variant", IDENTITY_LATE_ATTACKS)
def test_a_change_after_the_operator_is_made_is_caught_on_the_pod(
    identity_airflow: dict[str, Any], variant: str
) -> None:
    dag = identity_airflow["dags"][f"feature-tests.{variant}"]
    assert "AirflowFailException" in dag["harness_error"]  # building the pod fails the task at once
    if variant.startswith("other-project-shared"):
        assert f"not: {OTHER_SHARED}" in dag["harness_error"]
    else:
        assert "own workflow's identity" in dag["harness_error"] or OTHER_SECRET in dag["harness_error"]


def test_a_dag_with_its_own_identity_loads_and_builds_its_pod(identity_airflow: dict[str, Any]) -> None:
    dag = identity_airflow["dags"]["feature-tests.own"]
    assert "harness_error" not in dag, dag.get("harness_error")
    task = dag["tasks"]["main"]
    assert task["service_account_name"] == "feature-tests-own"
    assert task["pod"]["spec"]["serviceAccountName"] == "feature-tests-own"
    assert task["pod"]["metadata"]["namespace"] == "mwaa"
    assert {v["name"]: v.get("secret") for v in task["pod_env"]}["X"] == "feature-tests-own-own"


def test_a_dag_may_name_its_projects_shared_secrets(identity_airflow: dict[str, Any]) -> None:
    dag = identity_airflow["dags"]["feature-tests.own-project-shared"]
    assert "harness_error" not in dag, dag.get("harness_error")
    pod = dag["tasks"]["main"]["pod"]
    container = pod["spec"]["containers"][0]
    assert {v["name"]: v.get("secret") for v in dag["tasks"]["main"]["pod_env"]}["SECRET_X"] == (
        "feature-tests-shared-x"
    )
    assert container["envFrom"] == [{"secretRef": {"name": "feature-tests-shared-y"}}]
    assert pod["spec"]["volumes"] == [{"name": "s", "secret": {"secretName": "feature-tests-shared-z"}}]


def test_the_service_account_is_the_workflows_own_when_the_caller_passes_none(
    identity_airflow: dict[str, Any],
) -> None:
    """Where the DAG file sits decides: the layout's folder names, not the task's arguments (this dag.py
    passes no service account, namespace or labels)."""
    task = identity_airflow["dags"]["feature-tests.own-project-shared"]["tasks"]["main"]
    assert (
        task["service_account_name"] == task["pod"]["spec"]["serviceAccountName"] == "feature-tests-own-project-shared"
    )
    assert task["namespace"] == task["pod"]["metadata"]["namespace"] == "mwaa"
    assert task["labels"] == labelled("feature-tests", "own-project-shared")


@functools.cache
def _reader_of_a_b_x() -> Workflow:
    """Workflow feature-tests/a, whose task reads ``feature-tests-a-b-x``: its own secret ``b-x`` by the name,
    or workflow ``a-b``'s secret ``x``."""
    return _identity_dag("feature-tests", "a", 'secrets=[Secret("env", "X", "feature-tests-a-b-x", "data")],')


@pytest.mark.parametrize(
    ("labels", "said"),
    [
        pytest.param(
            labelled("feature-tests", "a-b"), "labelled for workflow feature-tests/a-b in development", id="workflow"
        ),
        pytest.param(
            labelled("feature-tests", "a", "production"),
            "labelled for workflow feature-tests/a in production",
            id="environment",
        ),
    ],
)
def test_a_secret_labelled_for_another_workflow_fails_the_task_at_once(
    tmp_path: Path, labels: dict[str, str], said: str
) -> None:
    """``feature-tests-a-b-x`` passes the name check for workflow ``a`` (secret ``b-x``), but it is workflow
    ``a-b``'s secret ``x`` (or another environment's): its labels say so, and the task fails before creating
    its pod."""
    result, server = _execute_against(tmp_path, {"feature-tests-a-b-x": labels}, workflow=_reader_of_a_b_x())
    error = result["exception"]
    assert error is not None and error["fail_at_once"] is True, result
    assert f"feature-tests-a-b-x ({said})" in error["message"]
    assert not [r for r in server.requests if r[0] == "POST"]


@pytest.mark.parametrize(
    "labels",
    [
        pytest.param(labelled("feature-tests", "a"), id="own"),
        # None at all: a secret the running service's ExternalSecret wrote before the switch-over (the name
        # check stands alone until it is re-synced with labels).
        pytest.param({}, id="unlabelled"),
    ],
)
def test_a_secret_with_its_own_labels_or_none_goes_on_to_create_its_pod(tmp_path: Path, labels: dict[str, str]) -> None:
    result, server = _execute_against(tmp_path, {"feature-tests-a-b-x": labels}, workflow=_reader_of_a_b_x())
    assert POD_CREATED in server.requests, result
    assert result["exception"]["fail_at_once"] is False, result  # the fake API's 422 on the pod


# --------------------------------------------------------------------------- project-shared secrets at run time

CONSUMERS = f"{LABEL}/workflows"  # the annotation naming the workflows that list a shared secret


def shared_labelled(project: str, environment: str = "development") -> dict[str, str]:
    """The labels the stack's ExternalSecrets put on a project's shared secret, written out (no workflow)."""
    return {f"{LABEL}/environment": environment, f"{LABEL}/project": project, f"{LABEL}/shared": "true"}


@functools.cache
def _shared_reader() -> Workflow:
    """Workflow emds/reader (project electronic-monitoring-data-store, alias emds): a dag.py reading its
    project's shared secret x and its own secret token."""
    return _identity_dag(
        "electronic-monitoring-data-store",
        "reader",
        'secrets=[Secret("env", "SECRET_X", "emds-shared-x", "data"), '
        'Secret("env", "SECRET_TOKEN", "emds-reader-token", "data")],',
    )


def _run_reader(
    tmp_path: Path, shared: dict[str, str] | None, annotations: dict[str, str] | None = None
) -> tuple[dict[str, Any], FakeKubernetes]:
    """Run emds/reader's task with its own secret present and labelled, and ``emds-shared-x`` carrying the
    labels ``shared`` (absent when None) and the annotations ``annotations``."""
    secrets = {"emds-reader-token": labelled("emds", "reader")}
    if shared is not None:
        secrets["emds-shared-x"] = shared
    extra = {"emds-shared-x": annotations} if annotations is not None else None
    return _execute_against(tmp_path, secrets, workflow=_shared_reader(), annotations=extra)


def test_a_shared_secret_the_workflow_lists_goes_on_to_create_its_pod(tmp_path: Path) -> None:
    result, server = _run_reader(tmp_path, shared_labelled("emds"), {CONSUMERS: "other,reader"})
    assert POD_CREATED in server.requests, result
    assert result["exception"]["fail_at_once"] is False, result  # the fake API's 422 on the pod
    # Both secrets were looked up, metadata only.
    assert sorted((path, accept) for method, path, accept in server.requests if "/secrets/" in path) == [
        ("/api/v1/namespaces/mwaa/secrets/emds-reader-token", operator_metadata_only()),
        ("/api/v1/namespaces/mwaa/secrets/emds-shared-x", operator_metadata_only()),
    ]
    [pod] = server.created
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in pod["spec"]["containers"][0]["env"] if "valueFrom" in e}
    assert refs == {
        "SECRET_X": {"name": "emds-shared-x", "key": "data"},
        "SECRET_TOKEN": {"name": "emds-reader-token", "key": "data"},
    }


@pytest.mark.parametrize(
    "annotations",
    [
        pytest.param({CONSUMERS: "other"}, id="another-workflow-listed"),
        # Names that hold "reader" but are not it: the list is compared name by name.
        pytest.param({CONSUMERS: "reader-two,readers,the-reader"}, id="similar-names"),
        pytest.param({CONSUMERS: ""}, id="empty"),
        pytest.param({}, id="no-annotation"),
    ],
)
def test_a_shared_secret_the_workflow_does_not_list_fails_the_task_at_once(
    tmp_path: Path, annotations: dict[str, str]
) -> None:
    result, server = _run_reader(tmp_path, shared_labelled("emds"), annotations)
    error = result["exception"]
    assert error is not None and error["fail_at_once"] is True, result
    assert error["message"] == (
        "A task of workflow emds/reader can only read its own secrets (Kubernetes secrets 'emds-reader-<id>' "
        "synced by the stack for this workflow) and its project's shared secrets (Kubernetes secrets "
        "'emds-shared-<id>', for a workflow that lists <id> in shared_secrets), not: emds-shared-x (shared "
        "secret x of project emds, which this workflow does not list in shared_secrets: add x to "
        "shared_secrets in its workflow.yml)"
    )
    assert not [r for r in server.requests if r[0] == "POST"]


@pytest.mark.parametrize(
    ("labels", "said"),
    [
        # Labelled as a shared secret, but not of this project, or not here.
        pytest.param(
            shared_labelled("emds-pp"), "labelled as a shared secret of project emds-pp in development", id="project"
        ),
        pytest.param(
            shared_labelled("emds", "production"),
            "labelled as a shared secret of project emds in production",
            id="environment",
        ),
        # The labels, not the name, say a secret is the project's shared one. Workflow emds/shared's own secret x
        # (the name reads the same): not the project's shared secret.
        pytest.param(labelled("emds", "shared"), "labelled for workflow emds/shared in development", id="workflow"),
        # No labels: the running service never wrote a shared secret, so this is no switch-over leftover.
        pytest.param({}, "carries no identity labels, and a project's shared secret always carries them", id="none"),
    ],
)
def test_a_shared_secret_not_labelled_as_this_projects_here_fails_the_task_at_once(
    tmp_path: Path, labels: dict[str, str], said: str
) -> None:
    """The consumers annotation names this workflow, but the labels say the secret is not its project's
    shared secret in this environment."""
    result, server = _run_reader(tmp_path, labels, {CONSUMERS: "reader"})
    error = result["exception"]
    assert error is not None and error["fail_at_once"] is True, result
    assert error["message"].endswith(f"not: emds-shared-x ({said})")
    assert not [r for r in server.requests if r[0] == "POST"]


def test_a_missing_shared_secret_fails_at_once_saying_the_projects_maintainers_set_it(tmp_path: Path) -> None:
    result, server = _execute_against(tmp_path, {}, workflow=_shared_reader())
    error = result["exception"]
    assert error is not None and error["fail_at_once"] is True, result
    assert error["message"] == (
        "This task's pod cannot start: a secret it reads has no value.\n"
        "Secrets Manager secret /airflow/development/emds/reader/token has no value yet, so Kubernetes secret "
        "'emds-reader-token' does not exist in namespace 'mwaa'. A maintainer of the workflow sets its value "
        "(https://eu-west-2.console.aws.amazon.com/secretsmanager/secret"
        "?name=%2Fairflow%2Fdevelopment%2Femds%2Freader%2Ftoken&region=eu-west-2).\n"
        "Secrets Manager secret /airflow/development/emds/shared/x has no value yet, so Kubernetes secret "
        "'emds-shared-x' does not exist in namespace 'mwaa'. A maintainer of the project (project.yml's "
        "maintainers) sets its value (https://eu-west-2.console.aws.amazon.com/secretsmanager/secret"
        "?name=%2Fairflow%2Fdevelopment%2Femds%2Fshared%2Fx&region=eu-west-2).\n"
        "Every secret is in the Secrets Manager console of the data account: "
        "https://eu-west-2.console.aws.amazon.com/secretsmanager/listsecrets?region=eu-west-2.\n"
        "Once the value is set and has reached the cluster (its ExternalSecret syncs every 5m), clear this task "
        "to run it again."
    )
    assert not [r for r in server.requests if r[0] == "POST"]


# --------------------------------------------------------------------------- project names (issue 12 item 1)

# Modules that libraries Airflow loads import when they can (fsspec: lzmaffi; aiohttp: aiodns; …): a
# top-level folder of that name in the DAG folder (on every Airflow process's sys.path) would be imported
# as an empty namespace package and crash the library at import.
OPTIONAL_MODULES = ("lzmaffi", "aiodns", "wcwidth", "cchardet", "simplejson", "ujson", "brotli")
# Workflow names spelled like the standard library's and Airflow's modules.
MODULE_LIKE_WORKFLOWS = ("json", "os", "airflow", "typing", "logging", "dag")


def _airflow_cli(dags: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``airflow <args>`` in the Airflow environment, on a fresh SQLite database, reading ``dags``."""
    return _in_airflow(dags, home, str(AIRFLOW_PYTHON.parent / "airflow"), *args)


@functools.cache
def _module_named_workflows() -> tuple[Workflow, ...]:
    return tuple(
        _workflow(project, name, [Task("main")], secrets=("token",))
        for project in OPTIONAL_MODULES
        for name in MODULE_LIKE_WORKFLOWS
    )


def test_project_folders_named_like_optional_modules_do_not_break_airflow(tmp_path: Path) -> None:
    config = _config()
    workflows = _module_named_workflows()
    files = dags_folder_files(workflows, config)
    # Only fixed names at the top of the DAG folder: the environment and the runtime package.
    assert {key.split("/")[0] for key in files} == {"development", "analytical_platform", ".airflowignore"}
    dags = write_folder(tmp_path / "dags", files)
    expected = {derive(w, config).dag_id for w in workflows}
    assert "lzmaffi.json" in expected and len(expected) == len(OPTIONAL_MODULES) * len(MODULE_LIKE_WORKFLOWS)

    # A DagBag, as the DAG processor parses the folder.
    try:
        described = run_harness(dags, tmp_path / "airflow.json", "--no-render")
    except HarnessError as error:
        pytest.fail(str(error), pytrace=False)
    assert described["import_errors"] == {}
    assert set(described["dags"]) == expected

    # The commands MWAA's processes run, with the folder on their import path.
    home = tmp_path / "home"
    home.mkdir()
    migrate = _airflow_cli(dags, home, "db", "migrate")
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    listed = _airflow_cli(dags, home, "dags", "list", "--output", "json")
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert {d["dag_id"] for d in json.loads(listed.stdout)} == expected


def test_a_top_level_folder_named_like_an_optional_module_would_break_airflow(tmp_path: Path) -> None:
    """What the layout prevents, shown: the same project as a top-level folder kills ``airflow db migrate``
    (fsspec imports ``lzmaffi`` when it can), and on the import path the name is importable."""
    dags = write_folder(tmp_path / "dags", dags_folder_files(_module_named_workflows()[:1], _config()))
    probe = "import sys; sys.path.append(sys.argv[1]); import lzmaffi; print(lzmaffi.__path__)"
    ours = subprocess.run([str(AIRFLOW_PYTHON), "-c", probe, str(dags)], capture_output=True, text=True, check=False)
    assert ours.returncode != 0 and "ModuleNotFoundError: No module named 'lzmaffi'" in ours.stderr
    (dags / "lzmaffi").mkdir()  # what a layout with the project folder at the top would write
    write_folder(dags / "lzmaffi", {"json/dag.py": (dags / "development/lzmaffi/json/dag.py").read_text()})
    bad = subprocess.run([str(AIRFLOW_PYTHON), "-c", probe, str(dags)], capture_output=True, text=True, check=False)
    assert bad.returncode == 0, bad.stderr
    home = tmp_path / "home"
    home.mkdir()
    migrate = _airflow_cli(dags, home, "db", "migrate")
    assert migrate.returncode != 0
    assert "AttributeError" in migrate.stderr and "fsspec" in migrate.stderr  # fsspec found the empty lzmaffi
