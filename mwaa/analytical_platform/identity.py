"""Who a workflow's pods run as and what they mount: its service account, labels and secrets.

The one home of these names: the stack provisions the service account (and its IAM
role's trust), the Secrets Manager secrets and the ExternalSecrets under the same
names, reading this file (``workflows/runtime_modules.py``), and the operator labels
pods, picks the service account and explains a missing secret with it at run time.
``project`` is the project's alias where it has one (see ``platform.json``).
Standard library only.
"""

from __future__ import annotations

import urllib.parse

LABEL_PREFIX = "airflow.compute.analytical-platform.service.justice.gov.uk"
# The one key of every Kubernetes secret an ExternalSecret writes (the secret's value).
SECRET_KEY = "data"  # noqa: S105 - a key name, not a password


def service_account(project: str, workflow: str) -> str:
    """``<project>-<workflow>``."""
    return f"{project}-{workflow}"


def labels(environment: str, project: str, workflow: str) -> dict[str, str]:
    """The labels of the workflow's service account, secrets and pods."""
    return {
        f"{LABEL_PREFIX}/environment": environment,
        f"{LABEL_PREFIX}/project": project,
        f"{LABEL_PREFIX}/workflow": workflow,
    }


def secrets_prefix(environment: str, project: str, workflow: str) -> str:
    """``/airflow/<env>/<project>/<workflow>/``: where the workflow's Secrets Manager secrets live."""
    return f"/airflow/{environment}/{project}/{workflow}/"


def secret_path(environment: str, project: str, workflow: str, secret: str) -> str:
    """The Secrets Manager name of one secret: ``/airflow/<env>/<project>/<workflow>/<secret>``."""
    return secrets_prefix(environment, project, workflow) + secret


def kubernetes_secret(project: str, workflow: str, secret: str) -> str:
    """The ExternalSecret and the Kubernetes secret it writes: ``<project>-<workflow>-<secret>``."""
    return f"{service_account(project, workflow)}-{secret}"


def secret_of(project: str, workflow: str, kubernetes_name: str) -> str | None:
    """The secret id of this workflow whose Kubernetes secret is ``kubernetes_name``, or None when the
    name is not one of this workflow's (:func:`kubernetes_secret` reversed for the workflow's own prefix)."""
    prefix = kubernetes_secret(project, workflow, "")
    secret = kubernetes_name.removeprefix(prefix) if kubernetes_name.startswith(prefix) else ""
    return secret or None


# A project's shared secrets (``environments/<env>/<project>/project.yml``): one Secrets Manager secret and one
# Kubernetes secret per id for the whole project, read only by the workflows that list the id in
# ``shared_secrets``. ``shared`` takes the place of the workflow in their names, so a project that declares
# shared secrets may not have a workflow folder called ``shared`` (the stack refuses one).
SHARED = "shared"
# On a shared secret's Kubernetes secret: marks it as the project's (its labels carry no workflow) ...
SHARED_LABEL = f"{LABEL_PREFIX}/shared"
# ... and names, comma-separated and sorted, the workflows allowed to mount it (those that list it).
CONSUMERS_ANNOTATION = f"{LABEL_PREFIX}/workflows"


def shared_labels(environment: str, project: str) -> dict[str, str]:
    """The labels of a project's shared secrets: environment, project and ``shared: "true"`` (no workflow)."""
    return {
        f"{LABEL_PREFIX}/environment": environment,
        f"{LABEL_PREFIX}/project": project,
        SHARED_LABEL: "true",
    }


def shared_secret_path(environment: str, project: str, secret: str) -> str:
    """``/airflow/<env>/<project>/shared/<secret>``: the Secrets Manager name of a project's shared secret."""
    return secret_path(environment, project, SHARED, secret)


def shared_kubernetes_secret(project: str, secret: str) -> str:
    """``<project>-shared-<secret>``: the ExternalSecret and Kubernetes secret of a project's shared secret."""
    return kubernetes_secret(project, SHARED, secret)


def shared_secret_of(project: str, kubernetes_name: str) -> str | None:
    """The shared secret id whose Kubernetes secret is ``kubernetes_name``, or None when the name is not one of
    the project's shared secrets' (:func:`shared_kubernetes_secret` reversed)."""
    return secret_of(project, SHARED, kubernetes_name)


def consumers_annotation(workflows: list[str] | tuple[str, ...] | set[str]) -> str:
    """The value of :data:`CONSUMERS_ANNOTATION`: the workflow names, sorted, comma-separated."""
    return ",".join(sorted(set(workflows)))


def consumers(annotations: dict[str, str] | None) -> frozenset[str]:
    """The workflows a shared secret's annotations allow to mount it (none when the annotation is absent)."""
    value = (annotations or {}).get(CONSUMERS_ANNOTATION, "")
    return frozenset(name.strip() for name in value.split(",") if name.strip())


def console_link(region: str, secret: str | None = None) -> str:
    """The Secrets Manager console, as the user guide links it: one secret's page, or the list of secrets.
    What a task whose secret has no value, ``secrets-status`` and the pull-request summary point to."""
    base = f"https://{region}.console.aws.amazon.com/secretsmanager"
    if secret is None:
        return f"{base}/listsecrets?region={region}"
    return f"{base}/secret?name={urllib.parse.quote(secret, safe='')}&region={region}"
