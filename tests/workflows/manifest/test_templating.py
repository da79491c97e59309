"""The Jinja allow-list (workflows/manifest/templating.py): what an env value or param may template.

Airflow renders a task's environment with Jinja in a shared scheduler/worker that
can reach every tenant's Variables, Connections and task instances. The allow-list
must keep a workflow to its own run context, while letting analysts do date
arithmetic and formatting on it. Besides fixed cases, a generated grammar of
expressions is checked against a sandbox in which everything outside the run
context is a tripwire that reports any use and hands out a secret: an expression
the allow-list accepts must never touch one, nor produce a huge value. And the
accepted date templates are rendered by the real Airflow 2.10.3 in a real run
context (the harness of tests/test_airflow_dags.py), with their output written out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from tests.airflow_harness.client import HarnessError, dags_folder_files, run_harness, write_folder
from tests.conftest import MINIMAL
from workflows.config import StackConfig
from workflows.manifest.templating import (
    DATETIME_CONTEXT,
    FIELDS,
    FILTERS,
    MACROS,
    METHODS,
    RUN_CONTEXT,
    params_used,
    template_problem,
)
from workflows.validate import load_workflow

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
    # Macros other than ds_add, ds_format, timedelta and datetime, and those four other than called.
    "macros.datetime": "{{ macros.datetime.now() }}",
    "macros.datetime.strptime": "{{ macros.datetime.strptime(ds, '%Y-%m-%d') }}",
    "macros.datetime not called": "{{ macros.datetime }}",
    "macros.timedelta attribute": "{{ macros.timedelta.max }}",
    "macros.timedelta not called": "{{ macros.timedelta }}",
    "macros.time": "{{ macros.time.sleep(1000) }}",
    "macros.dateutil relativedelta": "{{ macros.dateutil.relativedelta.relativedelta(months=1) }}",
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
    # Date/time values: only the listed methods and fields, and arguments that are allowed themselves.
    "date dunder": "{{ data_interval_end.__class__ }}",
    "date private method": "{{ data_interval_end._start_of_day() }}",
    "date tzinfo object": "{{ data_interval_end.tzinfo }}",
    "date timezone object": "{{ data_interval_end.timezone.name }}",
    "date diff object": "{{ data_interval_end.diff(data_interval_start) }}",
    "date class method": "{{ data_interval_end.fromtimestamp(0) }}",
    "date field called": "{{ data_interval_end.year() }}",
    "date by item": "{{ data_interval_end['year'] }}",
    "date method by item": "{{ data_interval_end['strftime']('%Y') }}",
    "text method on a formatted date": "{{ data_interval_end.strftime('%Y').upper() }}",
    "method argument reaching a variable": "{{ data_interval_end.strftime(var.value.x) }}",
    "method keyword reaching the task instance": "{{ data_interval_end.add(days=ti.try_number) }}",
    "method star args": "{{ data_interval_end.strftime(*['%Y']) }}",
    "macro keyword reaching a connection": "{{ macros.timedelta(hours=conn.x.port) }}",
    "time zone as a path": "{{ data_interval_end.in_timezone('../../etc/passwd') }}",
    "unknown time zone": "{{ data_interval_end.in_tz('Mars/Olympus_Mons') }}",
    "time span class attribute": "{{ macros.timedelta(days=1).max }}",
    "field of a param": "{{ params.x.year }}",
    "method of a param": "{{ params.d.strftime('%Y') }}",
    "method of a conf value": "{{ dag_run.conf['d'].isoformat() }}",
    "method of a filtered param": "{{ (params.n | int).bit_length() }}",
    "conf get": "{{ dag_run.conf.get('x') }}",
    "dag_run data interval": "{{ dag_run.data_interval_end }}",
    "dag_run dag": "{{ dag_run.dag.fileloc }}",
    "task instance key": "{{ task_instance_key_str }}",
    "set a date": "{% set d = data_interval_end %}{{ d }}",
    # Text or lists repeated or printf-formatted: a few characters of template, gigabytes in a shared worker.
    "multiply": "{{ ds * 1000000000 }}",
    "multiply a param": "{{ params.name * 1000000000 }}",
    "multiply a conf value": "{{ dag_run.conf['x'] * 1000000 }}",
    "multiply a param with a number default": "{{ (params.n | default(1)) * 1000000 }}",
    "multiply text by a time span": "{{ ds * macros.timedelta(days=1) }}",
    "multiply time spans": "{{ macros.timedelta(days=1) * macros.timedelta(days=1) }}",
    "multiply a condition": "{{ (ds if params.x else 1) * 1000000 }}",
    "printf width": "{{ '%0999999999d' % 1 }}",
    "printf from a param": "{{ params.fmt % 1 }}",
    "modulo of a date": "{{ data_interval_end % 2 }}",
    # Expressions outside the list.
    "power": "{{ 10 ** 100000000 }}",
    "power of a field": "{{ data_interval_end.year ** data_interval_end.year }}",
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
    # Date arithmetic and formatting on the run context (issue 10, item 7).
    "the live manifest's": "{{ (data_interval_end - macros.timedelta(hours=20)).strftime('%Y-%m-%d') }}",
    "timedelta from a param": "{{ (data_interval_start + macros.timedelta(days=params.n | int)).isoformat() }}",
    "datetime macro": "{{ macros.datetime(2025, 1, 31).strftime('%A') }}",
    "add": "{{ data_interval_start.add(days=1).isoformat() }}",
    "subtract and start_of": "{{ data_interval_end.subtract(months=1).start_of('month').to_date_string() }}",
    "end_of and a field": "{{ data_interval_start.end_of('month').day }}",
    "in_timezone": "{{ data_interval_end.in_timezone('Europe/London').strftime('%H:%M') }}",
    "in_tz": "{{ logical_date.in_tz('UTC').hour }}",
    "format": "{{ logical_date.format('YYYY-MM-DD HH:mm') }}",
    "date()": "{{ (data_interval_end - macros.timedelta(days=1)).date().isoformat() }}",
    "date methods": "{{ data_interval_start.date().add(days=30).strftime('%d') }}",
    "interval in seconds": "{{ (data_interval_end - data_interval_start).total_seconds() | int }}",
    "interval in hours": "{{ (data_interval_end - data_interval_start).in_hours() }}",
    "time span field": "{{ macros.timedelta(hours=36).days }}",
    "fields in arithmetic": "{{ data_interval_start.year * 100 + data_interval_start.month }}",
    "multiply an int param": "{{ (params.n | int) * 2 }}",
    "divide": "{{ (params.n | int) / 2 }}",
    "floor divide": "{{ (params.n | int) // 2 }}",
    "modulo": "{{ (params.n | int) % 2 }}",
    "float param": "{{ (params.n | float) * 1.5 }}",
    "time span times a number": "{{ (macros.timedelta(hours=1) * 3).total_seconds() }}",
    "time span by time span": "{{ (data_interval_end - data_interval_start) / macros.timedelta(hours=1) }}",
    "time spans modulo": "{{ macros.timedelta(hours=25) % macros.timedelta(days=1) }}",
    "weekday condition": "{{ 'weekend' if data_interval_start.day_of_week >= 5 else 'weekday' }}",
    "dates compared": "{{ data_interval_end > data_interval_start }}",
    "in": "{{ 'p' in params.name }}",
    "and or not": "{{ params.name and not params.n or ds }}",
    "negated arithmetic in a macro": "{{ macros.ds_add(ds, -(params.n | int)) }}",
    "weekday methods": "{{ data_interval_start.weekday() }}-{{ data_interval_start.isoweekday() }}",
    "timestamp": "{{ data_interval_start.int_timestamp }}",
    "more run context": "{{ execution_date.strftime('%Y%m%d') }}{{ tomorrow_ds }}{{ yesterday_ds_nodash }}",
    "first_of and last_of": "{{ data_interval_start.first_of('month').to_date_string() }}",
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
    assert set(MACROS) == {"ds_add", "ds_format", "timedelta", "datetime"}
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


class DateTime(datetime):
    """A stand-in for pendulum's DateTime (Airflow's run-context dates) with the methods the allow-list lists."""

    def add(self, **amounts: int) -> DateTime:
        return self + timedelta(**{unit: n for unit, n in amounts.items() if unit not in ("months", "years")})

    def subtract(self, **amounts: int) -> DateTime:
        return self.add(**{unit: -n for unit, n in amounts.items()})

    def start_of(self, unit: str) -> DateTime:
        return self.replace(day=1, hour=0) if unit == "month" else self.replace(hour=0)

    end_of = first_of = last_of = start_of

    def in_timezone(self, name: str) -> DateTime:
        return self

    in_tz = in_timezone

    def naive(self) -> DateTime:
        return self.replace(tzinfo=None)

    def format(self, pattern: str, locale: str | None = None) -> str:
        return f"{pattern}:{self.isoformat()}"

    def to_date_string(self) -> str:
        return self.date().isoformat()

    to_datetime_string = to_iso8601_string = to_date_string

    @property
    def day_of_week(self) -> int:
        return self.weekday()

    @property
    def int_timestamp(self) -> int:
        return int(self.timestamp())


class Macros:
    def __init__(self, touched: list[str]) -> None:
        self.ds_add, self.ds_format, self.timedelta, self.datetime = ds_add, ds_format, timedelta, DateTime
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
    context |= {name: DateTime(2025, 6, 1, 7, tzinfo=UTC) for name in DATETIME_CONTEXT}
    context |= {name: Tripwire(name, touched) for name in FORBIDDEN}
    context |= {"params": {"name": "p", "n": "1", "x": "x"}, "dag_run": DagRun(touched), "macros": Macros(touched)}
    environment = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)
    try:
        output = environment.from_string(template).render(context)
    except Exception:  # a type error or undefined name in an allowed expression is the analyst's problem
        output = None
    return output, touched


# Accepted templates the stand-in dates above cannot render (pendulum-only behaviour); Airflow renders them below.
PENDULUM_ONLY = {"time span by time span", "interval in hours", "date methods"}


@pytest.mark.parametrize("template", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_accepted_templates_touch_nothing_outside_the_run_context(template: str) -> None:
    output, touched = render(template)
    assert touched == []
    assert output is not None or template in {ACCEPTED[name] for name in PENDULUM_ONLY}
    assert output is None or SECRET not in output


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
    "macros.timedelta(hours=20)",
    "macros.datetime(2025, 1, 31)",
    "(params.n | int)",
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
    "macros.datetime.now()",
    "data_interval_end.tzinfo",
    "data_interval_end.diff(ds)",
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
        st.tuples(
            children, st.sampled_from(["~", "+", "-", "==", "*", "/", "//", "%", "**", "<", "in", "and"]), children
        ).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(children, children, children).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        st.tuples(children, st.sampled_from([".__class__", ".upper", "['x']", ".conf", ".year", ".days"])).map("".join),
        st.tuples(
            children,
            st.sampled_from([".strftime('%Y')", ".add(days=1)", ".isoformat()", ".in_tz('UTC')", ".upper()", ".mro()"]),
        ).map("".join),
        st.tuples(children, args).map(lambda t: f"{t[0]}.strftime({t[1]})"),
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
    assert output is None or len(output) < 10_000, template  # no repetition: a shared worker's memory is safe


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


# --------------------------------------------------------------------------- rendered by Airflow 2.10.3

# Accepted templates and what Airflow renders for the first scheduled run of a daily 07:00 UTC DAG that
# starts on Sunday 2025-06-01 (catchup: true): data interval 2025-06-01T07:00Z to 2025-06-02T07:00Z,
# params name=p, n=3, no dag_run.conf. Worked out by hand, not by the code under test.
IN_AIRFLOW = {
    "{{ (data_interval_end - macros.timedelta(hours=20)).strftime('%Y-%m-%d') }}": "2025-06-01",
    "{{ ds }}|{{ data_interval_start }}|{{ data_interval_end }}|{{ ts }}": (
        "2025-06-01|2025-06-01 07:00:00+00:00|2025-06-02 07:00:00+00:00|2025-06-01T07:00:00+00:00"
    ),
    "{{ data_interval_start.add(days=1).isoformat() }}": "2025-06-02T07:00:00+00:00",
    "{{ data_interval_end.subtract(months=1).start_of('month').to_date_string() }}": "2025-05-01",
    "{{ data_interval_start.end_of('month').day }}": "30",
    "{{ data_interval_end.in_timezone('Europe/London').strftime('%H:%M %Z') }}": "08:00 BST",
    "{{ logical_date.in_tz('Asia/Tokyo').hour }}": "16",
    "{{ logical_date.format('YYYY-MM-DD HH:mm dddd') }}": "2025-06-01 07:00 Sunday",
    "{{ (data_interval_end - macros.timedelta(days=1)).date().isoformat() }}": "2025-06-01",
    "{{ data_interval_start.date().add(days=30).strftime('%d/%m') }}": "01/07",
    "{{ (data_interval_end - data_interval_start).total_seconds() | int }}": "86400",
    "{{ (data_interval_end - data_interval_start).in_hours() }}": "24",
    "{{ macros.timedelta(hours=36).days }}": "1",
    "{{ data_interval_start.year * 100 + data_interval_start.month }}": "202506",
    "{{ (params.n | int) * 2 }}|{{ (params.n | int) / 2 }}|{{ (params.n | int) // 2 }}|{{ (params.n | int) % 2 }}": (
        "6|1.5|1|1"
    ),
    "{{ (params.n | float) * 1.5 }}": "4.5",
    "{{ (macros.timedelta(hours=1) * 3).total_seconds() }}": "10800.0",
    "{{ 'weekend' if data_interval_start.day_of_week >= 5 else 'weekday' }}": "weekend",
    "{{ data_interval_end > data_interval_start }}": "True",
    "{{ macros.datetime(2025, 1, 31).strftime('%A %d %B') }}": "Friday 31 January",
    "{{ macros.ds_add(ds, -(params.n | int)) }}": "2025-05-29",
    "{{ macros.ds_format(ds, '%Y-%m-%d', '%d/%m/%Y') }}": "01/06/2025",
    "{{ dag_run.conf['key'] | default('none') }}": "none",
    "{{ data_interval_start.weekday() }}|{{ data_interval_start.isoweekday() }}": "6|7",
    "{{ data_interval_start.int_timestamp }}": "1748761200",
    "{{ execution_date.strftime('%Y%m%d') }}|{{ tomorrow_ds }}|{{ yesterday_ds_nodash }}": (
        "20250601|2025-06-02|20250531"
    ),
    "{{ 'p' in params.name }}|{{ params.name and not params.n or ds }}": "True|2025-06-01",
    "{{ data_interval_start.first_of('month').to_date_string() }}|{{ data_interval_start.last_of('month').day }}": (
        "2025-06-01|30"
    ),
    "{{ data_interval_start.replace(hour=0).isoformat() }}|{{ data_interval_start.quarter }}": (
        "2025-06-01T00:00:00+00:00|2"
    ),
    "{{ ds_nodash ~ '-' ~ params.name | upper }}": "20250601-P",
    "{{ data_interval_start.next().to_date_string() }}|{{ data_interval_start.previous().to_date_string() }}": (
        "2025-06-08|2025-05-25"
    ),
    "{{ data_interval_start.to_datetime_string() }}|{{ data_interval_start.to_iso8601_string() }}": (
        "2025-06-01 07:00:00|2025-06-01T07:00:00Z"
    ),
    "{{ data_interval_start.naive().isoformat() }}|{{ data_interval_start.timestamp() }}": (
        "2025-06-01T07:00:00|1748761200.0"
    ),
    "{{ (data_interval_end - data_interval_start).in_days() }}|{{ (data_interval_end - logical_date).in_minutes() }}"
    "|{{ (data_interval_end - logical_date).in_seconds() }}|{{ (data_interval_end - logical_date).in_weeks() }}": (
        "1|1440|86400|0"
    ),
    "{{ macros.timedelta(seconds=90, microseconds=5).seconds }}|{{ macros.timedelta(microseconds=5).microseconds }}": (
        "90|5"
    ),
    "{{ data_interval_end.hour }}:{{ data_interval_end.minute }}:{{ data_interval_end.second }}"
    ".{{ data_interval_end.microsecond }}": "7:0:0.0",
    "{{ logical_date.week_of_month }}|{{ logical_date.week_of_year }}|{{ logical_date.day_of_year }}"
    "|{{ logical_date.days_in_month }}|{{ logical_date.timezone_name }}|{{ logical_date.month }}"
    "|{{ logical_date.year }}": "1|22|152|30|UTC|6|2025",
}


@pytest.fixture(scope="module")
def rendered_in_airflow(config: StackConfig, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The pod environment Airflow builds for a workflow whose env values are the templates of IN_AIRFLOW."""
    root = tmp_path_factory.mktemp("templates")
    document = yaml.safe_load(MINIMAL)
    document["dag"] |= {
        "schedule": "0 7 * * *",
        "start_date": "2025-06-01",
        "catchup": True,
        "params": {"name": "p", "n": "3"},
        "env_vars": {f"T{i:02d}": template for i, template in enumerate(IN_AIRFLOW)},
    }
    path = root / "environments" / "development" / "demo" / "templates" / "workflow.yml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    workflow = load_workflow(path, config).workflow  # the allow-list accepts every one of them
    dags = write_folder(root / "dags", dags_folder_files([workflow], config))
    try:
        airflow = run_harness(dags, root / "airflow.json")
    except HarnessError as error:  # no Airflow must fail the suite, never skip the proof
        pytest.fail(str(error), pytrace=False)
    assert airflow["import_errors"] == {}
    (task,) = airflow["dags"]["demo.templates"]["tasks"].values()
    assert task["render_error"] is None
    return {e["name"]: e["value"] for e in task["pod_env"] if "value" in e}


