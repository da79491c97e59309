"""Each validation rule, with the line and column it points at."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import MINIMAL, with_dag
from workflows.errors import ManifestError, Problem
from workflows.manifest.log_groups import PATTERN
from workflows.manifest.schema import schema
from workflows.model import CronSchedule, DatasetSchedule, IntervalSchedule, Workflow
from workflows.plan import limits
from workflows.validate import check_workflow, load_all, load_workflow


def refused(path: Path, config) -> list[Problem]:
    """The problems ``load_workflow`` refuses a manifest with (none when it plans it)."""
    try:
        load_workflow(path, config)
    except ManifestError as error:
        return list(error.problems)
    return []


def problems(path: Path, config) -> list[tuple[int, int, str]]:
    return [(p.line, p.column, p.message) for p in refused(path, config)]


def model(path: Path, config) -> Workflow:
    """The validated model of a manifest with no problem (``load_workflow`` returns its plan)."""
    return load_workflow(path, config).workflow


def only(path: Path, config) -> tuple[int, int, str]:
    found = problems(path, config)
    assert len(found) == 1, found
    return found[0]


def test_minimal_manifest_gets_the_documented_defaults(manifest, config):
    workflow = model(manifest(), config)
    dag = workflow.dag
    assert (workflow.project, workflow.name, workflow.environment) == ("demo", "job", "development")
    assert [t.name for t in dag.tasks] == ["main"]
    assert dag.tasks[0].compute_profile == "general-spot-1vcpu-4gb"
    assert (dag.catchup, dag.depends_on_past, dag.is_paused_upon_creation) == (False, False, False)
    assert (dag.max_active_runs, dag.retries, dag.retry_delay) == (1, 0, 300)
    assert dag.schedule is None
    assert dag.start_date == date(2025, 1, 1)
    assert dag.end_date is None
    assert dag.timezone == "UTC"
    assert workflow.notifications.slack_events == ("failure", "success")
    assert workflow.notifications.email_events == ("failure", "retry")


def test_unknown_key_is_an_error_with_a_suggestion(manifest, config):
    line, column, message = only(manifest(with_dag("retires: 3")), config)
    assert (line, column) == (4, 3)
    assert "unknown key 'retires'" in message
    assert "did you mean 'retries'" in message


def test_missing_required_keys_are_each_reported(manifest, config):
    path = manifest("dag:\n  tag: v1\n")
    messages = [m for _, _, m in problems(path, config)]
    assert any("missing required key 'repository'" in m for m in messages)
    assert any("missing required key 'maintainers'" in m for m in messages)
    assert any("missing required key 'tags'" in m for m in messages)


def test_every_problem_of_a_file_is_reported_at_once(manifest, config):
    path = manifest(with_dag("retries: many\nschedule: '61 * * * *'\ncompute_profile: huge"))
    lines = sorted(line for line, _, _ in problems(path, config))
    assert lines == [4, 5, 6]


def test_duplicate_keys_are_rejected_with_both_lines(manifest, config):
    line, _, message = only(manifest(with_dag("retries: 1\nretries: 2")), config)
    assert line == 5
    assert "duplicate key 'retries'" in message
    assert "line 4" in message


def test_yaml_syntax_errors_have_a_position(manifest, config):
    line, _, message = only(manifest("dag: [unclosed\n"), config)
    assert line >= 1
    assert message.startswith("invalid YAML")


def test_empty_manifest(manifest, config):
    assert "empty" in only(manifest("\n"), config)[2]


@pytest.mark.parametrize(
    ("folder", "kind"),
    [({"project": "my_project"}, "project"), ({"workflow": "My-Workflow"}, "workflow")],
)
def test_folder_names_must_be_kubernetes_safe(manifest, config, folder, kind):
    _, _, message = only(manifest(**folder), config)
    assert f"the {kind} folder name" in message


def test_environment_folder_must_match_the_stack(manifest, config):
    assert "belongs to test" in only(manifest(env="test"), config)[2]


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ('"0 5 * * MON-FRI"', CronSchedule("0 5 * * MON-FRI")),
        ("'@daily'", CronSchedule("@daily")),
        ("None", None),
        ("\n  hours: 1\n  minutes: 30", IntervalSchedule(5400)),
        ("\n  datasets: [s3://bucket/a, s3://bucket/b]", DatasetSchedule(("s3://bucket/a", "s3://bucket/b"))),
    ],
)
def test_schedules(manifest, config, schedule, expected):
    text = with_dag(f"schedule: {schedule}".replace("\n  ", "\n    "))
    assert model(manifest(text), config).dag.schedule == expected


@pytest.mark.parametrize("schedule", ["'0 25 * * *'", "'* * *'", "'@sometimes'", "'0 5 * * * * *'"])
def test_invalid_cron_and_presets(manifest, config, schedule):
    line, column, message = only(manifest(with_dag(f"schedule: {schedule}")), config)
    assert (line, column) == (4, 13)
    assert "cron expression" in message or "preset" in message


def test_interval_schedule_must_be_whole_positive_units(manifest, config):
    _, _, message = only(manifest(with_dag("schedule:\n  days: 1")), config)
    assert "seconds/minutes/hours" in message


def test_dates(manifest, config):
    assert "not a real date" in only(manifest(with_dag("start_date: '2025-02-30'")), config)[2]
    assert "YYYY-MM-DD" in only(manifest(with_dag("start_date: 01/02/2025")), config)[2]
    line, _, message = only(manifest(with_dag("start_date: 2025-05-01\nend_date: 2025-04-01")), config)
    assert line == 5
    assert "must be after dag.start_date 2025-05-01" in message


def test_unquoted_dates_are_accepted(manifest, config):
    assert model(manifest(with_dag("start_date: 2025-04-07")), config).dag.start_date == date(2025, 4, 7)


def test_timezones(manifest, config):
    workflow = model(manifest(with_dag("timezone: Europe/London")), config)
    assert workflow.dag.timezone == "Europe/London"
    assert "not a time zone" in only(manifest(with_dag("timezone: Europe/Londn")), config)[2]
    assert "not a time zone" in only(manifest(with_dag("timezone: ../../etc/passwd")), config)[2]


def test_compute_profiles(manifest, config):
    _, _, message = only(manifest(with_dag("compute_profile: general-spot-3vcpu-12gb")), config)
    assert "general-spot-4vcpu-16gb" in message  # says what is allowed


TASKS = """
tasks:
  a:
    dependencies: [b]
  b:
    dependencies: [c]
  c:
    dependencies: [a]
