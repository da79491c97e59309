"""Every name the stack derives for a workflow, and the limits they must fit.

These are the identities of live resources (DESIGN.md lists them): changing
one here renames, and so replaces, that resource for every workflow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workflows.config import StackConfig
from workflows.model import Workflow

LABEL_PREFIX = "airflow.compute.analytical-platform.service.justice.gov.uk"
ROLE_NAME_LIMIT = 64
ROLE_MAX_SESSION_SECONDS = 12 * 3600
POLICY_NAME_LIMIT = 128
K8S_NAME_LIMIT = 63  # RFC 1123 label: ServiceAccount names we create are kept to this
K8S_SUBDOMAIN_LIMIT = 253  # RFC 1123 subdomain: Secret and ExternalSecret names
LABEL_VALUE_LIMIT = 63
SECRET_NAME_LIMIT = 512
S3_KEY_LIMIT = 1024
DAG_ID_LIMIT = 250

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


@dataclass(frozen=True)
class Names:
    role: str
    policy: str
    service_account: str
    dag_id: str
    dag_key: str
    secret_prefix: str
    labels: dict[str, str]

    def secret_name(self, secret: str) -> str:
        """Secrets Manager name: ``/airflow/<env>/<project>/<workflow>/<secret>``."""
        return f"{self.secret_prefix}{secret}"

    def kubernetes_secret(self, secret: str) -> str:
        """The ExternalSecret and the Kubernetes Secret it writes: ``<project>-<workflow>-<secret>``."""
        return f"{self.service_account}-{secret}"


def names_for(workflow: Workflow, config: StackConfig) -> Names:
    project = config.alias(workflow.project)
    env = workflow.environment
    base = f"airflow-{env}-{project}-{workflow.name}"
    return Names(
        role=base,
        policy=base,
        service_account=f"{project}-{workflow.name}",
        dag_id=f"{workflow.project}.{workflow.name}",
        dag_key=f"{config.dags_prefix}{workflow.project}/{workflow.name}.py",
        secret_prefix=f"/airflow/{env}/{project}/{workflow.name}/",
        labels={
            f"{LABEL_PREFIX}/environment": env,
            f"{LABEL_PREFIX}/project": project,
            f"{LABEL_PREFIX}/workflow": workflow.name,
        },
    )


def secret_env_var(secret: str) -> str:
    """``SECRET_<ID>``: ``-`` becomes ``_``, upper case."""
    return "SECRET_" + secret.replace("-", "_").upper()


def limit_problems(workflow: Workflow, config: StackConfig) -> list[tuple[str, str]]:
    """Names that would not fit their real limits, as (manifest key, message) pairs.

    The key says where in the manifest to point (``""`` for the file itself,
    ``secrets.<i>`` for one secret). Messages say what to shorten.
    """
    names = names_for(workflow, config)
    problems: list[tuple[str, str]] = []
    alias_hint = (
        f"shorten the workflow folder name, or add a project alias for '{workflow.project}' "
        "to the stack config (platform:projectAliases)"
    )
    if workflow.iam.external_role is None and len(names.role) > ROLE_NAME_LIMIT:
        problems.append(
            (
                "",
                f"IAM role name '{names.role}' is {len(names.role)} characters, "
                f"over the limit of {ROLE_NAME_LIMIT}: {alias_hint}",
            )
        )
    if len(names.service_account) > K8S_NAME_LIMIT or not _DNS_LABEL.match(names.service_account):
        problems.append(
            (
                "",
                f"Kubernetes service account name '{names.service_account}' must be at most {K8S_NAME_LIMIT} "
                f"lower-case letters, digits and '-': {alias_hint}",
            )
        )
    for value in names.labels.values():
        if len(value) > LABEL_VALUE_LIMIT or not _LABEL_VALUE.match(value):
            problems.append(
                ("", f"Kubernetes label value '{value}' must be at most {LABEL_VALUE_LIMIT} characters: {alias_hint}")
            )
    if len(names.dag_key) > S3_KEY_LIMIT:
        problems.append(("", f"S3 key '{names.dag_key}' is over {S3_KEY_LIMIT} characters"))
    if len(names.dag_id) > DAG_ID_LIMIT:
        problems.append(("", f"DAG id '{names.dag_id}' is over {DAG_ID_LIMIT} characters"))
    for index, secret in enumerate(workflow.secrets):
        k8s = names.kubernetes_secret(secret)
        if len(k8s) > K8S_SUBDOMAIN_LIMIT:
            problems.append(
                (
                    f"secrets.{index}",
                    f"Kubernetes secret name '{k8s}' is over {K8S_SUBDOMAIN_LIMIT} characters: shorten the secret id",
                )
            )
        if len(names.secret_name(secret)) > SECRET_NAME_LIMIT:
            problems.append(
                (
                    f"secrets.{index}",
                    f"Secrets Manager name is over {SECRET_NAME_LIMIT} characters: shorten the secret id",
                )
            )
    return problems


S3_OBJECT_TAG_LIMIT = 10  # the tightest tag limit of any resource we tag
WORKFLOW_TAG_KEYS = ("business-unit", "owner", "airflow-project", "airflow-workflow")


def resource_tags(workflow: Workflow, config: StackConfig) -> dict[str, str]:
    """Tags on every taggable resource of a workflow: the platform's, then the workflow's own.

    The stack config is checked to leave room for these within S3's ten tags per object.
    """
    own = dict(
        zip(WORKFLOW_TAG_KEYS, (workflow.business_unit, workflow.owner, workflow.project, workflow.name), strict=True)
    )
    return dict(sorted((dict(config.tags) | own).items()))
