"""Which Jinja an analyst may put in an env value or a param.

Airflow renders Jinja in a task's environment. Run context is useful
(``{{ ds }}``, ``{{ params.x | int }}``, date arithmetic such as
``{{ (data_interval_end - macros.timedelta(hours=20)).strftime('%Y-%m-%d') }}``);
anything that reaches Airflow Variables, Connections, XComs, the task instance,
the DAG run beyond ``dag_run.conf``, other DAGs or the database is not, because one
tenant could read another's credentials through it. This module parses the
template (never renders it) and allows only what is listed below.

Every expression is given a *kind* as it is checked: text, a number, a date/time,
a date, a time span, or ``any`` (a param or ``dag_run.conf`` value, set by whoever
triggers the run). The kind decides what may follow: methods and fields only on
date/time values of the run context (and on what the ``macros`` build from them);
``*`` and ``%`` only where neither side can be text or a list, since
``'x' * 10**9`` or ``'%0999999999d' % 1`` would fill a shared worker's memory;
``+`` and ``-`` on anything allowed (text only grows by what the template holds).
"""

from __future__ import annotations

import zoneinfo
from functools import cache

from jinja2 import Environment, TemplateSyntaxError, nodes

# The kinds of value an expression can have.
TEXT, INT, FLOAT, BOOL, NONE = "text", "int", "float", "bool", "none"
DATETIME, DATE, TIMESPAN, ANY = "datetime", "date", "timespan", "any"
NUMBERS = frozenset({INT, FLOAT, BOOL})

# Top-level names a template may use, by kind (Airflow 2.10's run context). ``params`` and
# ``dag_run`` are further limited to ``params.<name>`` and ``dag_run.conf[...]`` below, and
# ``macros`` to the calls in MACROS.
TEXT_CONTEXT = frozenset(
    {
        "ds",
        "ds_nodash",
        "ts",
        "ts_nodash",
        "ts_nodash_with_tz",
        "run_id",
        "prev_ds",
        "prev_ds_nodash",
        "next_ds",
        "next_ds_nodash",
        "yesterday_ds",
        "yesterday_ds_nodash",
        "tomorrow_ds",
        "tomorrow_ds_nodash",
    }
)
DATETIME_CONTEXT = frozenset(
    {
        "data_interval_start",
        "data_interval_end",
        "logical_date",
        "execution_date",
        "next_execution_date",
        "prev_execution_date",
        "prev_execution_date_success",
        "prev_data_interval_start_success",
        "prev_data_interval_end_success",
        "prev_start_date_success",
        "prev_end_date_success",
    }
)
RUN_CONTEXT = TEXT_CONTEXT | DATETIME_CONTEXT
# ``macros.<name>(...)`` and the kind of what it returns. Only calls: ``macros.datetime.now()``
# (attributes of the class) stays out.
MACROS = {"ds_add": TEXT, "ds_format": TEXT, "timedelta": TIMESPAN, "datetime": DATETIME}
FILTERS = frozenset(
    {"default", "d", "int", "float", "string", "lower", "upper", "title", "capitalize", "trim", "replace", "truncate"}
)
_FILTER_KINDS = {"int": INT, "float": FLOAT}  # the others give text, or (default) either side

# Methods of date/time values (pendulum's DateTime and Date as Airflow hands them over, and the
# standard library's from macros.datetime), by the kind they are called on, with the kind they return.
_DATE_METHODS = {
    "strftime": TEXT,
    "isoformat": TEXT,
    "format": TEXT,
    "to_date_string": TEXT,
    "add": DATE,
    "subtract": DATE,
    "start_of": DATE,
    "end_of": DATE,
    "first_of": DATE,
    "last_of": DATE,
    "next": DATE,
    "previous": DATE,
    "replace": DATE,
    "weekday": INT,
    "isoweekday": INT,
}
METHODS = {
    DATETIME: {
        **_DATE_METHODS,
        **{name: DATETIME for name, kind in _DATE_METHODS.items() if kind == DATE},
        "to_datetime_string": TEXT,
        "to_iso8601_string": TEXT,
        "in_timezone": DATETIME,
        "in_tz": DATETIME,
        "naive": DATETIME,
        "date": DATE,
        "timestamp": FLOAT,
    },
    DATE: _DATE_METHODS,
    TIMESPAN: {
        "total_seconds": FLOAT,
        "in_weeks": INT,
        "in_days": INT,
        "in_hours": INT,
        "in_minutes": INT,
        "in_seconds": INT,
    },
}
_DATE_FIELDS = {
    "year": INT,
    "month": INT,
    "day": INT,
    "day_of_week": INT,
    "day_of_year": INT,
    "days_in_month": INT,
    "week_of_year": INT,
    "quarter": INT,
}
FIELDS = {
    DATETIME: {
        **_DATE_FIELDS,
        "hour": INT,
        "minute": INT,
        "second": INT,
        "microsecond": INT,
        "week_of_month": INT,
        "int_timestamp": INT,
        "timezone_name": TEXT,
    },
    DATE: _DATE_FIELDS,
    TIMESPAN: {"days": INT, "seconds": INT, "microseconds": INT},
}
_TIMEZONE_METHODS = frozenset({"in_timezone", "in_tz"})
_COMPARISONS = frozenset({"eq", "ne", "gt", "gteq", "lt", "lteq", "in", "notin"})

