"""No manifest value becomes code: generated DAG sources, with arbitrary strings in every value.

Env values, params and task names (and dataset URIs) are generated from arbitrary
text and from fragments chosen to break quoting: quotes of every kind, triple
quotes, backslashes, newlines, braces, ``%``, unicode line separators, a BOM.
For each, the rendered DAG source must compile, every value must come back byte
for byte from the source's literals (read with :mod:`ast`, never executed), and
the program must be the same program as for harmless values: blank every string
constant of both and the syntax trees are identical, so no value added code.

Through model objects anything goes; through YAML manifests, what the schema
allows (task names ``[A-Za-z0-9_-]+``; env values without Jinja, which the
allow-list checks separately). A small fixed sample also runs in the real Airflow
(the harness of tests/test_airflow_dags.py): the values reach the pod unchanged.
"""

from __future__ import annotations

import ast
import copy
import random
import re
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jinja2 import Environment, nodes

from tests.airflow_harness.client import HarnessError, dags_folder_files, run_harness, write_folder
from tests.conftest import MINIMAL
from workflows.config import StackConfig
from workflows.dags.generate import render_dag
from workflows.errors import ManifestError
from workflows.model import Dag, DatasetSchedule, Task, Workflow, frozen_map
from workflows.plan.naming import derive, param_env_var
from workflows.validate import load_workflow

FRAGMENTS = [
    *("'", '"', "'''", '"""', "\\", "\\'", '\\"', "\\\\", "\n", "\r", "\r\n", "\t", "\x00", "\x0b", "\x0c"),
    *("\x1b[31m", "\x7f", "\x85", "\u2028", "\u2029", "\ufeff", "\u202e", "\u00a0", "é", "ß", "漢字", "😀"),
    *("\U0010ffff", "{", "}", "{x}", "{0}", "}}", "%", "%s", "%(x)s", "%%", "$", "${X}", "$(id)", "`id`", "#"),
    *("# comment", "import os", "__import__('os').system('id')", "')", '")', "'); x = ('", '"); x = ("'),
    *("\\n", "\\x00", "\\u0041", "\\N{DASH}", "f'{x}'", "b'x'", "r'\\'", "' + x + '", ")", "(", "]", "[", ":"),
    *("None", "True", "null", "~", "yes", "- a", "? b", "&a", "*a", "!!python/object", "<<", "---", "..."),
]
NASTY = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), max_size=8).map("".join)
ANY_TEXT = st.one_of(NASTY, st.text(max_size=40))
_JINJA = re.compile(r"\{(?=[{%#])")


def without_jinja(text: str) -> str:
    """``text`` with every Jinja opener broken apart (``{{`` → ``{ {``): no template, same nastiness."""
    return _JINJA.sub("{ ", text)


PROFILE = settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


# --------------------------------------------------------------------------- reading a generated DAG


def literal(node: ast.AST) -> Any:
    return ast.literal_eval(node)


def read_dag(source: str) -> dict[str, Any]:
    """What a generated DAG declares, read from its syntax tree (never executed)."""
    tree = ast.parse(source)
    assert not any(isinstance(n, ast.JoinedStr) for n in ast.walk(tree)), "f-strings in generated code"
    found: dict[str, Any] = {"tasks": {}, "edges": set(), "datasets": []}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            keywords = {k.arg: k.value for k in node.keywords}
            if node.func.id == "DAG":
                found["dag_id"] = literal(keywords["dag_id"])
                found["params"] = literal(keywords["params"]) if "params" in keywords else {}
            elif node.func.id == "AnalyticalPlatformStandardOperator":
                task_id = literal(keywords["task_id"])
                assert task_id not in found["tasks"]
                found["tasks"][task_id] = {
                    "name": literal(keywords["name"]),
                    "env_vars": literal(keywords["env_vars"]) if "env_vars" in keywords else {},
                    "inlets": [literal(c.args[0]) for c in getattr(keywords.get("inlets"), "elts", [])],
                    "outlets": [literal(c.args[0]) for c in getattr(keywords.get("outlets"), "elts", [])],
                }
            elif node.func.id == "Dataset":
                found["datasets"].append(literal(node.args[0]))
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript):
            target = node.targets[0]
            assert isinstance(target.value, ast.Name) and target.value.id == "tasks"
            call = node.value
            assert isinstance(call, ast.Call)
            task_id = next(k.value for k in call.keywords if k.arg == "task_id")
            assert literal(target.slice) == literal(task_id), "tasks[...] holds another task"
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.RShift):
            upstream = node.left.elts if isinstance(node.left, ast.List) else [node.left]
            for up in upstream:
                found["edges"].add((literal(up.slice), literal(node.right.slice)))
    return found


