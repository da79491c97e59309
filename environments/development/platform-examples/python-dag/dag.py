"""A workflow's own DAG: the platform fills in the placeholder values below on upload."""

from datetime import datetime

from airflow.models import DAG
from airflow.providers.cncf.kubernetes.secret import Secret
from analytical_platform.standard_operator import AnalyticalPlatformStandardOperator

REPOSITORY_NAME = "PLACEHOLDER_REPOSITORY_NAME"
REPOSITORY_TAG = "PLACEHOLDER_REPOSITORY_TAG"
PROJECT = "PLACEHOLDER_PROJECT"
WORKFLOW = "PLACEHOLDER_WORKFLOW"
ENVIRONMENT = "PLACEHOLDER_ENVIRONMENT"
OWNER = "PLACEHOLDER_OWNER"

with DAG(
    dag_id=f"{PROJECT}.{WORKFLOW}",
    default_args={"owner": OWNER, "retries": 1},
    start_date=datetime(2025, 1, 1),
    schedule=None,
    catchup=False,
) as dag:
    for region in ("north", "south"):
        AnalyticalPlatformStandardOperator(
            task_id=f"process-{region}",
            name=f"{PROJECT}-{WORKFLOW}-{region}",
            compute_profile="general-spot-2vcpu-8gb",
            image=f"509399598587.dkr.ecr.eu-west-2.amazonaws.com/{REPOSITORY_NAME}:{REPOSITORY_TAG}",
            environment=ENVIRONMENT,
            project=PROJECT,
            workflow=WORKFLOW,
            env_vars={"REGION": region},
            secrets=[Secret("env", "SECRET_TOKEN", f"{PROJECT}-{WORKFLOW}-token", "data")],
        )
