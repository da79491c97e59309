"""``AnalyticalPlatformStandardOperator``: a KubernetesPodOperator with the platform's pod settings.

Every task of every workflow runs through this class, generated DAGs and the
workflows' own ``dag.py`` alike, so the platform's rules live in one place:

* the compute profile decides placement (node affinity and toleration on the
  Karpenter node pool), size (requests = limits, a GPU on the gpu fleet) and the
  ``karpenter.sh/do-not-disrupt`` annotation;
* the restricted security context, on the pod and on every container;
* namespace, service account (``<project alias>-<workflow>``, ``identity.py``), workflow
  labels and the way MWAA reaches the cluster come from ``platform.json``;
* the environment is the platform's (``platform.json``: AWS regions,
  ``AIRFLOW_ENVIRONMENT``, run identifiers), then the caller's ``env_vars``;
  variables filled from Kubernetes secrets (``secrets=``) cannot be overridden.

Environment values are Jinja templates only when they contain ``{{``, ``{%`` or
``{#`` (``"{{ run_id }}"``, ``"{{ params.x }}"``); every other value reaches the
container exactly as written, whatever characters it holds.

A task always runs as its own workflow, whatever the caller passes. Its workflow is
where its DAG file sits (``<dags folder>/<environment>/<project alias>/<workflow>/dag.py``,
a key the stack chooses, not the file), and only the ``project``/``workflow`` arguments
for a file elsewhere (tests, local runs); a file that names another workflow than the
folder it sits in is refused. The service account is always the workflow's own
(``identity.service_account``), the namespace the platform's; a different
``service_account_name`` or ``namespace`` is a ``TypeError``. Every Kubernetes secret the
pod would read, however it is named (``secrets=``, ``env_vars`` with ``secretKeyRef``,
``env_from``, ``volumes``, ``init_containers``, ``image_pull_secrets``), must be one of
the workflow's own, named ``<project alias>-<workflow>-<id>``, or one of its project's
shared secrets, named ``<project alias>-shared-<id>`` (checked when the DAG is parsed and
again on the pod as built, so a change after construction is caught too). At run time
the secret's labels, which the stack's ExternalSecrets put on every secret they write,
settle what the name cannot (``a-b-x`` is workflow ``a``'s secret ``b-x`` or workflow
``a-b``'s secret ``x``; ``p-shared-x`` is project ``p``'s shared secret ``x`` or a secret
of project ``p-shared``):

* a secret labelled ``shared: "true"`` is a project's shared secret: it must be labelled
  for this environment and the workflow's project, and its consumers annotation
  (``identity.CONSUMERS_ANNOTATION``: the workflows that list it in ``shared_secrets``)
  must name this workflow, else the task fails at once;
* any other secret must carry the workflow's own identity labels, else the task fails
  at once; one with no identity labels yet (written by the running service before the
  switch-over) is held to the name check, with a warning, when its name is the
  workflow's own. A name that is only a shared secret's cannot be such a leftover
  (shared secrets are new, and always labelled), so unlabelled it fails the task.

When the labels cannot be read (no permission, API unreachable) the name check stands
alone and a warning is logged.

These checks keep every DAG that uses the operator in its workflow's identity; they are
not a sandbox. A ``dag.py`` is code running in the DAG processor and could bypass the
operator altogether, which is why every change to a ``dag.py`` is reviewed as code.

Before it creates the pod, a task checks that every Kubernetes secret it mounts
exists. One that does not (its Secrets Manager secret has no value yet, so its
ExternalSecret has nothing to sync) fails the task at once, naming the Secrets
Manager secret and where to set it, instead of leaving a pod stuck in
``CreateContainerConfigError`` until the start-up timeout.
"""

from __future__ import annotations

import functools
import gc
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from airflow.exceptions import AirflowFailException
from airflow.models.dag import DagContext
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.utils.xcom_sidecar import PodDefaults
from airflow.utils.template import literal
from kubernetes.client import models as k8s
from kubernetes.client.exceptions import ApiException

