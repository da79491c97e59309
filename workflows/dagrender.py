"""DAG files: one per workflow, and the platform runtime shipped next to them.

:func:`render_dag` turns a validated :class:`~workflows.model.Workflow` into the
source Airflow parses at ``dags/<project>/<workflow>.py``:

* a generated DAG, built from fixed code in which every value that comes from
  a manifest is written as a Python literal by :func:`repr` (never pasted into
  code), so no manifest value can become code; or
* for ``dag.python_dag``, the workflow's own ``dag.py`` with its placeholders
  (``PLACEHOLDER_PROJECT`` …) filled in inside string literals and comments
  only, checked to be the same program as before.

Output is deterministic: the same workflow and stack config give the same bytes.

:func:`runtime_files` lists what goes next to the DAGs: ``.airflowignore`` and
the ``analytical_platform`` package from ``mwaa/`` (the standard operator and
compute profiles every task uses), plus ``platform.json``, the installation's
settings that package reads, built from the stack config.
"""

from __future__ import annotations

import ast
import copy
import io
import json
import re
import tokenize
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from workflows import kubernetes
from workflows.config import StackConfig
from workflows.errors import ManifestError, Problem
from workflows.kubernetes import EXTERNAL_SECRET_KEY
from workflows.model import CronSchedule, DatasetSchedule, IntervalSchedule, Task, Workflow
from workflows.naming import LABEL_PREFIX, names_for, secret_env_var

RUNTIME_DIR = Path(__file__).resolve().parent.parent / "mwaa"
RUNTIME_PACKAGE = "analytical_platform"
PLATFORM_FILE = f"{RUNTIME_PACKAGE}/platform.json"
PYTHON_DAG_NAME = "dag.py"

# Run identifiers every task gets after the platform's defaults (the names today's service uses).
RUN_IDENTIFIERS: Mapping[str, str] = {
    "AIRFLOW_DAG_ID": "{{ dag.dag_id }}",
    "AIRFLOW_TASK_ID": "{{ task.task_id }}",
    "AIRFLOW_RUN_ID": "{{ run_id }}",
    "AIRFLOW_TIMESTAMP": "{{ ts }}",
    "AIRFLOW_TIMESTAMP_NO_DASH": "{{ ts_nodash }}",
    "AIRFLOW_TIMESTAMP_NO_DASH_WITH_TZ": "{{ ts_nodash_with_tz }}",
}
PLACEHOLDERS = (
    "REPOSITORY_NAME",
    "REPOSITORY_TAG",
    "PROJECT",
    "WORKFLOW",
    "ENVIRONMENT",
    "OWNER",
)
_PLACEHOLDER = re.compile(r"PLACEHOLDER_(" + "|".join(PLACEHOLDERS) + r")(?![A-Za-z0-9_])")
# Airflow's DAG processor imports the airflow.* modules a DAG file names before forking the
# file's parser ([scheduler] parsing_pre_import_modules), so naming these spares each parse.
_PRE_IMPORT_COMMENT = (
    "# Named so that Airflow's DAG processor imports them once for all DAG files",
    "# (parsing_pre_import_modules) rather than once per file: the standard operator uses them.",
)
_WIDTH = 100  # generated lines longer than this are split, one argument or item per line


# --------------------------------------------------------------------------- shared values


def repository_name(repository: str) -> str:
    """``<org>/<name>`` as the image path spells it: lower case, ``_`` as ``-``."""
    return repository.lower().replace("_", "-")


def image(workflow: Workflow, config: StackConfig) -> str:
    return f"{config.image_registry}/{repository_name(workflow.dag.repository)}:{workflow.dag.tag}"


def platform_task_env(config: StackConfig) -> dict[str, str]:
    """The environment every task starts from: the stack's ``taskEnv``, then the run identifiers."""
    return {**config.task_env, **RUN_IDENTIFIERS}


def param_env_var(key: str) -> str:
    return f"PARAM_{key.upper()}"


def param_template(key: str) -> str:
    """``{{ params['<key>'] }}``, with the key written as a Jinja string literal that means exactly ``key``."""
    return "{{ params[" + _jinja_string(key) + "] }}"


