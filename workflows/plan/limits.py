"""Limits checked on a plan before anything is provisioned: name lengths and characters,
the policy size, and names two workflows of one stack would share.

Each problem names the manifest key to point at (``""`` for the file itself,
``secrets.<i>`` for one secret) and says what to shorten or rename.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Iterator

from workflows.config import StackConfig
from workflows.errors import Problem
from workflows.model import Project
from workflows.plan.naming import derive_project
from workflows.plan.project_plan import ProjectPlan
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

# Bounds on what one manifest may hold: generous (the largest live workflow has 220 tasks, a
# handful of dependencies and env vars per task), so that no manifest makes validation, the
# DAG file or Airflow's parse of it slow for everyone. Checked by workflows/manifest/load.py
# (the size, before YAML parsing) and workflows/manifest/rules.py (the rest, before any
# per-task work), each with a message that names the bound.
MANIFEST_SIZE_LIMIT = 256 * 1024  # bytes of workflow.yml
TASK_LIMIT = 500  # tasks per workflow
DEPENDENCY_LIMIT = 100  # dependencies per task
ENV_VAR_LIMIT = 200  # env_vars of the DAG or of one task; params of the DAG
LIST_LIMIT = 500  # entries of any other list: iam paths and keys, secrets, datasets, maintainers, emails
# Unknown dependencies that get a "did you mean" suggestion (each costs a search over every task name).
SUGGESTION_LIMIT = 20

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
        problems += _secret_problems(index, names.kubernetes_secret(secret.id), secret.name)
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


def project_limit_problems(project: Project, config: StackConfig) -> list[tuple[str, str]]:
    """Names of a project's shared secrets that would not fit their real limits, as (key, message)."""
    names = derive_project(project, config)
    return [
        problem
        for index, secret in enumerate(project.secrets)
        for problem in _secret_problems(index, names.kubernetes_secret(secret), names.secret_name(secret))
    ]


def _secret_problems(index: int, kubernetes_name: str, secret_name: str) -> list[tuple[str, str]]:
    """The names of the ``index``-th entry of ``secrets`` (a workflow's or a project's) that would not fit."""
    problems = []
    if len(kubernetes_name) > K8S_SUBDOMAIN_LIMIT:
        problems.append(
            (
                f"secrets.{index}",
                f"Kubernetes secret name '{kubernetes_name}' is over {K8S_SUBDOMAIN_LIMIT} characters: "
                "shorten the secret id",
            )
        )
    if len(secret_name) > SECRET_NAME_LIMIT:
        problems.append(
            (f"secrets.{index}", f"Secrets Manager name is over {SECRET_NAME_LIMIT} characters: shorten the secret id")
        )
    return problems


def shared_secret_clashes(projects: Iterable[ProjectPlan], plans: Iterable[WorkflowPlan]) -> Iterator[Problem]:
    """Names of projects' shared secrets that a workflow's resources, or another project's shared secrets
    (two projects with one alias), would also have. Reported on the project file (and the workflow's)."""
    owners: dict[tuple[str, str], tuple[str, object]] = {}
    for plan in plans:
        for kind, name in _claims(plan):
            owners.setdefault((kind, name), (plan.workflow.key, plan.workflow.path))
    for project in projects:
        for secret in project.secrets:
            for kind, name in (
                ("Kubernetes secret", project.names.kubernetes_secret(secret.id)),
                ("secret", secret.name),
                ("secret logical name", secret.logical_name),
            ):
                other = owners.setdefault((kind, name), (f"project {project.project.name}", project.project.path))
                if other[1] == project.project.path:
                    continue
                yield Problem(
                    project.project.path,
                    1,
                    1,
                    f"{kind} '{name}' of shared secret '{secret.id}' would also belong to {other[0]}: rename the "
                    "secret, the workflow folder or the project alias so that no two share it",
                )


def name_clashes(plans: Iterable[WorkflowPlan]) -> Iterator[Problem]:
    """What two workflows of one stack must never share: every name the stack derives (:func:`_claims`),
    and a dataset announced as an outlet by workflows of two projects (:func:`_outlet_clashes`). Names
    joined with '-' (and project aliases) can coincide: ``a`` + ``b-c`` and ``a-b`` + ``c`` both give the
    service account ``a-b-c``. Every clash is reported on both manifests: either may be the one to change."""
    plans = list(plans)
    owners: dict[tuple[str, str], WorkflowPlan] = {}
    for plan in plans:
        for kind, name in _claims(plan):
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
    yield from _outlet_clashes(plans)


# Every name of :class:`~workflows.plan.naming.Names` that names a resource (or a resource's logical
# name) is claimed below; tests/workflows/plan/test_limits.py fails when a new one is not.
def _claims(plan: WorkflowPlan) -> list[tuple[str, str]]:
    names = plan.names
    claims = [
        ("logical name", names.key),
        ("Kubernetes service account", names.service_account),
        ("secrets prefix", names.secret_prefix),
        ("DAG id", names.dag_id),
        ("DAG file", names.dag_key),
    ]
    if plan.identity is not None:  # the generated role and policy (an external role is not ours to name)
        claims += [("IAM role", names.role), ("IAM policy", names.policy)]
    claims += [("Kubernetes secret", names.kubernetes_secret(s.id)) for s in plan.secrets]
    claims += [("secret", names.secret_name(s.id)) for s in plan.secrets]
    claims += [("secret logical name", names.secret_logical_name(s.id)) for s in plan.secrets]
    return claims


def dataset_identity(uri: str) -> str:
    """The dataset Airflow (2.10) makes of ``uri``: scheme lower-cased, credentials and fragment dropped,
    query sorted (blank values dropped), trailing slashes removed from the path, as
    ``airflow.datasets._sanitize_uri`` does. ``s3://b/x/``, ``s3://b/x?`` and ``S3://b/x`` are the
    dataset ``s3://b/x``: announcing any of them triggers the DAGs scheduled on it."""
    parsed = urllib.parse.urlsplit(uri)
    scheme = parsed.scheme.lower()
    if (not parsed.scheme and not parsed.netloc) or not scheme or scheme.startswith("x-"):
        return uri
    query = urllib.parse.urlencode(sorted(urllib.parse.parse_qsl(parsed.query))) if parsed.query else ""
    return urllib.parse.urlunsplit(
        (scheme, parsed.netloc.rpartition("@")[2], parsed.path.rstrip("/") or "/", query, "")
    )


def _outlet_clashes(plans: list[WorkflowPlan]) -> Iterator[Problem]:
    """An outlet triggers every DAG scheduled on its dataset, whoever owns that DAG: a dataset that a
    workflow of one project announces may not be announced by a workflow of another project (workflows of
    one project may share one). Reported on both manifests, naming the other workflow."""
    announced: dict[str, list[WorkflowPlan]] = {}
    for plan in plans:
        datasets = dict.fromkeys(dataset_identity(uri) for task in plan.workflow.dag.tasks for uri in task.outlets)
        for dataset in datasets:
            announced.setdefault(dataset, []).append(plan)
    for dataset, announcers in announced.items():
        for mine in announcers:
            others = sorted(p.workflow.key for p in announcers if p.workflow.project != mine.workflow.project)
            if not others:
                continue
            yield Problem(
                mine.workflow.path,
                1,
                1,
                f"outlet dataset '{dataset}' is also announced by {', '.join(others)}, a workflow of another "
                "project: an outlet triggers every DAG scheduled on that dataset, so only the one project that "
                "produces it may announce it: remove the outlet, or agree with the other project's maintainers "
                "which of you produces it",
            )
