"""The rules of workflows/manifest/rules.py that keep live manifests working without changing their meaning
(issue 10): S3 paths that match no object (warnings), values YAML 1.1 would change, six-field crons, the
tag's quoting hint, and the stack's allowed repository organisations and email domains."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.conftest import CORPUS, MINIMAL, with_dag
from workflows.config import StackConfig
from workflows.errors import ManifestError
from workflows.model import CronSchedule
from workflows.validate import check_workflow, load_workflow


def found(path: Path, config: StackConfig) -> list[tuple[int, int, str, str]]:
    """Every problem of a manifest, errors and warnings: (line, column, severity, message)."""
    _, problems = check_workflow(path, config)
    return [(p.line, p.column, p.severity, p.message) for p in problems]


def only(path: Path, config: StackConfig) -> tuple[int, int, str, str]:
    problems = found(path, config)
    assert len(problems) == 1, problems
    return problems[0]


def with_iam(key: str, *paths: str) -> str:
    return MINIMAL + f"iam:\n  {key}:\n" + "".join(f"    - {p!r}\n" for p in paths)


S3_KEYS = ("s3_read_only", "s3_read_write", "s3_write_only", "s3_deny")

# --------------------------------------------------------------------------- S3 paths that match no object

MATCHES_NOTHING = {
    "my-bucket": "'my-bucket' matches no object: write 'my-bucket/*' for every object in the bucket",
    "my-bucket/": "'my-bucket/' matches no object: write 'my-bucket/*' for every object in the bucket",
    "my.bucket-2": "'my.bucket-2' matches no object: write 'my.bucket-2/*' for every object in the bucket",
    "my-bucket/data/": (
        "'my-bucket/data/' matches only the object named exactly 'data/': write 'my-bucket/data/*' for the "
        "objects under it"
    ),
    "my-bucket/a/b=1/c/": (
        "'my-bucket/a/b=1/c/' matches only the object named exactly 'a/b=1/c/': write 'my-bucket/a/b=1/c/*' for "
        "the objects under it"
    ),
    "s3://my-bucket/data/*": (
        "'s3://my-bucket/data/*' matches no object: the 's3://' prefix becomes part of the ARN "
        "(arn:aws:s3:::s3://my-bucket/data/*), so it matches nothing: drop 's3://' and write 'my-bucket/data/*'"
    ),
    "S3://my-bucket/file.csv": (
        "'S3://my-bucket/file.csv' matches no object: the 's3://' prefix becomes part of the ARN "
        "(arn:aws:s3:::S3://my-bucket/file.csv), so it matches nothing: drop 's3://' and write 'my-bucket/file.csv'"
    ),
    "s3://my-bucket": (
        "'s3://my-bucket' matches no object: the 's3://' prefix becomes part of the ARN (arn:aws:s3:::s3://my-bucket), "
        "so it matches nothing: drop 's3://' and write 'my-bucket/*'"
    ),
    "s3://my-bucket/data/": (
        "'s3://my-bucket/data/' matches no object: the 's3://' prefix becomes part of the ARN "
        "(arn:aws:s3:::s3://my-bucket/data/), so it matches nothing: drop 's3://' and write 'my-bucket/data/*'"
    ),
}


@pytest.mark.parametrize("key", S3_KEYS)
@pytest.mark.parametrize("path", MATCHES_NOTHING)
def test_an_s3_path_that_matches_no_object_is_a_warning_that_says_what_to_write(manifest, config, key, path):
    manifest_path = manifest(with_iam(key, "other-bucket/x/*", path))
    assert only(manifest_path, config) == (11, 7, "warning", f"iam.{key}[1]: {MATCHES_NOTHING[path]}")
    # A warning never stops the workflow: it plans (and deploys) with the path exactly as written.
    plan = load_workflow(manifest_path, config)
    assert getattr(plan.workflow.iam, key) == ("other-bucket/x/*", path)


@pytest.mark.parametrize(
    "paths",
    [
        ["my-bucket/*"],
        ["my-bucket/data/*"],
        ["my-bucket/data/file.csv"],  # one object, written as one
        ["my-bucket/data"],  # one object (or a prefix without a wildcard): not what the rule is about
        ["my-bucket/dev*"],
        ["my-bucket/data/", "my-bucket/data/*"],  # the live corpus's shape: both written
        ["my-bucket/data/*", "my-bucket/data/"],
        ["my-bucket/data/", "my-bucket/*"],
        ["my-bucket/data/", "my-bucket/da*"],
        ["my-bucket", "my-bucket/*"],
        ["my-bucket/", "my-bucket/*"],
        ["my-bucket/*", "my-bucket"],
        ["my-bucket/*/", "my-bucket/*/*"],  # a wildcard in both: the same prefix
    ],
)
def test_paths_that_match_what_they_say_or_are_covered_beside_them_get_no_warning(manifest, config, paths):
    for key in S3_KEYS:
        assert found(manifest(with_iam(key, *paths)), config) == [], (key, paths)


@pytest.mark.parametrize(
    ("paths", "warned"),
    [
        (["my-bucket/data/", "my-bucket/other/*"], [0]),  # another prefix covers nothing of data/
        (["my-bucket/data/", "my-bucket/d?ta/*"], [0]),  # not a prefix of it as written: not trusted to cover it
        (["my-bucket/data/", "other-bucket/*"], [0]),
        (["my-bucket", "my-bucket/data/*"], [0]),  # part of the bucket is not every object in it
        (["my-bucket/a/", "my-bucket/b/", "s3://my-bucket/a/*"], [0, 1, 2]),
    ],
)
def test_a_path_is_only_covered_by_a_pattern_that_matches_everything_under_it(manifest, config, paths, warned):
    problems = found(manifest(with_iam("s3_read_write", *paths)), config)
    assert [message.split(":")[0] for _, _, _, message in problems] == [f"iam.s3_read_write[{i}]" for i in warned]
    assert {severity for _, _, severity, _ in problems} == {"warning"}


def test_only_the_same_key_covers_a_path(manifest, config):
    """A read-write bucket/prefix/* does not make a read-only bucket/prefix/ mean what it says."""
    text = MINIMAL + "iam:\n  s3_read_only: [my-bucket/data/]\n  s3_read_write: [my-bucket/data/*]\n"
    line, column, severity, message = only(manifest(text), config)
    assert (line, column, severity) == (9, 18, "warning")
    assert message.startswith("iam.s3_read_only[0]: 'my-bucket/data/' matches only the object named exactly 'data/'")


def test_an_s3_scheme_path_is_accepted_by_the_schema_today(manifest, config):
    """The running service accepts s3://… (it matches nothing there): this stack must not refuse the manifest."""
    plan = load_workflow(manifest(with_iam("s3_read_only", "s3://my-bucket/data/*")), config)
    assert plan.workflow.iam.s3_read_only == ("s3://my-bucket/data/*",)


@pytest.mark.parametrize("path", ["arn:aws:s3:::my-bucket/*", "s3:/my-bucket", "My-Bucket/*", "https://my-bucket/x"])
def test_paths_that_are_no_bucket_path_at_all_are_still_errors(manifest, config, path):
    _, _, severity, message = only(manifest(with_iam("s3_read_only", path)), config)
    assert severity == "error"
    assert "each entry must be a bucket path such as my-bucket/prefix/* (not an ARN)" in message


# --------------------------------------------------------------------------- values YAML 1.1 changes

# Written unquoted → what YAML 1.1 reads (as the task would get it).
CHANGED = {
    "01234": "668",
    "007": "7",
    "0.10": "0.1",
    "1.50": "1.5",
    "5.": "5.0",
    "+5": "5",
    "-0": "0",
    "1_000": "1000",
    "0x1F": "31",
    "0b101": "5",
    "1.0e+3": "1000.0",
    ".inf": "inf",
    "-.inf": "-inf",
    ".NaN": "nan",
    "1:20": "80",
    "1:20:30": "4830",
    "yes": "True",
    "Yes": "True",
    "on": "True",
    "ON": "True",
    "no": "False",
    "off": "False",
}


def _reading(written: str, gets: str) -> str:
    if gets in ("True", "False"):
        return gets.lower()
    return f"the number {float(gets) if '.' in gets or gets in ('inf', '-inf', 'nan') else int(gets)!r}"


@pytest.mark.parametrize(("written", "gets"), CHANGED.items())
def test_an_env_value_yaml_would_change_must_be_quoted(manifest, config, written, gets):
    line, column, severity, message = only(manifest(with_dag(f"env_vars:\n  ZIP: {written}")), config)
    assert (line, column, severity) == (5, 10, "error")
    assert message == (
        f'dag.env_vars.ZIP: YAML reads {written} as {_reading(written, gets)}, so the task gets "{gets}", not '
        f'"{written}": quote it: ZIP: "{written}"'
    )


def test_the_message_for_the_issue_example(manifest, config):
    _, _, _, message = only(manifest(with_dag("env_vars:\n  ZIP: 01234")), config)
    assert message == (
        'dag.env_vars.ZIP: YAML reads 01234 as the number 668, so the task gets "668", not "01234": '
        'quote it: ZIP: "01234"'
    )


@pytest.mark.parametrize("written", ["01234", "0.10", "yes", "1:20"])
def test_a_task_env_value_yaml_would_change_must_be_quoted(manifest, config, written):
    text = with_dag(f"tasks:\n  load:\n    env_vars:\n      CODE: {written}")
    line, column, severity, message = only(manifest(text), config)
    assert (line, column, severity) == (7, 15, "error")
    assert message.startswith(f"dag.tasks.load.env_vars.CODE: YAML reads {written} as ")
    assert message.endswith(f'quote it: CODE: "{written}"')


# Written unquoted → the string the task gets, as the running service's str() gives it today.
KEPT = {
    "true": "True",
    "True": "True",
    "TRUE": "True",
    "false": "False",
    "FALSE": "False",
    "5": "5",
    "-3": "-3",
    "0": "0",
    "1.5": "1.5",
    "-0.25": "-0.25",
    "12345678901234567890": "12345678901234567890",
    "null": "None",
    "~": "None",
    "": "None",
    "1e3": "1e3",  # not a number in YAML 1.1 (no dot): text
    "0o17": "0o17",  # not YAML 1.1 octal: text
    "2025-01-01": "2025-01-01",  # dates are kept as text by the loader
    "y": "y",
    "n": "n",
    "'01234'": "01234",
    '"yes"': "yes",
    "'0.10'": "0.10",
}


@pytest.mark.parametrize(("written", "gets"), KEPT.items())
def test_values_whose_text_survives_keep_todays_string(manifest, config, written, gets):
    text = with_dag(
        f"env_vars:\n  A: {written}\nparams:\n  b: {written}\ntasks:\n  t:\n    env_vars:\n      C: {written}"
    )
    plan = load_workflow(manifest(text), config)
    (task,) = plan.workflow.dag.tasks
    assert (task.env_vars["A"], task.env_vars["C"], plan.workflow.dag.params["b"]) == (gets, gets, gets)


@pytest.mark.parametrize(("written", "gets"), [("01234", "668"), ("yes", "True"), ("1:20", "80"), ("off", "False")])
def test_a_param_yaml_would_read_as_something_else_must_be_quoted(manifest, config, written, gets):
    line, column, severity, message = only(manifest(with_dag(f"params:\n  code: {written}")), config)
    assert (line, column, severity) == (5, 11, "error")
    assert message == (
        f'dag.params.code: YAML reads {written} as {_reading(written, gets)}, so the param is "{gets}", not '
        f'"{written}": quote it: code: "{written}"'
    )


@pytest.mark.parametrize(
    ("written", "gets"), [("0.10", "0.1"), ("1_000", "1000"), ("0x1F", "31"), ("1.0e+3", "1000.0")]
)
def test_a_param_that_is_the_same_number_spelt_otherwise_is_a_warning(manifest, config, written, gets):
    """Params are typed values a DAG's code reads as numbers: 0.10 and 0.1 are the same number (the live corpus
    has such params), so the manifest keeps working; the warning says how to keep the text."""
    path = manifest(with_dag(f"params:\n  ratio: {written}"))
    line, column, severity, message = only(path, config)
    assert (line, column, severity) == (5, 12, "warning")
    assert message == (
        f'dag.params.ratio: YAML reads {written} as {_reading(written, gets)}, so the param is "{gets}", not '
        f'"{written}" (the same number): quote it: ratio: "{written}"'
    )
    assert load_workflow(path, config).workflow.dag.params["ratio"] == gets  # as the running service passes it


@pytest.mark.parametrize(
    ("written", "hint"), [("2.10", '"2.10"'), ("1.0", '"1.0"'), ("010", '"010"'), ("1_2", '"1_2"')]
)
def test_a_tag_yaml_would_change_suggests_the_text_as_written(manifest, config, written, hint):
    line, column, severity, message = only(manifest(MINIMAL.replace("tag: v1.0.0", f"tag: {written}")), config)
    assert (line, column, severity) == (3, 8, "error")
    assert message.endswith(f"put the tag in quotes, as in tag: {hint}")
    assert message.startswith(f"dag.tag {written} is read by YAML as the number ")


@pytest.mark.parametrize(
    ("written", "tag"), [("7", "7"), ("'2.10'", "2.10"), ("v2.10", "v2.10"), ("20250101", "20250101")]
)
def test_a_tag_whose_text_survives_is_kept(manifest, config, written, tag):
    assert load_workflow(manifest(MINIMAL.replace("tag: v1.0.0", f"tag: {written}")), config).workflow.dag.tag == tag


# --------------------------------------------------------------------------- six-field crons

SIX_FIELDS = {
    "0 7 3-10 * ? *": (
        "today this DAG is triggered 60 times a day, every second from 07:00:00 to 07:00:59, on days 3–10 of the "
        'month. Write the five fields minute hour day-of-month month day-of-week: "0 7 3-10 * *"'
    ),
    "30 6 ? * MON-FRI *": (
        "today this DAG is triggered 60 times a day, every second from 06:30:00 to 06:30:59, on day of week "
        'MON-FRI. Write the five fields minute hour day-of-month month day-of-week: "30 6 * * MON-FRI"'
    ),
    "0 7,19 1 1,7 ? *": (
        "today this DAG is triggered 120 times a day, every second from 07:00:00 to 07:00:59 and every second from "
        "19:00:00 to 19:00:59, on day 1 of the month in month 1,7. Write the five fields minute hour day-of-month "
        'month day-of-week: "0 7,19 1 1,7 *"'
    ),
    "0 * * * ? *": (
        "today this DAG is triggered 1,440 times a day, in 24 bursts of 60 seconds, the first every second from "
        "00:00:00 to 00:00:59, the last from 23:00:00 to 23:00:59, every day. Write the five fields minute hour "
        'day-of-month month day-of-week: "0 * * * *"'
    ),
    "15 8 ? * 2 *": (
        "today this DAG is triggered 60 times a day, every second from 08:15:00 to 08:15:59, on day of week 2. "
        'Write the five fields minute hour day-of-month month day-of-week: "15 8 * * 2" (check the day of week: '
        "cron counts 0-6 from Sunday, EventBridge 1-7, and Airflow already reads it as cron does)"
    ),
    "0 7 3-10 * ? 0-29": (
        "today this DAG is triggered 30 times a day, every second from 07:00:00 to 07:00:29, on days 3–10 of the "
        'month. The year field (0-29) cannot be expressed in five fields: write "0 7 3-10 * *" and limit the years '
        "with dag.start_date and dag.end_date"
    ),
    "0 7 1 * ? 2026": (
        "'2026' is not a second of a minute, so Airflow cannot read the schedule and the DAG fails to load. The year "
        'field (2026) cannot be expressed in five fields: write "0 7 1 * *" and limit the years with dag.start_date '
        "and dag.end_date"
    ),
}


@pytest.mark.parametrize("schedule", SIX_FIELDS)
def test_a_six_field_cron_is_refused_with_what_it_does_today_and_the_five_field_form(manifest, config, schedule):
    line, column, severity, message = only(manifest(with_dag(f"schedule: '{schedule}'")), config)
    assert (line, column, severity) == (4, 13, "error")
    assert message == (
        f"'{schedule}' has six fields, as AWS EventBridge writes a schedule (the sixth is the year), but Airflow "
        f"reads a sixth field as seconds: {SIX_FIELDS[schedule]}"
    )


def test_the_five_field_form_it_suggests_is_accepted(manifest, config):
    plan = load_workflow(manifest(with_dag("schedule: '0 7 3-10 * *'")), config)
    assert plan.workflow.dag.schedule == CronSchedule("0 7 3-10 * *")


def test_a_six_field_expression_whose_first_five_fields_are_no_cron_says_so(manifest, config):
    _, _, _, message = only(manifest(with_dag("schedule: '0 7 32 * ? *'")), config)
    assert "Its first five fields, '0 7 32 * *', are not a cron expression Airflow reads either" in message


# --------------------------------------------------------------------------- allowed organisations and domains


@pytest.mark.parametrize(
    "repository",
    [
        "ministryofjustice/my-pipeline",
        "moj-analytical-services/airflow_thing",
        "MinistryOfJustice/My_Repo",  # GitHub compares organisation names without case
        "MOJ-Analytical-Services/x",
    ],
)
def test_repositories_of_allowed_organisations(manifest, config, repository):
    text = MINIMAL.replace("moj-analytical-services/example", repository)
    assert load_workflow(manifest(text), config).workflow.dag.repository == repository


@pytest.mark.parametrize(
    ("repository", "organisation"),
    [
        ("octo-org/my-pipeline", "octo-org"),
        ("ministryofjustice-fork/x", "ministryofjustice-fork"),
        ("moj/x", "moj"),
        ("analytical-services/x", "analytical-services"),
    ],
)
def test_a_repository_outside_the_allowed_organisations_is_an_error(manifest, config, repository, organisation):
    text = MINIMAL.replace("moj-analytical-services/example", repository)
    assert only(manifest(text), config) == (
        2,
        15,
        "error",
        f"dag.repository '{repository}' is in the GitHub organisation '{organisation}', which is not allowed: the "
        "image must be built by a repository of ministryofjustice or moj-analytical-services",
    )


def test_the_allowed_organisations_come_from_the_stack_config(manifest, config):
    other = dataclasses.replace(config, allowed_repository_organisations=("octo-org",))
    text = MINIMAL.replace("moj-analytical-services/example", "octo-org/x")
    assert load_workflow(manifest(text), other).workflow.dag.repository == "octo-org/x"
    _, _, _, message = only(manifest(MINIMAL), other)
    assert message.endswith("the image must be built by a repository of octo-org")


@pytest.mark.parametrize("address", ["a.person@justice.gov.uk", "Team.Name@Justice.Gov.UK", "o'brien@justice.gov.uk"])
def test_addresses_at_the_allowed_domain(manifest, config, address):
    text = MINIMAL.replace("someone@justice.gov.uk", address) + f"notifications:\n  emails: [{address!r}]\n"
    plan = load_workflow(manifest(text), config)
    assert (plan.workflow.owner, plan.workflow.notifications.emails) == (address, (address,))


@pytest.mark.parametrize(
    "address",
    [
        "someone@digital.justice.gov.uk",  # a subdomain: the running service's schema refuses it too
        "someone@example.com",
        "someone@justice.gov.uk.example.com",
        "someone@notjustice.gov.uk",
        "someone@gov.uk",
    ],
)
def test_an_address_at_another_domain_is_an_error(manifest, config, address):
    text = MINIMAL + f"notifications:\n  emails: [someone@justice.gov.uk, {address}]\n"
    assert only(manifest(text), config) == (
        9,
        36,
        "error",
        f"notifications.emails[1] '{address}' is not an address at an allowed domain: use an address ending in "
        "@justice.gov.uk",
    )
    owner = MINIMAL.replace("someone@justice.gov.uk", address)
    assert only(manifest(owner), config) == (
        7,
        10,
        "error",
        f"tags.owner '{address}' is not an address at an allowed domain: use an address ending in @justice.gov.uk",
    )


def test_the_allowed_domains_come_from_the_stack_config(manifest, config):
    other = dataclasses.replace(config, allowed_email_domains=("example.com", "example.org"))
    text = MINIMAL.replace("justice.gov.uk", "example.org")
    assert load_workflow(manifest(text), other).workflow.owner == "someone@example.org"
    _, _, _, message = only(manifest(MINIMAL), other)
    assert message.endswith("use an address ending in @example.com or @example.org")


# --------------------------------------------------------------------------- the live corpus

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is not present")


@needs_corpus
def test_the_live_corpus_gets_only_warnings_besides_missing_dag_py(config):
    """Every live manifest still validates (python_dag ones only lack their dag.py, which the corpus leaves out);
    the warnings it gets are the ones these rules are for, each on a path or value whose meaning is unchanged."""
    warnings: dict[str, list[str]] = {}
    for path in sorted(CORPUS.glob("development/*/*/workflow.yml")):
        _, problems = check_workflow(path, config)
        errors = [p for p in problems if p.is_error]
        assert all("dag.python_dag is true but" in p.message for p in errors), errors
        for problem in problems:
            if not problem.is_error:
                kind = problem.message.split(": ")[0].split("[")[0].rsplit(".", 1)[0]
                warnings.setdefault(kind, []).append(f"{path.parent.parent.name}/{path.parent.name}")
    assert warnings == {
        "iam": ["prison-intel-dsai/drugs"],  # s3_read_write: alpha-app-drugs-app/
        "dag.params": ["prison-safety-dsai/vast-lightgbm", "prison-safety-dsai/vast-lightgbm"],  # 0.10 twice
        # s3://ap_bucket/this_is_a_test_dataset.json, with no iam at all: announced, not written (issue 12)
        "dag.tasks.task_one": ["analytical-platform/example-outlet"],
    }