def dag_env_vars(workflow: Workflow, task: Task) -> dict[str, str]:
    """The workflow's part of a task's environment, as the DAG file passes it to the operator:
    ``PARAM_<KEY>`` for each param, then the manifest's ``env_vars`` (dag, then task). Names a
    secret fills are left out: a secret always wins."""
    env = {param_env_var(key): param_template(key) for key in workflow.dag.params}
    env.update(task.env_vars)
    for secret in workflow.secrets:
        env.pop(secret_env_var(secret), None)
    return env


def task_environment(workflow: Workflow, task: Task, config: StackConfig) -> dict[str, str]:
    """The complete environment of a generated task before Jinja renders it, in precedence order:
    platform defaults and run identifiers, then params and ``env_vars``. Secrets (``SECRET_<ID>``)
    come on top from Kubernetes secrets and are not listed here."""
    env = {**platform_task_env(config), **dag_env_vars(workflow, task)}
    for secret in workflow.secrets:
        env.pop(secret_env_var(secret), None)
    return env


def task_secrets(workflow: Workflow, config: StackConfig) -> dict[str, str]:
    """``SECRET_<ID>`` -> the Kubernetes secret (key ``data``) that fills it."""
    names = names_for(workflow, config)
    return {secret_env_var(s): names.kubernetes_secret(s) for s in workflow.secrets}


def dag_path(workflow: Workflow, config: StackConfig) -> str:
    """Where the DAG file goes, relative to the dags prefix: ``<project>/<workflow>.py``."""
    return names_for(workflow, config).dag_key.removeprefix(config.dags_prefix)


def manifest_path(workflow: Workflow, name: str = "workflow.yml") -> str:
    """The manifest's path relative to the repository: ``environments/<env>/<project>/<workflow>/<name>``."""
    return f"environments/{workflow.environment}/{workflow.project}/{workflow.name}/{name}"


# --------------------------------------------------------------------------- runtime files


def platform_settings(config: StackConfig) -> dict[str, Any]:
    """What the runtime package needs to know about this installation (``platform.json``)."""
    return {
        "environment": config.environment,
        "namespace": config.namespace,
        "image_registry": config.image_registry,
        "label_prefix": LABEL_PREFIX,
        "kubernetes": {
            "config_file": config.kubernetes.config_file,
            "cluster_context": config.kubernetes.cluster_context,
            "conn_id": config.kubernetes.conn_id,
        },
        "task_env": platform_task_env(config),
        "project_aliases": dict(config.project_aliases),
        "hmcts_sdp_networking": {
            "annotations": dict(config.hmcts_sdp_networking.annotations),
            "host_aliases": [
                {"ip": alias.ip, "hostnames": list(alias.hostnames)}
                for alias in config.hmcts_sdp_networking.host_aliases
            ],
        },
        "slack_conn_id": config.slack_conn_id,
    }


def runtime_files(config: StackConfig) -> dict[str, str]:
    """Files uploaded under the dags prefix besides the DAGs, by path relative to it, sorted."""
    files: dict[str, str] = {}
    for path in sorted(RUNTIME_DIR.rglob("*")):
        relative = path.relative_to(RUNTIME_DIR)
        hidden = any(part.startswith(".") for part in relative.parts) and relative.name != ".airflowignore"
        if not path.is_file() or hidden or "__pycache__" in relative.parts or path.suffix == ".pyc":
            continue
        files[relative.as_posix()] = path.read_text(encoding="utf-8")
    files[PLATFORM_FILE] = json.dumps(platform_settings(config), indent=2, sort_keys=True) + "\n"
    kubeconfig = kubernetes.kubeconfig(config)
    if kubeconfig is not None:
        files[config.kubernetes.bucket_path] = kubeconfig  # type: ignore[index]
    return dict(sorted(files.items()))


# --------------------------------------------------------------------------- rendering


def render_dag(workflow: Workflow, config: StackConfig) -> str:
    """The source of ``dags/<project>/<workflow>.py`` for this workflow.

    Raises :class:`ManifestError` for a ``python_dag`` workflow whose ``dag.py`` is
    missing, does not compile, or whose placeholders cannot be filled in safely.
    """
    if workflow.dag.python_dag:
        return render_python_dag(workflow, config)
    source = _generated_source(workflow, config)
    compile(source, "<generated DAG>", "exec", dont_inherit=True)  # our own bug if this fails
    return source


