"""The generated DAG file (workflows/dags/generate.py), read without Airflow: fixed code, every value a literal.

(tests/test_airflow_dags.py loads the same output in Airflow.)
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import REPO
from tests.workflows.dags.factory import TEXT, call_kwargs, imports, make, render, rich, vocabulary
from workflows.config import StackConfig
from workflows.dags.environment import dag_env_vars
from workflows.model import CronSchedule, DatasetSchedule, IntervalSchedule, Notifications, Task, frozen_map


def test_render_is_deterministic(config: StackConfig) -> None:
    """The same bytes in another process, whatever order its string hashes give sets and the like."""
    first = render(rich(), config)
    assert render(rich(), config) == first
    code = (
        "import sys; from tests.conftest import REPO; from tests.workflows.dags.factory import render, rich; "
        "from workflows.config import StackConfig, stack_file; "
        "sys.stdout.write(render(rich(), StackConfig.from_stack_file(stack_file(REPO, 'development'))))"
    )
    for seed in ("1", "2"):
        other = subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO,
            env=os.environ | {"PYTHONHASHSEED": seed, "PYTHONIOENCODING": "utf-8"},
            capture_output=True,
            encoding="utf-8",
            check=True,
        )
        assert other.stdout == first, seed


def test_header_names_the_manifest_and_says_do_not_edit(config: StackConfig) -> None:
    lines = render(make(), config).splitlines()
    assert lines[0] == "# Generated from environments/development/demo/job/workflow.yml — do not edit."
    assert all(line.startswith("#") for line in lines[:3])


def test_folder_names_cannot_break_out_of_the_header_comment(config: StackConfig) -> None:
    source = render(make(project="x\nimport os\r\u2028#", name='y"""\x00'), config)
    compile(source, "dag.py", "exec")
    assert "import:os" not in vocabulary(source)
    assert source.splitlines()[0].startswith("# Generated from environments/development/x\\nimport os\\r\\u2028#/")


def test_every_value_is_a_literal_and_comes_back_unchanged(config: StackConfig) -> None:
    nasty = '\'); import os; os.system("id"); (\'\n"""\\{x}}%s\r\n'
    workflow = rich(
        tasks=(Task("first", env_vars=frozen_map({"A": nasty, nasty: "key"}), inlets=(nasty,)),),
        params=frozen_map({nasty: nasty}),
        owner=nasty,
        tag=nasty,
        notifications=Notifications((nasty,), nasty, ("failure", "success")),
        schedule=CronSchedule(nasty),
        timezone=nasty,
    )
    source = render(workflow, config)
    assert vocabulary(source) <= vocabulary(render(rich(), config))
    [task] = call_kwargs(source, "AnalyticalPlatformStandardOperator")
    assert ast.literal_eval(task["env_vars"]) == dag_env_vars(workflow, workflow.dag.tasks[0])
    [dag] = call_kwargs(source, "DAG")
    assert ast.literal_eval(dag["schedule"]) == nasty
    assert ast.literal_eval(dag["params"]) == {nasty: nasty}
    default_args = dag["default_args"]
    assert isinstance(default_args, ast.Dict)
    values = dict(zip([ast.literal_eval(k) for k in default_args.keys if k], default_args.values, strict=True))
    assert ast.literal_eval(values["owner"]) == nasty
    assert ast.literal_eval(values["email"]) == [nasty]
    image = next(
        n for n in ast.parse(source).body if isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "IMAGE"
    )
    assert ast.literal_eval(image.value).endswith(":" + nasty)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    env=st.dictionaries(TEXT, TEXT, max_size=4),
    params=st.dictionaries(TEXT, TEXT, max_size=3),
    owner=TEXT,
    channel=TEXT,
    uri=TEXT,
    names=st.tuples(TEXT, TEXT),
)
def test_no_value_can_become_code(
    config: StackConfig,
    env: dict[str, str],
    params: dict[str, str],
    owner: str,
    channel: str,
    uri: str,
    names: tuple[str, str],
) -> None:
    task = Task(names[0] or "t", env_vars=frozen_map(env), inlets=(uri,), outlets=(uri,))
    workflow = rich(
        project=names[1] or "p",
        tasks=(task, Task("other", dependencies=(task.name,))) if task.name != "other" else (task,),
        params=frozen_map(params),
        owner=owner,
        notifications=Notifications((owner,), channel, ("failure", "success")),
    )
    source = render(workflow, config)
    assert vocabulary(source) <= vocabulary(render(rich(), config))
    first = call_kwargs(source, "AnalyticalPlatformStandardOperator")[0]
    expected = dag_env_vars(workflow, task)
    assert (ast.literal_eval(first["env_vars"]) if "env_vars" in first else {}) == expected
    assert ast.literal_eval(first["task_id"]) == task.name


def test_timezone_aware_start_and_end(config: StackConfig) -> None:
    workflow = make(
        timezone="Europe/London",
        start_date=date(2025, 3, 24),
        end_date=date(2025, 12, 31),
        schedule=CronSchedule("0 8 * * *"),
    )
    [dag] = call_kwargs(render(workflow, config), "DAG")
    assert ast.unparse(dag["start_date"]) == "pendulum.datetime(2025, 3, 24, tz='Europe/London')"
    assert ast.unparse(dag["end_date"]) == "pendulum.datetime(2025, 12, 31, tz='Europe/London')"
    assert ast.literal_eval(dag["schedule"]) == "0 8 * * *"


