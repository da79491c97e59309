"""workflows.dagrender without Airflow: the source it writes, and python_dag placeholders.

(tests/test_airflow_dags.py loads the same output in Airflow.)
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import json
import re
import sys
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflows import dagrender
from workflows.config import StackConfig
from workflows.errors import ManifestError
from workflows.model import (
    CronSchedule,
    Dag,
    DatasetSchedule,
    IntervalSchedule,
    Notifications,
    Task,
    Workflow,
    frozen_map,
)
from workflows.plan.naming import names_for

REPO = Path(__file__).resolve().parents[2]
TEXT = st.text(st.characters(exclude_categories=("Cs",)))  # YAML cannot hold lone surrogates


def make(**fields: Any) -> Workflow:
    dag_fields = {f.name for f in dataclasses.fields(Dag)}
    dag = Dag(
        repository=fields.pop("repository", "moj-analytical-services/Demo_Repo"),
        tag=fields.pop("tag", "v1.0.0"),
        tasks=tuple(fields.pop("tasks", (Task("main"),))),
        **{k: fields.pop(k) for k in list(fields) if k in dag_fields},
    )
    project = fields.pop("project", "demo")
    name = fields.pop("name", "job")
    return Workflow(
        path=Path("/repo/environments/development") / project / name / "workflow.yml",
        environment="development",
        project=project,
        name=name,
        dag=dag,
        maintainers=("octo-analyst",),
        business_unit="Platforms",
        owner=fields.pop("owner", "someone@justice.gov.uk"),
        **fields,
    )


def rich(**changes: Any) -> Workflow:
    """A workflow using every optional feature, so every generated construct appears."""
    fields: dict[str, Any] = {
        "tasks": (
            Task("first", env_vars=frozen_map({"A": "1", "B": "2", "C": "3"}), inlets=("s3://b/in",)),
            Task("second", "gpu-spot-4vcpu-16gb", dependencies=("first",), hmcts_sdp_networking=True),
            Task("third", dependencies=("first", "second"), outlets=("s3://b/out",)),
        ),
        "schedule": DatasetSchedule(("s3://b/in",)),
        "end_date": date(2026, 1, 1),
        "params": frozen_map({"p": "v"}),
        "secrets": ("api-key",),
        "notifications": Notifications(("a@justice.gov.uk",), "alerts", ("failure", "success")),
    }
    return make(**(fields | changes))


def call_kwargs(source: str, func: str) -> list[dict[str, ast.expr]]:
    """Keyword arguments of every call of ``func`` in ``source``."""
    return [
        {k.arg: k.value for k in node.keywords if k.arg}
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and ast.unparse(node.func) == func
    ]


def vocabulary(source: str) -> set[str]:
    """Every name, attribute, keyword, import and statement kind in the code: what a value must not add to."""
    words: set[str] = set()
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            words.add(f"name:{node.id}")
        elif isinstance(node, ast.Attribute):
            words.add(f"attr:{node.attr}")
        elif isinstance(node, ast.keyword):
            words.add(f"kw:{node.arg}")
        elif isinstance(node, ast.alias):
            words.add(f"import:{node.name}")
        elif isinstance(node, ast.Constant):
            assert node.value is None or isinstance(node.value, str | int | bool), node.value
        elif isinstance(node, ast.stmt):
            words.add(f"stmt:{type(node).__name__}")
    return words


# --------------------------------------------------------------------------- generated source


def test_render_is_deterministic(config: StackConfig) -> None:
    first = dagrender.render_dag(rich(), config)
    assert dagrender.render_dag(rich(), config) == first
    reordered = rich(params=frozen_map({"p": "v"}), secrets=("api-key",))
    assert dagrender.render_dag(reordered, config) == first


def test_header_names_the_manifest_and_says_do_not_edit(config: StackConfig) -> None:
    lines = dagrender.render_dag(make(), config).splitlines()
    assert lines[0] == "# Generated from environments/development/demo/job/workflow.yml — do not edit."
    assert all(line.startswith("#") for line in lines[:3])


def test_folder_names_cannot_break_out_of_the_header_comment(config: StackConfig) -> None:
    source = dagrender.render_dag(make(project="x\nimport os\r\u2028#", name='y"""\x00'), config)
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
    source = dagrender.render_dag(workflow, config)
    assert vocabulary(source) <= vocabulary(dagrender.render_dag(rich(), config))
    [task] = call_kwargs(source, "AnalyticalPlatformStandardOperator")
    assert ast.literal_eval(task["env_vars"]) == dagrender.dag_env_vars(workflow, workflow.dag.tasks[0])
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
    source = dagrender.render_dag(workflow, config)
    assert vocabulary(source) <= vocabulary(dagrender.render_dag(rich(), config))
    first = call_kwargs(source, "AnalyticalPlatformStandardOperator")[0]
    expected = dagrender.dag_env_vars(workflow, task)
    assert (ast.literal_eval(first["env_vars"]) if "env_vars" in first else {}) == expected
    assert ast.literal_eval(first["task_id"]) == task.name