def _header(lines: Sequence[str]) -> list[str]:
    return [f"# {_comment_text(line)}" if line else "#" for line in lines]


def _generated_source(workflow: Workflow, config: StackConfig) -> str:
    names = names_for(workflow, config)
    dag = workflow.dag
    notifications = workflow.notifications
    slack = notifications.slack_channel
    secrets = task_secrets(workflow, config)
    datasets = isinstance(dag.schedule, DatasetSchedule) or any(t.inlets or t.outlets for t in dag.tasks)

    default_args: dict[str, Any] = {
        "owner": workflow.owner,
        "depends_on_past": _bool(dag.depends_on_past),
        "retries": _int(dag.retries),
        "retry_delay": _Call("datetime.timedelta", kwargs={"seconds": _int(dag.retry_delay)}),
        "email": list(notifications.emails),
        "email_on_failure": bool(notifications.emails),
        "email_on_retry": False,
    }
    if slack and "failure" in notifications.slack_events:
        default_args["on_failure_callback"] = [_Call("notifications.task_failure", (slack,))]

    dag_kwargs: dict[str, Any] = {
        "dag_id": names.dag_id,
        "schedule": _schedule(dag.schedule),
        "start_date": _datetime(dag.start_date, dag.timezone),
    }
    if dag.end_date is not None:
        dag_kwargs["end_date"] = _datetime(dag.end_date, dag.timezone)
    dag_kwargs |= {
        "catchup": _bool(dag.catchup),
        "max_active_runs": _int(dag.max_active_runs),
        "is_paused_upon_creation": _bool(dag.is_paused_upon_creation),
    }
    if dag.params:
        dag_kwargs["params"] = dict(dag.params)
    dag_kwargs["default_args"] = default_args
    if slack and "success" in notifications.slack_events:
        dag_kwargs["on_success_callback"] = [_Call("notifications.dag_success", (slack,))]
    dag_kwargs["tags"] = [workflow.business_unit]
    # Keep a value's final newline: Jinja drops it by default.
    dag_kwargs["jinja_environment_kwargs"] = {"keep_trailing_newline": True}

    imports = ["import datetime", "", "import pendulum", "from airflow import DAG"]
    if datasets:
        imports.append("from airflow.datasets import Dataset")
    if secrets:
        imports.append("from airflow.providers.cncf.kubernetes.secret import Secret")
    imports += ["", *_PRE_IMPORT_COMMENT, "import airflow.providers.cncf.kubernetes.operators.pod"]
    if slack:
        imports.append("import airflow.providers.slack.notifications.slack")
    imports.append("")
    if slack:
        imports.append("from analytical_platform import notifications")
    imports.append("from analytical_platform.standard_operator import AnalyticalPlatformStandardOperator")

    lines = _header(
        [
            f"Generated from {manifest_path(workflow)} — do not edit.",
            "The analytical-platform-airflow stack writes this file on every deploy;",
            "change the manifest instead.",
        ]
    )
    lines += ["", *imports, "", f"IMAGE = {image(workflow, config)!r}", ""]
    lines += [f"with {_format(_Call('DAG', kwargs=dag_kwargs), 0, 5)} as dag:", "    tasks = {}"]
    for task in dag.tasks:
        call = _Call("AnalyticalPlatformStandardOperator", kwargs=_task_kwargs(workflow, task, config, secrets))
        target = f"tasks[{task.name!r}] = "
        lines.append(f"    {target}{_format(call, 4, len(target))}")
    edges = [task for task in dag.tasks if task.dependencies]
    if edges:
        lines.append("")
    for task in edges:
        upstream = [_Raw(f"tasks[{name!r}]") for name in task.dependencies]
        left = _format(upstream[0] if len(upstream) == 1 else upstream, 4, len(f" >> tasks[{task.name!r}]"))
        lines.append(f"    {left} >> tasks[{task.name!r}]")
    return "\n".join(lines) + "\n"