from analytical_platform import identity, pod_spec
from analytical_platform.compute_profiles import DEFAULT as DEFAULT_COMPUTE_PROFILE
from analytical_platform.settings import platform

# The pod settings the platform decides; a DAG cannot pass its own.
PLATFORM_OWNED = (
    "affinity",
    "tolerations",
    "container_resources",
    "security_context",
    "container_security_context",
    "host_aliases",
    "full_pod_spec",
    "pod_template_file",
    "pod_template_dict",
)
_JINJA = re.compile(r"\{[{%#]")


@functools.cache
def _freeze_inherited_objects() -> None:
    """Once per process, before its first task is built: move every object the process already holds
    (Airflow's modules and settings, inherited from the DAG processor when it forked this parser) to
    the collector's permanent generation, so no collection walks them again. What the DAG builds
    afterwards is collected as usual. (Cached: it runs once.)"""
    gc.freeze()


# Ask for a secret's metadata only (PartialObjectMetadata), so its value never reaches the worker;
# an API server that cannot answer that way falls back to the plain object.
METADATA_ONLY = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json"
SECRET_CHECK_TIMEOUT_SECONDS = 30


def environment_value(value: Any) -> Any:
    """A value for the task's environment: a template if it uses Jinja, else passed through untouched."""
    text = value if isinstance(value, str) else str(value)
    return text if _JINJA.search(text) else literal(text)


def _env_items(env_vars: Mapping[str, Any] | list[k8s.V1EnvVar] | None) -> tuple[dict[str, Any], list[k8s.V1EnvVar]]:
    """Plain name -> value pairs, and variables with ``valueFrom`` kept as they are."""
    if not env_vars:
        return {}, []
    if isinstance(env_vars, Mapping):
        return {str(k): v for k, v in env_vars.items()}, []
    values: dict[str, Any] = {}
    sourced: list[k8s.V1EnvVar] = []
    for var in env_vars:
        if var.value_from is None:
            values[var.name] = var.value if var.value is not None else ""
        else:
            sourced.append(var)
    return values, sourced