def test_environment_precedence(config: StackConfig) -> None:
    task = Task(
        "main",
        env_vars=frozen_map({"AWS_DEFAULT_REGION": "eu-west-2", "PARAM_P": "manifest wins", "SECRET_API_KEY": "x"}),
    )
    workflow = make(tasks=(task,), params=frozen_map({"p": "v", "run_date": ""}), secrets=("api-key",))
    env = dagrender.task_environment(workflow, task, config)
    assert list(env)[: len(config.task_env)] == list(config.task_env)  # platform defaults first
    assert env["AIRFLOW_ENVIRONMENT"] == "DEVELOPMENT"
    assert env["AIRFLOW_RUN_ID"] == "{{ run_id }}"
    assert env["AIRFLOW_TIMESTAMP"] == "{{ ts }}"
    assert env["AWS_DEFAULT_REGION"] == "eu-west-2"  # the manifest overrides a platform default
    assert env["PARAM_P"] == "manifest wins"  # and a param's variable
    assert env["PARAM_RUN_DATE"] == "{{ params['run_date'] }}"
    assert "SECRET_API_KEY" not in env  # the secret fills it; nothing overrides a secret
    assert dagrender.task_secrets(workflow, config) == {"SECRET_API_KEY": "demo-job-api-key"}


@settings(max_examples=200, deadline=None)
@given(key=TEXT, value=TEXT)
def test_param_template_means_exactly_its_key(key: str, value: str) -> None:
    template = dagrender.param_template(key)
    assert re.fullmatch(r"\{\{ params\['[A-Za-z0-9_\\]*'\] \}\}", template)
    rendered = jinja2.Environment(keep_trailing_newline=True).from_string(template).render(params={key: value})
    assert rendered == value


def test_timezone_aware_start_and_end(config: StackConfig) -> None:
    workflow = make(
        timezone="Europe/London",
        start_date=date(2025, 3, 24),
        end_date=date(2025, 12, 31),
        schedule=CronSchedule("0 8 * * *"),
    )
    [dag] = call_kwargs(dagrender.render_dag(workflow, config), "DAG")
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
    [dag] = call_kwargs(dagrender.render_dag(make(schedule=schedule), config), "DAG")
    assert ast.unparse(dag["schedule"]) == code


def test_dag_and_task_settings(config: StackConfig) -> None:
    workflow = rich(
        catchup=True, depends_on_past=True, is_paused_upon_creation=True, max_active_runs=3, retries=2, retry_delay=90
    )
    source = dagrender.render_dag(workflow, config)
    [dag] = call_kwargs(source, "DAG")
    assert ast.literal_eval(dag["dag_id"]) == "demo.job"
    assert [ast.literal_eval(dag[k]) for k in ("catchup", "max_active_runs", "is_paused_upon_creation")] == [
        True,
        3,
        True,
    ]
    assert ast.unparse(dag["on_success_callback"]) == "[notifications.dag_success('alerts')]"
    assert "retry_delay': datetime.timedelta(seconds=90)" in ast.unparse(dag["default_args"])
    assert "'on_failure_callback': [notifications.task_failure('alerts')]" in ast.unparse(dag["default_args"])
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
    [dag] = call_kwargs(dagrender.render_dag(only_failure, config), "DAG")
    assert "on_success_callback" not in dag
    assert "'email_on_failure': False" in ast.unparse(dag["default_args"])
    quiet = dagrender.render_dag(rich(notifications=Notifications()), config)
    assert "notifications" not in quiet.split("with DAG")[0]
    assert "callback" not in quiet


