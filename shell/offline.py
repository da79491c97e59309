"""Run the real Pulumi program under the mock runtime: no cloud, no Pulumi CLI.

``python -m workflows render`` uses this to write what a stack would declare:
every resource registration exactly as a provider would receive it (type token,
logical name, inputs, and the provider it goes through: which account it lands
in), providers included, plus files for reviewers. The same program runs under
``pulumi up``; only the resource monitor is replaced, and the program is told it
runs offline (``deploy(offline=True)``): the cluster facts it reads at plan time
are answered with example values, which it reports instead of refusing.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.proto import resource_pb2

from shell.program import deploy
from workflows import tokens
from workflows.config import StackConfig, example_cluster_facts, stack_file
from workflows.installation import PROJECT, Placeholder, secret_keys
from workflows.model import CronSchedule, DatasetSchedule, IntervalSchedule, Schedule
from workflows.plan.project_plan import ProjectPlan
from workflows.plan.workflow_plan import WorkflowPlan

_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class ProgramFailed(Exception):
    """The program raised (for example, an invalid manifest); ``registrations`` is what it had
    registered by then — nothing, when validation works as it must."""

    def __init__(self, message: str, registrations: list[Registration]) -> None:
        super().__init__(message)
        self.registrations = registrations


@dataclass(frozen=True)
class Registration:
    """One resource as the engine would receive it."""

    type: str
    name: str
    urn: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)
    # The logical name of the provider it is registered through (None: the default provider,
    # which the stack never uses; components have none).
    provider: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "name": self.name,
            "urn": self.urn,
            "parent": self.parent,
            "custom": self.custom,
            "provider": self.provider,
            "options": self.options,
            "inputs": self.inputs,
        }


@dataclass(frozen=True)
class Invoke:
    """A provider function the program called (a read at plan time), and through which provider."""

    token: str
    args: dict[str, Any]
    provider: str | None


@dataclass(frozen=True)
class Rendered:
    """One offline run of the program."""

    registrations: list[Registration]
    plans: list[WorkflowPlan]
    invokes: list[Invoke]
    # Placeholder values the program used (a deploy would have refused them), by key.
    examples: list[Placeholder]
    # The plans of the projects' shared secrets (projects with a project.yml).
    projects: list[ProjectPlan] = field(default_factory=list)


class _Mocks(pulumi.runtime.Mocks):
    """Answers like the providers would, with realistic ARNs so outputs flow into inputs."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.calls: list[pulumi.runtime.MockCallArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)
        account, region = self.config.account_id, self.config.region
        name = inputs.get("name") or args.name
        state = dict(inputs)
        if args.typ.startswith(tokens.PROVIDER_PREFIX):
            return f"{args.name}-provider-id", state
        if args.typ == tokens.ROLE:
            state["arn"] = f"arn:aws:iam::{account}:role/{name}"
        elif args.typ == tokens.POLICY:
            state["arn"] = f"arn:aws:iam::{account}:policy/{name}"
        elif args.typ == tokens.SECRET:
            state["arn"] = f"arn:aws:secretsmanager:{region}:{account}:secret:{name}-AbCdEf"
            return state["arn"], state
        elif args.typ == tokens.BUCKET_OBJECT:
            return inputs.get("key", args.name), state
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        self.calls.append(args)
        source = self.config.cluster.facts_secret
        facts_secret = source is not None and args.args.get("secretId") == source.secret_id
        if args.token == tokens.GET_SECRET_VERSION and facts_secret:
            # The cluster facts secret, with example values under the configured keys.
            facts = example_cluster_facts(self.config.region)
            values = {key: facts[fact] for fact, key in secret_keys(source).items()}
            return {"secretId": source.secret_id, "secretString": json.dumps(values, sort_keys=True)}, []
        return {}, []


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, also keeping each registration's parent and resource options.

    It answers a registration itself, as the SDK's ``MockMonitor`` does, but converts the
    request's properties once, straight from their protobuf form (the SDK's way, through its
    asynchronous serializers, doubled the cost of every registration).
    """

    def __init__(self, mocks: _Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.names: dict[str, str] = {}  # URN -> logical name

    def provider_name(self, reference: str) -> str | None:
        """The logical name of the provider a reference (``<urn>::<id>``) points to."""
        return self.names.get(reference.rsplit("::", 1)[0]) if reference else None

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == tokens.STACK:
            return resource_pb2.RegisterResourceResponse(urn=urn)
        inputs = _plain(json_format.MessageToDict(request.object))
        args = pulumi.runtime.MockResourceArgs(
            typ=request.type,
            name=request.name,
            inputs=inputs,
            provider=request.provider,
            resource_id=request.importId,
            custom=request.custom or False,
        )
        id_, state = self.mocks.new_resource(args)
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, id_, state)
        options: dict[str, Any] = {}
        if request.protect:
            options["protect"] = True
        if request.retainOnDelete:
            options["retainOnDelete"] = True
        if list(request.ignoreChanges):
            options["ignoreChanges"] = sorted(request.ignoreChanges)
        if list(request.dependencies):
            options["dependsOn"] = sorted(request.dependencies)
        self.names[urn] = request.name
        self.registrations.append(
            Registration(
                type=request.type,
                name=request.name,
                urn=urn,
                parent=request.parent or None,
                custom=bool(request.custom),
                inputs=inputs,
                options=options,
                provider=self.provider_name(request.provider),
            )
        )
        state_proto = struct_pb2.Struct()
        state_proto.update(state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=state_proto)


def _plain(value: Any) -> Any:
    """Inputs as JSON values, secrets unwrapped to the value the provider receives."""
    if (
        isinstance(value, dict)
        and value.get(pulumi.runtime.rpc._special_sig_key) == pulumi.runtime.rpc._special_secret_sig
    ):
        return _plain(value.get("value"))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def pulumi_config(path: Path) -> dict[str, str]:
    """A stack file's ``config:`` as the engine hands it to a program (objects JSON-encoded)."""
    document = yaml.safe_load(path.read_text()) or {}
    return {
        str(key): value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        for key, value in (document.get("config") or {}).items()
    }


