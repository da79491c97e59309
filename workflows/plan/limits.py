"""Limits checked on a plan before anything is provisioned: name lengths and characters,
the policy size, and names two workflows of one stack would share.

Each problem names the manifest key to point at (``""`` for the file itself,
``secrets.<i>`` for one secret) and says what to shorten or rename.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from workflows.errors import Problem
from workflows.plan.workflow_plan import WorkflowPlan

ROLE_NAME_LIMIT = 64
K8S_NAME_LIMIT = 63  # RFC 1123 label: ServiceAccount names we create are kept to this
K8S_SUBDOMAIN_LIMIT = 253  # RFC 1123 subdomain: Secret and ExternalSecret names
LABEL_VALUE_LIMIT = 63
SECRET_NAME_LIMIT = 512
S3_KEY_LIMIT = 1024
DAG_ID_LIMIT = 250
# Characters, not counting whitespace, that AWS allows in a customer managed policy.
POLICY_SIZE_LIMIT = 6144

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def limit_problems(plan: WorkflowPlan) -> list[tuple[str, str]]:
    """Names and documents of the plan that would not fit their real limits, as (manifest key, message)."""
    names, workflow = plan.names, plan.workflow
    problems: list[tuple[str, str]] = []
    alias_hint = (
        f"shorten the workflow folder name, or add a project alias for '{workflow.project}' "
        "to the stack config (platform:projectAliases)"
    )
    if plan.identity is not None and len(names.role) > ROLE_NAME_LIMIT:
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
    for index, secret in enumerate(plan.secrets):
        kubernetes_name = names.kubernetes_secret(secret.id)
        if len(kubernetes_name) > K8S_SUBDOMAIN_LIMIT:
            problems.append(
                (
                    f"secrets.{index}",
                    f"Kubernetes secret name '{kubernetes_name}' is over {K8S_SUBDOMAIN_LIMIT} characters: "
                    "shorten the secret id",
                )
            )
        if len(secret.name) > SECRET_NAME_LIMIT:
            problems.append(
                (
                    f"secrets.{index}",
                    f"Secrets Manager name is over {SECRET_NAME_LIMIT} characters: shorten the secret id",
                )
            )
    if plan.identity is not None and plan.identity.permissions_size > POLICY_SIZE_LIMIT:
        size = plan.identity.permissions_size
        problems.append(
            (
                "iam",
                f"the IAM policy generated from iam would be {size} characters, {size - POLICY_SIZE_LIMIT} over "
                f"the limit of {POLICY_SIZE_LIMIT} for a managed policy: list fewer S3 paths or KMS keys, "
                "for example one prefix with a wildcard ('bucket/prefix/*') instead of several paths below it",
            )
        )
    return problems


def name_clashes(plans: Iterable[WorkflowPlan]) -> Iterator[Problem]:
    """Names joined with '-' (and project aliases) can coincide: ``a`` + ``b-c`` and ``a-b`` + ``c`` both give
    the service account ``a-b-c``. Two workflows must never share a name the stack derives: role, policy,
    service account, secret, Kubernetes secret, DAG id, DAG file or logical name."""
    owners: dict[tuple[str, str], WorkflowPlan] = {}
    for plan in plans:
        names = plan.names
        claims = [
            ("logical name", plan.logical_name),
            ("Kubernetes service account", names.service_account),
            ("secrets prefix", names.secret_prefix),
            ("DAG id", names.dag_id),
            ("DAG file", names.dag_key),
        ]
        if plan.identity is not None:
            claims += [("IAM role", plan.identity.role), ("IAM policy", plan.identity.policy)]
        claims += [("Kubernetes secret", names.kubernetes_secret(s.id)) for s in plan.secrets]
        claims += [("secret", s.name) for s in plan.secrets]
        for kind, name in claims:
            other = owners.setdefault((kind, name), plan)
            if other is not plan:  # both manifests hear of it: either may be the one to rename
                for mine, theirs in ((plan, other), (other, plan)):
                    yield Problem(
                        mine.workflow.path,
                        1,
                        1,
                        f"{kind} '{name}' would also belong to {theirs.workflow.key}: rename the workflow folder "
                        "(or change the project alias) so that no two workflows share it",
                    )
