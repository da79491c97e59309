"""Who a workflow's pods run as: its Kubernetes service account and labels.

The one home of these names: the stack provisions the service account (and its IAM
role's trust) under the same name, reading this file (``workflows/runtime_modules.py``),
and the operator labels pods and picks the service account with it at run time.
``project`` is the project's alias where it has one (see ``platform.json``).
Standard library only.
"""

from __future__ import annotations

LABEL_PREFIX = "airflow.compute.analytical-platform.service.justice.gov.uk"


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