def run_program(stack: str, environments: Path, config_dir: Path) -> list[Registration]:
    """Run :func:`shell.program.deploy` for ``stack`` and return every registration, in a stable order.

    Raises :class:`ProgramFailed` (with the validation messages) when any manifest is invalid.
    """
    return render_stack(stack, environments, config_dir).registrations


def render_stack(stack: str, environments: Path, config_dir: Path, *, preview: bool | None = None) -> Rendered:
    """Run the program for ``stack`` offline, as ``pulumi up`` would (with the accounts' preview roles,
    as the pull request preview does, when ``preview``; None: as ``PLATFORM_ROLES`` says): every
    registration in a stable order, the plans, invokes and example values."""
    path = stack_file(config_dir, stack)
    config = StackConfig.from_stack_file(path)
    pulumi.runtime.set_all_config(pulumi_config(path))
    mocks = _Mocks(config)
    monitor = _RecordingMonitor(mocks)
    declared: list[Any] = []
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
        program = lambda: declared.append(deploy(environments, offline=True, preview_roles=preview))  # noqa: E731
        loop.run_until_complete(pulumi.runtime.stack.run_pulumi_func(program))
    except pulumi.RunError as error:
        raise ProgramFailed(str(error), sorted(monitor.registrations, key=lambda r: r.urn)) from None
    finally:
        pulumi.runtime.settings.reset_options()
        pulumi.runtime.set_all_config({})
        loop.close()
        asyncio.set_event_loop(None)
    (result,) = declared
    invokes = [Invoke(c.token, _plain(dict(c.args)), monitor.provider_name(c.provider)) for c in mocks.calls]
    registrations = sorted(monitor.registrations, key=lambda r: r.urn)
    return Rendered(registrations, result.plans, invokes, result.examples, result.projects)


def write_render(
    registrations: list[Registration],
    plans: list[WorkflowPlan],
    config: StackConfig,
    out: Path,
    projects: Sequence[ProjectPlan] = (),
) -> dict[str, int]:
    """Write ``resources.json``, the ``dags/`` mirror and per-workflow review files under ``out``
    (and ``workflows/<project>/shared/kubernetes.yaml`` for a project's shared secrets).

    Returns the number of resources by type. ``out``'s previous ``dags/`` and
    ``workflows/`` are replaced so the mirror is exact.
    """
    out.mkdir(parents=True, exist_ok=True)
    for stale in (out / "dags", out / "workflows"):
        if stale.exists():
            shutil.rmtree(stale)
    (out / "resources.json").write_text(
        json.dumps([r.as_json() for r in registrations], indent=2, sort_keys=False, ensure_ascii=False) + "\n"
    )
    for registration in registrations:
        if registration.type == tokens.BUCKET_OBJECT and registration.inputs["bucket"] == config.mwaa_bucket:
            key = registration.inputs["key"]
            if key.startswith(config.dags_prefix):
                target = out / "dags" / key.removeprefix(config.dags_prefix)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(registration.inputs.get("content", ""))
    for plan in plans:
        folder = out / "workflows" / plan.logical_name
        folder.mkdir(parents=True, exist_ok=True)
        if plan.identity is not None:
            (folder / "iam-policy.json").write_text(plan.identity.permissions + "\n")
            (folder / "trust-policy.json").write_text(plan.identity.trust_policy + "\n")
        _write_objects(folder, [plan.service_account, *(secret.external_secret for secret in plan.secrets)])
    for project in projects:
        folder = out / "workflows" / project.logical_name
        folder.mkdir(parents=True, exist_ok=True)
        _write_objects(folder, [secret.external_secret for secret in project.secrets])
    counts: dict[str, int] = {}
    for registration in registrations:
        counts[registration.type] = counts.get(registration.type, 0) + 1
    return dict(sorted(counts.items()))


