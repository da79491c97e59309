"""Limits checked on a plan before anything is provisioned (workflows/plan/limits.py): name lengths and
characters, the managed-policy size, and names two workflows of one stack would share."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.workflows.plan.test_iam import COMBINATIONS, CORPUS, CORPUS_MANIFESTS, corpus_workflow, make_workflow
from workflows.config import StackConfig
from workflows.errors import Problem
from workflows.model import Dag, Iam, Task, Workflow, frozen_map
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
from workflows.plan.naming import derive
from workflows.plan.workflow_plan import plan

EXTERNAL_ROLE = "arn:aws:iam::111122223333:role/theirs"


def workflow(
    project: str = "demo", name: str = "job", secrets: tuple[str, ...] = (), iam_config: Iam | None = None
) -> Workflow:
    return Workflow(
        path=Path(f"environments/development/{project}/{name}/workflow.yml"),
        environment="development",
        project=project,
        name=name,
        dag=Dag(repository="org/repo", tag="v1", tasks=(Task("main"),)),
        maintainers=("octo",),
        business_unit="HMPPS",
        owner="a@justice.gov.uk",
        secrets=secrets,
        iam=iam_config or Iam(),
    )


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
    assert problems_of(workflow("project", "w" * 50, iam_config=Iam(external_role=EXTERNAL_ROLE)), config) == []


def test_service_account_and_label_limits(config):
    name = "w" * 64  # no role name to fit: only the Kubernetes names are over
    assert problems_of(workflow(name=name, iam_config=Iam(external_role=EXTERNAL_ROLE)), config) == [
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
    first = plan(workflow("long-project", "job", secrets=("token",), iam_config=external), aliased)
    second = plan(workflow("lp", "job", secrets=("token",), iam_config=external), aliased)
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