def test_pre_import_hints(config: StackConfig) -> None:
    """Airflow's DAG processor imports the airflow.* modules a file names once, before forking a parser
    per file; without these lines every parse re-imports the Kubernetes provider (about 0.7 s)."""

    def airflow_imports(source: str) -> set[str]:
        return {a.name for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Import) for a in n.names}

    assert airflow_imports(dagrender.render_dag(rich(), config)) == {
        "datetime",
        "pendulum",
        "airflow.providers.cncf.kubernetes.operators.pod",
        "airflow.providers.slack.notifications.slack",
    }
    assert "airflow.providers.slack.notifications.slack" not in airflow_imports(dagrender.render_dag(make(), config))
    own = dagrender.render_dag(python_workflow(), config)
    assert "airflow.providers.cncf.kubernetes.operators.pod" in airflow_imports(own)


def test_image_path() -> None:
    assert dagrender.repository_name("Moj_Analytical-Services/My_Repo") == "moj-analytical-services/my-repo"


# --------------------------------------------------------------------------- python_dag

PYTHON_DAG = '''\
"""PLACEHOLDER_PROJECT docstring."""
from airflow.models import DAG  # PLACEHOLDER_OWNER
NAME = "PLACEHOLDER_REPOSITORY_NAME"
TAG = 'PLACEHOLDER_REPOSITORY_TAG'
TRIPLE = """PLACEHOLDER_REPOSITORY_TAG"""
F = f"{NAME}:PLACEHOLDER_REPOSITORY_TAG"
B = b"PLACEHOLDER_OWNER"
OWNER = "PLACEHOLDER_OWNER"
ENV = "PLACEHOLDER_ENVIRONMENT"
IDS = "PLACEHOLDER_PROJECT.PLACEHOLDER_WORKFLOW"
PLACEHOLDER_PROJECT = "an identifier is left alone"
LONGER = "PLACEHOLDER_PROJECTS"
'''


def module_strings(source: str) -> dict[str, Any]:
    values = {}
    for node in ast.parse(source).body:
        named = isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
        if named and not isinstance(node.value, ast.JoinedStr):
            values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


def python_workflow(source: str | None = PYTHON_DAG, **changes: Any) -> Workflow:
    return make(python_dag=True, python_dag_source=source, **changes)


def test_python_dag_placeholders_are_filled_in_strings_and_comments(config: StackConfig) -> None:
    tag = "v1\"'\\\n{x}"
    workflow = python_workflow(tag=tag, owner="o'brien@justice.gov.uk", repository="Org_Name/Repo_X")
    rendered = dagrender.render_dag(workflow, config)
    values = module_strings(rendered)
    assert values["NAME"] == "org-name/repo-x"
    assert values["TAG"] == values["TRIPLE"] == tag
    assert values["OWNER"] == "o'brien@justice.gov.uk"
    assert values["B"] == b"o'brien@justice.gov.uk"
    assert values["ENV"] == "development"
    assert values["IDS"] == "demo.job"
    assert values["PLACEHOLDER_PROJECT"] == "an identifier is left alone"
    assert values["LONGER"] == "PLACEHOLDER_PROJECTS"
    assert ast.get_docstring(ast.parse(rendered)) == "demo docstring."
    f_string = next(
        n.value for n in ast.parse(rendered).body if isinstance(n, ast.Assign) and ast.unparse(n).startswith("F =")
    )
    assert isinstance(f_string, ast.JoinedStr)
    assert f_string.values[-1].value == ":" + tag  # braces doubled inside the f-string
    assert "from airflow.models import DAG  # o'brien@justice.gov.uk\n" in rendered
    # Line numbers are kept (tracebacks point at the author's lines); the note goes at the end.
    original = PYTHON_DAG.splitlines()
    lines = rendered.splitlines()
    assert [a for a in original if "PLACEHOLDER_" not in a] == [
        b for a, b in zip(original, lines, strict=False) if "PLACEHOLDER_" not in a
    ]
    assert lines[len(original)].startswith("# Deployed from environments/development/demo/job/dag.py")
    assert lines[-1] == "import airflow.providers.cncf.kubernetes.operators.pod"  # see test_pre_import_hints
    assert dagrender.render_dag(workflow, config) == rendered


def test_python_dag_refuses_a_value_that_would_become_code(config: StackConfig) -> None:
    source = "X = f\"{'PLACEHOLDER_REPOSITORY_TAG'}\"\n"
    with pytest.raises(ManifestError, match="would change the code"):
        dagrender.render_dag(python_workflow(source, tag="' + str(__import__('os').getpid()) + '"), config)
    with pytest.raises(ManifestError, match="not valid Python once its placeholders are filled in"):
        dagrender.render_dag(python_workflow(source, tag="it's"), config)