class _Blank(ast.NodeTransformer):
    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        return ast.Constant("") if isinstance(node.value, str) else node


def shape(source: str) -> str:
    """The program with every string constant blanked: what code it is, whatever its strings hold."""
    return ast.dump(_Blank().visit(ast.parse(source)))


def param_key_of(template: str) -> str:
    """The key of ``{{ params[<key>] }}``, as Jinja (not our code) reads it."""
    (output,) = Environment().parse(template).body
    (expression,) = output.nodes
    assert isinstance(expression, nodes.Getitem)
    assert isinstance(expression.node, nodes.Name) and expression.node.name == "params"
    assert isinstance(expression.arg, nodes.Const)
    return expression.arg.value


def check_round_trip(workflow: Workflow, source: str) -> None:
    compile(source, "dag.py", "exec", dont_inherit=True)
    got = read_dag(source)
    assert got["params"] == dict(workflow.dag.params)
    assert list(got["tasks"]) == [t.name for t in workflow.dag.tasks]
    for task in workflow.dag.tasks:
        declared = got["tasks"][task.name]
        params = {f"PARAM_{k.upper()}": k for k in workflow.dag.params}
        assert declared["env_vars"].keys() == params.keys() | task.env_vars.keys()
        for name, value in declared["env_vars"].items():
            if name in task.env_vars:  # the task's own value wins over a param's
                assert value == task.env_vars[name]
            else:
                assert param_key_of(value) == params[name]
        assert declared["name"] == f"{workflow.name}-{task.name}"
        assert declared["inlets"] == list(task.inlets)
        assert declared["outlets"] == list(task.outlets)
    assert got["edges"] == {(up, t.name) for t in workflow.dag.tasks for up in t.dependencies}


# --------------------------------------------------------------------------- model objects: anything


def render(workflow: Workflow, config: StackConfig) -> str:
    return render_dag(workflow, derive(workflow, config))


def make_workflow(tasks: list[Task], params: Mapping[str, str], schedule: Any = None) -> Workflow:
    return Workflow(
        path=Path("/repo/environments/development/demo/job/workflow.yml"),
        environment="development",
        project="demo",
        name="job",
        dag=Dag(
            repository="moj-analytical-services/example",
            tag="v1.0.0",
            tasks=tuple(tasks),
            params=frozen_map(params),
            schedule=schedule,
        ),
        maintainers=("octo-analyst",),
        business_unit="Platforms",
        owner="someone@justice.gov.uk",
    )


@st.composite
def nasty_workflows(draw: st.DrawFn, names: st.SearchStrategy[str] = ANY_TEXT) -> Workflow:
    task_names = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    tasks = []
    for index, name in enumerate(task_names):
        earlier = task_names[:index]
        tasks.append(
            Task(
                name=name,
                env_vars=frozen_map(draw(st.dictionaries(ANY_TEXT, ANY_TEXT, max_size=3))),
                dependencies=tuple(draw(st.lists(st.sampled_from(earlier), unique=True))) if earlier else (),
                inlets=tuple(draw(st.lists(ANY_TEXT.filter(bool), max_size=2, unique=True))),
                outlets=tuple(draw(st.lists(ANY_TEXT.filter(bool), max_size=1, unique=True))),
            )
        )
    params = draw(st.dictionaries(ANY_TEXT, ANY_TEXT, max_size=3))
    uris = draw(st.lists(ANY_TEXT.filter(bool), max_size=2, unique=True))
    return make_workflow(tasks, params, DatasetSchedule(tuple(uris)) if uris else None)


def harmless_twin(workflow: Workflow) -> Workflow:
    """The same workflow with every string it was given replaced, one to one, by a harmless one."""
    mapping: dict[str, str] = {}

    def safe(text: str) -> str:
        return mapping.setdefault(text, f"v{len(mapping)}")

    tasks = [
        Task(
            name=safe(t.name),
            env_vars=frozen_map({safe(k): safe(v) for k, v in t.env_vars.items()}),
            dependencies=tuple(safe(d) for d in t.dependencies),
            inlets=tuple(safe(u) for u in t.inlets),
            outlets=tuple(safe(u) for u in t.outlets),
        )
        for t in workflow.dag.tasks
    ]
    params = {safe(k): safe(v) for k, v in workflow.dag.params.items()}
    schedule = workflow.dag.schedule
    if isinstance(schedule, DatasetSchedule):
        schedule = DatasetSchedule(tuple(safe(u) for u in schedule.uris))
    return make_workflow(tasks, params, schedule)