class AnalyticalPlatformStandardOperator(KubernetesPodOperator):
    """Run one task of a workflow as a pod of its image, in the workflow's identity."""

    def __init__(
        self,
        *,
        task_id: str,
        image: str,
        project: str,
        workflow: str,
        name: str | None = None,
        compute_profile: str = DEFAULT_COMPUTE_PROFILE,
        environment: str | None = None,
        hmcts_sdp_networking: bool = False,
        env_vars: Mapping[str, Any] | list[k8s.V1EnvVar] | None = None,
        **kwargs: Any,
    ) -> None:
        _freeze_inherited_objects()
        owned = sorted(key for key in PLATFORM_OWNED if key in kwargs)
        if owned:
            raise TypeError(
                f"{', '.join(owned)} cannot be set on AnalyticalPlatformStandardOperator: "
                "the platform sets them from the compute profile"
            )
        settings = platform()
        compute = pod_spec.profile(compute_profile)
        del environment  # accepted as the DAGs pass it; the environment label comes from platform.json
        alias, workflow = own_workflow(kwargs.get("dag") or DagContext.get_current_dag(), project, workflow)
        own_account = identity.service_account(alias, workflow)
        for key, own in (("service_account_name", own_account), ("namespace", settings.namespace)):
            if kwargs.get(key) not in (None, own):
                raise TypeError(
                    f"{key}={kwargs[key]!r} cannot be set on AnalyticalPlatformStandardOperator: a task of workflow "
                    f"{alias}/{workflow} always runs with {key} {own!r}"
                )
        values, sourced = _env_items(env_vars)
        foreign = sorted(
            name
            for name in secret_references(
                kwargs.get("secrets"),
                sourced,  # variables with valueFrom (a mapping's keys are names, not fields)
                *(kwargs.get(key) for key in ("env_from", "volumes", "init_containers")),
                {"image_pull_secrets": _image_pull_secrets(kwargs.get("image_pull_secrets"))},
            )
            if not admitted_name(alias, workflow, name)
        )
        if foreign:
            raise TypeError(foreign_secrets_message(foreign, alias, workflow))

        secrets = list(kwargs.pop("secrets", None) or [])
        from_secrets = {s.deploy_target for s in secrets if s.deploy_type == "env"}
        merged = {**settings.task_env, **values}
        env = [
            pod_spec.models.V1EnvVar(name=key, value=environment_value(value))
            for key, value in merged.items()
            if key not in from_secrets
        ]
        env.extend(var for var in sourced if var.name not in from_secrets)

        annotations = {**(kwargs.pop("annotations", None) or {}), **pod_spec.annotations(compute)}
        host_aliases = None
        if hmcts_sdp_networking:
            annotations.update(settings.sdp_annotations)
            host_aliases = pod_spec.host_aliases(settings.sdp_host_aliases)
        labels = {**(kwargs.pop("labels", None) or {}), **identity.labels(settings.environment, alias, workflow)}

        if settings.conn_id:
            kwargs.setdefault("kubernetes_conn_id", settings.conn_id)
        else:
            kwargs.setdefault("config_file", settings.config_file)
            kwargs.setdefault("cluster_context", settings.cluster_context)
            kwargs.setdefault("in_cluster", False)
        kwargs["namespace"] = settings.namespace
        kwargs["service_account_name"] = own_account
        kwargs.setdefault("image_pull_policy", "Always")
        kwargs.setdefault("get_logs", True)
        kwargs.setdefault("startup_timeout_seconds", 600)
        kwargs.setdefault("log_pod_spec_on_failure", True)
        if "is_delete_operator_pod" not in kwargs:
            kwargs.setdefault("on_finish_action", "delete_pod")

        super().__init__(
            task_id=task_id,
            name=name or task_id,
            image=image,
            env_vars=env,
            secrets=secrets,
            annotations=annotations,
            labels=labels,
            affinity=pod_spec.affinity(compute),
            tolerations=pod_spec.tolerations(compute),
            container_resources=pod_spec.resources(compute),
            security_context=pod_spec.pod_security_context(),
            container_security_context=pod_spec.container_security_context(),
            host_aliases=host_aliases,
            **kwargs,
        )
        self.compute_profile = compute.name
        self.project = alias  # the project's alias: what its names and labels are made of
        self.workflow = workflow
        self.hmcts_sdp_networking = hmcts_sdp_networking

    def build_pod_request_obj(self, context: Any = None) -> k8s.V1Pod:
        """The pod as KubernetesPodOperator builds it, with the platform's XCom sidecar image and the
        restricted security context on any container Airflow adds (the XCom sidecar) too.

        The pod as built is checked again, against the workflow of the DAG file the task was loaded
        from: its service account, namespace and every secret it reads, whatever changed since the
        operator was made."""
        pod = super().build_pod_request_obj(context)
        self._check_pod_identity(pod)
        image = platform().xcom_sidecar_image
        for container in pod.spec.containers[1:]:
            if image and container.name == PodDefaults.SIDECAR_CONTAINER_NAME:
                container.image = image
            if container.security_context is None:
                # The platform's sidecar image runs as its own non-root user; Airflow's alpine needs one.
                user = None if image else pod_spec.SIDECAR_USER
                container.security_context = pod_spec.container_security_context(run_as_user=user)
        return pod

    def _own_workflow(self) -> tuple[str, str]:
        """(project alias, workflow) as the DAG file the task was loaded from says."""
        return own_workflow(self.dag if self.has_dag() else None, self.project, self.workflow)

    def _check_pod_identity(self, pod: k8s.V1Pod) -> None:
        settings = platform()
        alias, workflow = self._own_workflow()
        own = {"service account": identity.service_account(alias, workflow), "namespace": settings.namespace}
        found = {"service account": pod.spec.service_account_name, "namespace": pod.metadata.namespace}
        wrong = [f"{key} {found[key]!r} (not {own[key]!r})" for key in own if found[key] != own[key]]
        if wrong:
            raise AirflowFailException(
                f"This task of workflow {alias}/{workflow} would run with {' and '.join(wrong)}: "
                "a task always runs in its own workflow's identity"
            )
        foreign = sorted(n for n in secret_references(pod.spec) if not admitted_name(alias, workflow, n))
        if foreign:
            raise AirflowFailException(foreign_secrets_message(foreign, alias, workflow))

    def execute(self, context: Any) -> Any:
        self.check_secrets_exist(context)
        return super().execute(context)

    def check_secrets_exist(self, context: Any = None) -> None:
        """Fail the task at once (no retry) when a Kubernetes secret its pod reads does not exist, or
        is not this workflow's to read: its identity labels name another workflow or environment, or,
        for a project's shared secret (labelled ``shared: "true"``), another project or environment,
        or its consumers annotation does not name this workflow (it is not in its ``shared_secrets``).

        A secret with no identity labels at all is one the running service's ExternalSecrets wrote
        before the switch-over (this stack's add the labels; the operator re-syncs within its refresh
        interval): for it the name check stands alone, with a warning, so no task fails during the
        cutover. The running service never wrote a shared secret, so that holds only for a name that
        is the workflow's own: an unlabelled secret the name admits only as a shared one (perhaps
        project ``<alias>-shared``'s) fails the task.

        Only the secrets' metadata is read. A check that cannot be made (no permission, API
        unreachable) is logged and the task goes on with the name check alone (made when the pod
        is built): the check must never be why a task of this workflow fails.
        """
        namespace = self.namespace or platform().namespace
        environment = platform().environment
        alias, workflow = self._own_workflow()
        own_labels = identity.labels(environment, alias, workflow)
        missing, foreign = [], []
        for name in sorted(secret_references(self.build_pod_request_obj(context).spec)):
            try:
                metadata = _secret_metadata(self.hook.core_v1_client, namespace, name)
            except Exception as error:  # any failure to check: carry on without the check
                self.log.warning(
                    "Could not check that Kubernetes secret %s exists in namespace %s (%s); starting the pod anyway",
                    name,
                    namespace,
                    error,
                )
                continue
            if metadata is None:
                missing.append(name)
                continue
            labels, annotations = metadata
            # The labels decide whose secret it is, not the name (see the module's docstring).
            if labels.get(identity.SHARED_LABEL) == "true":
                problem = _shared_secret_problem(name, labels, annotations, environment, alias, workflow)
                if problem:
                    foreign.append(f"{name} ({problem})")
            elif not any(key in labels for key in own_labels):
                if identity.secret_of(alias, workflow, name) is None:
                    foreign.append(
                        f"{name} (carries no identity labels, and a project's shared secret always carries them)"
                    )
                    continue
                self.log.warning(
                    "Kubernetes secret %s carries no workflow labels yet (written before the switch-over): "
                    "its name is this workflow's, so the task goes on",
                    name,
                )
            elif any(labels.get(key) != value for key, value in own_labels.items()):
                foreign.append(f"{name} (labelled {_identity_of(labels)})")
        if foreign:
            raise AirflowFailException(foreign_secrets_message(foreign, alias, workflow))
        if missing:
            raise AirflowFailException(missing_secrets_message(missing, namespace, alias, workflow))


