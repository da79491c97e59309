"""The Jinja allow-list (workflows/templating.py): what an env value or param may template.

Airflow renders a task's environment with Jinja in a shared scheduler/worker that
can reach every tenant's Variables, Connections and task instances. The allow-list
must keep a workflow to its own run context. Besides fixed cases, a generated
grammar of expressions is checked against a sandbox in which everything outside
the run context is a tripwire that reports any use and hands out a secret: an
expression the allow-list accepts must never touch one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from workflows.manifest.templating import FILTERS, MACROS, RUN_CONTEXT, template_problem

# --------------------------------------------------------------------------- fixed cases

REJECTED = {
    # Airflow Variables and Connections: shared by every tenant of the installation.
    "variable": "{{ var.value.other_teams_password }}",
    "variable json": "{{ var.json.settings }}",
    "variable get": "{{ var.value.get('token', 'x') }}",
    "connection": "{{ conn.aws_default.password }}",
    "connection get": "{{ conn.get('slack').password }}",
    # Task instance internals: XComs of any DAG, the session, the DAG objects.
    "ti": "{{ ti.xcom_pull(dag_id='other.dag', task_ids='main') }}",
    "task_instance": "{{ task_instance.xcom_pull(task_ids='main') }}",
    "ti attribute": "{{ ti.hostname }}",
    "task": "{{ task.executor_config }}",
    "dag": "{{ dag.fileloc }}",
    "airflow conf": "{{ conf.get('core', 'fernet_key') }}",
    "dag_run method": "{{ dag_run.get_task_instances() }}",
    "dag_run other attribute": "{{ dag_run.external_trigger }}",
    "dag_run conf nested": "{{ dag_run.conf['a']['b'] }}",
    "params nested": "{{ params.x.y }}",
    "bare params": "{{ params }}",
    "bare dag_run": "{{ dag_run }}",
    "bare macros": "{{ macros }}",
    "unknown name": "{{ inlet_events }}",
    # Statements.
    "for": "{% for x in range(3) %}{{ x }}{% endfor %}",
    "set": "{% set x = var %}{{ ds }}",
    "if": "{% if ds %}x{% endif %}",
    "import": "{% import 'os' as os %}",
    "include": "{% include 'secrets.txt' %}",
    "macro": "{% macro m() %}{% endmacro %}",
    "filter block": "{% filter upper %}x{% endfilter %}",
    "with": "{% with x = var %}{{ ds }}{% endwith %}",
    # Macros other than ds_add and ds_format.
    "macros.datetime": "{{ macros.datetime.now() }}",
    "macros.uuid": "{{ macros.uuid.uuid4() }}",
    "macros.random": "{{ macros.random() }}",
    "macros.json": "{{ macros.json.dumps(ds) }}",
    "macros.dateutil": "{{ macros.dateutil.parser.parse(ds) }}",
    "macro not called": "{{ macros.ds_add }}",
    "macro by item": "{{ macros['ds_add'](ds, 1) }}",
    "macro attribute": "{{ macros.ds_add.__globals__ }}",
    "macro result attribute": "{{ macros.ds_add(ds, 1).__class__ }}",
    # Dunder and private attributes, by attribute or by item.
    "const dunder": "{{ ''.__class__.__mro__ }}",
    "ds dunder": "{{ ds.__class__ }}",
    "ds method": "{{ ds.upper() }}",
    "params dunder": "{{ params.__class__ }}",
    "params item dunder": "{{ params['__class__'] }}",
    "params private": "{{ params._secret }}",
    "param dunder": "{{ params.x.__class__ }}",
    "conf dunder": "{{ dag_run.conf.__class__ }}",
    "conf item dunder": "{{ dag_run.conf['__init__'] }}",
    "conf value dunder": "{{ dag_run.conf['x'].__class__ }}",
    "lipsum globals": "{{ lipsum.__globals__.os }}",
    "cycler": "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "self": "{{ self._TemplateReference__context }}",
    "namespace": "{{ namespace(a=1) }}",
    "range": "{{ range(10) }}",
    "dynamic item": "{{ params[ds] }}",
    # Filters outside the list.
    "attr": "{{ params | attr('__class__') }}",
    "attr on ds": "{{ ds | attr('upper') }}",
    "map": "{{ [ds] | map('upper') | list }}",
    "map attribute": "{{ params | map(attribute='x') }}",
    "select": "{{ params | select }}",
    "selectattr": "{{ params | selectattr('x') }}",
    "format": "{{ '%s' | format(ds) }}",
    "pprint": "{{ params | pprint }}",
    "tojson": "{{ params | tojson }}",
    "join": "{{ params | join(',') }}",
    "safe": "{{ ds | safe }}",
    # Forbidden names smuggled through allowed constructs.
    "filter argument": "{{ ds | default(var.value.x) }}",
    "filter keyword": "{{ ds | truncate(length=var.value.n) }}",
    "replace argument": "{{ ds | replace('-', conn.x.password) }}",
    "macro argument": "{{ macros.ds_add(ti.xcom_pull('x'), 1) }}",
    "macro keyword": "{{ macros.ds_format(ds, '%Y', output_format=var.value.x) }}",
    "condition": "{{ ds if var.value.x else ds }}",
    "concat": "{{ ds ~ conn.x.password }}",
    "addition": "{{ ds + var.value.x }}",
    "comparison": "{{ ds == var.value.x }}",
    # *args and **kwargs hand anything to an allowed filter or macro: these leak a Variable.
    "star args to macro": "{{ macros.ds_format(ds, '%Y-%m-%d', *[var.value.x]) }}",
    "star args to filter": "{{ 'a' | replace('a', *[conn.x.password]) }}",
    "kwargs to filter": "{{ ds | default(**{'default_value': var.value.x}) }}",
    "kwargs to macro": "{{ macros.ds_add(ds, **ti) }}",
    # Expressions outside the list (some are denial of service in a shared worker).
    "multiply": "{{ ds * 1000000000 }}",
    "power": "{{ 10 ** 100000000 }}",
    "modulo format": "{{ '%s' % var }}",
    "list literal": "{{ [ds, var] }}",
    "dict literal": "{{ {'a': var} }}",
    "tuple": "{{ (ds, var) }}",
    "index": "{{ ds[0] }}",
    "slice": "{{ ds[0:4] }}",
    "not": "{{ not var }}",
    "and": "{{ ds and var }}",
    "test": "{{ var is defined }}",
    # Not Jinja at all.
    "unclosed": "{{ ds",
    "empty expression": "{{ }}",
    "empty statement": "{% %}",
    "unclosed comment": "{# ds",
}

ACCEPTED = {
    **{name: "{{ " + name + " }}" for name in sorted(RUN_CONTEXT)},
    "ds in text": "s3://bucket/{{ ds_nodash }}/{{ params.name }}/part",
    "params attribute": "{{ params.name }}",
    "params item": "{{ params['name'] }}",
    "params with filter": "{{ params.n | int }}",
    "params chained filters": "{{ params.name | default(ds) | upper | trim }}",
    "dag_run.conf item": "{{ dag_run.conf['key'] }}",
    "dag_run.conf attribute": "{{ dag_run.conf.key }}",
    "dag_run.conf default": "{{ dag_run.conf['key'] | default('none') }}",
    "ds_add": "{{ macros.ds_add(ds, -7) }}",
    "ds_add keyword": "{{ macros.ds_add(ds, days=1) }}",
    "ds_format": "{{ macros.ds_format(ds, '%Y-%m-%d', '%Y%m%d') }}",
    "condition": "{{ ds if params.name else prev_ds }}",
    "concat": "{{ params.name ~ '-' ~ ds }}",
    "comparison": "{{ params.n == '1' }}",
    "whitespace control": "{{- ds -}}",
    "comment": "{# a note #}{{ ds }}",
    "filters": "{{ data_interval_start | string | truncate(10) | lower | title | capitalize }}",
    "replace": "{{ ds | replace('-', '') }}",
    "float": "{{ params.n | float }}",
    "d": "{{ params.x | d('y') }}",
    "constant": "{{ 'text' }}",
    # Jinja's raw block is text, never rendered, so it reaches the container as written.
    "raw": "{% raw %}{{ var.value.x }}{% endraw %}",
}

NOT_JINJA = ["plain", "{ ds }", "{0}", "%s", "%(x)s", "${HOME}", "{ {ds} }", "100%", "a{b}c", "}}", "%}"]


@pytest.mark.parametrize("template", REJECTED.values(), ids=REJECTED.keys())
def test_rejected(template: str) -> None:
    problem = template_problem(template)
    assert problem is not None
    assert "allowed are" in problem  # every message says what is allowed


@pytest.mark.parametrize("template", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_accepted(template: str) -> None:
    assert template_problem(template) is None


@pytest.mark.parametrize("text", NOT_JINJA)
def test_text_without_jinja_is_never_a_problem(text: str) -> None:
    assert template_problem(text) is None


def test_the_allow_list_is_the_documented_one() -> None:
    """A name added to the allow-list must be a deliberate, reviewed change (DESIGN.md, the issue)."""
    assert {"ds", "ds_nodash", "ts", "ts_nodash", "ts_nodash_with_tz"} <= RUN_CONTEXT
    assert {"data_interval_start", "data_interval_end", "logical_date", "run_id"} <= RUN_CONTEXT
    assert (
        not {"var", "conn", "ti", "task_instance", "conf", "dag", "task", "macros", "params", "dag_run"} & RUN_CONTEXT
    )
    assert {"ds_add", "ds_format"} == MACROS
    assert not {"attr", "map", "select", "selectattr", "reject", "rejectattr", "format", "xmlattr"} & FILTERS


# --------------------------------------------------------------------------- sandbox and tripwires

SECRET = "TOP-SECRET-OF-ANOTHER-TENANT"


class Tripwire:
    """Anything outside the run context: records every use, and hands out a secret."""

    def __init__(self, name: str, touched: list[str]) -> None:
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_touched", touched)

    def _touch(self, how: str) -> Tripwire:
        self._touched.append(f"{self._name}{how}")
        return Tripwire(f"{self._name}{how}", self._touched)

    def __getattr__(self, name: str) -> Tripwire:
        return self._touch(f".{name}")

    def __getitem__(self, key: Any) -> Tripwire:
        return self._touch(f"[{key!r}]")

    def __call__(self, *args: Any, **kwargs: Any) -> Tripwire:
        return self._touch("()")

    def __str__(self) -> str:
        self._touch(" as text")
        return SECRET

    def __iter__(self):
        self._touch(" iterated")
        return iter([SECRET])

    def __bool__(self) -> bool:
        self._touch(" as bool")
        return True

    def __len__(self) -> int:
        self._touch(" len")
        return 1

    def keys(self):
        self._touch(".keys()")
        return iter(["k"])

    def __eq__(self, other: object) -> bool:
        self._touch(" compared")
        return False

    __hash__ = object.__hash__


def ds_add(ds: str, days: int) -> str:  # as airflow.macros.ds_add
    return (datetime.strptime(ds, "%Y-%m-%d") + timedelta(days=int(days))).strftime("%Y-%m-%d")


def ds_format(ds: str, input_format: str, output_format: str) -> str:  # as airflow.macros.ds_format
    return datetime.strptime(str(ds), input_format).strftime(output_format)


class Macros:
    def __init__(self, touched: list[str]) -> None:
        self.ds_add, self.ds_format = ds_add, ds_format
        self._other = Tripwire("macros", touched)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._other, name)


class DagRun:
    def __init__(self, touched: list[str]) -> None:
        self.conf = {"key": "conf-value"}
        self._other = Tripwire("dag_run", touched)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._other, name)


FORBIDDEN = ("var", "conn", "ti", "task_instance", "conf", "dag", "task", "outlet_events", "inlet_events")


def render(template: str) -> tuple[str | None, list[str]]:
    """Render like Airflow does (its environment is a Jinja sandbox): the output and what was touched."""
    touched: list[str] = []
    context: dict[str, Any] = {name: "2025-01-01" for name in RUN_CONTEXT}
    context |= {name: Tripwire(name, touched) for name in FORBIDDEN}
    context |= {"params": {"name": "p", "n": "1", "x": "x"}, "dag_run": DagRun(touched), "macros": Macros(touched)}
    environment = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)
    try:
        output = environment.from_string(template).render(context)
    except Exception:  # a type error or undefined name in an allowed expression is the analyst's problem
        output = None
    return output, touched


@pytest.mark.parametrize("template", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_accepted_templates_touch_nothing_outside_the_run_context(template: str) -> None:
    output, touched = render(template)
    assert touched == []
    assert output is not None and SECRET not in output


def test_the_tripwires_work() -> None:
    """Guard for the sandbox above: rejected templates do reach the tripwires or the secret."""
    for name in ("variable", "connection", "star args to macro", "star args to filter", "kwargs to macro"):
        output, touched = render(REJECTED[name])
        assert touched or (output and SECRET in output), name


# --------------------------------------------------------------------------- generated expressions

# Mostly what the allow-list accepts, with now and then something that reaches outside the run context
# (a forbidden name, a dunder, a forbidden filter, *args/**kwargs) somewhere in the tree.
GOOD_ATOMS = [
    *sorted(RUN_CONTEXT),
    "params.name",
    "params['n']",
    "dag_run.conf['key']",
    "dag_run.conf.key",
    "'key'",
    "'%Y-%m-%d'",
    "'-'",
    "1",
    "-7",
]
BAD_ATOMS = [
    "var.value.x",
    "var",
    "conn.x.password",
    "ti.xcom_pull('x')",
    "task_instance",
    "conf",
    "dag.fileloc",
    "params.__class__",
    "dag_run.conf['__init__']",
    "dag_run.get_task_instances()",
    "macros.other",
]
ATOMS = st.one_of(st.sampled_from(GOOD_ATOMS), st.sampled_from(GOOD_ATOMS), st.sampled_from(BAD_ATOMS))
FILTER_NAMES = st.sampled_from([*sorted(FILTERS), *sorted(FILTERS), "attr", "map", "format"])


def _expressions(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    args = st.lists(children, max_size=2).map(", ".join)
    # Extra *args/**kwargs now and then, after the plain arguments.
    extra = st.one_of(
        st.just(""), st.just(""), st.just(""), children.map("*[{}]".format), children.map("**{{'x': {}}}".format)
    )

    def arguments(plain: str, more: str) -> str:
        return ", ".join(part for part in (plain, more) if part)

    return st.one_of(
        st.tuples(children, FILTER_NAMES, args, extra).map(lambda t: f"({t[0]} | {t[1]}({arguments(t[2], t[3])}))"),
        st.tuples(children, FILTER_NAMES).map(lambda t: f"({t[0]} | {t[1]})"),
        st.tuples(st.sampled_from(["macros.ds_add", "macros.ds_format"]), args, extra).map(
            lambda t: f"{t[0]}({arguments(t[1], t[2])})"
        ),
        st.tuples(children, st.sampled_from(["~", "+", "-", "=="]), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(children, children, children).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        st.tuples(children, st.sampled_from([".__class__", ".upper", "['x']", ".conf"])).map("".join),
        children.map("-{}".format),
    )


EXPRESSIONS = st.recursive(ATOMS, _expressions, max_leaves=6)
TEMPLATES = st.one_of(
    EXPRESSIONS.map(lambda e: "{{ " + e + " }}"),
    st.tuples(EXPRESSIONS, EXPRESSIONS).map(lambda t: "a{{ " + t[0] + " }}b{{ " + t[1] + " }}"),
)


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(TEMPLATES)
def test_no_accepted_expression_reaches_outside_the_run_context(template: str) -> None:
    if template_problem(template) is not None:
        return
    output, touched = render(template)
    assert touched == [], f"{template!r} touched {touched}"
    assert output is None or SECRET not in output, template


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.text())
def test_any_text_gets_an_answer(text: str) -> None:
    """Never an exception: a message or None."""
    assert template_problem(text) is None or isinstance(template_problem(text), str)


@pytest.mark.parametrize(
    "template",
    [
        "{{ ds | replace('-', 'xxxxxxxxxx') | replace('x', 'xxxxxxxxxx') }}",
        "{{ ds | replace('-', params.x) }}",
        "{{ ds | replace('', 'x') }}",
        "{{ ds | replace('-', '', 3) }}",
    ],
)
def test_replace_cannot_grow_a_value(template):
    assert "replace must swap a fixed text" in template_problem(template)