@PROFILE
@given(workflow=nasty_workflows())
def test_any_string_in_a_model_round_trips_and_adds_no_code(config: StackConfig, workflow: Workflow) -> None:
    # Collisions of PARAM_<KEY> among themselves or with an env var are a validation matter (tested there);
    # without them, the harmless twin has exactly as many entries.
    variables = [f"PARAM_{k.upper()}" for k in workflow.dag.params]
    assume(len(set(variables)) == len(variables))
    assume(not any(set(variables) & t.env_vars.keys() for t in workflow.dag.tasks))
    source = render(workflow, config)
    check_round_trip(workflow, source)
    if isinstance(workflow.dag.schedule, DatasetSchedule):
        uris = read_dag(source)["datasets"]
        assert all(uri in uris for uri in workflow.dag.schedule.uris)
    assert shape(source) == shape(render(harmless_twin(workflow), config))


# --------------------------------------------------------------------------- manifests: what the schema allows

TASK_NAMES = st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True)
VARIABLE_NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True)
VALUES = ANY_TEXT.map(without_jinja)


@st.composite
def manifests(draw: st.DrawFn) -> dict[str, Any]:
    task_names = draw(st.lists(TASK_NAMES, min_size=1, max_size=3, unique=True))
    tasks: dict[str, Any] = {}
    for index, name in enumerate(task_names):
        spec: dict[str, Any] = {"env_vars": draw(st.dictionaries(VARIABLE_NAMES, VALUES, max_size=3))}
        if index:
            spec["dependencies"] = draw(st.lists(st.sampled_from(task_names[:index]), unique=True))
        tasks[name] = spec
    params = draw(st.dictionaries(VARIABLE_NAMES, VALUES, max_size=3))
    upper = [k.upper() for k in params]
    assume(len(set(upper)) == len(upper))
    dag = {
        "repository": "moj-analytical-services/example",
        "tag": "v1.0.0",
        "env_vars": draw(st.dictionaries(VARIABLE_NAMES, VALUES, max_size=3)),
        "params": params,
        "tasks": tasks,
    }
    return {
        "dag": dag,
        "maintainers": ["octo-analyst"],
        "tags": {"business_unit": "Platforms", "owner": "someone@justice.gov.uk"},
    }


def write_manifest(root: Path, document: dict[str, Any], project: str = "demo", workflow: str = "job") -> Path:
    path = root / "environments" / "development" / project / workflow / "workflow.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    # Non-ASCII escaped: PyYAML's emitter writes NEL (U+0085) raw in a quoted scalar, where YAML reads it as a
    # line break (and folds it), so its unescaped output does not round-trip; an escape always does.
    path.write_text(yaml.safe_dump(document, allow_unicode=False, sort_keys=False), encoding="utf-8")
    return path


@PROFILE
@given(document=manifests())
def test_any_allowed_manifest_value_round_trips(config: StackConfig, tmp_path: Path, document: dict[str, Any]) -> None:
    declared = load_workflow(write_manifest(tmp_path, document), config)
    workflow = declared.workflow
    dag = document["dag"]
    # What the manifest says, byte for byte, in the model ...
    assert dict(workflow.dag.params) == dag["params"]
    for task in workflow.dag.tasks:
        assert dict(task.env_vars) == dag["env_vars"] | dag["tasks"][task.name]["env_vars"]
    assert [t.name for t in workflow.dag.tasks] == list(dag["tasks"])
    # ... and in the DAG source the stack deploys.
    check_round_trip(workflow, declared.dag_source)


def test_names_are_kept_as_written(manifest, config: StackConfig) -> None:
    """YAML 1.1 would turn a task called ``on`` into "True" and ``0x1F`` into "31": names are names."""
    text = MINIMAL.replace(
        "tag: v1.0.0",
        textwrap.indent(
            "tag: v1.0.0\nenv_vars: {ON: a, No: b, NULL: c, Y: d}\nparams: {off: e}\n"
            "tasks:\n  on: {}\n  no: {dependencies: ['on']}\n  null: {}\n  0x1F: {}\n  1_000: {}\n  True: {}\n",
            "  ",
        ).lstrip(),
    )
    declared = load_workflow(manifest(text), config)
    workflow = declared.workflow
    assert [t.name for t in workflow.dag.tasks] == ["on", "no", "null", "0x1F", "1_000", "True"]
    assert dict(workflow.dag.tasks[0].env_vars) == {"ON": "a", "No": "b", "NULL": "c", "Y": "d"}
    assert dict(workflow.dag.params) == {"off": "e"}
    assert workflow.dag.tasks[1].dependencies == ("on",)
    check_round_trip(workflow, declared.dag_source)