def own_workflow(dag: Any, project: str | None, workflow: str | None) -> tuple[str, str]:
    """(project alias, workflow) a task runs as: the workflow whose folder its DAG file sits in, else
    (a file outside the stack's layout) the ``project``/``workflow`` arguments. A file that names another
    workflow than the folder it sits in is refused."""
    settings = platform()
    found = settings.workflow_of_dag_file(getattr(dag, "fileloc", None))
    named = (settings.alias(project), workflow) if project and workflow else None
    if found is None:
        if named is None:
            raise TypeError("AnalyticalPlatformStandardOperator needs project= and workflow=")
        return named
    if named is not None and named != found:
        raise TypeError(
            f"this DAG file is workflow {found[0]}/{found[1]}'s ({settings.environment}/{found[0]}/{found[1]}/dag.py) "
            f"but its task names project={project!r}, workflow={workflow!r}: a task always runs as the workflow "
            "whose DAG file it is"
        )
    return found


# Keys (any spelling: snake_case models, camelCase API objects) under which a pod names a Kubernetes secret.
_SECRET_OBJECT_KEYS = {"secretkeyref", "secretref", "secret", "nodepublishsecretref", "imagepullsecrets"}


def secret_references(*values: Any) -> set[str]:
    """Every Kubernetes secret name in these values (``Secret``s, Kubernetes models or their dicts, lists
    of them): env ``secretKeyRef``, ``envFrom`` ``secretRef``, secret and projected volumes, CSI
    ``nodePublishSecretRef``, ``imagePullSecrets``, and any other ``…secretName``/``…secretRef``."""
    names: set[str] = set()

    def walk(value: Any, key: str = "") -> None:
        if value is None or isinstance(value, str | bytes | int | float | bool):
            if isinstance(value, str) and "secret" in key and key.endswith("name"):
                names.add(value)
            return
        if hasattr(value, "deploy_type") and hasattr(value, "secret"):  # airflow's Secret
            if value.secret:
                names.add(value.secret)
            return
        if hasattr(value, "to_dict") and hasattr(value, "openapi_types"):  # a kubernetes model
            value = value.to_dict()
        if isinstance(value, Mapping):
            for child_key, child in value.items():
                normal = str(child_key).replace("_", "").lower()
                if normal in _SECRET_OBJECT_KEYS:
                    for item in child if isinstance(child, list | tuple) else [child]:
                        if isinstance(item, Mapping) and isinstance(item.get("name"), str):
                            names.add(item["name"])
                        elif hasattr(item, "name") and isinstance(item.name, str):  # V1LocalObjectReference
                            names.add(item.name)
                        elif isinstance(item, str) and normal == "imagepullsecrets":  # a name, as the operator takes it
                            names.add(item)
                walk(child, normal)
        elif isinstance(value, Iterable):
            for item in value:
                walk(item, key)

    for value in values:
        walk(value)
    return names


