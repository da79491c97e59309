"""The loader and validator never crash: any input ends as a WorkflowPlan or a ManifestError.

Arbitrary bytes, arbitrary text, text built from YAML's own syntax (anchors,
aliases, merge keys, tags, flow and block styles, documents), and manifests in
which generated structures (nested mappings, lists, scalars of every YAML type)
replace one part of a valid manifest. A plan that comes out must hold everything
the stack deploys, sound (DAG source that compiles, IAM documents, Kubernetes
objects, names within their limits); a ManifestError must put each problem on one
line with a position. Budgets are fixed and derandomized so CI is
reproducible (the whole file runs in well under 20 s).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from workflows.config import StackConfig
from workflows.errors import ManifestError
from workflows.plan.limits import limit_problems
from workflows.plan.workflow_plan import WorkflowPlan, plan
from workflows.validate import check_workflow, load_workflow

FUZZ = settings(
    max_examples=500, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
PATH = Path("/repo/environments/development/demo/job/workflow.yml")

BASE: dict[str, Any] = {
    "dag": {
        "repository": "moj-analytical-services/example",
        "tag": "v1.0.0",
        "schedule": "0 5 * * *",
        "env_vars": {"MODE": "daily", "DATE": "{{ ds }}"},
        "params": {"size": "10"},
        "tasks": {"extract": {"env_vars": {"STAGE": "e"}}, "load": {"dependencies": ["extract"]}},
    },
    "maintainers": ["octo-analyst"],
    "tags": {"business_unit": "Platforms", "owner": "someone@justice.gov.uk"},
    "iam": {"s3_read_only": ["bucket-one/data/*"], "athena": "read"},
    "secrets": ["api-key"],
    "notifications": {"emails": ["someone@justice.gov.uk"], "slack_channel": "alerts"},
}
# Where a generated structure goes (a path of keys into BASE; the last key is created if missing).
PLACES = [
    (),
    ("dag",),
    ("dag", "schedule"),
    ("dag", "tasks"),
    ("dag", "tasks", "extract"),
    ("dag", "tasks", "load", "dependencies"),
    ("dag", "tasks", "load", "env_vars"),
    ("dag", "env_vars"),
    ("dag", "env_vars", "MODE"),
    ("dag", "params"),
    ("dag", "start_date"),
    ("dag", "end_date"),
    ("dag", "retries"),
    ("dag", "tag"),
    ("dag", "timezone"),
    ("dag", "inlets"),
    ("dag", "compute_profile"),
    ("dag", "python_dag"),
    ("iam",),
    ("iam", "s3_read_only"),
    ("iam", "external_role"),
    ("iam", "kms"),
    ("secrets",),
    ("maintainers",),
    ("tags",),
    ("notifications",),
    ("notifications", "slack_events"),
]

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["", "None", "~", "2025-01-01", "2025-02-30", "@daily", "0 5 * * *", "{{ var.value.x }}", "<<"]),
    st.sampled_from(["main", "extract", "arn:aws:iam::123456789012:role/x", "bucket/x", "read", "failure"]),
    st.sampled_from(["s3://bucket/x", "bucket/", "bucket/p/", "0 7 3-10 * ? *", "{{ data_interval_end.year * 2 }}"]),
)
KEYS = st.one_of(st.text(max_size=10), st.integers(), st.booleans(), st.none(), st.sampled_from(["dag", "tasks", "<<"]))
STRUCTURES = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=4)),
    max_leaves=12,
)

YAML_TOKENS = [
    *("dag", "tasks", "env_vars", "main", "repository", "tag", "iam", "secrets", "maintainers", "tags", "a", "b"),
    *(": ", ":", "- ", "? ", "\n", "\n  ", "\n    ", "\n- ", " ", "\t", "#", "# c\n", ",", "[", "]", "{", "}"),
    *("&a ", "*a", "&b ", "*b", "<<: ", "<<: *a", "!!binary ", "!!set ", "!!omap ", "!!str ", "!!int ", "!!map "),
    *("!!timestamp ", "!!python/object:os.system ", "!custom ", "|", "|-\n  ", ">", "'", '"', "\\", "'q'", '"\\x00"'),
    *("%YAML 1.1\n", "---\n", "...\n", "yes", "on", "null", "~", "1e999", ".nan", "0x1F", "2025-13-01", "\ufeff"),
    *("moj-analytical-services/x", "v1", "Platforms", "x@justice.gov.uk", "{{ ds }}", "\x00", "\r", "\x85"),
]
YAML_TEXT = st.lists(st.sampled_from(YAML_TOKENS), max_size=40).map("".join)


def outcome(config: StackConfig, text: str | None = None, path: Path = PATH) -> WorkflowPlan | ManifestError:
    """The only two allowed outcomes, each checked for what it promises."""
    # Warnings never decide the outcome: a plan exactly when there is no error, and a ManifestError holds errors.
    checked, problems = check_workflow(path, config, text)
    assert (checked is None) == any(p.is_error for p in problems), problems
    assert all(p.severity in ("error", "warning") and p.message.isprintable() for p in problems)
    try:
        declared = load_workflow(path, config, text)
    except ManifestError as error:
        assert error.problems
        assert all(p.is_error for p in error.problems)
        for problem in error.problems:
            assert problem.line >= 1 and problem.column >= 1
            assert "\n" not in problem.message and "\r" not in problem.message, problem.message
            assert problem.message.isprintable(), problem.message
        return error
    # A valid manifest is one the stack can deploy: every derived thing was built, and is sound.
    workflow = declared.workflow
    assert plan(workflow, config) == declared  # planning again gives the same plan
    assert limit_problems(declared) == []
    compile(declared.dag_source, "dag.py", "exec", dont_inherit=True)
    assert declared.service_account["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": declared.role_arn}
    assert [s.id for s in declared.secrets] == list(workflow.secrets)
    assert all(s.external_secret["kind"] == "ExternalSecret" for s in declared.secrets)
    if workflow.iam.external_role is None:
        assert declared.identity is not None
        json.loads(declared.identity.permissions)
        json.loads(declared.identity.trust_policy)
        assert declared.identity.shared_policy_arns
    else:
        assert declared.identity is None
        assert declared.role_arn == workflow.iam.external_role
    json.loads(declared.secret_policy)
    return declared


def test_the_base_manifest_is_valid(config: StackConfig) -> None:
    """Guard: the structured fuzzing starts from a valid manifest."""
    assert isinstance(outcome(config, yaml.safe_dump(BASE)), WorkflowPlan)


@FUZZ
@given(data=st.binary(max_size=300))
@example(data=b"\xff\xfe\x00d\x00a\x00g")  # UTF-16
@example(data=b"dag:\n  repository: \xc3\x28\n")  # invalid UTF-8
@example(data=b"\x00")
def test_arbitrary_bytes(config: StackConfig, tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "environments" / "development" / "demo" / "job" / "workflow.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    outcome(config, path=path)


@FUZZ
@given(text=st.text(max_size=300))
@example(text="a: \ud800")  # a lone surrogate cannot be UTF-8
@example(text="\ufeff")
def test_arbitrary_text(config: StackConfig, text: str) -> None:
    outcome(config, text)


@FUZZ
@given(text=YAML_TEXT)
@example(text="a: 1\n<<: 5\n")  # a merge of a scalar: crashed the loader before the fix
@example(text="a: &a [1]\nb: {<<: *a}\n")
@example(text="a: &a {<<: *a}\n")
@example(text="a: &a [*a]\n")
@example(text="a: " + "[" * 5000 + "]" * 5000)
@example(text="a: " + "{a: " * 3000 + "1" + "}" * 3000)
@example(
    text="l0: &l0 [x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 9))
)
@example(text="dag: !!python/object/apply:os.system [id]\n")
@example(text="? [a]\n: 1\n")
@example(text="!!int ")  # an explicit tag on nothing: crashed the loader (IndexError) before the fix
@example(text="dag: {retries: !!bool maybe}")
@example(text="!!timestamp ")  # AttributeError before the fix
def test_yaml_syntax(config: StackConfig, text: str) -> None:
    outcome(config, text)


@FUZZ
@given(place=st.sampled_from(PLACES), value=STRUCTURES)
@example(place=("dag", "start_date"), value="2025-02-30")  # not a real date: crashed planning (AttributeError)
@example(place=("dag", "end_date"), value="2025-02-30")
def test_generated_structures_in_a_manifest(config: StackConfig, place: tuple[str, ...], value: Any) -> None:
    document: Any = copy.deepcopy(BASE)
    if not place:
        document = value
    else:
        parent = document
        for key in place[:-1]:
            parent = parent[key]
        parent[place[-1]] = value
    try:
        text = yaml.safe_dump(document, allow_unicode=False)
    except yaml.YAMLError:  # not representable in YAML (nothing a manifest can hold)
        return
    outcome(config, text)


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\n<<: 5\n",
        "a: &x [1]\n<<: *x\n",
        yaml.safe_dump(BASE) + "<<: [1]\n",
    ],
)
def test_a_bad_merge_key_is_a_problem_not_a_crash(config: StackConfig, text: str) -> None:
    error = outcome(config, text)
    assert isinstance(error, ManifestError)
    assert any("merging" in p.message for p in error.problems)
