"""Wall time, CPU and peak memory of `python -m workflows render` on production-shaped environments.

Measures the whole `render` command (start-up, validation, the Pulumi program under the
mock runtime, writing files), each run in a fresh process, on synthetic environments:

- the production profile: 220 workflows, 3,500 tasks and 160 secrets, one of them a
  220-task workflow (the live production installation's shape);
- 200, 1,000 and 5,000 workflows (or the sizes given), drawn from the same per-workflow
  distribution.

The distribution is read at bench time from the real manifests in
`../shared/corpus/environments/development/*/*/workflow.yml` (never copied into the repo;
`python_dag` workflows left out): each synthetic workflow copies the shape of a real one
drawn with a fixed seed (task count, `dag.tasks` or not, dependencies, env_vars counts,
secrets, schedule, notifications, iam keys: s3 path counts, athena, glue, kms, bedrock,
external_role). The corpus's largest workflow stands for production's largest: one
workflow in 220 gets its shape with 220 tasks. Counts are scaled to production's totals
with parameters fitted on the production profile and kept for every size: the tasks
beyond the first become 219 x (extra / largest's extra) ** exponent (one-task workflows
stay one-task; none exceeds 220) and secrets are multiplied by a factor, both with
seeded stochastic rounding. Without the corpus a built-in summary of it is used, fitted
to the same totals.

Per run it prints workflows, tasks, secrets, wall seconds, seconds per 100 workflows,
the render's CPU seconds (user + sys: robust when the machine is busy) and peak RSS,
the registrations in `OUT/resources.json` and the registrations under a `Workflow`
component per workflow (those not under one are the `PlatformRuntime`'s); then the ratio
of s/100 at the largest size to the smallest (1.00 is linear growth). It asserts nothing:
speed targets are benchmarks, not tests.

    .venv/bin/python bench/render.py [--quick] [SIZES...]

`--quick` runs the production profile only (about 20-30 s).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from workflows.tokens import WORKFLOW as WORKFLOW_TYPE  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus" / "environments" / "development"
SIZES = (200, 1000, 5000)
STACK = "development"
SEED = 20261125

PRODUCTION_WORKFLOWS = 220
PRODUCTION_TASKS = 3500
PRODUCTION_SECRETS = 160
MAX_TASKS = 220  # the largest live workflow; no synthetic workflow has more
BUCKETS = 1000  # distinct alpha-bucket-N names to draw s3 paths from
USAGE = "%M %U %S"  # GNU time: peak RSS KiB, user and system CPU seconds


# --------------------------------------------------------------------------- distribution


@dataclass(frozen=True)
class Shape:
    """What a manifest uses, as counts and flags (one real manifest, or a built-in archetype)."""

    tasks: int = 1
    listed: bool = False  # has dag.tasks (a one-task workflow may have it too)
    chained: float = 0.0  # share of the tasks after the first that have dependencies
    fan_in: float = 0.0  # dependencies per task that has any
    task_env: tuple[int, ...] = (0,)  # env_vars per task under dag.tasks, cycled
    env_vars: int = 0  # dag.env_vars
    secrets: int = 0
    scheduled: bool = False
    notified: bool = False
    s3_read_write: int = 0
    s3_read_only: int = 0
    s3_write_only: int = 0
    kms: int = 0
    athena: str | None = None
    glue: bool = False
    bedrock: bool = False
    external_role: bool = False


@dataclass(frozen=True)
class Distribution:
    source: str
    shapes: tuple[Shape, ...]
    weights: tuple[int, ...]
    giant: Shape  # template of the 220-task workflow
    projects_per_workflow: float


# A summary of the corpus (112 manifests without python_dag, 42 projects) for when it is
# absent; weights are manifests. Fitting scales it to the same production totals.
_SIMPLE = Shape(s3_read_write=1, athena="write", glue=True)
_STAGES = Shape(
    tasks=5, listed=True, chained=1.0, fan_in=1.0, task_env=(1,), env_vars=9, s3_read_write=2, s3_read_only=3
)
BUILT_IN = Distribution(
    source="built-in summary of the corpus (corpus folder not found)",
    shapes=(
        _SIMPLE,
        replace(_SIMPLE, env_vars=8, secrets=1, notified=True),
        Shape(s3_read_only=4, athena="write", scheduled=True, notified=True, env_vars=1),
        replace(_SIMPLE, listed=True, secrets=2, glue=False),
        Shape(external_role=True, secrets=1, notified=True),
        Shape(s3_read_only=7, kms=2, athena="read", secrets=4, notified=True, scheduled=True),
        Shape(),
        replace(_STAGES, athena="write", notified=True),
        replace(_STAGES, tasks=2, env_vars=7, secrets=1, scheduled=True),
        replace(_STAGES, tasks=3, bedrock=True),
        replace(_STAGES, tasks=7, fan_in=2.0, task_env=(2,), kms=1, secrets=3, notified=True),
        Shape(tasks=13, listed=True, chained=1.0, fan_in=1.0, task_env=(2,), env_vars=2, secrets=12, s3_read_write=1),
        Shape(tasks=30, listed=True, task_env=(1,), env_vars=4, secrets=1, s3_read_write=1),
    ),
    weights=(32, 10, 14, 10, 8, 5, 9, 9, 5, 3, 4, 1, 1),
    giant=Shape(
        tasks=42,
        listed=True,
        chained=0.8,
        fan_in=1.5,
        task_env=(3,),
        env_vars=1,
        s3_read_only=12,
        s3_read_write=2,
        athena="write",
    ),
    projects_per_workflow=42 / 112,
)


def shape_of(data: object) -> Shape | None:
    """The shape of one real manifest (None for python_dag workflows and unreadable files)."""
    if not isinstance(data, dict) or not isinstance(data.get("dag"), dict) or data["dag"].get("python_dag"):
        return None
    dag = data["dag"]
    specs = [spec if isinstance(spec, dict) else {} for spec in (dag.get("tasks") or {}).values()]
    tasks = len(specs) or 1
    fan = [len(spec.get("dependencies") or ()) for spec in specs if spec.get("dependencies")]
    iam = data.get("iam") if isinstance(data.get("iam"), dict) else {}
    athena = iam.get("athena")
    return Shape(
        tasks=tasks,
        listed=bool(specs),
        chained=min(1.0, len(fan) / (tasks - 1)) if tasks > 1 else 0.0,
        fan_in=sum(fan) / len(fan) if fan else 0.0,
        task_env=tuple(len(spec.get("env_vars") or {}) for spec in specs) or (0,),
        env_vars=len(dag.get("env_vars") or {}),
        secrets=len(data.get("secrets") or ()),
        scheduled=dag.get("schedule") not in (None, "None"),
        notified=bool(data.get("notifications")),
        s3_read_write=len(iam.get("s3_read_write") or ()),
        s3_read_only=len(iam.get("s3_read_only") or ()),
        s3_write_only=len(iam.get("s3_write_only") or ()),
        kms=len(iam.get("kms") or ()),
        athena=athena if athena in ("read", "write") else None,
        glue=iam.get("glue") is True,
        bedrock=iam.get("bedrock") is True,
        external_role="external_role" in iam,
    )


def corpus_distribution(folder: Path = CORPUS) -> Distribution:
    """Every real manifest's shape, each weight 1, the largest as the giant; the built-in summary without corpus."""
    files = sorted(folder.glob("*/*/workflow.yml"))
    if not files:
        return BUILT_IN
    import yaml  # a dependency of the project; only needed for the corpus

    shapes: list[Shape] = []
    projects: set[str] = set()
    for file in files:
        try:
            shape = shape_of(yaml.safe_load(file.read_text()))
        except (OSError, yaml.YAMLError):
            shape = None
        if shape is not None:
            shapes.append(shape)
            projects.add(file.parent.parent.name)
    if not shapes:
        return BUILT_IN
    skipped = len(files) - len(shapes)
    giant = max(shapes, key=lambda shape: shape.tasks)
    shapes.remove(giant)  # it stands for production's largest workflow, drawn once in 220
    return Distribution(
        source=f"{len(shapes) + 1} real manifests in {folder} ({skipped} python_dag or unreadable left out)",
        shapes=tuple(shapes),
        weights=(1,) * len(shapes),
        giant=giant,
        projects_per_workflow=len(projects) / (len(shapes) + 1),
    )


