"""The Pulumi program: stack config → validated plans → one Workflow component each.

``__main__.py`` calls :func:`deploy`; so does ``python -m workflows render`` under
the mock runtime, so both run exactly the same code.
"""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

import pulumi

from components.runtime import PlatformRuntime
from components.workflow import PlatformArgs, Workflow
from workflows.config import NAMESPACE, StackConfig
from workflows.dags.runtime import runtime_files
from workflows.errors import ConfigError, ManifestError
from workflows.manifest.discovery import discover
from workflows.plan.workflow_plan import WorkflowPlan
from workflows.validate import load_all

DEFAULT_ENVIRONMENTS = Path("environments")


def stack_config(stack: str) -> StackConfig:
    """Read this stack's ``platform:`` config (and ``aws:region``) as the engine hands it over.

    Every ``platform:`` key is passed on, so an unknown (misspelt) key fails here
    exactly as it does in the offline CLI.
    """
    prefix = f"{NAMESPACE}:"
    keys = set(pulumi.runtime.config.CONFIG.get()) | set(pulumi.runtime.config.get_config_env())
    values: dict[str, Any] = {
        key.removeprefix(prefix): _decode(pulumi.runtime.config.get_config(key))
        for key in sorted(keys)
        if key.startswith(prefix)
    }
    region = pulumi.Config("aws").get("region")
    if region is not None:
        values["region"] = region
    return StackConfig.from_mapping(stack, values)


def _decode(raw: str) -> Any:
    """Structured values arrive JSON-encoded; plain strings as they are."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


# The program allocates hundreds of thousands of long-lived objects (plans, outputs, futures, one set
# per registration); with Python's default thresholds the cyclic collector rescans them thousands of
# times, about 40% of a large stack's run time. Collecting young objects 30 times less often (and old
# ones less often still) keeps memory within a few MiB of the default.
GC_THRESHOLDS = (20_000, 20, 50)


def deploy(environments: Path = DEFAULT_ENVIRONMENTS) -> list[WorkflowPlan]:
    """Declare the stack; return the plans it declared (the offline runner writes review files from them)."""
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        config = stack_config(pulumi.get_stack())
        # Every manifest must be valid before a single resource is registered: skipping a
        # bad one would make Pulumi delete that workflow's live role, secrets and DAG.
        plans = load_all(discover(environments, config.environment), config)
    except (ConfigError, ManifestError) as error:
        raise pulumi.RunError(f"the stack was not changed:\n{error}") from None
    files = {f"{config.dags_prefix}{path}": content for path, content in runtime_files(config).items()}
    PlatformRuntime("platform-runtime", config.mwaa_bucket, files, config.tags)
    platform = PlatformArgs.from_config(config)
    for plan in plans:
        Workflow(plan, platform)
    pulumi.export("workflows", sorted(plan.logical_name for plan in plans))
    return plans
