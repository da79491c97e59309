"""Derived names (DESIGN.md) and their limits."""

from __future__ import annotations

from pathlib import Path

from workflows.model import Dag, Task, Workflow
from workflows.plan.naming import limit_problems, names_for, resource_tags, secret_env_var


def workflow(project: str = "demo", name: str = "job", secrets: tuple[str, ...] = ()) -> Workflow:
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
    )


def test_names(config):
    names = names_for(workflow(), config)
    assert names.role == names.policy == "airflow-development-demo-job"
    assert names.service_account == "demo-job"
    assert names.dag_id == "demo.job"
    assert names.dag_key == "dags/demo/job.py"
    assert names.secret_name("api-key") == "/airflow/development/demo/job/api-key"
    assert names.kubernetes_secret("api-key") == "demo-job-api-key"
    assert secret_env_var("api-key") == "SECRET_API_KEY"


def test_aliases_shorten_resource_names_but_not_the_dag_id(config):
    names = names_for(workflow("electronic-monitoring-data-store", "load"), config)
    assert names.role == "airflow-development-emds-load"
    assert names.service_account == "emds-load"
    assert names.secret_prefix == "/airflow/development/emds/load/"
    assert names.dag_id == "electronic-monitoring-data-store.load"  # run history is kept


def test_limits(config):
    assert limit_problems(workflow(), config) == []
    long_name = "w" * 50
    messages = [m for _, m in limit_problems(workflow("project", long_name), config)]
    assert any("IAM role name" in m and "64" in m for m in messages)
    assert len(f"airflow-development-project-{'w' * 36}") == 64
    assert limit_problems(workflow("project", "w" * 36), config) == []
    assert limit_problems(workflow("project", "w" * 37), config)[0][1].startswith("IAM role name")
    secret = "s" * 250
    assert limit_problems(workflow(secrets=(secret,)), config)[0][0] == "secrets.0"


def test_tags_combine_platform_and_workflow(config):
    tags = resource_tags(workflow(), config)
    assert tags["business-unit"] == "HMPPS"
    assert tags["airflow-project"] == "demo"
    assert tags["application"] == "analytical-platform-airflow"
    assert len(tags) <= 10
