"""Six-field cron expressions: what Airflow makes of them, and the five-field form.

AWS EventBridge writes a schedule in six fields, the sixth being the year
(``0 7 3-10 * ? *``). Airflow's cron (croniter) reads a sixth field as *seconds*, so
such a DAG is triggered every second of the minute it names. The running service
accepts these; this stack rejects them with a message that says what the DAG does
today (computed from the expression) and what to write instead.
"""

from __future__ import annotations

from datetime import time

from croniter import croniter

FIELDS = "minute hour day-of-month month day-of-week"
_RANGES = {0: range(60), 1: range(24), 5: range(60)}  # minute, hour, and the sixth field read as seconds
_LISTED_RUNS = 3  # runs of seconds described one by one; more are summarised


def six_field_problem(expression: str) -> str | None:
    """Why a six-field expression is refused, in words, or None when it does not have six fields."""
    fields = expression.split()
    if len(fields) != 6:
        return None
    *first_five, sixth = fields
    five = " ".join(field.replace("?", "*") for field in first_five)
    message = (
        f"'{expression}' has six fields, as AWS EventBridge writes a schedule (the sixth is the year), but Airflow "
        f"reads a sixth field as seconds: {airflow_reading(fields)}. "
    )
    if not croniter.is_valid(five):
        return message + (
            f"Its first five fields, '{five}', are not a cron expression Airflow reads either: write five fields, "
            f'{FIELDS}, such as "0 5 * * MON-FRI"'
        )
    if sixth in ("*", "?"):
        message += f'Write the five fields {FIELDS}: "{five}"'
    else:
        message += (
            f'The year field ({sixth}) cannot be expressed in five fields: write "{five}" and limit the years '
            "with dag.start_date and dag.end_date"
        )
    if any(ch.isdigit() for ch in first_five[4]):
        message += (
            " (check the day of week: cron counts 0-6 from Sunday, EventBridge 1-7, and Airflow already reads "
            "it as cron does)"
        )
    return message


def airflow_reading(fields: list[str]) -> str:
    """What Airflow does with a six-field expression, in words: when in the day and on which days it runs."""
    expression = " ".join(fields)
    if not croniter.is_valid(expression):
        return (
            f"'{fields[5]}' is not a second of a minute, so Airflow cannot read the schedule and the DAG fails to load"
        )
    expanded, _ = croniter.expand(expression)
    minutes, hours, seconds = (_values(expanded[i], _RANGES[i]) for i in (0, 1, 5))
    times = sorted(h * 3600 + m * 60 + s for h in hours for m in minutes for s in seconds)
    runs = _runs(times)
    if len(runs) <= _LISTED_RUNS:
        when = " and ".join(
            f"at {_clock(start)}" if start == end else f"every second from {_clock(start)} to {_clock(end)}"
            for start, end in runs
        )
    elif len({end - start for start, end in runs}) == 1 and runs[0][0] != runs[0][1]:
        (first, first_end), (last, last_end) = runs[0], runs[-1]
        when = (
            f"in {len(runs):,} bursts of {first_end - first + 1} seconds, the first every second from "
            f"{_clock(first)} to {_clock(first_end)}, the last from {_clock(last)} to {_clock(last_end)}"
        )
    else:
        when = f"between {_clock(times[0])} and {_clock(times[-1])}"
    count = f"{len(times):,} times a day" if len(times) > 1 else "once a day"
    return f"today this DAG is triggered {count}, {when}, {_days(fields)}"


def _values(field: list[int | str], full: range) -> list[int]:
    return list(full) if field == ["*"] else sorted(int(v) for v in field)


def _runs(seconds_of_day: list[int]) -> list[tuple[int, int]]:
    """Consecutive seconds merged into (first, last) runs."""
    runs: list[tuple[int, int]] = []
    for second in seconds_of_day:
        if runs and second == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], second)
        else:
            runs.append((second, second))
    return runs


def _clock(second_of_day: int) -> str:
    return time(second_of_day // 3600, second_of_day // 60 % 60, second_of_day % 60).isoformat()


def _days(fields: list[str]) -> str:
    day_of_month, month, day_of_week = (fields[i].replace("?", "*") for i in (2, 3, 4))
    parts: list[str] = []
    if day_of_month != "*":
        plural = "s" if any(c in day_of_month for c in ",-/") else ""
        parts.append(f"on day{plural} {day_of_month.replace('-', '–')} of the month")
    if day_of_week != "*":
        parts.append(f"on day of week {day_of_week}")
    days = " or ".join(parts) if parts else "every day"
    if month != "*":
        days += f" in month {month}"
    return days