ALLOWED_SUMMARY = (
    "allowed are the run context ("
    + ", ".join(sorted(RUN_CONTEXT))
    + "), {{ params.<name> }}, {{ dag_run.conf['<key>'] }}, the macros "
    + ", ".join(f"macros.{name}(...)" for name in MACROS)
    + ", arithmetic (+ - * / // %) and comparisons of these, date/time methods and fields such as "
    "{{ (data_interval_end - macros.timedelta(hours=20)).strftime('%Y-%m-%d') }}, .add(days=1), "
    ".in_timezone('Europe/London'), .start_of('month'), .year, and the filters " + ", ".join(sorted(FILTERS))
)

_ENVIRONMENT = Environment(autoescape=False)  # noqa: S701 - templates are parsed, never rendered to HTML


class _Refused(Exception):
    """An expression outside the allow-list; the message says which part."""


def template_problem(value: str) -> str | None:
    """Why ``value`` is not an allowed template, or None when it is (or has no Jinja)."""
    if "{{" not in value and "{%" not in value and "{#" not in value:
        return None
    try:
        tree = _ENVIRONMENT.parse(value)
    except TemplateSyntaxError as error:
        return f"invalid Jinja template ({error.message}); {ALLOWED_SUMMARY}"
    except RecursionError:
        return f"the template is nested too deeply; {ALLOWED_SUMMARY}"
    for node in tree.body:
        if not isinstance(node, nodes.Output):
            return f"Jinja statements ({{% … %}}) are not allowed; {ALLOWED_SUMMARY}"
        for child in node.nodes:
            if isinstance(child, nodes.TemplateData):
                continue
            try:
                kind_of(child)
            except _Refused as refused:
                return f"{refused}; {ALLOWED_SUMMARY}"
            except RecursionError:
                return f"the template is nested too deeply; {ALLOWED_SUMMARY}"
    return None


def params_used(value: str) -> list[str]:
    """The ``dag.params`` keys an allowed template reads (``params.x``, ``params['x']``), in order, once
    each; none for a value without Jinja or one :func:`template_problem` refuses."""
    if "{{" not in value or template_problem(value) is not None:
        return []
    found: dict[str, None] = {}
    for node in _ENVIRONMENT.parse(value).find_all((nodes.Getattr, nodes.Getitem)):
        if isinstance(node.node, nodes.Name) and node.node.name == "params":
            key = _step(node)
            if key is not None:
                found[key] = None
    return list(found)


def kind_of(node: nodes.Node) -> str:
    """The kind of an allowed expression; raises :class:`_Refused` for anything else."""
    if isinstance(node, nodes.Const):
        return _const_kind(node.value)
    if isinstance(node, nodes.Name):
        if node.name in TEXT_CONTEXT:
            return TEXT
        if node.name in DATETIME_CONTEXT:
            return DATETIME
        raise _Refused(f"'{node.name}' is not available to workflows")
    if isinstance(node, nodes.Filter | nodes.Call) and (node.dyn_args is not None or node.dyn_kwargs is not None):
        # ``f(*[var.value.x])`` hands anything to an allowed filter or macro, unchecked.
        raise _Refused("*args and **kwargs are not allowed in calls and filters")
    if isinstance(node, nodes.Filter):
        return _filter_kind(node)
    if isinstance(node, nodes.Call):
        return _call_kind(node)
    if isinstance(node, nodes.Getattr | nodes.Getitem):
        return _access_kind(node)
    if isinstance(node, nodes.Concat):
        _all_allowed(node.nodes)
        return TEXT
    if isinstance(node, nodes.And | nodes.Or):
        return _either(kind_of(node.left), kind_of(node.right))
    if isinstance(node, nodes.BinExpr):
        return _arithmetic_kind(node)
    if isinstance(node, nodes.Not):
        kind_of(node.node)
        return BOOL
    if isinstance(node, nodes.Neg | nodes.Pos):  # macros.ds_add(ds, -7)
        kind = kind_of(node.node)
        return kind if kind in (INT, FLOAT, TIMESPAN) else ANY
    if isinstance(node, nodes.CondExpr):
        kind_of(node.test)
        return _either(kind_of(node.expr1), kind_of(node.expr2) if node.expr2 is not None else NONE)
    if isinstance(node, nodes.Compare):
        for operand in node.ops:
            if operand.op not in _COMPARISONS:
                raise _Refused(f"the comparison '{operand.op}' is not allowed")
        _all_allowed([node.expr, *(operand.expr for operand in node.ops)])
        return BOOL
    raise _Refused(f"the expression '{type(node).__name__}' is not allowed")


