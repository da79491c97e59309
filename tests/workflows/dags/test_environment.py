"""A task's environment (workflows/dags/environment.py): platform variables, run identifiers, params,
``env_vars`` and secrets, in that precedence."""

from __future__ import annotations

import re

import jinja2
from hypothesis import given, settings

from tests.workflows.dags.factory import TEXT, make
from workflows.config import StackConfig
from workflows.dags.environment import (
    RUN_IDENTIFIERS,
    dag_env_vars,
    param_template,
    platform_task_env,
    task_environment,
    task_secrets,
)
from workflows.model import Task, frozen_map
from workflows.plan.naming import derive


def test_environment_precedence(config: StackConfig) -> None:
    task = Task(
        "main",
        env_vars=frozen_map({"AWS_DEFAULT_REGION": "eu-west-2", "PARAM_P": "manifest wins", "SECRET_API_KEY": "x"}),
    )
    workflow = make(tasks=(task,), params=frozen_map({"p": "v", "run_date": ""}), secrets=("api-key",))
    env = task_environment(workflow, task, config)
    assert list(env)[: len(config.task_env)] == list(config.task_env)  # platform defaults first
    assert env["AIRFLOW_ENVIRONMENT"] == "DEVELOPMENT"
    assert env["AIRFLOW_RUN_ID"] == "{{ run_id }}"
    assert env["AIRFLOW_TIMESTAMP"] == "{{ ts }}"
    assert env["AWS_DEFAULT_REGION"] == "eu-west-2"  # the manifest overrides a platform default
    assert env["PARAM_P"] == "manifest wins"  # and a param's variable
    assert env["PARAM_RUN_DATE"] == "{{ params['run_date'] }}"
    assert "SECRET_API_KEY" not in env  # the secret fills it; nothing overrides a secret
    assert task_secrets(workflow, derive(workflow, config)) == {"SECRET_API_KEY": "demo-job-api-key"}


def test_platform_environment(config: StackConfig) -> None:
    assert platform_task_env(config) == {
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ATHENA_QUERY_EXTRACT_REGION": "eu-west-1",
        "AWS_DEFAULT_EXTRACT_REGION": "eu-west-1",
        "AWS_METADATA_SERVICE_TIMEOUT": "60",
        "AWS_METADATA_SERVICE_NUM_ATTEMPTS": "5",
        "AIRFLOW_ENVIRONMENT": "DEVELOPMENT",
        "AIRFLOW_DAG_ID": "{{ dag.dag_id }}",
        "AIRFLOW_TASK_ID": "{{ task.task_id }}",
        "AIRFLOW_RUN_ID": "{{ run_id }}",
        "AIRFLOW_TIMESTAMP": "{{ ts }}",
        "AIRFLOW_TIMESTAMP_NO_DASH": "{{ ts_nodash }}",
        "AIRFLOW_TIMESTAMP_NO_DASH_WITH_TZ": "{{ ts_nodash_with_tz }}",
    }
    assert list(platform_task_env(config))[-len(RUN_IDENTIFIERS) :] == list(RUN_IDENTIFIERS)


def test_the_dag_file_carries_only_the_workflows_part(config: StackConfig) -> None:
    """Platform variables come from platform.json at run time; the DAG file passes params and env_vars only."""
    task = Task("main", env_vars=frozen_map({"B": "task", "SECRET_TOKEN": "shadowed"}))
    workflow = make(tasks=(task,), params=frozen_map({"When": "now"}), secrets=("token",))
    assert dag_env_vars(workflow, task) == {"PARAM_WHEN": "{{ params['When'] }}", "B": "task"}
    assert task_secrets(workflow, derive(workflow, config)) == {"SECRET_TOKEN": "demo-job-token"}


def test_secrets_of_an_aliased_project(config: StackConfig) -> None:
    workflow = make(project="electronic-monitoring-data-store", name="load", secrets=("api-key", "db-password"))
    assert task_secrets(workflow, derive(workflow, config)) == {
        "SECRET_API_KEY": "emds-load-api-key",
        "SECRET_DB_PASSWORD": "emds-load-db-password",
    }


def test_param_templates() -> None:
    assert param_template("run_date") == "{{ params['run_date'] }}"
    assert param_template("it's {x}") == "{{ params['it\\u0027s\\u0020\\u007bx\\u007d'] }}"


@settings(max_examples=200, deadline=None)
@given(key=TEXT, value=TEXT)
def test_param_template_means_exactly_its_key(key: str, value: str) -> None:
    template = param_template(key)
    assert re.fullmatch(r"\{\{ params\['[A-Za-z0-9_\\]*'\] \}\}", template)
    rendered = jinja2.Environment(keep_trailing_newline=True).from_string(template).render(params={key: value})
    assert rendered == value
