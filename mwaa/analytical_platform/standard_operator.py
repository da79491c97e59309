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

Before it creates the pod, a task checks that every Kubernetes secret it mounts
exists. One that does not (its Secrets Manager secret has no value yet, so its
ExternalSecret has nothing to sync) fails the task at once, naming the Secrets
Manager secret and where to set it, instead of leaving a pod stuck in
``CreateContainerConfigError`` until the start-up timeout.
"""

from __future__ import annotations

import functools
import gc
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

from airflow.exceptions import AirflowFailException
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.utils.xcom_sidecar import PodDefaults
from airflow.utils.template import literal
from kubernetes.client import models as k8s
from kubernetes.client.exceptions import ApiException

from analytical_platform import pod_spec
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

        secrets = list(kwargs.pop("secrets", None) or [])
        from_secrets = {s.deploy_target for s in secrets if s.deploy_type == "env"}
        values, sourced = _env_items(env_vars)
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
        labels = {**(kwargs.pop("labels", None) or {}), **settings.labels(project, workflow)}

        if settings.conn_id:
            kwargs.setdefault("kubernetes_conn_id", settings.conn_id)
        else:
            kwargs.setdefault("config_file", settings.config_file)
            kwargs.setdefault("cluster_context", settings.cluster_context)
            kwargs.setdefault("in_cluster", False)
        kwargs.setdefault("namespace", settings.namespace)
        kwargs.setdefault("service_account_name", settings.service_account(project, workflow))
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
        self.project = project
        self.workflow = workflow
        self.hmcts_sdp_networking = hmcts_sdp_networking

    def build_pod_request_obj(self, context: Any = None) -> k8s.V1Pod:
        """The pod as KubernetesPodOperator builds it, with the platform's XCom sidecar image and the
        restricted security context on any container Airflow adds (the XCom sidecar) too."""
        pod = super().build_pod_request_obj(context)
        image = platform().xcom_sidecar_image
        for container in pod.spec.containers[1:]:
            if image and container.name == PodDefaults.SIDECAR_CONTAINER_NAME:
                container.image = image
            if container.security_context is None:
                # The platform's sidecar image runs as its own non-root user; Airflow's alpine needs one.
                user = None if image else pod_spec.SIDECAR_USER
                container.security_context = pod_spec.container_security_context(run_as_user=user)
        return pod

    def execute(self, context: Any) -> Any:
        self.check_secrets_exist()
        return super().execute(context)

    def check_secrets_exist(self) -> None:
        """Fail the task at once (no retry) when a Kubernetes secret it mounts does not exist.

        Only the secrets' metadata is read. A check that cannot be made (no permission, API
        unreachable) is logged and the task goes on: the check must never be why a task fails.
        """
        namespace = self.namespace or platform().namespace
        missing = []
        for name in sorted({secret.secret for secret in self.secrets if secret.secret}):
            try:
                exists = _secret_exists(self.hook.core_v1_client, namespace, name)
            except Exception as error:  # any failure to check: carry on without the check
                self.log.warning(
                    "Could not check that Kubernetes secret %s exists in namespace %s (%s); starting the pod anyway",
                    name,
                    namespace,
                    error,
                )
                continue
            if not exists:
                missing.append(name)
        if missing:
            raise AirflowFailException(missing_secrets_message(missing, namespace, self.project, self.workflow))


def _secret_exists(client: Any, namespace: str, name: str) -> bool:
    """Whether the secret exists (HTTP 404: it does not); any other API error is raised."""
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
            return False
        raise
    response.release_conn()
    return True


def console_link(region: str, secret: str | None = None) -> str:
    """The Secrets Manager console: one secret's page, or the list of secrets (the user guide's link)."""
    base = f"https://{region}.console.aws.amazon.com/secretsmanager"
    if secret is None:
        return f"{base}/listsecrets?region={region}"
    return f"{base}/secret?name={urllib.parse.quote(secret, safe='')}&region={region}"


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
            where = f" ({console_link(region, path)})" if region else ""
            lines.append(
                f"Secrets Manager secret {path} has no value yet, so Kubernetes secret {name!r} does not exist "
                f"in namespace {namespace!r}. A maintainer of the workflow sets its value{where}."
            )
    if region:
        lines.append(f"Every secret is in the Secrets Manager console of the data account: {console_link(region)}.")
    interval = settings.secrets_refresh_interval
    sync = f" (its ExternalSecret syncs every {interval})" if interval else ""
    lines.append(f"Once the value is set and has reached the cluster{sync}, clear this task to run it again.")
    return "This task's pod cannot start: a secret it reads has no value.\n" + "\n".join(lines)