@pytest.mark.parametrize("index", range(len(IN_AIRFLOW)), ids=[t[:60] for t in IN_AIRFLOW])
def test_accepted_templates_render_in_airflow(rendered_in_airflow: dict[str, str], index: int) -> None:
    template, expected = list(IN_AIRFLOW.items())[index]
    assert template_problem(template) is None
    assert rendered_in_airflow[f"T{index:02d}"] == expected


def test_every_date_method_and_field_is_rendered_in_airflow() -> None:
    """Each method and field the allow-list grants date/time values is shown to work in Airflow above."""
    used = " ".join(IN_AIRFLOW)
    untried = {
        name
        for table in (*METHODS.values(), *FIELDS.values())
        for name in table
        if f".{name}(" not in used and f".{name} " not in used and f".{name}|" not in used
    }
    assert untried == set()


@pytest.mark.parametrize(
    ("value", "keys"),
    [
        ("{{ params.run_date }}", ["run_date"]),
        ("{{ params['run date'] }}-{{ params.b | int }}-{{ params.run_date }}", ["run date", "b", "run_date"]),
        ("{{ ds }} {{ dag_run.conf['params'] }}", []),
        ("no jinja: params.x", []),
        ("{{ var.value.params }}", []),  # refused, so not read
    ],
)
def test_params_used(value: str, keys: list[str]) -> None:
    assert params_used(value) == keys