# --------------------------------------------------------------------------- sampling and scaling


@dataclass(frozen=True)
class Draw:
    """One synthetic workflow before scaling: a shape and its rounding offsets."""

    shape: Shape
    giant: bool
    tasks_offset: float
    secrets_offset: float


@dataclass(frozen=True)
class Scale:
    giant_extra: int  # tasks beyond the first of the giant's template (the corpus's largest workflow)
    tasks: float  # exponent on the tasks beyond the first, relative to the giant's
    secrets: float  # factor on the secrets


def task_count(draw: Draw, scale: Scale) -> int:
    """220 for the giant; else the tasks beyond the first grow as (extra / giant's extra) ** exponent,
    so that the corpus's largest workflow would map to 220 tasks and one-task workflows stay one-task."""
    if draw.giant:
        return MAX_TASKS
    share = min(1.0, (draw.shape.tasks - 1) / max(1, scale.giant_extra))
    extra = math.floor((MAX_TASKS - 1) * share**scale.tasks + draw.tasks_offset) if share else 0
    return min(MAX_TASKS, 1 + extra)


def secret_count(draw: Draw, scale: Scale) -> int:
    return math.floor(draw.shape.secrets * scale.secrets + draw.secrets_offset)


def sample(distribution: Distribution, count: int, rng: random.Random) -> list[Draw]:
    """`count` workflows: one in 220 (at least one) the giant, the others drawn from the distribution."""
    giants = min(count, max(1, round(count / PRODUCTION_WORKFLOWS)))
    shapes = rng.choices(distribution.shapes, weights=distribution.weights, k=count - giants)
    draws = [Draw(shape, False, rng.random(), rng.random()) for shape in shapes]
    draws += [Draw(distribution.giant, True, rng.random(), rng.random()) for _ in range(giants)]
    rng.shuffle(draws)
    return draws