def test_a_task_name_with_a_trailing_newline_is_rejected(manifest, config: StackConfig) -> None:
    """``^[A-Za-z0-9_-]+$`` in Python also matches "main\\n": the schema's patterns are anchored as in ECMA-262."""
    text = MINIMAL.replace("tag: v1.0.0", 'tag: v1.0.0\n  tasks: {"main\\n": {}}\n  env_vars: {"X\\n": y}')
    with pytest.raises(ManifestError) as error:
        load_workflow(manifest(text), config)
    assert len(error.value.problems) == 2
    assert all("\n" not in str(p) for p in error.value.problems)  # one problem, one line


@pytest.mark.parametrize(("project", "workflow"), [("demo\n", "job"), ("demo", "job\n"), ("demo", "job\r")])
def test_folder_names_with_a_line_break_are_rejected(tmp_path: Path, config: StackConfig, project: str, workflow: str):
    """Folder names become role, service account and secret names: ``^…$`` must not let "job\\n" through."""
    path = tmp_path / "environments" / "development" / project / workflow / "workflow.yml"
    path.parent.mkdir(parents=True)
    path.write_text(MINIMAL)
    with pytest.raises(ManifestError) as error:
        load_workflow(path, config)
    assert "folder name" in str(error.value)


# --------------------------------------------------------------------------- the real Airflow, on a fixed sample

SAMPLE_SIZE = 20


def sample_value(rng: random.Random) -> str:
    return without_jinja("".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 6))))


def sample_manifests() -> list[dict[str, Any]]:
    """Twenty manifests with nasty values, the same on every run."""
    rng = random.Random(20251125)
    documents = []
    for _ in range(SAMPLE_SIZE):
        names = rng.sample(["main", "a", "B-2", "x_y", "Z", "t-1_2"], rng.randint(1, 3))
        tasks = {
            name: {
                "env_vars": {f"V{i}": sample_value(rng) for i in range(rng.randint(0, 3))},
                **({"dependencies": [names[0]]} if index else {}),
            }
            for index, name in enumerate(names)
        }
        dag = {
            "repository": "moj-analytical-services/example",
            "tag": "v1.0.0",
            "env_vars": {f"D{i}": sample_value(rng) for i in range(rng.randint(1, 4))},
            "params": {f"p{i}": sample_value(rng) for i in range(rng.randint(0, 2))},
            "tasks": tasks,
        }
        documents.append(
            {
                "dag": dag,
                "maintainers": ["octo-analyst"],
                "tags": {"business_unit": "Platforms", "owner": "someone@justice.gov.uk"},
            }
        )
    return documents


@pytest.fixture(scope="module")
def loaded(config: StackConfig, tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Workflow], dict[str, Any]]:
    root = tmp_path_factory.mktemp("injection")
    workflows = [
        load_workflow(write_manifest(root, document, workflow=f"nasty-{index}"), config).workflow
        for index, document in enumerate(sample_manifests())
    ]
    dags = write_folder(root / "dags", dags_folder_files(workflows, config))
    try:
        return workflows, run_harness(dags, root / "airflow.json")
    except HarnessError as error:  # no Airflow must fail the suite, never skip the proof
        pytest.fail(str(error), pytrace=False)


def test_nasty_values_reach_the_pod_unchanged_in_airflow(config: StackConfig, loaded) -> None:
    workflows, airflow = loaded
    assert airflow["import_errors"] == {}
    for workflow in workflows:
        dag = airflow["dags"][f"{workflow.project}.{workflow.name}"]
        assert "harness_error" not in dag, dag.get("harness_error")
        assert dag["params"] == {k: v for k, v in workflow.dag.params.items()}
        for task in workflow.dag.tasks:
            got = dag["tasks"][task.name]
            assert got["render_error"] is None
            pod_env = {e["name"]: e["value"] for e in got["pod_env"] if "value" in e}
            for name, value in task.env_vars.items():
                assert pod_env[name] == value, (workflow.name, task.name, name)
            for key, value in workflow.dag.params.items():
                assert pod_env[param_env_var(key)] == value


def test_generated_pods_are_valid_kubernetes_pods(loaded) -> None:
    from tests.components.test_documents_in_moto import schema_errors

    _, airflow = loaded
    pods = [task["pod"] for dag in airflow["dags"].values() for task in dag["tasks"].values()]
    assert len(pods) >= SAMPLE_SIZE
    for pod in pods:
        assert schema_errors("Pod", copy.deepcopy(pod)) == []
