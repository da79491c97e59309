"""Compute profiles: the one source of truth for every pod the platform runs.

This file is shipped to the MWAA bucket (``dags/analytical_platform/``) and is
also loaded by the stack's validator (``workflows.compute``), so it imports
nothing outside the standard library.

A profile name is ``<fleet>-<capacity>-<N>vcpu-<M>gb``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FLEETS = ("general", "gpu")
CAPACITIES = ("spot", "on-demand")
# vCPU -> memory (GB): the sizes the Karpenter node pools offer.
SIZES = {1: 4, 2: 8, 4: 16, 8: 32, 16: 64, 32: 128, 64: 256, 120: 500, 128: 512}
NODE_POOL_LABEL = "compute.analytical-platform.service.justice.gov.uk/karpenter-node-pool"
GPU_RESOURCE = "nvidia.com/gpu"
# The profile a task runs on when its manifest names none (the model, the schema and the operator read it).
DEFAULT = "general-spot-1vcpu-4gb"

_NAME = re.compile(r"^(general|gpu)-(spot|on-demand)-(\d{1,3})vcpu-(\d{1,3})gb$")


@dataclass(frozen=True)
class ComputeProfile:
    fleet: str
    capacity: str
    vcpu: int
    memory_gb: int

    @property
    def name(self) -> str:
        return f"{self.fleet}-{self.capacity}-{self.vcpu}vcpu-{self.memory_gb}gb"

    @property
    def node_pool(self) -> str:
        return f"{self.fleet}-{self.capacity}"

    @property
    def gpus(self) -> int:
        return 1 if self.fleet == "gpu" else 0


def parse(name: str) -> ComputeProfile | None:
    """The profile called ``name``, or None when no such profile exists."""
    match = _NAME.match(name) if isinstance(name, str) else None
    if not match:
        return None
    fleet, capacity, vcpu, memory = match[1], match[2], int(match[3]), int(match[4])
    if SIZES.get(vcpu) != memory:
        return None
    return ComputeProfile(fleet, capacity, vcpu, memory)


def names() -> tuple[str, ...]:
    """Every valid profile name, in a stable order."""
    return tuple(
        ComputeProfile(fleet, capacity, vcpu, memory).name
        for fleet in FLEETS
        for capacity in CAPACITIES
        for vcpu, memory in SIZES.items()
    )