def _const_kind(value: object) -> str:
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return FLOAT
    if isinstance(value, str):
        return TEXT
    if value is None:
        return NONE
    raise _Refused(f"the constant {value!r} is not allowed")


def _either(first: str, second: str) -> str:
    """The kind of a value that is one of two kinds."""
    if first == second:
        return first
    if first in (INT, BOOL) and second in (INT, BOOL):
        return INT
    if first in NUMBERS and second in NUMBERS:
        return FLOAT
    return ANY


def _all_allowed(children: list[nodes.Node]) -> None:
    for child in children:
        kind_of(child)


def _arguments(node: nodes.Call | nodes.Filter) -> list[nodes.Node]:
    return [*node.args, *(keyword.value for keyword in node.kwargs)]


def _filter_kind(node: nodes.Filter) -> str:
    if node.name not in FILTERS:
        raise _Refused(f"the filter '{node.name}' is not allowed")
    if node.name == "replace" and not _shrinking_replace(node):
        raise _Refused("replace must swap a fixed text for one no longer than it, as in replace('-', '')")
    if node.node is None:  # a filter block, which is a statement
        raise _Refused("Jinja statements ({% … %}) are not allowed")
    kind = kind_of(node.node)
    arguments = [kind_of(argument) for argument in _arguments(node)]
    if node.name in ("default", "d"):
        return _either(kind, arguments[0]) if arguments else kind
    return _FILTER_KINDS.get(node.name, TEXT)


def _shrinking_replace(node: nodes.Filter) -> bool:
    """``replace`` with constant arguments that cannot grow the text: chained growing
    replaces would let one template fill a shared worker's memory."""
    if node.kwargs or len(node.args) != 2 or not all(isinstance(a, nodes.Const) for a in node.args):
        return False
    old, new = (a.value for a in node.args)
    return isinstance(old, str) and isinstance(new, str) and bool(old) and len(new) <= len(old)


def _call_kind(node: nodes.Call) -> str:
    callee = node.node
    if isinstance(callee, nodes.Getattr) and isinstance(callee.node, nodes.Name) and callee.node.name == "macros":
        if callee.attr not in MACROS:
            raise _Refused(f"macros.{callee.attr} is not available to workflows")
        _all_allowed(_arguments(node))
        return MACROS[callee.attr]
    if isinstance(callee, nodes.Getattr):
        receiver = kind_of(callee.node)
        methods = METHODS.get(receiver, {})
        if callee.attr in methods:
            _all_allowed(_arguments(node))
            if callee.attr in _TIMEZONE_METHODS:
                _check_timezone_arguments(node)
            return methods[callee.attr]
        if methods:
            raise _Refused(f"'{callee.attr}' is not a date/time method workflows may call")
    raise _Refused(
        "calls other than the macros "
        + ", ".join(MACROS)
        + " and date/time methods (such as data_interval_end.strftime('%Y-%m-%d')) are not allowed"
    )


def _check_timezone_arguments(node: nodes.Call) -> None:
    for argument in _arguments(node):
        if isinstance(argument, nodes.Const) and isinstance(argument.value, str) and not timezone_valid(argument.value):
            raise _Refused(f"{argument.value!r} is not a time zone: use an IANA name such as Europe/London or UTC")