def _image_pull_secrets(value: Any) -> list[Any]:
    """``image_pull_secrets`` as KubernetesPodOperator takes it: a comma-separated string or a list."""
    if isinstance(value, str):
        return [name.strip() for name in value.split(",") if name.strip()]
    return list(value or [])


def admitted_name(alias: str, workflow: str, name: str) -> bool:
    """Whether a task of workflow ``alias/workflow`` may name Kubernetes secret ``name``: one of the workflow's
    own (``<alias>-<workflow>-<id>``) or one of its project's shared secrets (``<alias>-shared-<id>``). Which
    workflows may read a shared secret is only known at run time, from the secret's consumers annotation."""
    return identity.secret_of(alias, workflow, name) is not None or identity.shared_secret_of(alias, name) is not None


def _shared_secret_problem(
    name: str,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    environment: str,
    alias: str,
    workflow: str,
) -> str | None:
    """Why workflow ``alias/workflow`` may not read the shared secret ``name`` (labelled ``shared: "true"``), in
    words its maintainers can act on, or None when it may: labelled for this environment and the workflow's
    project, and the workflow is among the consumers its annotation names."""
    project = labels.get(f"{identity.LABEL_PREFIX}/project")
    labelled_environment = labels.get(f"{identity.LABEL_PREFIX}/environment")
    if project != alias or labelled_environment != environment:
        return f"labelled as a shared secret of project {project} in {labelled_environment}"
    if workflow in identity.consumers(dict(annotations)):
        return None
    secret = identity.shared_secret_of(alias, name) or name
    return (
        f"shared secret {secret} of project {alias}, which this workflow does not list in shared_secrets: "
        f"add {secret} to shared_secrets in its workflow.yml"
    )