def test_a_manifest_with_errors_and_warnings_raises_only_its_errors(manifest, config):
    path = manifest(with_iam("s3_read_only", "my-bucket") + "retires: 3\n")
    with pytest.raises(ManifestError) as caught:
        load_workflow(path, config)
    assert [p.severity for p in caught.value.problems] == ["error"]
    assert [(p.line, p.severity) for p in check_workflow(path, config)[1]] == [(10, "warning"), (11, "error")]


# --------------------------------------------------------------------------- outlets and write grants


OUTSIDE = (
    "{field}: {uri!r} is outside this workflow's write grants (iam.s3_read_write, iam.s3_write_only): an outlet "
    "triggers every DAG scheduled on that dataset, other teams' included, so announce only data this workflow "
    "writes: grant it the write (iam.s3_write_only: ['{path}'], or a prefix of it ending in '*') or remove the outlet"
)


@pytest.mark.parametrize(
    ("grants", "outlet", "written"),
    [
        ({"s3_read_write": ["bucket/data/*"]}, "s3://bucket/data/x.csv", True),
        ({"s3_write_only": ["bucket/data/*"]}, "s3://bucket/data/", True),  # the objects under it
        ({"s3_read_write": ["bucket/data/*"]}, "s3://bucket/data", True),  # the same dataset to Airflow
        ({"s3_read_write": ["bucket/*/out/*"]}, "s3://bucket/team/x/out/y", True),  # '*' crosses '/', as in IAM
        ({"s3_read_write": ["bucket/d?ta/*"]}, "s3://bucket/data/x", True),
        ({"s3_read_write": ["bucket/data/x.csv"]}, "s3://bucket/data/x.csv", True),
        ({"s3_read_write": ["bucket/data/x.csv"]}, "s3://bucket/data/x.csv?v=1", True),  # the query is not the key
        # Not written: read-only, denied-only, another prefix or bucket, a prefix that only looks alike.
        ({"s3_read_only": ["bucket/data/*"]}, "s3://bucket/data/x.csv", False),
        ({"s3_deny": ["bucket/data/*"]}, "s3://bucket/data/x.csv", False),
        ({"s3_read_write": ["bucket/data/*"]}, "s3://bucket/other/x.csv", False),
        ({"s3_read_write": ["bucket/data/*"]}, "s3://other-bucket/data/x.csv", False),
        ({"s3_read_write": ["bucket/data*"]}, "s3://bucket-two/data/x", False),
        ({"s3_read_write": ["bucket/data/x.csv"]}, "s3://bucket/data/x.csv.bak", False),
        ({"s3_read_write": ["bucket/Data/*"]}, "s3://bucket/data/x", False),  # keys are case-sensitive
        ({"s3_read_write": ["bucket/d.ta/*"]}, "s3://bucket/data/x", False),  # '.' is itself, not any character
        ({}, "s3://bucket/data/x.csv", False),
    ],
)
@pytest.mark.parametrize("level", ["dag", "task"])
def test_an_s3_outlet_outside_the_write_grants_is_a_warning(manifest, config, grants, outlet, written, level):
    iam = "".join(f"  {key}: {paths}\n" for key, paths in grants.items())
    if level == "dag":
        text, field = with_dag(f"outlets: ['{outlet}']"), "dag.outlets[0]"
    else:
        text, field = with_dag(f"tasks:\n  main:\n    outlets: ['{outlet}']"), "dag.tasks.main.outlets[0]"
    path = manifest(text + (f"iam:\n{iam}" if iam else ""))
    problems = found(path, config)
    outside = [p for p in problems if "write grants" in p[3]]
    assert [p for p in problems if p not in outside] == [], problems
    if written:
        assert outside == []
    else:
        key = outlet.removeprefix("s3://").partition("?")[0]
        [(_, _, severity, message)] = outside
        assert severity == "warning"
        assert message == OUTSIDE.format(field=field, uri=outlet, path=key)
        assert load_workflow(path, config) is not None  # deployable: a warning only


def test_outlets_of_other_schemes_and_of_an_external_role_are_not_compared(manifest, config):
    for text in (
        with_dag("outlets: ['postgres://db/schema/table', 'x-team://thing']"),
        with_dag("outlets: ['s3://bucket/x']") + "iam:\n  external_role: arn:aws:iam::123456789012:role/theirs\n",
    ):
        assert found(manifest(text), config) == []