@cache
def timezone_valid(name: str) -> bool:
    """Whether ``name`` is an IANA time zone (and nothing that reads as a path)."""
    if name != name.strip() or not name or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _access_kind(node: nodes.Getattr | nodes.Getitem) -> str:
    """``params.<name>`` and ``dag_run.conf.<key>``/``['<key>']`` (a value of any kind), a field of a
    date/time value, and nothing else."""
    chain: list[nodes.Node] = []
    current: nodes.Node = node
    while isinstance(current, nodes.Getattr | nodes.Getitem):
        chain.append(current)
        current = current.node
    chain.reverse()
    if isinstance(current, nodes.Name) and current.name in ("params", "dag_run"):
        return _context_access(current.name, chain)
    if isinstance(current, nodes.Name) and current.name not in RUN_CONTEXT | {"macros"}:
        # var.value.x, conn.x.password, ti.xcom_pull, dag.fileloc: name the whole path that was asked for.
        raise _Refused(f"'{current.name}{_access_text(chain)}' is not available to workflows")
    if isinstance(current, nodes.Name) and current.name == "macros" and len(chain) == 1:
        used = f"macros{_access_text(chain)}"
        raise _Refused(f"macros may only be called, as in macros.ds_add(ds, 1), not used as {used}")
    if isinstance(node, nodes.Getattr) and not node.attr.startswith("_"):
        receiver = kind_of(node.node)
        fields = FIELDS.get(receiver, {})
        if node.attr in fields:
            return fields[node.attr]
        if fields:
            raise _Refused(f"'{node.attr}' is not a date/time field workflows may read")
    raise _Refused("attribute access is only allowed on params, dag_run.conf and date/time values")


def _context_access(root: str, chain: list[nodes.Node]) -> str:
    keys = [_step(n) for n in chain]
    if any(k is None or k.startswith("_") for k in keys):
        raise _Refused("only plain names may follow params. or dag_run.conf.")
    if root == "params" and len(keys) == 1:
        return ANY
    if root == "dag_run" and keys[0] == "conf" and len(keys) == 2:
        return ANY
    raise _Refused(f"'{root}.{'.'.join(str(k) for k in keys)}' is not available to workflows")


def _step(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        return node.arg.value
    return None


def _access_text(chain: list[nodes.Node]) -> str:
    """``.value.x['y']`` for the chain of attributes and items after a name."""
    return "".join(
        f".{n.attr}" if isinstance(n, nodes.Getattr) else f"[{k!r}]" if k is not None else "[…]"
        for n, k in zip(chain, map(_step, chain), strict=True)
    )


def _arithmetic_kind(node: nodes.BinExpr) -> str:
    operator = node.operator
    if operator not in ("+", "-", "*", "/", "//", "%"):
        raise _Refused(f"the operator '{operator}' is not allowed")
    left, right = kind_of(node.left), kind_of(node.right)
    if operator == "*":
        # Repetition of text or a list: only numbers, and a time span by a number, may be multiplied.
        if left in NUMBERS and right in NUMBERS:
            return _either(left, right) if FLOAT not in (left, right) else FLOAT
        if {left, right} <= NUMBERS | {TIMESPAN} and TIMESPAN in (left, right) and left != right:
            return TIMESPAN
        raise _Refused(
            "'*' is only allowed on numbers (use | int or | float on a param) and on a time span times a number"
        )
    if operator == "%":
        # Text on the left would be printf-style formatting, whose widths can be made enormous.
        if left in NUMBERS and right in NUMBERS:
            return _either(left, right)
        if left == right == TIMESPAN:
            return TIMESPAN
        raise _Refused("'%' is only allowed on numbers (use | int or | float on a param) and on time spans")
    return _arithmetic_result(operator, left, right)


def _arithmetic_result(operator: str, left: str, right: str) -> str:
    """The kind of ``left <operator> right`` for + - / // (when it is known)."""
    pair = (left, right)
    if left in NUMBERS and right in NUMBERS:
        return FLOAT if operator == "/" or FLOAT in pair else INT
    if operator == "+":
        if pair == (TEXT, TEXT):
            return TEXT
        if TIMESPAN in pair and (DATETIME in pair or DATE in pair):
            return DATETIME if DATETIME in pair else DATE
        if pair == (TIMESPAN, TIMESPAN):
            return TIMESPAN
    if operator == "-":
        if pair in ((DATETIME, TIMESPAN), (DATE, TIMESPAN)):
            return left
        if pair in ((DATETIME, DATETIME), (DATE, DATE), (TIMESPAN, TIMESPAN)):
            return TIMESPAN
    if operator in ("/", "//") and left == TIMESPAN:
        return FLOAT if right == TIMESPAN and operator == "/" else TIMESPAN if right in NUMBERS else ANY
    return ANY
