"""Slack messages for a workflow's runs, sent through the platform's Slack connection.

``task_failure(channel)`` is a task callback (``on_failure_callback``): it names the
environment, the DAG, the task, the try and links to the task's log.
``dag_success(channel)`` is a DAG callback (``on_success_callback``): one message per
successful run rather than one per task.
``dag_success_email(addresses)`` is the same DAG callback by email, sent through
Airflow's configured email backend (Airflow itself emails only failures and retries).
"""

from __future__ import annotations

import copy
import html
from collections.abc import Sequence
from typing import Any

from airflow.providers.slack.notifications.slack import SlackNotifier
from airflow.utils.email import send_email
from airflow.utils.template import literal

from analytical_platform.settings import platform

# Platform-authored templates: rendered with the run's context when the callback fires.
FAILURE_TEXT = (
    ":red_circle: *Airflow {environment}: task failed*\n"
    "*DAG:* `{{{{ dag.dag_id }}}}`\n"
    "*Task:* `{{{{ ti.task_id }}}}` (try {{{{ ti.try_number }}}})\n"
    "*Run:* `{{{{ run_id }}}}`\n"
    "*Log:* <{{{{ ti.log_url }}}}|open the task log>"
)
SUCCESS_TEXT = (
    ":large_green_circle: *Airflow {environment}: DAG run succeeded*\n"
    "*DAG:* `{{{{ dag.dag_id }}}}`\n"
    "*Run:* `{{{{ run_id }}}}`\n"
    "*Last task:* `{{{{ ti.task_id }}}}`, <{{{{ ti.log_url }}}}|log>"
)


class PlatformSlackNotifier(SlackNotifier):
    """A SlackNotifier that renders each message on a copy of itself.

    Airflow may fire one parsed DAG's callback several times in one process (the DAG
    processor batches callbacks); rendering in place would reuse the first message.
    """

    def __call__(self, *args: Any) -> None:
        SlackNotifier.__call__(copy.copy(self), *args)


def _notifier(channel: str, template: str) -> PlatformSlackNotifier:
    settings = platform()
    return PlatformSlackNotifier(
        slack_conn_id=settings.slack_conn_id,
        channel=literal(channel),
        text=template.format(environment=settings.environment),
    )


def task_failure(channel: str) -> PlatformSlackNotifier:
    return _notifier(channel, FAILURE_TEXT)


def dag_success(channel: str) -> PlatformSlackNotifier:
    return _notifier(channel, SUCCESS_TEXT)


class DagSuccessEmail:
    """Emails ``addresses`` once per successful run of the DAG (a DAG ``on_success_callback``)."""

    def __init__(self, addresses: Sequence[str]) -> None:
        self.addresses = list(addresses)

    def __call__(self, context: Any) -> None:
        environment = platform().environment
        dag_id = context["dag"].dag_id
        run_id = context.get("run_id") or ""
        rows = [("DAG", dag_id), ("Run", run_id)]
        ti = context.get("ti")
        if ti is not None:
            rows.append(("Log of the last task", ti.log_url))
        body = "".join(f"<p><b>{name}:</b> {html.escape(str(value))}</p>" for name, value in rows)
        send_email(
            to=self.addresses,
            subject=f"Airflow {environment}: {dag_id} run succeeded",
            html_content=f"<p>Airflow {html.escape(environment)}: DAG run succeeded</p>{body}",
        )


def dag_success_email(addresses: Sequence[str]) -> DagSuccessEmail:
    return DagSuccessEmail(addresses)