def fit(total: Callable[[float], int], target: int, low: float, high: float) -> float:
    """The parameter in [low, high] where `total`, monotone in it, first reaches `target` (bisection)."""
    rising = total(high) >= total(low)
    for _ in range(60):
        middle = (low + high) / 2
        if (total(middle) >= target) == rising:
            high = middle
        else:
            low = middle
    return high if rising else low


def production_profile(distribution: Distribution) -> tuple[list[Draw], Scale]:
    """The 220 production-shaped workflows and the scale that gives them 3,500 tasks and 160 secrets."""
    draws = sample(distribution, PRODUCTION_WORKFLOWS, random.Random(SEED))
    base = Scale(giant_extra=distribution.giant.tasks - 1, tasks=1.0, secrets=1.0)

    def tasks(exponent: float) -> int:
        return sum(task_count(draw, replace(base, tasks=exponent)) for draw in draws)

    def secrets(factor: float) -> int:
        return sum(secret_count(draw, replace(base, secrets=factor)) for draw in draws)

    return draws, replace(
        base, tasks=fit(tasks, PRODUCTION_TASKS, 0.01, 4.0), secrets=fit(secrets, PRODUCTION_SECRETS, 0.0, 20.0)
    )


# --------------------------------------------------------------------------- manifests


def dependencies(task: int, shape: Shape, rng: random.Random) -> list[int]:
    """Earlier tasks this one waits for: the one before (a chain, as most real ones are), and more at fan-in."""
    if task == 0 or rng.random() >= shape.chained:
        return []
    wanted = min(task, max(1, math.floor(shape.fan_in + rng.random())))
    chosen = {task - 1}
    while len(chosen) < wanted:
        chosen.add(rng.randrange(task))
    return sorted(chosen)


