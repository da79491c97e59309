"""Limits checked on a plan before anything is provisioned (workflows/plan/limits.py): name lengths and
characters, the managed-policy size, and names two workflows of one stack would share."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.workflows.plan.factory import workflow
from tests.workflows.plan.test_iam import COMBINATIONS, CORPUS, CORPUS_MANIFESTS, corpus_workflow, make_workflow
from workflows.config import StackConfig
from workflows.errors import Problem
from workflows.model import Iam, Task, Workflow, frozen_map
from workflows.plan import iam
from workflows.plan.limits import (
    DAG_ID_LIMIT,
    K8S_NAME_LIMIT,
    K8S_SUBDOMAIN_LIMIT,
    LABEL_VALUE_LIMIT,
    POLICY_SIZE_LIMIT,
    ROLE_NAME_LIMIT,
    S3_KEY_LIMIT,
    SECRET_NAME_LIMIT,
    limit_problems,
    name_clashes,
)
from workflows.plan.naming import Names, derive
from workflows.plan.workflow_plan import plan

EXTERNAL_ROLE = "arn:aws:iam::111122223333:role/theirs"


def problems_of(workflow: Workflow, config: StackConfig) -> list[tuple[str, str]]:
    return limit_problems(plan(workflow, config))


def alias_hint(project: str) -> str:
    return (
        f"shorten the workflow folder name, or add a project alias for '{project}' "
        "to the stack config (platform:projectAliases)"
    )


def test_the_limits_are_the_real_ones() -> None:
    assert (ROLE_NAME_LIMIT, K8S_NAME_LIMIT, K8S_SUBDOMAIN_LIMIT, LABEL_VALUE_LIMIT) == (64, 63, 253, 63)
    assert (SECRET_NAME_LIMIT, S3_KEY_LIMIT, DAG_ID_LIMIT, POLICY_SIZE_LIMIT) == (512, 1024, 250, 6144)


# --- names -----------------------------------------------------------------------------------------


def test_limits(config):
    assert problems_of(workflow(), config) == []
    long_name = "w" * 50
    role = f"airflow-development-project-{long_name}"
    assert problems_of(workflow("project", long_name), config) == [
        ("", f"IAM role name '{role}' is 78 characters, over the limit of 64: {alias_hint('project')}")
    ]
    assert len(f"airflow-development-project-{'w' * 36}") == 64
    assert problems_of(workflow("project", "w" * 36), config) == []
    assert problems_of(workflow("project", "w" * 37), config)[0][1].startswith("IAM role name")
    secret = "s" * 250
    assert problems_of(workflow(secrets=("ok", secret)), config) == [
        ("secrets.1", f"Kubernetes secret name 'demo-job-{secret}' is over 253 characters: shorten the secret id")
    ]


def test_an_external_role_has_no_role_name_to_fit(config):
    assert problems_of(workflow("project", "w" * 50, iam=Iam(external_role=EXTERNAL_ROLE)), config) == []


def test_service_account_and_label_limits(config):
    name = "w" * 64  # no role name to fit: only the Kubernetes names are over
    assert problems_of(workflow(name=name, iam=Iam(external_role=EXTERNAL_ROLE)), config) == [
        (
            "",
            f"Kubernetes service account name 'demo-{name}' must be at most 63 lower-case letters, digits "
            f"and '-': {alias_hint('demo')}",
        ),
        ("", f"Kubernetes label value '{name}' must be at most 63 characters: {alias_hint('demo')}"),
    ]


def test_an_alias_shortens_the_dag_id_too(config):
    """The DAG id is ``<project alias>.<workflow>``, as the running service names DAGs."""
    project = "p" * 247
    assert ("", f"DAG id '{project}.job' is over 250 characters") in problems_of(workflow(project, "job"), config)
    aliased = dataclasses.replace(config, project_aliases=frozen_map({project: "p"}))
    assert problems_of(workflow(project, "job"), aliased) == []


def test_a_long_secret_id_is_over_both_secret_limits(config):
    secret = "s" * 490
    assert problems_of(workflow(secrets=(secret,)), config) == [
        ("secrets.0", f"Kubernetes secret name 'demo-job-{secret}' is over 253 characters: shorten the secret id"),
        ("secrets.0", "Secrets Manager name is over 512 characters: shorten the secret id"),
    ]


# --- the policy size ---------------------------------------------------------------------------------


def size(workflow: Workflow, config: StackConfig) -> int:
    return iam.policy_size(iam.policy_document(workflow.iam, derive(workflow, config), config))


def many_paths(count: int) -> tuple[str, ...]:
    return tuple(f"bucket-a/some/long/prefix/number/{index:04d}/*" for index in range(count))


def exactly_at_limit(config: StackConfig) -> Workflow:
    """A workflow whose policy is exactly 6,144 characters (each extra key character adds one)."""
    paths = list(many_paths(100))
    while size(make_workflow(Iam(s3_read_only=tuple(paths))), config) > 6144:
        paths.pop()
    short = 6144 - size(make_workflow(Iam(s3_read_only=tuple(paths))), config)
    paths[-1] = paths[-1].replace("/*", "x" * short + "/*")
    workflow = make_workflow(Iam(s3_read_only=tuple(paths)))
    assert size(workflow, config) == 6144
    return workflow


def test_size_problem_at_and_over_the_limit(config: StackConfig) -> None:
    workflow = exactly_at_limit(config)
    assert plan(workflow, config).identity.permissions_size == 6144
    assert limit_problems(plan(workflow, config)) == []
    paths = workflow.iam.s3_read_only
    over = make_workflow(Iam(s3_read_only=(*paths[:-1], paths[-1].replace("/*", "y/*"))))
    assert limit_problems(plan(over, config)) == [
        (
            "iam",
            "the IAM policy generated from iam would be 6145 characters, 1 over the limit of 6144 for a managed "
            "policy: list fewer S3 paths or KMS keys, for example one prefix with a wildcard ('bucket/prefix/*') "
            "instead of several paths below it",
        )
    ]


def test_size_problem_says_by_how_much(config: StackConfig) -> None:
    workflow = make_workflow(Iam(s3_read_write=many_paths(200)))
    declared = plan(workflow, config)
    over = declared.identity.permissions_size
    assert over == size(workflow, config) > 6144
    [(key, message)] = limit_problems(declared)
    assert key == "iam"
    assert f"would be {over} characters, {over - 6144} over the limit of 6144" in message
    assert "wildcard" in message


def test_no_size_problem_for_small_or_external_role(config: StackConfig) -> None:
    assert limit_problems(plan(make_workflow(COMBINATIONS["everything"]), config)) == []
    external = Iam(external_role=EXTERNAL_ROLE, s3_read_write=many_paths(500))
    assert limit_problems(plan(make_workflow(external), config)) == []


@pytest.mark.skipif(not CORPUS_MANIFESTS, reason="no corpus next to the repository")
def test_every_corpus_policy_fits(config: StackConfig) -> None:
    found = {}
    for path in CORPUS_MANIFESTS:
        over = [m for key, m in limit_problems(plan(corpus_workflow(path), config)) if key == "iam"]
        if over:
            found[str(path.relative_to(CORPUS))] = over
    assert found == {}


# --- names two workflows would share ------------------------------------------------------------------


def test_no_clash_between_distinct_workflows(config):
    plans = [plan(workflow("a", "b", secrets=("s",)), config), plan(workflow("a", "c", secrets=("s",)), config)]
    assert list(name_clashes(plans)) == []


def test_names_joined_with_dashes_can_clash(config):
    """``a`` + ``b-c`` and ``a-b`` + ``c``: both give the service account ``a-b-c`` and the same role and policy."""
    first, second = plan(workflow("a", "b-c"), config), plan(workflow("a-b", "c"), config)
    fix = "rename the workflow folder (or change the project alias) so that no two workflows share it"
    one = Path("environments/development/a/b-c/workflow.yml")
    two = Path("environments/development/a-b/c/workflow.yml")
    assert list(name_clashes([first, second])) == [
        Problem(two, 1, 1, f"Kubernetes service account 'a-b-c' would also belong to a/b-c: {fix}"),
        Problem(one, 1, 1, f"Kubernetes service account 'a-b-c' would also belong to a-b/c: {fix}"),
        Problem(two, 1, 1, f"IAM role 'airflow-development-a-b-c' would also belong to a/b-c: {fix}"),
        Problem(one, 1, 1, f"IAM role 'airflow-development-a-b-c' would also belong to a-b/c: {fix}"),
        Problem(two, 1, 1, f"IAM policy 'airflow-development-a-b-c' would also belong to a/b-c: {fix}"),
        Problem(one, 1, 1, f"IAM policy 'airflow-development-a-b-c' would also belong to a-b/c: {fix}"),
    ]


def test_an_alias_can_make_two_projects_clash(config):
    aliased = dataclasses.replace(config, project_aliases=frozen_map({"long-project": "lp"}))
    external = Iam(external_role=EXTERNAL_ROLE)
    first = plan(workflow("long-project", "job", secrets=("token",), iam=external), aliased)
    second = plan(workflow("lp", "job", secrets=("token",), iam=external), aliased)
    clashes = [(p.path.parts[2], p.message.split(" would")[0]) for p in name_clashes([first, second])]
    assert clashes == [
        ("lp", "Kubernetes service account 'lp-job'"),
        ("long-project", "Kubernetes service account 'lp-job'"),
        ("lp", "secrets prefix '/airflow/development/lp/job/'"),
        ("long-project", "secrets prefix '/airflow/development/lp/job/'"),
        ("lp", "DAG id 'lp.job'"),
        ("long-project", "DAG id 'lp.job'"),
        ("lp", "DAG file 'dags/development/lp/job/dag.py'"),
        ("long-project", "DAG file 'dags/development/lp/job/dag.py'"),
        ("lp", "Kubernetes secret 'lp-job-token'"),
        ("long-project", "Kubernetes secret 'lp-job-token'"),
        ("lp", "secret '/airflow/development/lp/job/token'"),
        ("long-project", "secret '/airflow/development/lp/job/token'"),
    ]


# --- every derived name is claimed (issue 12, item 4) ---------------------------------------------------

FIX = "rename the workflow folder (or change the project alias) so that no two workflows share it"


def clash_kinds(plans) -> list[tuple[str, str]]:
    """(the manifest's project/workflow, what clashes) of every clash, in order."""
    return [
        (f"{p.path.parts[2]}/{p.path.parts[3]}", p.message.split(" would also")[0].split(" is also")[0])
        for p in name_clashes(plans)
    ]


# Every field of Names, and the clash kind that claims it, or why it is no resource's name.
CLAIMED_FIELDS = {
    "key": "logical name",
    "role": "IAM role",
    "policy": "IAM policy",
    "service_account": "Kubernetes service account",
    "dag_id": "DAG id",
    "dag_key": "DAG file",
    "secret_prefix": "secrets prefix",
}
NOT_A_RESOURCE_NAME = {
    "project": "a part of the names above (one project has many workflows)",
    "workflow": "a part of the names above (one name in many projects)",
    "labels": "label values: the service-account label set, shared by design with the project",
    "image": "many workflows may run one image",
    "folder": "the manifest's folder in the repository, one per key",
    "environment": "a part of the names above (the stack's)",
}
# Every name method of Names (one name per secret), and the clash kind that claims it.
CLAIMED_METHODS = {
    "kubernetes_secret": "Kubernetes secret",
    "secret_name": "secret",
    "secret_logical_name": "secret logical name",
}
# Name methods of Names for the project's shared secrets: the project's resources, claimed by
# shared_secret_clashes (tests/workflows/test_validate.py), not a workflow's.
PROJECT_METHODS = {"shared_secret_name", "shared_kubernetes_secret"}


def test_every_name_the_plan_derives_is_in_the_clash_check():
    """A new name in Names (a field or a per-secret method) fails here until name_clashes claims it, or
    it is listed as no resource's name."""
    fields = {f.name for f in dataclasses.fields(Names)}
    assert fields == set(CLAIMED_FIELDS) | set(NOT_A_RESOURCE_NAME)
    methods = {n for n, v in vars(Names).items() if callable(v) and not n.startswith("_")}
    assert methods == set(CLAIMED_METHODS) | PROJECT_METHODS


@pytest.mark.parametrize("field", sorted(CLAIMED_FIELDS))
def test_each_claimed_name_is_checked(config, field):
    """Two workflows made to share only ``field``: the clash check says so, on both."""
    first, second = plan(workflow("a", "one"), config), plan(workflow("b", "two"), config)
    shared = dataclasses.replace(
        second, names=dataclasses.replace(second.names, **{field: getattr(first.names, field)})
    )
    kind = CLAIMED_FIELDS[field]
    value = getattr(first.names, field)
    assert clash_kinds([first, shared]) == [("b/two", f"{kind} '{value}'"), ("a/one", f"{kind} '{value}'")]


@pytest.mark.parametrize("method", sorted(CLAIMED_METHODS))
def test_each_claimed_secret_name_is_checked(config, method, monkeypatch):
    """Two workflows whose per-secret name ``method`` alone coincides (forced): the clash check says so."""
    first = plan(workflow("a", "one", secrets=("s",)), config)
    second = plan(workflow("b", "two", secrets=("t",)), config)
    monkeypatch.setattr(Names, method, lambda self, secret: "the-same")
    kind = CLAIMED_METHODS[method]
    assert clash_kinds([first, second]) == [("b/two", f"{kind} 'the-same'"), ("a/one", f"{kind} 'the-same'")]


# --- the class of clashes, by variant ------------------------------------------------------------------------


def test_a_dash_moved_across_the_slash(config):
    """``a-b/c`` and ``a/b-c``: one service account, role, policy and Kubernetes secret; the DAG file
    (``a-b/c/dag.py``, ``a/b-c/dag.py``), DAG id (``a-b.c``, ``a.b-c``) and secret names stay apart."""
    first = plan(workflow("a-b", "c", secrets=("token",)), config)
    second = plan(workflow("a", "b-c", secrets=("token",)), config)
    assert (first.names.dag_key, second.names.dag_key) == (
        "dags/development/a-b/c/dag.py",
        "dags/development/a/b-c/dag.py",
    )
    expected = []
    for kind in (
        "Kubernetes service account 'a-b-c'",
        "IAM role 'airflow-development-a-b-c'",
        "IAM policy 'airflow-development-a-b-c'",
        "Kubernetes secret 'a-b-c-token'",
    ):
        expected += [("a/b-c", kind), ("a-b/c", kind)]
    assert clash_kinds([first, second]) == expected


def test_three_ways_to_split_one_name(config):
    plans = [plan(workflow(p, w), config) for p, w in (("a", "b-c-d"), ("a-b", "c-d"), ("a-b-c", "d"))]
    found = clash_kinds(plans)
    assert ("a-b/c-d", "Kubernetes service account 'a-b-c-d'") in found
    assert ("a-b-c/d", "Kubernetes service account 'a-b-c-d'") in found
    assert ("a/b-c-d", "IAM role 'airflow-development-a-b-c-d'") in found
    assert {where for where, _ in found} == {"a/b-c-d", "a-b/c-d", "a-b-c/d"}


def test_a_secret_id_can_make_two_kubernetes_secrets_coincide(config):
    """``a/b`` with secret ``c-d`` and ``a/b-c`` with secret ``d``: only the Kubernetes secret ``a-b-c-d``
    is shared (service accounts ``a-b`` and ``a-b-c``, Secrets Manager names apart)."""
    first = plan(workflow("a", "b", secrets=("c-d",)), config)
    second = plan(workflow("a", "b-c", secrets=("d",)), config)
    assert clash_kinds([first, second]) == [
        ("a/b-c", "Kubernetes secret 'a-b-c-d'"),
        ("a/b", "Kubernetes secret 'a-b-c-d'"),
    ]
    # Across projects too: x/y + secret z-w and x-y/z + secret w.
    third = plan(workflow("x", "y", secrets=("z-w",)), config)
    fourth = plan(workflow("x-y", "z", secrets=("w",)), config)
    assert ("x-y/z", "Kubernetes secret 'x-y-z-w'") in clash_kinds([third, fourth])


def test_a_project_folder_named_like_another_projects_alias(config):
    """The development stack aliases electronic-monitoring-data-store to emds: a project folder called
    ``emds`` takes every name of the aliased project's workflow of the same name."""
    assert config.alias("electronic-monitoring-data-store") == "emds"
    real = plan(workflow("electronic-monitoring-data-store", "load", secrets=("key",)), config)
    impostor = plan(workflow("emds", "load", secrets=("key",)), config)
    kinds = [kind for where, kind in clash_kinds([real, impostor]) if where == "emds/load"]
    assert kinds == [
        "Kubernetes service account 'emds-load'",
        "secrets prefix '/airflow/development/emds/load/'",
        "DAG id 'emds.load'",
        "DAG file 'dags/development/emds/load/dag.py'",
        "IAM role 'airflow-development-emds-load'",
        "IAM policy 'airflow-development-emds-load'",
        "Kubernetes secret 'emds-load-key'",
        "secret '/airflow/development/emds/load/key'",
    ]
    # An alias plus a dash: emds-pp is another project's alias, and emds + pp-load its split.
    assert config.alias("electronic-monitoring-data-store-pp") == "emds-pp"
    aliased = plan(workflow("electronic-monitoring-data-store-pp", "load"), config)
    split = plan(workflow("emds", "pp-load"), config)
    assert ("emds/pp-load", "Kubernetes service account 'emds-pp-load'") in clash_kinds([aliased, split])


def test_dag_ids_with_a_dot_do_not_clash_across_the_dash(config):
    """``a.b-c`` (``a/b-c``) and ``a-b.c`` (``a-b/c``) are different DAG ids: the '.' keeps them apart, and a
    folder name cannot hold a '.', so only an alias could make one DAG id of two projects."""
    first, second = plan(workflow("a", "b-c"), config), plan(workflow("a-b", "c"), config)
    assert (first.names.dag_id, second.names.dag_id) == ("a.b-c", "a-b.c")
    assert not [kind for _, kind in clash_kinds([first, second]) if kind.startswith("DAG")]
    aliased = dataclasses.replace(config, project_aliases=frozen_map({"other": "a"}))
    third, fourth = plan(workflow("a", "b-c"), aliased), plan(workflow("other", "b-c"), aliased)
    assert ("other/b-c", "DAG id 'a.b-c'") in clash_kinds([third, fourth])


# --- outlets: one dataset, one producing project (issue 12, item 5) -------------------------------------------


def announcing(project: str, name: str, *outlets: str) -> Workflow:
    base = workflow(project, name)
    return dataclasses.replace(base, dag=dataclasses.replace(base.dag, tasks=(Task("main", outlets=outlets),)))


def outlet_clash(dataset: str, others: str) -> str:
    return (
        f"outlet dataset '{dataset}' is also announced by {others}, a workflow of another project: an outlet "
        "triggers every DAG scheduled on that dataset, so only the one project that produces it may announce it: "
        "remove the outlet, or agree with the other project's maintainers which of you produces it"
    )


@pytest.mark.parametrize(
    ("theirs", "mine", "dataset"),
    [
        ("s3://bucket/data", "s3://bucket/data", "s3://bucket/data"),
        ("s3://bucket/data", "s3://bucket/data/", "s3://bucket/data"),  # Airflow drops trailing slashes
        ("s3://bucket/data/", "s3://bucket/data//", "s3://bucket/data"),
        ("s3://bucket/data", "S3://bucket/data", "s3://bucket/data"),  # and lower-cases the scheme
        ("s3://bucket/data", "s3://bucket/data?", "s3://bucket/data"),  # an empty query is no query
        ("s3://b/t?x=1&y=2", "s3://b/t?y=2&x=1", "s3://b/t?x=1&y=2"),  # a query is sorted
        ("s3://bucket", "s3://bucket/", "s3://bucket/"),
        ("postgres://db/schema/table", "postgres://db/schema/table", "postgres://db/schema/table"),
    ],
)
def test_an_outlet_another_project_announces_is_refused_on_both(config, theirs, mine, dataset):
    producer = plan(announcing("team-a", "produce", theirs), config)
    intruder = plan(announcing("team-b", "trigger", mine), config)
    assert [(p.path.parts[2], p.message) for p in name_clashes([producer, intruder])] == [
        ("team-a", outlet_clash(dataset, "team-b/trigger")),
        ("team-b", outlet_clash(dataset, "team-a/produce")),
    ]


def test_workflows_of_one_project_may_share_an_outlet(config):
    plans = [plan(announcing("team-a", name, "s3://bucket/data"), config) for name in ("one", "two")]
    assert list(name_clashes(plans)) == []


def test_different_datasets_do_not_clash(config):
    plans = [
        plan(announcing("team-a", "one", "s3://bucket/data"), config),
        plan(announcing("team-b", "two", "s3://bucket/data2", "s3://bucket/dat", "s3://bucket/data/x"), config),
        plan(announcing("team-c", "three", "x-private://bucket/data/"), config),  # x- schemes are kept as written
        plan(announcing("team-d", "four", "x-private://bucket/data"), config),
    ]
    assert list(name_clashes(plans)) == []


def test_an_outlet_announced_by_three_projects_names_the_others(config):
    plans = [plan(announcing(p, "job", "s3://bucket/data"), config) for p in ("team-a", "team-b", "team-c")]
    plans.append(plan(announcing("team-a", "other", "s3://bucket/data"), config))
    messages = {p.path.parts[2] + "/" + p.path.parts[3]: p.message for p in name_clashes(plans)}
    assert messages == {
        "team-a/job": outlet_clash("s3://bucket/data", "team-b/job, team-c/job"),
        "team-b/job": outlet_clash("s3://bucket/data", "team-a/job, team-a/other, team-c/job"),
        "team-c/job": outlet_clash("s3://bucket/data", "team-a/job, team-a/other, team-b/job"),
        "team-a/other": outlet_clash("s3://bucket/data", "team-b/job, team-c/job"),
    }


@pytest.mark.skipif(not CORPUS_MANIFESTS, reason="no corpus next to the repository")
def test_no_two_live_projects_announce_one_dataset(config):
    assert list(name_clashes([plan(corpus_workflow(path), config) for path in CORPUS_MANIFESTS])) == []