def _write_objects(folder: Path, objects: list[Any]) -> None:
    """``kubernetes.yaml``: the Kubernetes objects, one YAML document each."""
    (folder / "kubernetes.yaml").write_text(yaml.dump_all(objects, Dumper=_DUMPER, sort_keys=True, explicit_start=True))


def render_command(stack: str, environments: Path, out: Path, config_dir: Path) -> int:
    """``python -m workflows render``: run the stack offline, write its files, print a summary."""
    config = StackConfig.from_stack_file(stack_file(config_dir, stack))
    if not (environments / stack).is_dir():
        print(
            f"error: no folder {environments / stack} "
            "(expected <environments>/<stack>/<project>/<workflow>/workflow.yml)"
        )
        return 2
    try:
        rendered = render_stack(stack, environments, config_dir)
    except ProgramFailed as error:
        print(error)
        if out.exists():
            print(f"{out} was not updated: what it holds is from an earlier render and is stale")
        return 1
    registrations, plans = rendered.registrations, rendered.plans
    counts = write_render(registrations, plans, config, out, rendered.projects)
    workflows = len(plans)
    print(f"stack {stack}: {workflows} workflow(s), {len(registrations)} resource(s) including components")
    width = max(map(len, counts), default=0)
    for type_, count in counts.items():
        print(f"  {type_:<{width}}  {count}")
    for project in sorted(rendered.projects, key=lambda p: p.logical_name):
        for line in project_summary(project):
            print(f"  {line}")
    for plan in sorted(plans, key=lambda p: p.logical_name):
        for line in workflow_summary(plan):
            print(f"  {line}")
    print(f"wrote {out / 'resources.json'}")
    print(f"wrote {out / 'dags'}/ (mirror of s3://{config.mwaa_bucket}/{config.dags_prefix})")
    print(f"wrote {out / 'workflows'}/<project>/<workflow>/ (iam-policy.json, trust-policy.json, kubernetes.yaml)")
    if rendered.examples:
        print("used example values (offline only: `pulumi up` refuses them until the installation's own are set):")
        for example in rendered.examples:
            print(f"  {example}")
    return 0


def _schedule_words(schedule: Schedule) -> str:
    if isinstance(schedule, CronSchedule):
        return schedule.expression
    if isinstance(schedule, IntervalSchedule):
        return f"every {schedule.seconds}s"
    if isinstance(schedule, DatasetSchedule):
        return f"on update of {', '.join(schedule.uris)}"
    return "none (run by hand)"


def workflow_summary(plan: WorkflowPlan) -> list[str]:
    """What ``render`` says of one workflow: DAG id, schedule, image, tasks and their compute profiles,
    the role its pods run as, and the secrets whose value its maintainers still have to set."""
    workflow, names = plan.workflow, plan.names
    role = f"external role {plan.role_arn}" if workflow.iam.external_role else f"role {plan.role_arn}"
    lines = [
        f"{workflow.key}: DAG {names.dag_id}",
        f"  schedule: {_schedule_words(workflow.dag.schedule)}",
        f"  image: {names.image}",
        f"  tasks: {', '.join(f'{t.name} ({t.compute_profile})' for t in workflow.dag.tasks)}",
        f"  {role}",
    ]
    if plan.secrets:
        lines.append(f"  secrets to fill in after deploying: {', '.join(s.name for s in plan.secrets)}")
    if plan.shared_secrets:
        lines.append(f"  project secrets it reads: {', '.join(s.name for s in plan.shared_secrets)}")
    return lines


def project_summary(project: ProjectPlan) -> list[str]:
    """What ``render`` says of a project's shared secrets: each one's name, who reads it, and that the
    project's maintainers set its value."""
    lines = [f"{project.project.name}: shared secrets (project.yml), set by {', '.join(project.project.maintainers)}"]
    for secret in project.secrets:
        readers = ", ".join(secret.consumers) or "no workflow yet"
        lines.append(f"  {secret.name} to fill in after deploying; read by {readers}")
    return lines