def _task_kwargs(workflow: Workflow, task: Task, config: StackConfig, secrets: Mapping[str, str]) -> dict[str, Any]:
    names = names_for(workflow, config)
    kwargs: dict[str, Any] = {
        "task_id": task.name,
        "name": f"{workflow.name}-{task.name}",
        "image": _Raw("IMAGE"),
        "compute_profile": task.compute_profile,
        "environment": workflow.environment,
        "project": workflow.project,
        "workflow": workflow.name,
        "service_account_name": names.service_account,
        "hmcts_sdp_networking": _bool(task.hmcts_sdp_networking),
    }
    env = dag_env_vars(workflow, task)
    if env:
        kwargs["env_vars"] = env
    if secrets:
        kwargs["secrets"] = [
            _Call("Secret", ("env", variable, secret, EXTERNAL_SECRET_KEY)) for variable, secret in secrets.items()
        ]
    if task.inlets:
        kwargs["inlets"] = [_Call("Dataset", (uri,)) for uri in task.inlets]
    if task.outlets:
        kwargs["outlets"] = [_Call("Dataset", (uri,)) for uri in task.outlets]
    return kwargs


def _schedule(schedule: object) -> Any:
    if schedule is None:
        return None
    if isinstance(schedule, CronSchedule):
        return schedule.expression
    if isinstance(schedule, IntervalSchedule):
        return _Call("datetime.timedelta", kwargs={"seconds": _int(schedule.seconds)})
    if isinstance(schedule, DatasetSchedule):
        return [_Call("Dataset", (uri,)) for uri in schedule.uris]
    raise TypeError(f"unknown schedule {schedule!r}")


def _datetime(day: date, timezone: str) -> _Call:
    """Midnight of ``day`` in ``timezone``: a zone-aware start makes cron schedules follow local time."""
    return _Call("pendulum.datetime", (_int(day.year), _int(day.month), _int(day.day)), {"tz": timezone})


def _int(value: object) -> int:
    if type(value) is not int:
        raise TypeError(f"expected a whole number, got {value!r}")
    return value


def _bool(value: object) -> bool:
    if type(value) is not bool:
        raise TypeError(f"expected true or false, got {value!r}")
    return value


# --------------------------------------------------------------------------- literal code writer


@dataclass(frozen=True)
class _Raw:
    """Code we write ourselves (never from a manifest value)."""

    code: str


@dataclass(frozen=True)
class _Call:
    """A call of one of our own names; arguments are data, written as literals."""

    func: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] | None = None