def manifest(index: int, shape: Shape, tasks: int, secrets: int, rng: random.Random) -> str:
    lines = [
        "dag:",
        f"  repository: moj-analytical-services/pipeline-{index}",
        f"  tag: v1.{index % 17}.0",
    ]
    if shape.scheduled:
        lines.append(f'  schedule: "{rng.randrange(60)} {rng.randrange(24)} * * *"')
    if shape.env_vars:
        lines += ["  env_vars:"] + [f'    SETTING_{v}: "value-{v}"' for v in range(shape.env_vars)]
    if shape.listed or tasks > 1:
        lines.append("  tasks:")
        for task in range(tasks):
            body = []
            names = shape.task_env[task % len(shape.task_env)]
            if names:
                body += ["      env_vars:"] + [f'        STEP_{v}: "{task}"' for v in range(names)]
            if needs := dependencies(task, shape, rng):
                body.append(f"      dependencies: [{', '.join(f'step-{need}' for need in needs)}]")
            lines += [f"    step-{task}:", *body] if body else [f"    step-{task}: {{}}"]
    iam = []
    if shape.external_role:
        iam.append(f"  external_role: arn:aws:iam::123456789012:role/bench-external-{index}")
    else:
        if shape.athena:
            iam.append(f"  athena: {shape.athena}")
        if shape.glue:
            iam.append("  glue: true")
        if shape.bedrock:
            iam.append("  bedrock: true")
        paths = {"s3_read_write": shape.s3_read_write, "s3_read_only": shape.s3_read_only}
        paths["s3_write_only"] = shape.s3_write_only
        bucket_ids = iter(rng.sample(range(BUCKETS), sum(paths.values())))
        for key, number in paths.items():
            if number:
                iam += [f"  {key}:"] + [f"    - alpha-bucket-{next(bucket_ids)}/data/*" for _ in range(number)]
        if shape.kms:
            iam += ["  kms:"] + [
                f"    - arn:aws:kms:eu-west-2:123456789012:key/bench-{index}-{k}" for k in range(shape.kms)
            ]
    if iam:
        lines += ["iam:", *iam]
    if secrets:
        lines += ["secrets:"] + [f"  - secret-{s}" for s in range(secrets)]
    if shape.notified:
        lines += ["notifications:", "  emails:", "    - team@justice.gov.uk"]
    lines += ["maintainers: [octo-analyst]", "tags:", "  business_unit: HMPPS", "  owner: team@justice.gov.uk"]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Environment:
    workflows: int
    tasks: int
    secrets: int


def write_environment(root: Path, distribution: Distribution, draws: list[Draw], scale: Scale) -> Environment:
    """`root/<STACK>/project-P/workflow-N/workflow.yml` for every draw."""
    rng = random.Random(f"{SEED}-{len(draws)}-manifests")
    projects = max(1, round(len(draws) * distribution.projects_per_workflow))
    tasks = secrets = 0
    for index, draw in enumerate(draws):
        folder = root / STACK / f"project-{index % projects}" / f"workflow-{index}"
        folder.mkdir(parents=True)
        count, secret = task_count(draw, scale), secret_count(draw, scale)
        (folder / "workflow.yml").write_text(manifest(index, draw.shape, count, secret, rng))
        tasks, secrets = tasks + count, secrets + secret
    return Environment(len(draws), tasks, secrets)


# --------------------------------------------------------------------------- measuring


# Run as the render's parent so that its RUSAGE_CHILDREN is the render's peak alone
# (ru_maxrss is a maximum over every child reaped so far, so the bench's own is useless).
WRAPPER = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
peak = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss
with open(sys.argv[1], "w") as out:
    out.write(f"{peak} {usage.ru_utime} {usage.ru_stime}")