def _identity_of(labels: Mapping[str, str]) -> str:
    project = labels.get(f"{identity.LABEL_PREFIX}/project")
    workflow = labels.get(f"{identity.LABEL_PREFIX}/workflow")
    environment = labels.get(f"{identity.LABEL_PREFIX}/environment")
    if not (project or workflow):
        return "with no workflow"
    return f"for workflow {project}/{workflow} in {environment}"


def foreign_secrets_message(names: Iterable[str], alias: str, workflow: str) -> str:
    return (
        f"A task of workflow {alias}/{workflow} can only read its own secrets (Kubernetes secrets "
        f"{identity.kubernetes_secret(alias, workflow, '<id>')!r} synced by the stack for this workflow) and "
        f"its project's shared secrets (Kubernetes secrets {identity.shared_kubernetes_secret(alias, '<id>')!r}, "
        "for a workflow that lists <id> in shared_secrets), not: " + ", ".join(names)
    )


def _secret_metadata(client: Any, namespace: str, name: str) -> tuple[dict[str, str], dict[str, str]] | None:
    """The secret's (labels, annotations), or None when it does not exist (HTTP 404); any other API error is
    raised. A shared secret's annotations name the workflows that may read it."""
    try:
        response = client.api_client.call_api(
            "/api/v1/namespaces/{namespace}/secrets/{name}",
            "GET",
            path_params={"namespace": namespace, "name": name},
            header_params={"Accept": METADATA_ONLY},
            auth_settings=["BearerToken"],
            _preload_content=False,
            _return_http_data_only=True,
            _request_timeout=SECRET_CHECK_TIMEOUT_SECONDS,
        )
    except ApiException as error:
        if error.status == 404:
            return None
        raise
    try:
        body = json.loads(response.data or b"{}")
    finally:
        response.release_conn()
    metadata = body.get("metadata") or {}
    return dict(metadata.get("labels") or {}), dict(metadata.get("annotations") or {})


def missing_secrets_message(missing: Iterable[str], namespace: str, project: str, workflow: str) -> str:
    """What a task whose secrets have no value yet tells its maintainers: which Secrets Manager secret to set,
    where, and what happens next."""
    settings = platform()
    region = settings.secrets_region
    lines = []
    for name in missing:
        path = settings.secret_path(project, workflow, name)
        if path is None:  # a hand-written DAG mounting a secret that is not this workflow's own
            lines.append(
                f"Kubernetes secret {name!r} does not exist in namespace {namespace!r}: it is written by the "
                f"ExternalSecret of the same name once its Secrets Manager secret has a value."
            )
        else:
            where = f" ({identity.console_link(region, path)})" if region else ""
            # A project's shared secret is set by the project's maintainers, not the workflow's.
            shared = identity.secret_of(settings.alias(project), workflow, name) is None
            who = "the project (project.yml's maintainers)" if shared else "the workflow"
            lines.append(
                f"Secrets Manager secret {path} has no value yet, so Kubernetes secret {name!r} does not exist "
                f"in namespace {namespace!r}. A maintainer of {who} sets its value{where}."
            )
    if region:
        lines.append(
            f"Every secret is in the Secrets Manager console of the data account: {identity.console_link(region)}."
        )
    interval = settings.secrets_refresh_interval
    sync = f" (its ExternalSecret syncs every {interval})" if interval else ""
    lines.append(f"Once the value is set and has reached the cluster{sync}, clear this task to run it again.")
    return "This task's pod cannot start: a secret it reads has no value.\n" + "\n".join(lines)