"""


def test_dependency_cycle(manifest, config):
    line, _, message = only(manifest(with_dag(TASKS)), config)
    assert line == 6
    assert message == "task dependencies form a cycle: a -> b -> c -> a"


def test_a_dependency_cycle_reads_in_the_direction_dependencies_are_written(manifest, config):
    """Each task in the message depends on the next one, as in its ``dependencies`` list (where the problem points)."""
    text = with_dag(
        "tasks:\n  a: {}\n  b:\n    dependencies: [a, c]\n  c:\n    dependencies: [d]\n  d:\n    dependencies: [b]"
    )
    line, _, message = only(manifest(text), config)
    assert line == 7  # b.dependencies
    assert message == "task dependencies form a cycle: b -> c -> d -> b"


def test_unknown_and_self_dependencies(manifest, config):
    text = with_dag("tasks:\n  a:\n    dependencies: [a, bb]\n  b: {}")
    found = problems(manifest(text), config)
    assert [(line, column) for line, column, _ in found] == [(6, 22), (6, 25)]
    assert "cannot depend on itself" in found[0][2]
    assert "'bb', which is not a task" in found[1][2]
    assert "did you mean 'b'" in found[1][2]


def test_task_settings_override_dag_settings(manifest, config):
    text = with_dag(
        "compute_profile: general-on-demand-4vcpu-16gb\nenv_vars:\n  A: dag\n  B: dag\n"
        "hmcts_sdp_networking: true\ntasks:\n  one:\n    env_vars:\n      B: task\n"
        "    compute_profile: gpu-spot-8vcpu-32gb\n    hmcts_sdp_networking: false\n  two: {}"
    )
    one, two = model(manifest(text), config).dag.tasks
    assert dict(one.env_vars) == {"A": "dag", "B": "task"}
    assert (one.compute_profile, one.hmcts_sdp_networking) == ("gpu-spot-8vcpu-32gb", False)
    assert dict(two.env_vars) == {"A": "dag", "B": "dag"}
    assert (two.compute_profile, two.hmcts_sdp_networking) == ("general-on-demand-4vcpu-16gb", True)


def test_env_values_keep_the_strings_the_running_service_gives_them(manifest, config):
    """Where YAML's reading still gives the text back as the running service's str() does, the value is kept
    (1.50 or no, which it would change, are refused: tests/workflows/manifest/test_rules.py)."""
    text = with_dag("env_vars:\n  A: true\n  B: 5\n  C: 1.5\n  D: False\n  E: '007'\n  F: null\n  G:\n  H: ~")
    env = model(manifest(text), config).dag.tasks[0].env_vars
    assert dict(env) == {
        "A": "True",
        "B": "5",
        "C": "1.5",
        "D": "False",
        "E": "007",
        "F": "None",
        "G": "None",
        "H": "None",
    }


def test_env_var_names(manifest, config):
    line, column, message = only(manifest(with_dag("env_vars:\n  9LIVES: x")), config)
    assert (line, column) == (5, 5)
    assert "not a valid name" in message


def test_jinja_outside_the_run_context_is_rejected(manifest, config):
    line, _, message = only(manifest(with_dag("env_vars:\n  X: '{{ var.value.other_teams_password }}'")), config)
    assert line == 5
    assert "var.value.other_teams_password" in message
    assert "allowed are" in message


def test_textract_requires_s3_read_only(manifest, config):
    line, column, message = only(manifest(MINIMAL + "iam:\n  textract: true\n"), config)
    assert (line, column) == (9, 3)
    assert "iam.s3_read_only" in message


@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [
        ("external_role", "arn:aws:iam::123456789012:user/bob", "IAM role ARN"),
        ("s3_read_only", "[arn:aws:s3:::bucket/x]", "not an ARN"),
        ("kms", "[alias/my-key]", "KMS key ARN"),
    ],
)
def test_iam_entries_have_the_right_shape(manifest, config, key, value, rule):
    assert rule in only(manifest(MINIMAL + f"iam:\n  {key}: {value}\n"), config)[2]


def test_external_role_with_generated_permissions_is_an_error(manifest, config):
    text = MINIMAL + "iam:\n  external_role: arn:aws:iam::123456789012:role/x\n  athena: read\n"
    assert "would have no effect" in only(manifest(text), config)[2]


def test_owner_and_business_unit(manifest, config):
    text = MINIMAL.replace("Platforms", "Finance").replace("justice.gov.uk", "example.com")
    messages = [m for _, _, m in problems(manifest(text), config)]
    assert len(messages) == 2
    assert any("allowed: Central Digital" in m for m in messages)
    assert any("@justice.gov.uk" in m for m in messages)


def test_duplicate_secrets_are_errors_but_repeated_paths_are_not(manifest, config):
    line, column, message = only(manifest(MINIMAL + "secrets: [a, api-key, b, api-key]\n"), config)
    assert (line, column) == (8, 26)  # at the repeat
    assert message == "secrets lists 'api-key' more than once (entries 2 and 4): remove the repeat"
    text = MINIMAL + "iam:\n  s3_read_only: [bkt/x/*, bkt/x/*]\n"
    assert model(manifest(text), config).iam.s3_read_only == ("bkt/x/*",)


def test_role_name_limit_names_the_alias_fix(manifest, config):
    path = manifest(project="a-rather-long-project-name", workflow="and-an-even-longer-workflow-name")
    _, _, message = only(path, config)
    assert "IAM role name" in message
    assert "over the limit of 64" in message
    assert "platform:projectAliases" in message


def test_project_alias_shortens_names(manifest, config):
    path = manifest(project="electronic-monitoring-data-store", workflow="load-g4s-atrium-unstructured-data")
    plan = load_workflow(path, config)
    assert plan.workflow.project == "electronic-monitoring-data-store"
    # Without the alias the role name would be 86 characters, over the limit of 64.
    assert plan.names.role == "airflow-development-emds-load-g4s-atrium-unstructured-data"
    assert plan.names.dag_id == "emds.load-g4s-atrium-unstructured-data"  # the alias applies to the DAG id too


def test_policy_size_limit(manifest, config):
    paths = "\n".join(f"    - bucket-{i:03d}/some/long/prefix/for/the/data/*" for i in range(120))
    _, _, message = only(manifest(MINIMAL + f"iam:\n  s3_read_write:\n{paths}\n"), config)
    assert "6144" in message


def test_python_dag_needs_its_dag_py(manifest, config):
    path = manifest(with_dag("python_dag: true"))
    line, _, message = only(path, config)
    assert line == 4
    assert str(path.parent / "dag.py") in message
    (path.parent / "dag.py").write_text("# dag\n")
    assert model(path, config).python_dag_source == "# dag\n"


def test_not_a_mapping(manifest, config):
    assert "must be a mapping" in only(manifest("- just\n- a list\n"), config)[2]


@pytest.mark.parametrize(
    ("uri", "rule"),
    [
        ("s3://bücket/data", "plain ASCII"),
        ("s3://bucket/my data", "plain ASCII"),
        ("bucket/data", "scheme"),
        ("s3://user:secret@bucket/data", "credentials"),
        ("airflow://dataset", "airflow://"),
        ("s3://bucket/data#part", "fragment"),
    ],
)
def test_dataset_uris_airflow_would_reject_or_change(manifest, config, uri, rule):
    line, column, message = only(manifest(with_dag(f"outlets: ['{uri}']")), config)
    assert (line, column) == (4, 13)
    assert rule in message


def test_dataset_uris_in_schedules_and_tasks_are_checked(manifest, config):
    text = with_dag("schedule:\n  datasets: ['s3://ok/a', 'nope']\ntasks:\n  a:\n    inlets: ['s3://x/a b']")
    assert [line for line, _, _ in problems(manifest(text), config)] == [5, 8]


def test_continuous_schedule_needs_one_active_run(manifest, config):
    line, _, message = only(manifest(with_dag("schedule: '@continuous'\nmax_active_runs: 2")), config)
    assert line == 5
    assert "max_active_runs: 1" in message
    assert model(manifest(with_dag("schedule: '@continuous'")), config).dag.schedule == CronSchedule("@continuous")


def test_a_tag_yaml_reads_as_a_number_must_be_quoted(manifest, config):
    text = MINIMAL.replace("tag: v1.0.0", "tag: 1.10")
    line, column, message = only(manifest(text), config)
    assert (line, column) == (3, 8)
    assert message.endswith('put the tag in quotes, as in tag: "1.10"')  # the text as written, not 1.1
    assert model(manifest(MINIMAL.replace("tag: v1.0.0", "tag: 7")), config).dag.tag == "7"


WILDCARD = (
    "a wildcard in the log group name would let the workflow read log groups it does not own, other teams' and "
    "the cluster's pod logs included: name one log group; only its streams may be wildcarded, as in "
    "log-group:<name>:*"
)
EXAMPLE = "arn:aws:logs:eu-west-2:123456789012:log-group:my-log-group (or …:log-group:my-log-group:* with its streams)"
NAME_RULE = (
    "a log group name is 1 to 512 letters, digits, '.', '-', '_', '/' and '#', optionally followed by ':*' for its "
    f"streams: write {EXAMPLE}"
)
ACCOUNT = "593291632749"


@pytest.mark.parametrize(
    ("arn", "rule"),
    [
        # A log group, with or without its streams: fine (the corpus's one entry is the second).
        (f"arn:aws:logs:eu-west-2:{ACCOUNT}:log-group:cloudtrail-athena-events", None),
        (f"arn:aws:logs:eu-west-2:{ACCOUNT}:log-group:cloudtrail-athena-events:*", None),
        (f"arn:aws:logs:eu-west-2:{ACCOUNT}:log-group:/aws/lambda/my-team_job.1#x", None),
        (f"arn:aws:logs:us-gov-west-1:{ACCOUNT}:log-group:g", None),
        # A wildcard anywhere in the name: every group, every group under '/', a prefix another team can match.
        *(
            (f"arn:aws:logs:eu-west-2:{ACCOUNT}:log-group:{name}", WILDCARD)
            for name in (
                "*",
                "*:*",
                "/*",
                "/*:*",
                "/aws/*",
                "/aws/containerinsights/*",
                "team-*",
                "my-team-*",
                "*-logs",
                "?x",
                "a?c",
                "a*c:*",
                "x:*:*",
            )
        ),
        # The region and the account have their shapes.
        (f"arn:aws:logs:*:{ACCOUNT}:log-group:g", f"'*' is not an AWS region (such as eu-west-2): write {EXAMPLE}"),
        (
            f"arn:aws:logs:eu-west:{ACCOUNT}:log-group:g",
            f"'eu-west' is not an AWS region (such as eu-west-2): write {EXAMPLE}",
        ),
        ("arn:aws:logs:eu-west-2:*:log-group:g", f"'*' is not an AWS account id (12 digits): write {EXAMPLE}"),
        (
            "arn:aws:logs:eu-west-2:59329163274:log-group:g",
            f"'59329163274' is not an AWS account id (12 digits): write {EXAMPLE}",
        ),
        # Not a log group name, or not a log group ARN at all.
        (f"arn:aws:logs:eu-west-2:{ACCOUNT}:log-group:", NAME_RULE),
        (f"arn:aws:logs:eu-west-2:{ACCOUNT}:log-group:a b", NAME_RULE),
        (f"arn:aws:logs:eu-west-2:{ACCOUNT}:log-group:g:log-stream:s", NAME_RULE),
        (f"arn:aws:logs:eu-west-2:{ACCOUNT}:log-group:{'g' * 513}", NAME_RULE),
        (f"arn:aws:logs:eu-west-2:{ACCOUNT}:destination:d", f"each entry must be a log-group ARN, as in {EXAMPLE}"),
    ],
)
def test_a_log_group_entry_names_one_log_group(manifest, config, arn, rule):
    path = manifest(MINIMAL + f"iam:\n  cloudwatch_logs_read_only: ['{arn}']\n")
    found = problems(path, config)
    if rule is None:
        assert found == []
    else:
        shown = repr(arn if len(arn) <= 80 else arn[:77] + "...")
        assert found == [(9, 31, f"{shown} is not a valid value for iam.cloudwatch_logs_read_only[0]: {rule}")]


def test_the_schema_pattern_is_the_validators():
    """Editors (the schema) and the validator (log_groups.py) accept exactly the same entries."""
    assert schema()["properties"]["iam"]["properties"]["cloudwatch_logs_read_only"]["items"]["pattern"] == PATTERN


def test_warnings_never_stop_the_stack(manifest, config):
    """load_all (what the program deploys) plans a manifest with warnings and hands each warning on."""
    warned = manifest(MINIMAL + "iam:\n  s3_read_only: [bucket-one, s3://bucket-two/x/*]\n", workflow="warned")
    clean = manifest(workflow="clean")
    heard = []
    plans = load_all([clean, warned], config, warn=heard.append)
    assert [plan.workflow.name for plan in plans] == ["clean", "warned"]
    assert [(p.path, p.line, p.severity) for p in heard] == [(warned, 9, "warning"), (warned, 9, "warning")]
    assert plans[1].workflow.iam.s3_read_only == ("bucket-one", "s3://bucket-two/x/*")  # as written
    assert load_all([warned], config) == plans[1:]  # no listener: the same plans


def test_errors_stop_the_stack_and_carry_no_warning(manifest, config):
    warned = manifest(MINIMAL + "iam:\n  s3_read_only: [bucket-one]\n", workflow="warned")
    bad = manifest(MINIMAL + "retires: 3\n", workflow="bad")
    with pytest.raises(ManifestError) as caught:
        load_all([warned, bad], config)
    assert [(p.path, p.severity) for p in caught.value.problems] == [(bad, "error")]


def test_check_workflow_returns_the_plan_with_its_warnings(manifest, config):
    path = manifest(MINIMAL + "iam:\n  s3_deny: [bucket-one/secret/]\n")
    plan, problems = check_workflow(path, config)
    assert plan is not None and plan.workflow.iam.s3_deny == ("bucket-one/secret/",)
    assert [(p.line, p.column, p.severity) for p in problems] == [(9, 13, "warning")]
    assert str(problems[0]).startswith(f"{path}:9:13: warning: iam.s3_deny[0]: 'bucket-one/secret/' matches only")


# --- symbolic links (workflows/manifest/discovery.py link_problem) ----------------------------------------


@pytest.mark.parametrize("where", ["manifest", "workflow-folder", "project-folder"])
def test_a_manifest_reached_through_a_link_is_never_read(tmp_path, config, where):
    outside = tmp_path / "outside" / "wf"
    outside.mkdir(parents=True)
    (outside / "workflow.yml").write_text(MINIMAL)
    project = tmp_path / "environments/development/proj"
    project.mkdir(parents=True)
    if where == "manifest":
        (project / "wf").mkdir()
        (project / "wf/workflow.yml").symlink_to(outside / "workflow.yml")
    elif where == "workflow-folder":
        (project / "wf").symlink_to(outside, target_is_directory=True)
    else:
        project.rmdir()
        project.symlink_to(tmp_path / "outside", target_is_directory=True)
    path = project / "wf/workflow.yml"
    plan, found = check_workflow(path, config)
    assert plan is None
    [(line, column, message)] = [(p.line, p.column, p.message) for p in found]
    assert (line, column) == (1, 1)
    assert "is a symbolic link" in message and "replace the link with the real file or folder" in message


def test_a_linked_dag_py_is_never_read(manifest, config, tmp_path):
    path = manifest(with_dag("python_dag: true"))
    secret = tmp_path / "id_rsa"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    (path.parent / "dag.py").symlink_to(secret)
    plan, found = check_workflow(path, config)
    assert plan is None
    assert [p.path.name for p in found] == ["dag.py"]
    assert "dag.py is a symbolic link" in found[0].message
    assert "BEGIN OPENSSH" not in found[0].message


# --- bounds (workflows/plan/limits.py): how much one manifest may hold --------------------------------------


def tasks_manifest(count: int, dependencies: int = 1, extra: str = "", missing: str = "missing-{i}-{j}") -> str:
    """MINIMAL with ``count`` tasks, each depending on ``dependencies`` tasks that do not exist."""
    lines = [
        f"    task-{i:05d}: {{dependencies: [{', '.join(missing.format(i=i, j=j) for j in range(dependencies))}]}}"
        for i in range(count)
    ]
    return with_dag("tasks:\n" + "\n".join(line[2:] for line in lines)) + extra


def test_the_bounds_are_generous():
    assert (limits.MANIFEST_SIZE_LIMIT, limits.TASK_LIMIT, limits.DEPENDENCY_LIMIT) == (262144, 500, 100)
    assert (limits.ENV_VAR_LIMIT, limits.LIST_LIMIT, limits.SUGGESTION_LIMIT) == (200, 500, 20)


def test_thousands_of_tasks_with_unknown_dependencies_are_refused_quickly(manifest, config):
    """The quadratic "did you mean" search (and the DAG Airflow could not parse) never starts: the bound
    is checked first, and alone. A 240 KB manifest (within the size bound) takes well under a second."""
    text = tasks_manifest(5000)
    assert 200_000 < len(text) < 262_144
    path = manifest(text)
    started = time.perf_counter()
    assert problems(path, config) == [
        (4, 3, "dag.tasks has 5,000 tasks, over the limit of 500: split the workflow into several workflows")
    ]
    assert time.perf_counter() - started < 1.5


def test_at_the_task_bound_unknown_dependencies_are_all_reported_but_few_get_a_suggestion(manifest, config):
    text = tasks_manifest(500, 4, missing="task-{i:05d}x{j}")  # every one close to a real name
    started = time.perf_counter()
    found = problems(manifest(text), config)
    assert time.perf_counter() - started < 1.5
    assert len(found) == 2000
    assert found[0][2] == "task 'task-00000' depends on 'task-00000x0', which is not a task of this workflow " + (
        "(did you mean 'task-00000'?)"
    )
    assert sum("did you mean" in message for _, _, message in found) == 20


def test_a_manifest_over_the_size_bound_is_not_even_parsed(manifest, config):
    path = manifest(MINIMAL + "#" + "x" * 262_144 + "\n")
    size = path.stat().st_size
    assert problems(path, config) == [
        (
            1,
            1,
            f"the manifest is {size:,} bytes, over the limit of 262,144 (256 KiB) for one workflow: "
            "split it into several workflows",
        )
    ]
    # Not even read: a file over the bound that is not text gets the bound, not a decoding error.
    path.write_bytes(b"\xff" * 300_000)
    assert problems(path, config)[0][2].startswith("the manifest is 300,000 bytes, over the limit of 262,144")
    path.write_text(MINIMAL + "#" + "x" * 262_144 + "\n")
    # The same text given directly (as diff reads a base revision) is refused the same way.
    _, found = check_workflow(path, config, text=path.read_text())
    assert [p.message for p in found] == [problems(path, config)[0][2]]


@pytest.mark.parametrize(
    ("extra", "where", "message"),
    [
        (
            with_dag("tasks:\n  main:\n    dependencies: [" + ", ".join(f"d{i}" for i in range(101)) + "]"),
            (6, 7),
            "dag.tasks.main.dependencies has 101 dependencies, over the limit of 100: list fewer",
        ),
        (
            with_dag("tasks:\n  main:\n    env_vars:\n" + "".join(f"      V{i}: x\n" for i in range(201))),
            (6, 7),
            "dag.tasks.main.env_vars has 201 entries, over the limit of 200: list fewer, or pass them in a file",
        ),
        (
            with_dag("env_vars:\n" + "".join(f"  V{i}: x\n" for i in range(201))),
            (4, 3),
            "dag.env_vars has 201 entries, over the limit of 200: list fewer, or pass them in a file or a secret",
        ),
        (
            MINIMAL + "iam:\n  s3_read_only:\n" + "".join(f"    - bucket/p{i}/*\n" for i in range(501)),
            (9, 3),
            "iam.s3_read_only has 501 entries, over the limit of 500: list fewer: a wildcard prefix "
            "('bucket/prefix/*') covers many",
        ),
        (
            MINIMAL + "secrets: [" + ", ".join(f"s{i}" for i in range(501)) + "]\n",
            (8, 1),
            "secrets has 501 entries, over the limit of 500: list fewer",
        ),
        (
            with_dag("outlets: [" + ", ".join(f"s3://b/{i}" for i in range(501)) + "]"),
            (4, 3),
            "dag.outlets has 501 datasets, over the limit of 500: list fewer",
        ),
    ],
)
def test_each_bound_has_a_clear_message(manifest, config, extra, where, message):
    assert problems(manifest(extra), config) == [(*where, message)]


def test_just_within_the_bounds_is_fine(manifest, config):
    deps = ", ".join(f"t{i}" for i in range(100))
    tasks = "".join(f"  t{i}: {{}}\n" for i in range(100)) + f"  main:\n    dependencies: [{deps}]\n"
    tasks += "    env_vars:\n" + "".join(f"      V{i}: x\n" for i in range(200))
    assert problems(manifest(with_dag("tasks:\n" + tasks)), config) == []


def test_the_stack_refuses_an_outlet_another_project_announces(manifest, config):
    """load_all (what the program deploys) reports it on both manifests, as it does name clashes."""
    theirs = manifest(with_dag("outlets: ['s3://bucket/data']"), project="team-a", workflow="produce")
    mine = manifest(with_dag("outlets: ['s3://bucket/data/']"), project="team-b", workflow="trigger")
    ours = manifest(with_dag("outlets: ['s3://bucket/data']"), project="team-a", workflow="also")
    with pytest.raises(ManifestError) as caught:
        load_all([theirs, mine, ours], config)
    assert sorted((p.path.parts[-3], p.message.split(", a workflow")[0]) for p in caught.value.problems) == [
        ("team-a", "outlet dataset 's3://bucket/data' is also announced by team-b/trigger"),
        ("team-a", "outlet dataset 's3://bucket/data' is also announced by team-b/trigger"),
        ("team-b", "outlet dataset 's3://bucket/data' is also announced by team-a/also, team-a/produce"),
    ]
    assert len(load_all([theirs, ours], config)) == 2  # one project: fine


def test_email_events_are_a_subset_of_failure_retry_success(manifest, config):
    text = MINIMAL + "notifications:\n  emails: [a@justice.gov.uk]\n  email_events: [success, retry]\n"
    assert model(manifest(text), config).notifications.email_events == ("success", "retry")
    line, column, message = only(manifest(MINIMAL + "notifications:\n  email_events: [sucess]\n"), config)
    assert (line, column) == (9, 18)
    assert "success" in message
    empty = manifest(MINIMAL + "notifications:\n  email_events: []\n")
    assert only(empty, config)[2] == "notifications.email_events must not be empty"


def test_an_env_var_a_secret_replaces_is_an_error_naming_both(manifest, config):
    text = with_dag("env_vars:\n  SECRET_API_KEY: x\ntasks:\n  main:\n    env_vars:\n      SECRET_DB_PASSWORD: y")
    found = problems(manifest(text + "secrets: [api-key, db-password]\n"), config)
    assert found == [
        (
            5,
            5,
            "dag.env_vars.SECRET_API_KEY is replaced by secret 'api-key', which every task gets as SECRET_API_KEY: "
            "rename the env var, or remove it and set the value in the secret",
        ),
        (
            9,
            9,
            "dag.tasks.main.env_vars.SECRET_DB_PASSWORD is replaced by secret 'db-password', which every task "
            "gets as SECRET_DB_PASSWORD: rename the env var, or remove it and set the value in the secret",
        ),
    ]
    assert problems(manifest(with_dag("env_vars:\n  SECRET_OTHER: x") + "secrets: [api-key]\n"), config) == []


def test_params_in_env_vars_must_be_declared(manifest, config):
    ok = with_dag("params:\n  run_name: a\nenv_vars:\n  A: '{{ params.run_name }}'\n  B: \"{{ params['run_name'] }}\"")
    assert problems(manifest(ok), config) == []
    text = with_dag(
        "params:\n  run_name: a\nenv_vars:\n  A: '{{ params.run_nme | upper }}'\n  B: \"{{ params['x'] }}\""
    )
    assert problems(manifest(text), config) == [
        (
            7,
            8,
            "dag.env_vars.A uses params.run_nme, which dag.params does not declare (dag.params has run_name): "
            "did you mean 'run_name'? add run_nme under dag.params or use one of its keys",
        ),
        (
            8,
            8,
            "dag.env_vars.B uses params.x, which dag.params does not declare (dag.params has run_name): "
            "add x under dag.params or use one of its keys",
        ),
    ]
    line, _, message = only(manifest(with_dag("tasks:\n  main:\n    env_vars:\n      A: '{{ params.x }}'")), config)
    assert line == 7
    assert "dag.params is not set" in message


def test_a_value_that_differs_only_in_case_suggests_the_allowed_one(manifest, config):
    _, _, message = only(manifest(MINIMAL.replace("Platforms", "hmpps")), config)
    assert message.startswith("'hmpps' is not allowed for tags.business_unit; did you mean 'HMPPS'? (allowed: ")
    assert "Central Digital" in message  # a short list is still given in full


@pytest.mark.parametrize(
    ("written", "suggested"),
    [
        ("general-spot-2vcpu-4gb", "did you mean 'general-spot-1vcpu-4gb' or 'general-spot-2vcpu-8gb'?"),
        ("gpu-on-demand-8vcpu-64gb", "did you mean 'gpu-on-demand-8vcpu-32gb' or 'gpu-on-demand-16vcpu-64gb'?"),
        # The user guide's profile: no such family, so the same size in every family.
        (
            "cpu-spot-2vcpu-8gb",
            "did you mean 'general-spot-2vcpu-8gb', 'general-on-demand-2vcpu-8gb', 'gpu-spot-2vcpu-8gb' or "
            "'gpu-on-demand-2vcpu-8gb'?",
        ),
        ("General-Spot-4vcpu-16gb", "did you mean 'general-spot-4vcpu-16gb'?"),
    ],
)
def test_a_near_miss_profile_suggests_the_nearest_not_all_36(manifest, config, written, suggested):
    _, _, message = only(manifest(with_dag(f"compute_profile: {written}")), config)
    assert message == (
        f"'{written}' is not allowed for dag.compute_profile; {suggested} "
        "(the 36 allowed values are listed under compute_profile in docs/workflow-reference.md)"
    )


def kinds(path: Path, config) -> list[tuple[str, str, str]]:
    """(code, key path, severity) of every problem of a manifest."""
    return [(p.code, p.key, p.severity) for p in refused(path, config)]


def test_each_problem_has_a_stable_code_and_the_key_path_it_points_at(manifest, config):
    path = manifest(
        with_dag(
            "retires: 3\nschedule: '61 * * * *'\ncompute_profile: huge\n"
            "tasks:\n  extract:\n    env_vars:\n      ZIP: '{{ params.missing }}'"
        )
    )
    assert kinds(path, config) == [
        ("unknown-key", "dag.retires", "error"),
        ("invalid-cron", "dag.schedule", "error"),
        ("not-allowed", "dag.compute_profile", "error"),
        ("unknown-param", "dag.tasks.extract.env_vars.ZIP", "error"),
    ]


def test_yaml_syntax_errors_have_their_code(manifest, config):
    assert kinds(manifest("dag: [unclosed\n"), config) == [("yaml-syntax", "", "error")]
