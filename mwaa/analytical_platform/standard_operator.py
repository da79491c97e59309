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
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.utils.template import literal
from kubernetes.client import models as k8s

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
        """The pod as KubernetesPodOperator builds it, with the restricted security context on any
        container Airflow adds (the XCom sidecar) too."""
        pod = super().build_pod_request_obj(context)
        for container in pod.spec.containers[1:]:
            if container.security_context is None:
                container.security_context = pod_spec.container_security_context(run_as_user=pod_spec.SIDECAR_USER)
        return pod