@pytest.mark.parametrize(
    ("schedule", "code"),
    [
        (None, "None"),
        (CronSchedule("@daily"), "'@daily'"),
        (IntervalSchedule(43200), "datetime.timedelta(seconds=43200)"),
        (DatasetSchedule(("s3://a/x", "s3://b")), "[Dataset('s3://a/x'), Dataset('s3://b')]"),
    ],
)
def test_schedules(config: StackConfig, schedule: object, code: str) -> None:
    [dag] = call_kwargs(render(make(schedule=schedule), config), "DAG")
    assert ast.unparse(dag["schedule"]) == code


def test_dag_and_task_settings(config: StackConfig) -> None:
    workflow = rich(
        catchup=True, depends_on_past=True, is_paused_upon_creation=True, max_active_runs=3, retries=2, retry_delay=90
    )
    source = render(workflow, config)
    [dag] = call_kwargs(source, "DAG")
    assert ast.literal_eval(dag["dag_id"]) == "demo.job"
    [aliased] = call_kwargs(render(rich(project="electronic-monitoring-data-store-pp"), config), "DAG")
    assert ast.literal_eval(aliased["dag_id"]) == "emds-pp.job"
    assert [ast.literal_eval(dag[k]) for k in ("catchup", "max_active_runs", "is_paused_upon_creation")] == [
        True,
        3,
        True,
    ]
    assert ast.unparse(dag["on_success_callback"]) == "[notifications.dag_success('alerts')]"
    assert "retry_delay': datetime.timedelta(seconds=90)" in ast.unparse(dag["default_args"])
    assert "'on_failure_callback': [notifications.task_failure('alerts')]" in ast.unparse(dag["default_args"])
    # Email on failure and, as today (Airflow's default), on retry.
    assert "'email_on_failure': True, 'email_on_retry': True" in ast.unparse(dag["default_args"])
    tasks = call_kwargs(source, "AnalyticalPlatformStandardOperator")
    assert [ast.literal_eval(t["task_id"]) for t in tasks] == ["first", "second", "third"]
    assert {ast.literal_eval(t["service_account_name"]) for t in tasks} == {"demo-job"}
    assert ast.unparse(tasks[0]["secrets"]) == "[Secret('env', 'SECRET_API_KEY', 'demo-job-api-key', 'data')]"
    assert ast.literal_eval(tasks[1]["compute_profile"]) == "gpu-spot-4vcpu-16gb"
    assert ast.literal_eval(tasks[1]["hmcts_sdp_networking"]) is True
    assert "tasks['first'] >> tasks['second']" in source
    assert "[tasks['first'], tasks['second']] >> tasks['third']" in source
    image = "509399598587.dkr.ecr.eu-west-2.amazonaws.com/moj-analytical-services/demo-repo:v1.0.0"
    assert f"IMAGE = {image!r}" in source


def test_notification_choices(config: StackConfig) -> None:
    only_failure = rich(notifications=Notifications((), "c", ("failure",)))
    [dag] = call_kwargs(render(only_failure, config), "DAG")
    assert "on_success_callback" not in dag
    assert "'email_on_failure': False, 'email_on_retry': False" in ast.unparse(dag["default_args"])
    quiet = render(rich(notifications=Notifications()), config)
    assert "notifications" not in quiet.split("with DAG")[0]
    assert "callback" not in quiet


@pytest.mark.parametrize(
    ("events", "on_failure", "on_retry", "success_email"),
    [
        (("failure", "retry"), True, True, False),
        (("failure",), True, False, False),
        (("retry",), False, True, False),
        (("success",), False, False, True),
        (("failure", "success"), True, False, True),
        (("retry", "success"), False, True, True),
        (("failure", "retry", "success"), True, True, True),
    ],
)
def test_email_events(
    config: StackConfig, events: tuple[str, ...], on_failure: bool, on_retry: bool, success_email: bool
) -> None:
    workflow = make(notifications=Notifications(("a@justice.gov.uk", "b@justice.gov.uk"), email_events=events))
    source = render(workflow, config)
    [dag] = call_kwargs(source, "DAG")
    assert f"'email_on_failure': {on_failure}, 'email_on_retry': {on_retry}" in ast.unparse(dag["default_args"])
    if success_email:
        assert ast.unparse(dag["on_success_callback"]) == (
            "[notifications.dag_success_email(['a@justice.gov.uk', 'b@justice.gov.uk'])]"
        )
        assert "from analytical_platform import notifications" in source
    else:
        assert "on_success_callback" not in dag
        assert "from analytical_platform import notifications" not in source
    assert "airflow.providers.slack" not in source


def test_email_on_success_follows_the_slack_success_message(config: StackConfig) -> None:
    both = rich(notifications=Notifications(("a@justice.gov.uk",), "alerts", email_events=("success",)))
    [dag] = call_kwargs(render(both, config), "DAG")
    assert ast.unparse(dag["on_success_callback"]) == (
        "[notifications.dag_success('alerts'), notifications.dag_success_email(['a@justice.gov.uk'])]"
    )


def test_email_events_without_addresses_send_nothing(config: StackConfig) -> None:
    source = render(make(notifications=Notifications(email_events=("failure", "retry", "success"))), config)
    [dag] = call_kwargs(source, "DAG")
    assert "'email_on_failure': False, 'email_on_retry': False" in ast.unparse(dag["default_args"])
    assert "callback" not in source


def test_pre_import_hints(config: StackConfig) -> None:
    """Airflow's DAG processor imports the airflow.* modules a file names once, before forking a parser
    per file; without these lines every parse re-imports the Kubernetes provider (about 0.7 s)."""
    assert imports(render(rich(), config)) == {
        "datetime",
        "pendulum",
        "airflow.providers.cncf.kubernetes.operators.pod",
        "airflow.providers.slack.notifications.slack",
    }
    assert "airflow.providers.slack.notifications.slack" not in imports(render(make(), config))