def _flat(value: Any) -> str:
    if isinstance(value, _Raw):
        return value.code
    if isinstance(value, _Call):
        parts = [_flat(a) for a in value.args] + [f"{k}={_flat(v)}" for k, v in (value.kwargs or {}).items()]
        return f"{value.func}({', '.join(parts)})"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_flat(k)}: {_flat(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flat(v) for v in value) + "]"
    if value is None or isinstance(value, bool | int | str):
        return repr(value)
    raise TypeError(f"cannot write {type(value).__name__} as a literal")


def _format(value: Any, indent: int, lead: int = 0) -> str:
    """``value`` as code on a line indented by ``indent`` after ``lead`` characters: on one line
    when it fits, else one argument or item per line (nested values indented four more)."""
    flat = _flat(value)
    if indent + lead + len(flat) + 1 <= _WIDTH or not isinstance(value, _Call | Mapping | list | tuple):
        return flat
    inner = indent + 4
    pad = " " * inner
    if isinstance(value, _Call):
        items = [f"{pad}{_format(a, inner)}," for a in value.args]
        items += [f"{pad}{k}={_format(v, inner, len(k) + 1)}," for k, v in (value.kwargs or {}).items()]
        opening, closing = f"{value.func}(", ")"
    elif isinstance(value, Mapping):
        items = [f"{pad}{_flat(k)}: {_format(v, inner, len(_flat(k)) + 2)}," for k, v in value.items()]
        opening, closing = "{", "}"
    else:
        items = [f"{pad}{_format(v, inner)}," for v in value]
        opening, closing = "[", "]"
    if not items:
        return flat
    return opening + "\n" + "\n".join(items) + "\n" + " " * indent + closing


def _comment_text(text: str) -> str:
    """Text safe on one comment line: anything unprintable (line breaks included) is escaped."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _jinja_string(text: str) -> str:
    """A Jinja string literal for ``text``: letters, digits and ``_`` as they are, every other
    character as a ``\\uXXXX`` escape, so no quote, brace or backslash can end it early."""
    out = []
    for ch in text:
        if ch.isascii() and (ch.isalnum() or ch == "_"):
            out.append(ch)
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return "'" + "".join(out) + "'"


# --------------------------------------------------------------------------- python_dag


def placeholder_values(workflow: Workflow) -> dict[str, str]:
    """What each ``PLACEHOLDER_<NAME>`` of a workflow's own ``dag.py`` becomes."""
    return {
        "REPOSITORY_NAME": repository_name(workflow.dag.repository),
        "REPOSITORY_TAG": workflow.dag.tag,
        "PROJECT": workflow.project,
        "WORKFLOW": workflow.name,
        "ENVIRONMENT": workflow.environment,
        "OWNER": workflow.owner,
    }


def render_python_dag(workflow: Workflow, config: StackConfig) -> str:
    """The workflow's own ``dag.py`` with its placeholders filled in.

    Placeholders are replaced inside string literals (escaped for the literal's kind:
    quotes, backslashes, braces in f-strings) and comments, nowhere else. The result
    must parse to the same program with only those strings changed, so a value can
    never turn into code.
    """
    dag_py = workflow.path.parent / PYTHON_DAG_NAME
    source = workflow.python_dag_source
    if source is None:
        raise ManifestError(
            [Problem(dag_py, 1, 1, f"dag.python_dag is true but {PYTHON_DAG_NAME} is missing next to the manifest")]
        )
    original = _parse(source, dag_py, "")
    values = placeholder_values(workflow)
    filled = _fill_placeholders(source, values, dag_py)
    _check_same_program(original, _parse(filled, dag_py, " once its placeholders are filled in"), values, dag_py)
    trailer = _header(
        [
            f"Deployed from {manifest_path(workflow, PYTHON_DAG_NAME)} with its placeholders filled in",
            "by the analytical-platform-airflow stack — do not edit here.",
        ]
    )
    trailer += [*_PRE_IMPORT_COMMENT, "import airflow.providers.cncf.kubernetes.operators.pod"]
    separator = "" if filled.endswith("\n") or not filled else "\n"
    return filled + separator + "\n".join(trailer) + "\n"


def _parse(source: str, dag_py: Path, when: str) -> ast.Module:
    try:
        return ast.parse(source, filename=str(dag_py))
    except SyntaxError as error:
        raise ManifestError(
            [
                Problem(
                    dag_py,
                    error.lineno or 1,
                    error.offset or 1,
                    f"{PYTHON_DAG_NAME} is not valid Python{when}: {error.msg}",
                )
            ]
        ) from error
    except ValueError as error:  # null bytes
        raise ManifestError([Problem(dag_py, 1, 1, f"{PYTHON_DAG_NAME} is not valid Python{when}: {error}")]) from error


def _fill_placeholders(source: str, values: Mapping[str, str], dag_py: Path) -> str:
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))

    def offset(position: tuple[int, int]) -> int:
        return starts[position[0] - 1] + position[1]

    edits: list[tuple[int, int, str]] = []
    for kind, start, end in _literal_spans(source):
        begin, finish = offset(start), offset(end)
        text = source[begin:finish]
        if not _PLACEHOLDER.search(text):
            continue
        if kind == "comment":
            new = _PLACEHOLDER.sub(lambda m: _comment_text(values[m[1]]), text)
        else:
            new = _fill_string(text, values, dag_py, start)
        edits.append((begin, finish, new))
    out, last = [], 0
    for begin, finish, new in edits:
        out += [source[last:begin], new]
        last = finish
    out.append(source[last:])
    return "".join(out)


