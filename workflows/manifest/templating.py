"""Which Jinja an analyst may put in an env value or a param.

Airflow renders Jinja in a task's environment. Run context is useful
(``{{ ds }}``, ``{{ params.x | int }}``); anything that reaches Airflow
Variables, Connections or the task instance's internals is not, because one
tenant could read another's credentials through it. This module parses the
template (never renders it) and allows only the names below.
"""

from __future__ import annotations

from jinja2 import Environment, TemplateSyntaxError, nodes

# Top-level names a template may use. ``params`` and ``dag_run`` are further
# limited to ``params.<name>`` and ``dag_run.conf[...]`` below.
RUN_CONTEXT = frozenset(
    {
        "ds",
        "ds_nodash",
        "ts",
        "ts_nodash",
        "ts_nodash_with_tz",
        "data_interval_start",
        "data_interval_end",
        "logical_date",
        "run_id",
        "prev_ds",
        "next_ds",
        "prev_data_interval_start_success",
        "prev_data_interval_end_success",
    }
)
MACROS = frozenset({"ds_add", "ds_format"})
FILTERS = frozenset(
    {"default", "d", "int", "float", "string", "lower", "upper", "title", "capitalize", "trim", "replace", "truncate"}
)
ALLOWED_SUMMARY = (
    "allowed are {{ " + " }}, {{ ".join(sorted(RUN_CONTEXT)) + " }}, {{ params.<name> }}, {{ dag_run.conf['<key>'] }}, "
    "{{ macros.ds_add(ds, N) }}, {{ macros.ds_format(...) }} and the filters " + ", ".join(sorted(FILTERS))
)

_ENVIRONMENT = Environment(autoescape=False)  # noqa: S701 - templates are parsed, never rendered to HTML


def template_problem(value: str) -> str | None:
    """Why ``value`` is not an allowed template, or None when it is (or has no Jinja)."""
    if "{{" not in value and "{%" not in value and "{#" not in value:
        return None
    try:
        tree = _ENVIRONMENT.parse(value)
    except TemplateSyntaxError as error:
        return f"invalid Jinja template ({error.message}); {ALLOWED_SUMMARY}"
    for node in tree.body:
        if not isinstance(node, nodes.Output):
            return f"Jinja statements ({{% … %}}) are not allowed; {ALLOWED_SUMMARY}"
        for child in node.nodes:
            if isinstance(child, nodes.TemplateData):
                continue
            problem = _expression_problem(child)
            if problem:
                return f"{problem}; {ALLOWED_SUMMARY}"
    return None


def _expression_problem(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Const):
        return None
    if isinstance(node, nodes.Name):
        if node.name in RUN_CONTEXT:
            return None
        return f"'{node.name}' is not available to workflows"
    if isinstance(node, nodes.Filter | nodes.Call) and (node.dyn_args is not None or node.dyn_kwargs is not None):
        # ``f(*[var.value.x])`` hands anything to an allowed filter or macro, unchecked.
        return "*args and **kwargs are not allowed in calls and filters"
    if isinstance(node, nodes.Filter):
        if node.name not in FILTERS:
            return f"the filter '{node.name}' is not allowed"
        if node.name == "replace" and not _shrinking_replace(node):
            return "replace must swap a fixed text for one no longer than it, as in replace('-', '')"
        return _all_ok([node.node, *node.args, *(kw.value for kw in node.kwargs)])
    if isinstance(node, nodes.Getattr | nodes.Getitem):
        return _access_problem(node)
    if isinstance(node, nodes.Call):
        callee = node.node
        if (
            isinstance(callee, nodes.Getattr)
            and isinstance(callee.node, nodes.Name)
            and callee.node.name == "macros"
            and callee.attr in MACROS
        ):
            return _all_ok([*node.args, *(kw.value for kw in node.kwargs)])
        return "calls other than macros.ds_add and macros.ds_format are not allowed"
    if isinstance(node, nodes.Concat):
        return _all_ok(node.nodes)
    if isinstance(node, nodes.BinExpr) and node.operator in ("+", "-"):
        return _all_ok([node.left, node.right])
    if isinstance(node, nodes.Neg | nodes.Pos):  # macros.ds_add(ds, -7)
        return _expression_problem(node.node)
    if isinstance(node, nodes.CondExpr):
        return _all_ok([node.test, node.expr1, *([node.expr2] if node.expr2 else [])])
    if isinstance(node, nodes.Compare):
        return _all_ok([node.expr, *(op.expr for op in node.ops)])
    return f"the expression '{type(node).__name__}' is not allowed"


def _shrinking_replace(node: nodes.Filter) -> bool:
    """``replace`` with constant arguments that cannot grow the text: chained growing
    replaces would let one template fill a shared worker's memory."""
    if node.kwargs or len(node.args) != 2 or not all(isinstance(a, nodes.Const) for a in node.args):
        return False
    old, new = (a.value for a in node.args)
    return isinstance(old, str) and isinstance(new, str) and bool(old) and len(new) <= len(old)


def _access_problem(node: nodes.Getattr | nodes.Getitem) -> str | None:
    """``params.<name>``, ``params['<name>']``, ``dag_run.conf.<key>`` and ``dag_run.conf['<key>']`` only."""
    chain: list[nodes.Node] = []
    current: nodes.Node = node
    while isinstance(current, nodes.Getattr | nodes.Getitem):
        chain.append(current)
        current = current.node
    chain.reverse()
    if not isinstance(current, nodes.Name):
        return "attribute access is only allowed on params and dag_run.conf"

    def step(n: nodes.Node) -> str | None:
        if isinstance(n, nodes.Getattr):
            return n.attr
        if isinstance(n, nodes.Getitem) and isinstance(n.arg, nodes.Const) and isinstance(n.arg.value, str):
            return n.arg.value
        return None

    keys = [step(n) for n in chain]
    if any(k is None or k.startswith("_") for k in keys):
        return "only plain names may follow params. or dag_run.conf."
    if current.name == "params" and len(keys) == 1:
        return None
    if current.name == "dag_run" and keys[0] == "conf" and len(keys) == 2:
        return None
    return f"'{current.name}.{'.'.join(str(k) for k in keys)}' is not available to workflows"


def _all_ok(children: list[nodes.Node]) -> str | None:
    for child in children:
        problem = _expression_problem(child)
        if problem:
            return problem
    return None
