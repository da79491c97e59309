"""The generated DAG file of a workflow: fixed code, with every manifest value a literal.

:func:`render_dag` turns a validated :class:`~workflows.model.Workflow` into the
source Airflow parses at the workflow's DAG key. Every value that comes from a
manifest is written as a Python literal (:mod:`workflows.dags.literal`), never
pasted into code, so no manifest value can become code. A ``python_dag``
workflow's own file is filled in by :mod:`workflows.dags.python_dag` instead.

Output is deterministic: the same workflow and stack config give the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from workflows.dags.environment import dag_env_vars, task_secrets
from workflows.dags.literal import Call, Raw, format_code, header
from workflows.dags.python_dag import render_python_dag
from workflows.dags.runtime import PRE_IMPORTS
from workflows.manifest.discovery import MANIFEST_NAME
from workflows.model import CronSchedule, DatasetSchedule, IntervalSchedule, Task, Workflow
from workflows.plan.kubernetes import EXTERNAL_SECRET_KEY
from workflows.plan.naming import Names


def render_dag(workflow: Workflow, names: Names) -> str:
    """The source of the workflow's DAG file (at ``names.dag_key``).

    Raises :class:`ManifestError` for a ``python_dag`` workflow whose ``dag.py`` is
    missing, does not compile, or whose placeholders cannot be filled in safely.
    """
    if workflow.dag.python_dag:
        return render_python_dag(workflow, names)
    # Not compiled here (that was half the cost of generating): the literal writer can only
    # write literals and our own calls, and the tests compile and load every kind of file it writes.
    return _generated_source(workflow, names)


def _generated_source(workflow: Workflow, names: Names) -> str:
    dag = workflow.dag
    notifications = workflow.notifications
    slack = notifications.slack_channel
    # Airflow has no per-run success email: a DAG callback sends one per successful run.
    email_success = bool(notifications.emails) and "success" in notifications.email_events
    secrets = task_secrets(workflow, names)
    datasets = isinstance(dag.schedule, DatasetSchedule) or any(t.inlets or t.outlets for t in dag.tasks)

    default_args: dict[str, Any] = {
        "owner": workflow.owner,
        "depends_on_past": _bool(dag.depends_on_past),
        "retries": _int(dag.retries),
        "retry_delay": Call("datetime.timedelta", kwargs={"seconds": _int(dag.retry_delay)}),
        "email": list(notifications.emails),
        # Airflow's own task emails; the default events (failure, retry) are what the running service sends.
        "email_on_failure": bool(notifications.emails) and "failure" in notifications.email_events,
        "email_on_retry": bool(notifications.emails) and "retry" in notifications.email_events,
    }
    if slack and "failure" in notifications.slack_events:
        default_args["on_failure_callback"] = [Call("notifications.task_failure", (slack,))]

    dag_kwargs: dict[str, Any] = {
        "dag_id": names.dag_id,
        "schedule": _schedule(dag.schedule),
        "start_date": _datetime(dag.start_date, dag.timezone),
    }
    if dag.end_date is not None:
        dag_kwargs["end_date"] = _datetime(dag.end_date, dag.timezone)
    dag_kwargs |= {
        "catchup": _bool(dag.catchup),
        "max_active_runs": _int(dag.max_active_runs),
        "is_paused_upon_creation": _bool(dag.is_paused_upon_creation),
    }
    if dag.params:
        dag_kwargs["params"] = dict(dag.params)
    dag_kwargs["default_args"] = default_args
    success_callbacks = []
    if slack and "success" in notifications.slack_events:
        success_callbacks.append(Call("notifications.dag_success", (slack,)))
    if email_success:
        success_callbacks.append(Call("notifications.dag_success_email", (list(notifications.emails),)))
    if success_callbacks:
        dag_kwargs["on_success_callback"] = success_callbacks
    dag_kwargs["tags"] = [workflow.business_unit]
    # Keep a value's final newline: Jinja drops it by default.
    dag_kwargs["jinja_environment_kwargs"] = {"keep_trailing_newline": True}

    imports = ["import datetime", "", "import pendulum", "from airflow import DAG"]
    if datasets:
        imports.append("from airflow.datasets import Dataset")
    if secrets:
        imports.append("from airflow.providers.cncf.kubernetes.secret import Secret")
    imports += ["", *PRE_IMPORTS]
    if slack:
        imports.append("import airflow.providers.slack.notifications.slack")
    imports.append("")
    if slack or email_success:
        imports.append("from analytical_platform import notifications")
    imports.append("from analytical_platform.standard_operator import AnalyticalPlatformStandardOperator")

    lines = header(
        [
            f"Generated from {names.folder}/{MANIFEST_NAME} — do not edit.",
            "The analytical-platform-airflow stack writes this file on every deploy;",
            "change the manifest instead.",
        ]
    )
    lines += ["", *imports, "", f"IMAGE = {names.image!r}", ""]
    lines += [f"with {format_code(Call('DAG', kwargs=dag_kwargs), 0, 5)} as dag:", "    tasks = {}"]
    for task in dag.tasks:
        call = Call("AnalyticalPlatformStandardOperator", kwargs=_task_kwargs(workflow, task, names, secrets))
        target = f"tasks[{task.name!r}] = "
        lines.append(f"    {target}{format_code(call, 4, len(target))}")
    edges = [task for task in dag.tasks if task.dependencies]
    if edges:
        lines.append("")
    for task in edges:
        upstream = [Raw(f"tasks[{name!r}]") for name in task.dependencies]
        left = format_code(upstream[0] if len(upstream) == 1 else upstream, 4, len(f" >> tasks[{task.name!r}]"))
        lines.append(f"    {left} >> tasks[{task.name!r}]")
    return "\n".join(lines) + "\n"


def _task_kwargs(workflow: Workflow, task: Task, names: Names, secrets: Mapping[str, str]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "task_id": task.name,
        "name": f"{workflow.name}-{task.name}",
        "image": Raw("IMAGE"),
        "compute_profile": task.compute_profile,
        "environment": workflow.environment,
        "project": workflow.project,
        "workflow": workflow.name,
        "service_account_name": names.service_account,
        "hmcts_sdp_networking": _bool(task.hmcts_sdp_networking),
    }
    env = dag_env_vars(workflow, task)
    if env:
        kwargs["env_vars"] = env
    if secrets:
        kwargs["secrets"] = [
            Call("Secret", ("env", variable, secret, EXTERNAL_SECRET_KEY)) for variable, secret in secrets.items()
        ]
    if task.inlets:
        kwargs["inlets"] = [Call("Dataset", (uri,)) for uri in task.inlets]
    if task.outlets:
        kwargs["outlets"] = [Call("Dataset", (uri,)) for uri in task.outlets]
    return kwargs


def _schedule(schedule: object) -> Any:
    if schedule is None:
        return None
    if isinstance(schedule, CronSchedule):
        return schedule.expression
    if isinstance(schedule, IntervalSchedule):
        return Call("datetime.timedelta", kwargs={"seconds": _int(schedule.seconds)})
    if isinstance(schedule, DatasetSchedule):
        return [Call("Dataset", (uri,)) for uri in schedule.uris]
    raise TypeError(f"unknown schedule {schedule!r}")


def _datetime(day: date, timezone: str) -> Call:
    """Midnight of ``day`` in ``timezone``: a zone-aware start makes cron schedules follow local time."""
    return Call("pendulum.datetime", (_int(day.year), _int(day.month), _int(day.day)), {"tz": timezone})


def _int(value: object) -> int:
    if type(value) is not int:
        raise TypeError(f"expected a whole number, got {value!r}")
    return value


def _bool(value: object) -> bool:
    if type(value) is not bool:
        raise TypeError(f"expected true or false, got {value!r}")
    return value