sys.exit(code)
"""


def gnu_time() -> str | None:
    """/usr/bin/time when it is GNU time (`-f %M` is peak RSS in KiB, `%U %S` CPU seconds), else None."""
    path = shutil.which("time", path="/usr/bin:/bin")
    if not path:
        return None
    probe = subprocess.run([path, "-f", USAGE, "-o", os.devnull, "true"], capture_output=True, check=False)
    return path if probe.returncode == 0 else None


@dataclass(frozen=True)
class Run:
    seconds: float
    cpu_seconds: float
    peak_mib: float
    registrations: int
    in_workflows: int
    workflow_components: int


def measure(environments: Path, out: Path, timer: str | None) -> Run:
    command = [sys.executable, "-m", "workflows", "render", "--stack", STACK]
    command += ["--environments", str(environments), "--out", str(out)]
    usage_file = out.parent / "usage"
    if timer:
        command = [timer, "-f", USAGE, "-o", str(usage_file), *command]
    else:
        command = [sys.executable, "-c", WRAPPER, str(usage_file), *command]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if result.returncode:
        raise SystemExit(f"render failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    peak_kib, user, system = usage_file.read_text().splitlines()[-1].split()  # GNU time may add a status line
    total, owned, components = registrations(out / "resources.json")
    return Run(seconds, float(user) + float(system), int(peak_kib) / 1024, total, owned, components)


def registrations(path: Path) -> tuple[int, int, int]:
    """All registrations, those under a Workflow component (walking `parent` URNs), and Workflow components."""
    resources = json.loads(path.read_text())
    by_urn = {resource["urn"]: resource for resource in resources}
    memo: dict[str, bool] = {}

    def in_workflow(urn: str | None) -> bool:
        trail, found = [], False
        while urn in by_urn:
            if urn in memo:
                found = memo[urn]
                break
            trail.append(urn)
            if by_urn[urn]["type"] == WORKFLOW_TYPE:
                found = True
                break
            urn = by_urn[urn].get("parent")
        memo.update(dict.fromkeys(trail, found))
        return found

    owned = sum(in_workflow(resource["urn"]) for resource in resources)
    components = sum(resource["type"] == WORKFLOW_TYPE for resource in resources)
    return len(resources), owned, components


# --------------------------------------------------------------------------- report


def buckets(values: list[int], edges: tuple[int, ...], *, counts: bool = False) -> str:
    """`values` in the ranges that start at each edge, e.g. `1: 64%, 2-4: 8%, 5+: 28%` (or counts)."""
    parts = []
    for start, end in zip(edges, [*edges[1:], None], strict=True):
        inside = sum(start <= value and (end is None or value < end) for value in values)
        label = f"{start}+" if end is None else str(start) if end == start + 1 else f"{start}-{end - 1}"
        if inside:
            parts.append(f"{label}: {inside}" if counts else f"{label}: {100 * inside / len(values):.0f}%")
    return ", ".join(parts)


TASK_EDGES = (1, 2, 5, 10, 50, MAX_TASKS)
SECRET_EDGES = (0, 1, 2, 4, 8)


def describe(distribution: Distribution, draws: list[Draw], scale: Scale) -> None:
    pairs = zip(distribution.shapes, distribution.weights, strict=True)
    expanded = [shape for shape, weight in pairs for _ in range(weight)] + [distribution.giant]
    tasks = [shape.tasks for shape in expanded]
    secrets = [shape.secrets for shape in expanded]
    print(f"distribution: {distribution.source}")
    print(f"  tasks/workflow    {buckets(tasks, TASK_EDGES)}; mean {sum(tasks) / len(tasks):.2f}, max {max(tasks)}")
    print(f"  secrets/workflow  {buckets(secrets, SECRET_EDGES)}; mean {sum(secrets) / len(secrets):.2f}")
    iam = Counter(
        key
        for shape in expanded
        for key, used in (
            ("s3", shape.s3_read_write + shape.s3_read_only + shape.s3_write_only > 0),
            ("athena", shape.athena is not None),
            ("glue", shape.glue),
            ("kms", shape.kms > 0),
            ("bedrock", shape.bedrock),
            ("external_role", shape.external_role),
        )
        if used
    )
    print("  iam keys          " + ", ".join(f"{key} {100 * n / len(expanded):.0f}%" for key, n in iam.most_common()))
    print(
        f"scaled: tasks beyond the first {MAX_TASKS - 1} x (extra / {scale.giant_extra}) ** {scale.tasks:.3f}, "
        f"secrets x{scale.secrets:.3f}; one workflow in {PRODUCTION_WORKFLOWS} is the corpus's largest "
        f"with {MAX_TASKS} tasks"
    )
    tasks = [task_count(draw, scale) for draw in draws]
    secrets = [secret_count(draw, scale) for draw in draws]
    print(f"production profile: {len(draws)} workflows, {sum(tasks)} tasks, {sum(secrets)} secrets")
    print(f"  tasks/workflow    {buckets(tasks, TASK_EDGES, counts=True)} (workflows)")
    print(f"  secrets/workflow  {buckets(secrets, SECRET_EDGES, counts=True)} (workflows)")


HEADER = (
    f"{'profile':<11} {'workflows':>9} {'tasks':>7} {'secrets':>7} {'wall s':>7} {'s/100':>6} {'cpu s':>6} "
    f"{'peak MiB':>8} {'registrations':>13} {'reg/workflow':>12}"
)


def row(label: str, environment: Environment, run: Run) -> str:
    per_100 = run.seconds / environment.workflows * 100
    line = (
        f"{label:<11} {environment.workflows:>9,} {environment.tasks:>7,} {environment.secrets:>7,} "
        f"{run.seconds:>7.1f} {per_100:>6.2f} {run.cpu_seconds:>6.1f} {run.peak_mib:>8.0f} {run.registrations:>13,} "
        f"{run.in_workflows / environment.workflows:>12.2f}"
    )
    if run.workflow_components != environment.workflows:
        line += f"  (note: {run.workflow_components} Workflow components)"
    return line


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="run the 220-workflow production profile only")
    parser.add_argument("sizes", nargs="*", type=int, help=f"workflow counts (default {' '.join(map(str, SIZES))})")
    args = parser.parse_args(argv)
    if args.quick and args.sizes:
        parser.error("--quick runs the production profile only: give no sizes")
    if any(size < 1 for size in args.sizes):
        parser.error("sizes are workflow counts, 1 or more")
    sizes = () if args.quick else tuple(args.sizes) or SIZES

    distribution = corpus_distribution()
    production, scale = production_profile(distribution)
    describe(distribution, production, scale)
    timer = gnu_time()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load}; ", end="")
    print(f"peak RSS and CPU (user + sys) of the render via {timer or 'a wrapper process'}")
    print()
    print(HEADER, flush=True)

    runs: list[tuple[Environment, Run]] = []
    plan = [("production", production)]
    plan += [(f"size {size:,}", sample(distribution, size, random.Random(f"{SEED}-{size}"))) for size in sizes]
    for label, draws in plan:
        with tempfile.TemporaryDirectory(prefix="render-bench-") as tmp:
            environment = write_environment(Path(tmp) / "environments", distribution, draws, scale)
            run = measure(Path(tmp) / "environments", Path(tmp) / "out", timer)
        runs.append((environment, run))
        print(row(label, environment, run), flush=True)

    print()
    smallest = min(runs, key=lambda pair: pair[0].workflows)
    largest = max(runs, key=lambda pair: pair[0].workflows)
    if largest[0].workflows == smallest[0].workflows:
        print("linear growth: needs two sizes (run without --quick)")
        return

    def ratio(seconds: Callable[[Run], float]) -> float:
        return (seconds(largest[1]) / largest[0].workflows) / (seconds(smallest[1]) / smallest[0].workflows)

    wall, cpu = ratio(lambda run: run.seconds), ratio(lambda run: run.cpu_seconds)
    verdict = "super-linear" if wall > 1.15 else "sub-linear" if wall < 0.87 else "about linear"
    print(
        f"linear growth: s/100 at {largest[0].workflows:,} workflows is x{wall:.2f} that at "
        f"{smallest[0].workflows:,} (CPU x{cpu:.2f}; {verdict}; 1.00 is linear)"
    )


if __name__ == "__main__":
    main()
