"""Pod settings every task gets: its compute profile's placement and size, and the
restricted security context. Built from :mod:`analytical_platform.compute_profiles`,
the one definition of the profiles.
"""

from __future__ import annotations

from functools import cache, partial
from typing import Any

from kubernetes.client import Configuration
from kubernetes.client import models as k8s

from analytical_platform.compute_profiles import GPU_RESOURCE, NODE_POOL_LABEL, ComputeProfile, names, parse

DO_NOT_DISRUPT = {"karpenter.sh/do-not-disrupt": "true"}
# The XCom sidecar image (alpine) runs as root unless told otherwise; "nobody" can read the XCom file.
SIDECAR_USER = 65534


@cache
def _configuration() -> Configuration:
    return Configuration()


class _Models:
    """``kubernetes.client.models`` whose objects all share one ``Configuration``.

    A model built without one makes its own ``Configuration()``, which resets logging
    levels and so clears every logger's cache: that was most of a DAG file's parse time
    (4.0 s of 5.8 s for 300 DAGs). Sharing it changes nothing else: the models only
    read its client-side-validation flag.
    """

    def __getattr__(self, name: str) -> Any:
        return partial(getattr(k8s, name), local_vars_configuration=_configuration())


models = _Models()


def profile(name: str) -> ComputeProfile:
    found = parse(name)
    if found is None:
        raise ValueError(f"unknown compute profile {name!r}; valid profiles: {', '.join(names())}")
    return found


def affinity(compute: ComputeProfile) -> k8s.V1Affinity:
    """Only nodes of the profile's Karpenter node pool."""
    return models.V1Affinity(
        node_affinity=models.V1NodeAffinity(
            required_during_scheduling_ignored_during_execution=models.V1NodeSelector(
                node_selector_terms=[
                    models.V1NodeSelectorTerm(
                        match_expressions=[
                            models.V1NodeSelectorRequirement(
                                key=NODE_POOL_LABEL, operator="In", values=[compute.node_pool]
                            )
                        ]
                    )
                ]
            )
        )
    )


def tolerations(compute: ComputeProfile) -> list[k8s.V1Toleration]:
    """Tolerate the taint that keeps other pods off the node pool."""
    return [models.V1Toleration(key=NODE_POOL_LABEL, operator="Equal", value=compute.node_pool, effect="NoSchedule")]


def resources(compute: ComputeProfile) -> k8s.V1ResourceRequirements:
    """Requests equal to limits (a Guaranteed pod), plus one GPU on the gpu fleet."""
    amounts = {"cpu": str(compute.vcpu), "memory": f"{compute.memory_gb}Gi"}
    if compute.gpus:
        amounts[GPU_RESOURCE] = str(compute.gpus)
    return models.V1ResourceRequirements(requests=dict(amounts), limits=dict(amounts))


def annotations(compute: ComputeProfile) -> dict[str, str]:
    """Karpenter must not consolidate a node away from under a running task."""
    return dict(DO_NOT_DISRUPT)


def pod_security_context() -> k8s.V1PodSecurityContext:
    return models.V1PodSecurityContext(
        run_as_non_root=True,
        seccomp_profile=models.V1SeccompProfile(type="RuntimeDefault"),
    )


def container_security_context(run_as_user: int | None = None) -> k8s.V1SecurityContext:
    """Restricted (Pod Security Standards): non-root, no escalation, no capabilities, RuntimeDefault seccomp."""
    return models.V1SecurityContext(
        allow_privilege_escalation=False,
        privileged=False,
        run_as_non_root=True,
        run_as_user=run_as_user,
        capabilities=models.V1Capabilities(drop=["ALL"]),
        seccomp_profile=models.V1SeccompProfile(type="RuntimeDefault"),
    )


def host_aliases(aliases) -> list[k8s.V1HostAlias] | None:
    return [models.V1HostAlias(ip=a["ip"], hostnames=list(a["hostnames"])) for a in aliases] or None
