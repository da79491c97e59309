"""A task's environment: the platform's variables, run identifiers, params, ``env_vars``, secrets.

Precedence, lowest first: the stack's ``taskEnv`` (AWS regions, ``AIRFLOW_ENVIRONMENT``…),
the run identifiers, ``PARAM_<KEY>`` for each ``dag.params`` key, the manifest's
``env_vars`` (dag, then task), and on top ``SECRET_<ID>`` from Kubernetes secrets.
"""

from __future__ import annotations

from collections.abc import Mapping

from workflows.config import StackConfig
from workflows.dags.literal import jinja_string
from workflows.model import Task, Workflow
from workflows.plan.naming import Names, param_env_var, secret_env_var

# Run identifiers every task gets after the platform's defaults (the names today's service uses).
RUN_IDENTIFIERS: Mapping[str, str] = {
    "AIRFLOW_DAG_ID": "{{ dag.dag_id }}",
    "AIRFLOW_TASK_ID": "{{ task.task_id }}",
    "AIRFLOW_RUN_ID": "{{ run_id }}",
    "AIRFLOW_TIMESTAMP": "{{ ts }}",
    "AIRFLOW_TIMESTAMP_NO_DASH": "{{ ts_nodash }}",
    "AIRFLOW_TIMESTAMP_NO_DASH_WITH_TZ": "{{ ts_nodash_with_tz }}",
}


def platform_task_env(config: StackConfig) -> dict[str, str]:
    """The environment every task starts from: the stack's ``taskEnv``, then the run identifiers."""
    return {**config.task_env, **RUN_IDENTIFIERS}


def param_template(key: str) -> str:
    """``{{ params['<key>'] }}``, with the key written as a Jinja string literal that means exactly ``key``."""
    return "{{ params[" + jinja_string(key) + "] }}"


def dag_env_vars(workflow: Workflow, task: Task) -> dict[str, str]:
    """The workflow's part of a task's environment, as the DAG file passes it to the operator:
    ``PARAM_<KEY>`` for each param, then the manifest's ``env_vars`` (dag, then task). Names a
    secret fills are left out: a secret always wins."""
    env = {param_env_var(key): param_template(key) for key in workflow.dag.params}
    env.update(task.env_vars)
    for secret in (*workflow.secrets, *workflow.shared_secrets):
        env.pop(secret_env_var(secret), None)
    return env


def task_environment(workflow: Workflow, task: Task, config: StackConfig) -> dict[str, str]:
    """The complete environment of a generated task before Jinja renders it, in precedence order:
    platform defaults and run identifiers, then params and ``env_vars``. Secrets (``SECRET_<ID>``)
    come on top from Kubernetes secrets and are not listed here."""
    env = {**platform_task_env(config), **dag_env_vars(workflow, task)}
    for secret in (*workflow.secrets, *workflow.shared_secrets):
        env.pop(secret_env_var(secret), None)
    return env


def task_secrets(workflow: Workflow, names: Names) -> dict[str, str]:
    """``SECRET_<ID>`` -> the Kubernetes secret (key ``data``) that fills it: the workflow's own secrets,
    then the project's shared secrets it lists (``validate`` refuses an id in both)."""
    own = {secret_env_var(s): names.kubernetes_secret(s) for s in workflow.secrets}
    return own | {secret_env_var(s): names.shared_kubernetes_secret(s) for s in workflow.shared_secrets}