def test_python_dag_raw_string_that_cannot_hold_the_value(config: StackConfig) -> None:
    with pytest.raises(ManifestError, match="raw string") as caught:
        dagrender.render_dag(python_workflow('\n\nX = r"PLACEHOLDER_REPOSITORY_TAG"\n', tag='a"b'), config)
    assert caught.value.first.line == 3
    assert dagrender.render_dag(python_workflow('X = r"PLACEHOLDER_REPOSITORY_TAG"\n', tag="v1"), config).startswith(
        'X = r"v1"\n'
    )


def test_python_dag_problems_name_the_dag_file(config: StackConfig) -> None:
    with pytest.raises(ManifestError, match=r"dag\.py is missing") as missing:
        dagrender.render_dag(python_workflow(None), config)
    assert missing.value.first.path == Path("/repo/environments/development/demo/job/dag.py")
    with pytest.raises(ManifestError, match="not valid Python") as broken:
        dagrender.render_dag(python_workflow("x = 1\ndef broken(:\n"), config)
    assert broken.value.first.line == 2


# --------------------------------------------------------------------------- runtime files


def test_runtime_files(config: StackConfig) -> None:
    files = dagrender.runtime_files(config)
    assert list(files) == sorted(files)
    assert {
        ".airflowignore",
        "analytical_platform/__init__.py",
        "analytical_platform/compute_profiles.py",
        "analytical_platform/notifications.py",
        "analytical_platform/platform.json",
        "analytical_platform/pod_spec.py",
        "analytical_platform/settings.py",
        "analytical_platform/standard_operator.py",
    } <= set(files)
    assert not any("__pycache__" in path or path.endswith(".pyc") for path in files)
    mwaa = REPO / "mwaa" / "analytical_platform"
    assert files["analytical_platform/compute_profiles.py"] == (mwaa / "compute_profiles.py").read_text()
    assert json.loads(files["analytical_platform/platform.json"]) == dagrender.platform_settings(config)
    assert dagrender.runtime_files(config) == files


def test_airflowignore_skips_the_runtime_package_only(config: StackConfig) -> None:
    lines = dagrender.runtime_files(config)[".airflowignore"].splitlines()
    patterns = [re.compile(re.sub(r"\s*#.*", "", line)) for line in lines if re.sub(r"\s*#.*", "", line)]

    def ignored(path: str) -> bool:
        return any(p.search(path) for p in patterns)

    assert ignored("analytical_platform") and ignored("analytical_platform/standard_operator.py")
    assert not ignored("analytical-platform/example.py")
    assert not ignored("demo/analytical_platform-like.py")


def test_platform_json_reflects_the_stack_config(config: StackConfig) -> None:
    settings_ = dagrender.platform_settings(config)
    assert settings_["namespace"] == "mwaa"
    assert settings_["kubernetes"] == {
        "config_file": config.kubernetes.config_file,
        "cluster_context": config.kubernetes.cluster_context,
        "conn_id": None,
    }
    assert settings_["task_env"]["AIRFLOW_ENVIRONMENT"] == "DEVELOPMENT"
    assert settings_["task_env"]["AIRFLOW_RUN_ID"] == "{{ run_id }}"
    assert settings_["hmcts_sdp_networking"]["host_aliases"] == [
        {"ip": a.ip, "hostnames": list(a.hostnames)} for a in config.hmcts_sdp_networking.host_aliases
    ]
    assert settings_["project_aliases"] == dict(config.project_aliases)


def _runtime_settings_module():
    spec = importlib.util.spec_from_file_location(
        "_ap_settings_under_test", REPO / "mwaa" / "analytical_platform" / "settings.py"
    )
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.mark.parametrize("project", ["demo", "electronic-monitoring-data-store"])
def test_runtime_names_agree_with_the_stack(config: StackConfig, project: str) -> None:
    """The operator derives service account and labels from platform.json as naming.py does."""
    platform = _runtime_settings_module().from_mapping(json.loads(json.dumps(dagrender.platform_settings(config))))
    workflow = make(project=project)
    names = names_for(workflow, config)
    assert platform.service_account(project, "job") == names.service_account
    assert platform.labels("development", project, "job") == names.labels
    assert dict(platform.task_env) == dagrender.platform_task_env(config)
