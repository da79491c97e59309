"""Wall time and peak memory of `render` for synthetic environments of 200, 1,000 and 2,000 workflows.

Each size runs in a fresh process (`python -m workflows render`), so figures include
start-up, validation, the Pulumi program under the mock runtime and writing files.
Workflows are realistic: most have one task, some several (up to 30), about a third
have secrets, most have IAM keys. Prints a table; asserts nothing.

    .venv/bin/python bench/render.py [SIZES...]
"""

from __future__ import annotations

import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SIZES = (200, 1000, 2000)


def manifest(rng: random.Random, index: int) -> str:
    lines = [
        "dag:",
        f"  repository: moj-analytical-services/pipeline-{index}",
        f"  tag: v1.{index % 17}.0",
        f'  schedule: "{rng.randrange(60)} {rng.randrange(24)} * * *"',
        "  env_vars:",
        "    MODE: daily",
        '    RUN_DATE: "{{ ds }}"',
    ]
    tasks = rng.choices([1, 3, 6, 12, 30], weights=[60, 20, 12, 6, 2])[0]
    if tasks > 1:
        lines.append("  tasks:")
        for t in range(tasks):
            lines += [f"    step-{t}:", "      env_vars:", f'        STEP: "{t}"']
            if t:
                lines.append(f"      dependencies: [step-{rng.randrange(t)}]")
    lines += ["iam:", "  athena: write", "  glue: true", "  s3_read_write:", f"    - alpha-bucket-{index}/data/*"]
    if rng.random() < 0.35:
        lines += ["secrets:"] + [f"  - secret-{s}" for s in range(rng.randint(1, 3))]
    lines += ["maintainers: [octo-analyst]", "tags:", "  business_unit: HMPPS", "  owner: team@justice.gov.uk"]
    return "\n".join(lines) + "\n"


def synthetic(root: Path, count: int) -> Path:
    rng = random.Random(count)
    for index in range(count):
        folder = root / "development" / f"project-{index % 40}" / f"workflow-{index}"
        folder.mkdir(parents=True)
        (folder / "workflow.yml").write_text(manifest(rng, index))
    return root


def measure(environments: Path, out: Path) -> tuple[float, float, str]:
    command = [sys.executable, "-m", "workflows", "render", "--stack", "development"]
    command += ["--environments", str(environments), "--out", str(out)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if result.returncode:
        raise SystemExit(f"render failed:\n{result.stdout}\n{result.stderr}")
    return elapsed, max(peak, before) / 1024, result.stdout.splitlines()[0]


def main(sizes: tuple[int, ...]) -> None:
    print(f"{'workflows':>9}  {'wall s':>7}  {'s/100':>6}  {'peak MiB':>8}  summary")
    for count in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            environments = synthetic(Path(tmp) / "environments", count)
            elapsed, peak, summary = measure(environments, Path(tmp) / "out")
        print(f"{count:>9}  {elapsed:>7.1f}  {elapsed / count * 100:>6.2f}  {peak:>8.0f}  {summary}")


if __name__ == "__main__":
    main(tuple(int(a) for a in sys.argv[1:]) or SIZES)
