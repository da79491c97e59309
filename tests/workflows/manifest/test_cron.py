"""workflows/manifest/cron.py: what Airflow does with a six-field cron, checked against Airflow's own cron.

The description is computed from the expression; here it is compared with the fire times croniter (the
library Airflow's cron timetables use) gives for one whole day, so the words cannot drift from the behaviour.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from croniter import croniter

from workflows.manifest.cron import airflow_reading, six_field_problem


def fire_times(expression: str, day: datetime) -> list[datetime]:
    """Every time croniter (as Airflow) triggers ``expression`` during ``day``."""
    times: list[datetime] = []
    it = croniter(expression, day - timedelta(seconds=1))
    while (when := it.get_next(datetime)) < day + timedelta(days=1):
        times.append(when)
    return times


@pytest.mark.parametrize(
    ("expression", "day"),
    [
        ("0 7 3-10 * ? *", datetime(2025, 1, 3)),
        ("30 6 ? * MON-FRI *", datetime(2025, 6, 2)),
        ("0 7,19 * * ? *", datetime(2025, 6, 2)),
        ("0 * * * ? *", datetime(2025, 6, 2)),
        ("*/15 9 * * ? 0", datetime(2025, 6, 2)),
        ("0 7 3-10 * ? 0-29", datetime(2025, 1, 4)),
        ("0 7 3-10 * ? */10", datetime(2025, 1, 4)),
        ("0-1 23 * * ? *", datetime(2025, 6, 2)),
    ],
)
def test_the_description_is_what_airflow_does(expression, day):
    reading = airflow_reading(expression.split())
    times = fire_times(expression, day)
    count = re.search(r"triggered ([\d,]+) times a day|triggered (once) a day", reading)
    assert count is not None, reading
    assert (1 if count[2] else int(count[1].replace(",", ""))) == len(times)
    clocks = re.findall(r"\d\d:\d\d:\d\d", reading)
    assert clocks[0] == times[0].time().isoformat()
    assert clocks[-1] == times[-1].time().isoformat()


def test_an_expression_that_is_not_six_fields_is_not_this_rule():
    assert six_field_problem("0 7 3-10 * *") is None
    assert six_field_problem("0 0 7 3-10 * ? *") is None
    assert six_field_problem("@daily") is None


def test_the_issue_example_word_for_word():
    assert six_field_problem("0 7 3-10 * ? *") == (
        "'0 7 3-10 * ? *' has six fields, as AWS EventBridge writes a schedule (the sixth is the year), but Airflow "
        "reads a sixth field as seconds: today this DAG is triggered 60 times a day, every second from 07:00:00 to "
        "07:00:59, on days 3–10 of the month. Write the five fields minute hour day-of-month month day-of-week: "
        '"0 7 3-10 * *"'
    )


def test_a_single_second_is_described_as_one_time():
    assert (
        airflow_reading(["0", "7", "*", "*", "?", "30"])
        == "today this DAG is triggered once a day, at 07:00:30, every day"
    )