def _literal_spans(source: str) -> Iterator[tuple[str, tuple[int, int], tuple[int, int]]]:
    """Every string literal (an f-string as a whole) and comment, as (kind, start, end) positions."""
    fstring_start = getattr(tokenize, "FSTRING_START", None)  # Python 3.12+ splits f-strings
    fstring_end = getattr(tokenize, "FSTRING_END", None)
    depth, opened = 0, (0, 0)
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if fstring_start is not None and token.type == fstring_start:
            if depth == 0:
                opened = token.start
            depth += 1
        elif fstring_end is not None and token.type == fstring_end:
            depth -= 1
            if depth == 0:
                yield "string", opened, token.end
        elif depth:
            continue
        elif token.type == tokenize.STRING:
            yield "string", token.start, token.end
        elif token.type == tokenize.COMMENT:
            yield "comment", token.start, token.end


_STRING_PREFIX = re.compile(r"(?i)([rbuf]*)('''|\"\"\"|'|\")")


def _fill_string(text: str, values: Mapping[str, str], dag_py: Path, start: tuple[int, int]) -> str:
    match = _STRING_PREFIX.match(text)
    if not match:
        raise ValueError(f"not a string literal: {text!r}")
    prefix, quote = match[1].lower(), match[2]
    raw, fstring, triple = "r" in prefix, "f" in prefix, len(quote) == 3

    def escape(name: str) -> str:
        value = values[name]
        if raw:
            bad = "\\" in value or quote[0] in value or (not triple and ("\n" in value or "\r" in value))
            if bad:
                raise ManifestError(
                    [
                        Problem(
                            dag_py,
                            start[0],
                            start[1] + 1,
                            f"PLACEHOLDER_{name} is in a raw string, which cannot hold its value {value!r}: "
                            "use a normal string",
                        )
                    ]
                )
            escaped = value
        else:
            escaped = "".join(_escape_char(ch, quote[0], bytes_literal="b" in prefix) for ch in value)
        if fstring:
            escaped = escaped.replace("{", "{{").replace("}", "}}")
        return escaped

    body = text[len(match[0]) : len(text) - len(quote)]
    return match[0] + _PLACEHOLDER.sub(lambda m: escape(m[1]), body) + quote


def _escape_char(ch: str, quote: str, *, bytes_literal: bool) -> str:
    if ch == "\\":
        return "\\\\"
    if ch == quote:
        return "\\" + ch
    if ch == "\n":
        return "\\n"
    if ch == "\r":
        return "\\r"
    if bytes_literal and not ch.isascii():
        return "".join(f"\\x{byte:02x}" for byte in ch.encode("utf-8"))
    if not ch.isprintable():
        return ch.encode("unicode_escape").decode("ascii")
    return ch


def _check_same_program(before: ast.Module, after: ast.Module, values: Mapping[str, str], dag_py: Path) -> None:
    """``after`` must be ``before`` with placeholders replaced inside string values, and nothing else."""
    same = _shape(before) == _shape(after)
    if same:
        for old, new in zip(ast.walk(before), ast.walk(after), strict=True):
            constant = isinstance(old, ast.Constant) and isinstance(old.value, str | bytes)
            if constant and new.value != _expected_constant(old.value, values):
                same = False
                break
    if not same:
        raise ManifestError(
            [
                Problem(
                    dag_py,
                    1,
                    1,
                    f"{PYTHON_DAG_NAME}: filling in its placeholders would change the code, not just strings; "
                    "use PLACEHOLDER_<NAME> only inside ordinary string literals",
                )
            ]
        )


_PLACEHOLDER_BYTES = re.compile(_PLACEHOLDER.pattern.encode("ascii"))


def _expected_constant(value: str | bytes, values: Mapping[str, str]) -> str | bytes:
    if isinstance(value, bytes):
        return _PLACEHOLDER_BYTES.sub(lambda m: values[m[1].decode("ascii")].encode("utf-8"), value)
    return _PLACEHOLDER.sub(lambda m: values[m[1]], value)


class _Blank(ast.NodeTransformer):
    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        if isinstance(node.value, str | bytes):
            return ast.Constant(value=type(node.value)())
        return node


def _shape(tree: ast.Module) -> str:
    """The program with every string and bytes constant blanked out (positions ignored)."""
    return ast.dump(_Blank().visit(copy.deepcopy(tree)))
