"""Derived names (DESIGN.md), computed once per workflow by ``derive`` (workflows/plan/naming.py)."""

from __future__ import annotations

from tests.workflows.plan.factory import workflow
from workflows.plan.naming import (
    DAG_FILE,
    LABEL_PREFIX,
    derive,
    param_env_var,
    repository_name,
    resource_tags,
    secret_env_var,
)


def test_names(config):
    names = derive(workflow(), config)
    assert names.key == "demo/job"
    assert names.project == "demo"
    assert names.workflow == "job"
    assert names.role == names.policy == "airflow-development-demo-job"
    assert names.service_account == "demo-job"
    assert names.dag_id == "demo.job"
    assert names.secret_prefix == "/airflow/development/demo/job/"
    assert names.secret_name("api-key") == "/airflow/development/demo/job/api-key"
    assert names.kubernetes_secret("api-key") == "demo-job-api-key"
    assert names.secret_logical_name("api-key") == "demo/job/api-key"
    assert names.folder == "environments/development/demo/job"
    assert names.image == "509399598587.dkr.ecr.eu-west-2.amazonaws.com/org/repo:v1"
    assert dict(names.labels) == {
        "airflow.compute.analytical-platform.service.justice.gov.uk/environment": "development",
        "airflow.compute.analytical-platform.service.justice.gov.uk/project": "demo",
        "airflow.compute.analytical-platform.service.justice.gov.uk/workflow": "job",
    }
    assert LABEL_PREFIX == "airflow.compute.analytical-platform.service.justice.gov.uk"
    assert secret_env_var("api-key") == "SECRET_API_KEY"
    assert param_env_var("run_date") == "PARAM_RUN_DATE"


def test_dag_key_is_a_fixed_file_in_a_folder_per_workflow(config):
    """The DAG key layout changed deliberately in the restructure: ``dags/<env>/<project alias>/<workflow>/dag.py``
    (it was ``dags/<project>/<workflow>.py``), so no tenant-chosen name is a top-level module in the DAG folder."""
    assert DAG_FILE == "dag.py"
    assert derive(workflow(), config).dag_key == "dags/development/demo/job/dag.py"
    aliased = derive(workflow("electronic-monitoring-data-store", "load"), config)
    assert aliased.dag_key == "dags/development/emds/load/dag.py"


def test_aliases_apply_to_every_derived_name_the_dag_id_included(config):
    """As the running service names them: its DAG ids are ``emds.<workflow>`` (run history is kept)."""
    names = derive(workflow("electronic-monitoring-data-store", "load"), config)
    assert names.key == "electronic-monitoring-data-store/load"  # folder names: logical names and messages
    assert names.project == "emds"
    assert names.role == "airflow-development-emds-load"
    assert names.service_account == "emds-load"
    assert names.secret_prefix == "/airflow/development/emds/load/"
    assert names.kubernetes_secret("token") == "emds-load-token"
    assert names.labels[f"{LABEL_PREFIX}/project"] == "emds"
    assert names.dag_id == "emds.load"
    assert names.dag_key == "dags/development/emds/load/dag.py"
    assert names.folder == "environments/development/electronic-monitoring-data-store/load"


def test_every_stack_aliases_both_electronic_monitoring_projects(config):
    pp = derive(workflow("electronic-monitoring-data-store-pp", "load-y", secrets=("token",)), config)
    assert (pp.project, pp.dag_id, pp.role) == ("emds-pp", "emds-pp.load-y", "airflow-development-emds-pp-load-y")
    assert (pp.service_account, pp.kubernetes_secret("token")) == ("emds-pp-load-y", "emds-pp-load-y-token")
    assert pp.secret_name("token") == "/airflow/development/emds-pp/load-y/token"
    assert derive(workflow("electronic-monitoring-data-store", "load-x"), config).dag_id == "emds.load-x"
    unaliased = derive(workflow("electronic-monitoring-data-store-dev", "x"), config)
    assert unaliased.dag_id == "electronic-monitoring-data-store-dev.x"  # only the listed folders


def test_image_path(config) -> None:
    assert repository_name("Moj_Analytical-Services/My_Repo") == "moj-analytical-services/my-repo"
    names = derive(workflow(repository="Moj_Analytical-Services/My_Repo"), config)
    assert names.image == "509399598587.dkr.ecr.eu-west-2.amazonaws.com/moj-analytical-services/my-repo:v1"


def test_tags_combine_platform_and_workflow(config):
    tags = resource_tags(workflow(), config)
    assert tags["business-unit"] == "HMPPS"
    assert tags["owner"] == "a@justice.gov.uk"  # the workflow's own wins over the platform's
    assert tags["airflow-project"] == "demo"
    assert tags["airflow-workflow"] == "job"
    assert tags["application"] == "Analytical Platform"  # the running service's tag (stack config)
    assert list(tags) == sorted(tags)
    assert len(tags) <= 10
