"""The Pulumi program: stack config → providers → validated plans → one Workflow component each
(and one SharedSecrets component per project with a ``project.yml``).

``__main__.py`` calls :func:`deploy` (``pulumi up``, ``pulumi preview``); so does
``python -m workflows render`` under the mock runtime, with ``offline=True``, so both run
exactly the same code. The one difference: a deploy refuses any placeholder value in the
stack config or the cluster facts, naming its key, before it registers anything; an offline
run uses them and reports them (``Declared.examples``).
"""

from __future__ import annotations

import gc
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.providers import Providers, aws_provider, kubernetes_provider
from components.runtime import PlatformRuntime
from components.workflow import PlatformArgs, SharedSecrets, Workflow
from workflows import installation
from workflows.config import NAMESPACE, StackConfig
from workflows.dags.runtime import runtime_files
from workflows.errors import ConfigError, ManifestError
from workflows.installation import ClusterFacts, Placeholder
from workflows.plan.project_plan import ProjectPlan
from workflows.plan.workflow_plan import WorkflowPlan
from workflows.plan.workflow_plan import plan as plan_workflow
from workflows.validate import load_stack

DEFAULT_ENVIRONMENTS = Path("environments")


@dataclass(frozen=True)
class Declared:
    """What the program declared: the plans, and the placeholder values an offline run used."""

    plans: list[WorkflowPlan]
    examples: list[Placeholder] = field(default_factory=list)
    projects: list[ProjectPlan] = field(default_factory=list)


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


def deploy(
    environments: Path = DEFAULT_ENVIRONMENTS, *, offline: bool = False, preview_roles: bool | None = None
) -> Declared:
    """Declare the stack; return what it declared (the offline runner writes review files from it).

    ``offline`` is set only by the offline runner (``shell/offline.py``, the mock runtime): then
    placeholder values are used and reported instead of refused. ``preview_roles``: assume the
    accounts' preview roles (None, as under ``pulumi``: as ``PLATFORM_ROLES`` says).
    """
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        # The pull request preview job asks for the read-only roles (PLATFORM_ROLES=preview).
        preview = installation.preview_roles(os.environ) if preview_roles is None else preview_roles
        config = stack_config(pulumi.get_stack())
        _refuse_placeholders(installation.placeholders(config), offline)
        # Every manifest must be valid before a single resource is registered (or anything is read):
        # skipping a bad one would make Pulumi delete that workflow's live role, secrets and DAG.
        stack = load_stack(environments, config)
        plans = stack.workflows
        specs = {spec.name: spec for spec in installation.aws_providers(config, preview=preview)}
        facts = _cluster_facts(config, specs)
        examples = _refuse_placeholders(installation.placeholders(config, facts), offline)
        # Everything downstream (the IRSA trust, the Kubernetes provider, an opt-in kubeconfig) uses
        # these facts: one source.
        resolved = config.with_cluster_facts(facts.endpoint, facts.certificate_authority, facts.oidc_issuer)
        if resolved.oidc_provider != config.oidc_provider:
            # The manifests were checked with the facts still unread: plan them again with the issuer
            # the IRSA trust must name (nothing else in a plan depends on the cluster facts).
            plans = [plan_workflow(declared.workflow, resolved) for declared in plans]
        config = resolved
    except (ConfigError, ManifestError) as error:
        raise pulumi.RunError(f"the stack was not changed:\n{error}") from None
    providers = Providers(
        data=aws_provider(specs[installation.DATA]),
        compute=aws_provider(specs[installation.COMPUTE]),
        cluster=kubernetes_provider(
            installation.CLUSTER,
            installation.kubeconfig(
                config.cluster.name,
                facts,
                config.region,
                # The token is the compute account's role's: the one with an EKS access entry.
                role_arn=config.accounts.compute.role_arn(preview=preview),
            ),
        ),
    )
    files = {f"{config.dags_prefix}{path}": content for path, content in runtime_files(config).items()}
    runtime = PlatformRuntime("platform-runtime", config.mwaa_bucket, files, config.tags, provider=providers.compute)
    platform = PlatformArgs.from_config(config)
    shared = {project.project.name: SharedSecrets(project, platform, providers) for project in stack.projects}
    for plan in plans:
        project = shared.get(plan.workflow.project)
        uses = [project.external_secrets[s.id] for s in plan.shared_secrets] if project is not None else []
        Workflow(plan, platform, providers, runtime=runtime, shared_secrets=uses)
    pulumi.export("workflows", sorted(plan.logical_name for plan in plans))
    return Declared(plans, examples, stack.projects)


def _refuse_placeholders(found: list[Placeholder], offline: bool) -> list[Placeholder]:
    """A deploy stops at the first placeholder, before registering anything; offline they are reported."""
    if found and not offline:
        raise ConfigError(installation.refusal(found))
    return found


def _cluster_facts(config: StackConfig, specs: dict[str, installation.AwsProviderSpec]) -> ClusterFacts:
    """The cluster facts: the config's values, or the secret the cluster's own Terraform writes in the
    common account, read at plan time (an invoke through the common account's provider)."""
    source = config.cluster.facts_secret
    if source is None:
        return installation.literal_facts(config.cluster)
    common = aws_provider(specs[installation.COMMON])
    try:
        # The plain (not Output) form: the facts are needed as text before anything is planned.
        result = aws.secretsmanager.get_secret_version(
            secret_id=source.secret_id, opts=pulumi.InvokeOptions(provider=common)
        )
    except Exception as error:
        raise ConfigError(
            f"cannot read the cluster facts from secret {source.secret_id} in the common account "
            f"{config.accounts.common.id} (platform:cluster.factsSecret): {error}"
        ) from None
    return installation.facts_from_secret(config.cluster, result.secret_string or "")
