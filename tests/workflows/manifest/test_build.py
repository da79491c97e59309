"""A checked manifest → the frozen model, defaults applied (workflows/manifest/build.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from workflows.manifest.build import build, env_string, parse_date
from workflows.model import CronSchedule, IntervalSchedule

PATH = Path("/repo/environments/development/demo/job/workflow.yml")


def document(**dag: Any) -> dict[str, Any]:
    return {
        "dag": {"repository": "moj-analytical-services/example", "tag": "v1.0.0", **dag},
        "maintainers": ["octo-analyst", "octo-analyst"],
        "tags": {"business_unit": "Platforms", "owner": "someone@justice.gov.uk"},
    }


def test_the_location_and_the_defaults() -> None:
    workflow = build(document(), PATH)
    assert (workflow.environment, workflow.project, workflow.name) == ("development", "demo", "job")
    assert workflow.maintainers == ("octo-analyst",)  # a repeat is harmless: dropped
    assert [t.name for t in workflow.dag.tasks] == ["main"]
    assert workflow.dag.start_date == date(2025, 1, 1)
    assert workflow.dag.end_date is None
    assert workflow.dag.schedule is None
    assert workflow.python_dag_source is None


def test_dates_and_schedules() -> None:
    workflow = build(document(start_date="2025-04-07", end_date="2026-01-01", schedule=" @daily "), PATH)
    assert (workflow.dag.start_date, workflow.dag.end_date) == (date(2025, 4, 7), date(2026, 1, 1))
    assert workflow.dag.schedule == CronSchedule("@daily")
    assert build(document(schedule={"hours": 1, "minutes": 30}), PATH).dag.schedule == IntervalSchedule(5400)
    assert build(document(schedule="None"), PATH).dag.schedule is None


def test_a_date_that_is_not_real_leaves_the_default() -> None:
    """The rules report ``2025-02-30``; validation still plans the model (to check name limits), so the
    model keeps the default rather than ``None``, which the DAG renderer cannot write."""
    assert parse_date("2025-02-30") is None
    workflow = build(document(start_date="2025-02-30", end_date="2025-02-31"), PATH)
    assert workflow.dag.start_date == date(2025, 1, 1)
    assert workflow.dag.end_date is None


def test_python_dag_source_is_kept_only_for_a_python_dag() -> None:
    assert build(document(python_dag=True), PATH, "# dag\n").python_dag_source == "# dag\n"
    assert build(document(), PATH, "# a stray dag.py\n").python_dag_source is None


def test_env_strings() -> None:
    assert [env_string(v) for v in ("x", True, 5, 1.5, None)] == ["x", "True", "5", "1.5", "None"]


def test_email_events() -> None:
    assert build(document(), PATH).notifications.email_events == ("failure", "retry")
    chosen = {**document(), "notifications": {"emails": ["a@justice.gov.uk"], "email_events": ["success", "success"]}}
    assert build(chosen, PATH).notifications.email_events == ("success",)  # a repeat is harmless: dropped
