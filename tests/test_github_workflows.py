"""The GitHub Actions pipeline: it parses, covers every stack, pins actions, asks for least permissions."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO
from workflows.model import ENVIRONMENTS

GITHUB = REPO / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
ACTIONS = sorted((GITHUB / "actions").glob("*/action.yml"))
PINNED = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", re.MULTILINE)


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True.
    if True in document:
        document["on"] = document.pop(True)
    return document


def workflow(name: str) -> dict[str, Any]:
    return load(GITHUB / "workflows" / name)


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps", [])


def run_text(job: dict[str, Any]) -> str:
    """Every ``run:`` script of the job's steps, joined."""
    return " ".join(str(s.get("run", "")) for s in steps(job))


def workflow_folders(root: Path, *keys: str) -> None:
    """``environments/<key>/workflow.yml`` under ``root`` for each ``<env>/<project>/<workflow>`` key."""
    for key in keys:
        folder = root / "environments" / key
        folder.mkdir(parents=True)
        (folder / "workflow.yml").write_text("dag: {}\n")


def step_using(job: dict[str, Any], action: str) -> dict[str, Any]:
    (step,) = [s for s in steps(job) if str(s.get("uses", "")).startswith(f"{action}@")]
    return step


@pytest.fixture(scope="module")
def changed_stacks():
    spec = importlib.util.spec_from_file_location("changed_stacks", GITHUB / "scripts" / "changed_stacks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_expected_files_exist_and_parse():
    assert {p.name for p in WORKFLOWS} >= {"pull-request.yml", "main.yml", "deploy.yml"}
    for path in [*WORKFLOWS, *ACTIONS]:
        document = load(path)
        assert document.get("name"), path


@pytest.mark.parametrize("path", [*WORKFLOWS, *ACTIONS], ids=lambda p: p.relative_to(GITHUB).as_posix())
def test_every_action_is_pinned_to_a_full_commit_sha(path: Path):
    found = USES_LINE.findall(path.read_text())
    assert found, f"{path.name} uses no action"
    for target, comment in found:
        if target.startswith("./"):
            continue  # this repository's own action or reusable workflow, at the same commit
        assert PINNED.match(target), f"{path.name}: {target} is not pinned to a commit SHA"
        assert re.search(r"#\s*v\d", comment), f"{path.name}: {target} needs a '# vX.Y.Z' comment saying which release"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_are_least_by_default_and_declared_per_job(path: Path):
    document = load(path)
    assert document["permissions"] == {}, f"{path.name}: top-level permissions must be {{}}"
    for name, job in document["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {name} must declare its permissions"
        permissions = job["permissions"]
        assert set(permissions.values()) <= {"read", "write", "none"}
        uses_aws = any(str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@") for s in steps(job))
        calls_deploy = job.get("uses") == "./.github/workflows/deploy.yml"
        if permissions.get("id-token") == "write":
            assert uses_aws or calls_deploy, f"{path.name}: job {name} asks for id-token without using it"
        if uses_aws:
            assert permissions.get("id-token") == "write"


def test_no_stored_cloud_credentials():
    for path in [*WORKFLOWS, *ACTIONS]:
        text = path.read_text()
        assert "aws-access-key-id" not in text
        assert "aws-secret-access-key" not in text
        assert "PULUMI_ACCESS_TOKEN" not in text
        assert "PULUMI_CONFIG_PASSPHRASE" not in text


# --------------------------------------------------------------------------- main: deploy what changed


class _Context(dict):
    """Attribute access for expression contexts (``needs.changes.outputs.stacks``)."""

    def __getattr__(self, name: str) -> Any:
        value = self[name]
        return _Context(value) if isinstance(value, dict) else value


STATUS_FUNCTION = re.compile(r"\b(success|failure|always|cancelled)\(")


def evaluate(expression: str, needs: dict[str, Any]) -> Any:
    """A GitHub Actions expression, as far as these workflows use it: ``&&``, ``||``, ``!``, ``==``,
    ``!=``, string literals, ``contains``, ``fromJSON``, ``needs.<job>.result|outputs.<name>``."""
    text = expression.strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    assert re.fullmatch(r"[\w\s.'\[\]()=!&|,-]*", text), f"unsupported expression {expression!r}"
    python = text.replace("&&", " and ").replace("||", " or ")
    python = re.sub(r"!(?!=)", " not ", python)
    functions = {"contains": lambda where, what: what in where, "fromJSON": json.loads}
    return eval(python, {"__builtins__": {}}, {**functions, "needs": _Context(needs)})


def push(paths: list[str], changed_stacks, failing: tuple[str, ...] = ()) -> dict[str, set[str]]:
    """Run main.yml's job graph for a push of ``paths`` as GitHub would: each stack it deploys, with the
    stacks deployed before it that it waited for (deploys of ``failing`` stacks, and ``failing`` jobs, fail)."""
    jobs = workflow("main.yml")["jobs"]
    outputs = {
        "changes": {
            "stacks": json.dumps(changed_stacks.affected_stacks(paths)),
            "program": json.dumps(changed_stacks.program_changed(paths)),
        }
    }
    results: dict[str, str] = {}
    deployed: dict[str, set[str]] = {}
    by_job: dict[str, set[str]] = {}  # the stacks each job (and what it needs) deployed
    pending = dict(jobs)
    while pending:
        name, job = next((n, j) for n, j in pending.items() if all(d in results for d in needs_of(j)))
        del pending[name]
        needs = {d: {"result": results[d], "outputs": outputs.get(d, {})} for d in needs_of(job)}
        condition = str(job.get("if", ""))
        # Without a status function, GitHub runs a job only if every job it needs succeeded.
        runs = STATUS_FUNCTION.search(condition) is not None or all(r == "success" for r in results_of(needs))
        if runs and condition:
            runs = bool(evaluate(condition, needs))
        before = set().union(*(by_job[d] for d in needs_of(job))) if needs_of(job) else set()
        if not runs:
            results[name], by_job[name] = "skipped", before
            continue
        stacks: list[str] = []
        if job.get("uses") == "./.github/workflows/deploy.yml":
            matrix = job.get("strategy", {}).get("matrix", {}).get("stack")
            stacks = evaluate(matrix, needs) if matrix else [job["with"]["stack"]]
            if matrix:
                assert job["with"]["stack"] == "${{ matrix.stack }}"
        for stack in stacks:
            assert stack not in deployed, f"{stack} deployed twice"
            deployed[stack] = set(before)
        results[name] = "failure" if set(stacks) & set(failing) or name in failing else "success"
        by_job[name] = before | set(stacks)
    return deployed


def needs_of(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else list(needs)


def results_of(needs: dict[str, Any]) -> list[str]:
    return [n["result"] for n in needs.values()]


def test_main_runs_on_push_and_tests_first():
    main = workflow("main.yml")
    assert main["on"] == {"push": {"branches": ["main"]}}
    jobs = main["jobs"]
    assert "make test" in run_text(jobs["tests"])
    changes = run_text(jobs["changes"])
    assert 'git diff --name-only -z "$BEFORE" HEAD | python3 .github/scripts/changed_stacks.py' in changes
    assert "--diff-filter" not in changes  # a deleted manifest deploys its stack
    for name, job in jobs.items():
        if job.get("uses") == "./.github/workflows/deploy.yml":
            assert {"changes", "tests"} & set(needs_of(job)) or needs_of(job) in (["development"], ["test"]), name
            assert job["permissions"] == {"contents": "read", "id-token": "write"}


def test_a_production_only_change_deploys_production_without_waiting(changed_stacks):
    assert push(["environments/production/p/w/workflow.yml"], changed_stacks) == {"production": set()}
    assert push(["Pulumi.production.yaml", "environments/production/p/w/dag.py"], changed_stacks) == {
        "production": set()
    }


def test_manifest_changes_deploy_each_stack_independently(changed_stacks):
    paths = ["environments/development/p/w/workflow.yml", "environments/production/p/w/workflow.yml"]
    assert push(paths, changed_stacks) == {"development": set(), "production": set()}
    # A failure in one stack does not hold another back.
    assert push(paths, changed_stacks, failing=("development",)) == {"development": set(), "production": set()}


@pytest.mark.parametrize(
    "paths",
    [
        ["components/workflow.py"],
        ["mwaa/analytical_platform/standard_operator.py"],
        ["shell/program.py", "environments/production/p/w/workflow.yml"],
        ["requirements.txt"],
        [".github/workflows/deploy.yml"],
    ],
)
def test_a_program_or_runtime_change_goes_development_test_production(changed_stacks, paths):
    assert push(paths, changed_stacks) == {
        "development": set(),
        "test": {"development"},
        "production": {"development", "test"},
    }
    # Each stage only after the previous one succeeded.
    assert push(paths, changed_stacks, failing=("development",)) == {"development": set()}
    assert push(paths, changed_stacks, failing=("test",)) == {"development": set(), "test": {"development"}}


def test_nothing_to_deploy(changed_stacks):
    assert push(["docs/operations.md", "tests/test_x.py"], changed_stacks) == {}


def test_failed_tests_deploy_nothing(changed_stacks):
    for paths in (["components/workflow.py"], ["environments/production/p/w/workflow.yml"]):
        assert push(paths, changed_stacks, failing=("tests",)) == {}


def test_deploy_is_one_environment_and_one_lock_per_stack():
    deploy = workflow("deploy.yml")
    assert deploy["on"]["workflow_call"]["inputs"]["stack"]["required"] is True
    (job,) = deploy["jobs"].values()
    assert job["environment"] == "${{ inputs.stack }}"
    assert job["concurrency"] == {"group": "pulumi-${{ inputs.stack }}", "cancel-in-progress": False}
    credentials = step_using(job, "aws-actions/configure-aws-credentials")
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    pulumi = step_using(job, "pulumi/actions")
    assert pulumi["with"]["command"] == "up"
    assert pulumi["with"]["stack-name"] == "${{ inputs.stack }}"
    assert pulumi["with"]["cloud-url"].startswith("s3://")
    assert pulumi["with"]["policyPacks"] == "policy"


def test_pull_requests_validate_test_diff_and_preview(changed_stacks):
    pull_request = workflow("pull-request.yml")
    paths = pull_request["on"]["pull_request"]["paths"]
    # Manifests and every folder of the program: a change to any of them must run the checks and the preview.
    assert {"environments/**", "workflows/**", "components/**", "shell/**", "mwaa/**", "policy/**"} <= set(paths)
    jobs = pull_request["jobs"]
    validate = run_text(jobs["validate"])
    assert "-m workflows validate --format github" in validate
    assert "make test" in run_text(jobs["test"])
    diff = run_text(jobs["diff"])
    assert "-m workflows diff --stack" in diff
    assert jobs["diff"]["permissions"]["pull-requests"] == "write"
    preview = jobs["preview"]
    assert preview["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.changes.outputs.stacks) }}"
    pulumi = step_using(preview, "pulumi/actions")["with"]
    assert pulumi["command"] == "preview"
    assert pulumi["stack-name"] == "${{ matrix.stack }}"
    assert pulumi["comment-on-pr"] is True
    assert pulumi["edit-pr-comment"] is True
    assert pulumi["policyPacks"] == "policy"
    assert pulumi["cloud-url"].startswith("s3://")
    # Pull request code previews with the accounts' read-only roles; deploys with the deploy roles.
    assert step_using(preview, "pulumi/actions")["env"] == {"PLATFORM_ROLES": "preview"}
    (deploy_job,) = workflow("deploy.yml")["jobs"].values()
    assert "PLATFORM_ROLES" not in str(deploy_job)
    # Every stack the matrix can hold is one the change detection knows, and the other way round.
    assert tuple(changed_stacks.STACKS) == ENVIRONMENTS


@pytest.mark.parametrize(
    ("paths", "stacks"),
    [
        (["environments/development/p/w/workflow.yml"], ["development"]),
        (["environments/production/p/w/dag.py", "environments/test/p/w/workflow.yml"], ["test", "production"]),
        (["Pulumi.test.yaml"], ["test"]),
        (["components/workflow.py"], list(ENVIRONMENTS)),
        (["shell/program.py"], list(ENVIRONMENTS)),
        (["workflows/schema/workflow.schema.json"], list(ENVIRONMENTS)),
        (["policy/rules.py"], list(ENVIRONMENTS)),
        (["Pulumi.yaml"], list(ENVIRONMENTS)),
        (["requirements.txt"], list(ENVIRONMENTS)),
        ([".github/workflows/pull-request.yml"], list(ENVIRONMENTS)),
        (["docs/operations.md", "tests/test_x.py", "README.md"], []),
        (["environments/staging/p/w/workflow.yml", "Pulumi.staging.yaml"], []),
    ],
)
def test_affected_stacks(changed_stacks, paths, stacks):
    assert changed_stacks.affected_stacks(paths) == stacks
    # Every stack is affected exactly when the program (or what it runs with) changed.
    assert changed_stacks.program_changed(paths) == (stacks == list(ENVIRONMENTS))


def test_manifests_to_validate(changed_stacks, tmp_path: Path):
    workflow_folders(tmp_path, "development/p/a", "development/p/b", "test/q/c")
    (tmp_path / "environments/development/p/b/dag.py").write_text("")
    paths = [
        "environments/development/p/a/workflow.yml",
        "environments/development/p/b/dag.py",  # a workflow's own file: validate its manifest
        "environments/test/q/gone/workflow.yml",  # deleted: nothing to validate
        "docs/operations.md",
    ]
    assert changed_stacks.manifests(paths, tmp_path) == [
        "environments/development/p/a/workflow.yml",
        "environments/development/p/b/workflow.yml",
    ]


def test_a_changed_or_deleted_project_file_validates_it_and_its_workflows(changed_stacks, tmp_path: Path):
    workflow_folders(tmp_path, "development/p/a", "development/p/b", "development/q/c")
    (tmp_path / "environments/development/p/project.yml").write_text("secrets: [x]\n")
    changed = ["environments/development/p/project.yml"]
    assert changed_stacks.manifests(changed, tmp_path) == [
        "environments/development/p/a/workflow.yml",
        "environments/development/p/b/workflow.yml",
        "environments/development/p/project.yml",
    ]
    deleted = ["environments/development/q/project.yml"]  # gone: its workflows may still list its secrets
    assert changed_stacks.manifests(deleted, tmp_path) == ["environments/development/q/c/workflow.yml"]


def test_change_detection_script_output(tmp_path: Path):
    paths = "environments/development/p/w/workflow.yml\0docs/x.md\0"
    done = subprocess.run(
        ["python3", str(GITHUB / "scripts" / "changed_stacks.py")],
        input=paths,
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert done.stdout.splitlines() == ['stacks=["development"]', "program=false", "manifests=0"]


# zizmor is pinned in requirements.txt, so `make test` always runs this; elsewhere it may be absent.
ZIZMOR = shutil.which("zizmor", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")


@pytest.mark.skipif(ZIZMOR is None, reason="zizmor is not installed: pip install -r requirements.txt")
def test_zizmor_finds_nothing():
    done = subprocess.run([ZIZMOR, "--offline", str(GITHUB)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


# --------------------------------------------------------------------------- approval by risk (issue 13)
def test_pull_requests_check_images_and_maintainers_on_the_changed_manifests():
    jobs = workflow("pull-request.yml")["jobs"]
    checks = run_text(jobs["checks"])
    assert "-m workflows check-images --format github" in checks
    assert "-m workflows check-maintainers --format github" in checks
    assert "changed_stacks.py --manifests" in checks
    token = step_using(jobs["checks"], "actions/create-github-app-token")
    assert token["with"]["permission-members"] == "read"
    # The diff is told whether the checks passed, and says so in its verdict.
    assert "checks" in jobs["diff"]["needs"]
    diff = next(s for s in steps(jobs["diff"]) if s.get("id") == "render")
    assert diff["env"]["CHECKS_RESULT"] == "${{ needs.checks.result }}"
    assert "--checks-passed" in diff["run"]
    assert "--format json" in diff["run"]
    assert jobs["diff"]["outputs"]["auto_approve"] == "${{ steps.render.outputs.auto_approve }}"


def test_the_approve_job_needs_the_verdict_the_pause_switch_and_every_other_job():
    jobs = workflow("pull-request.yml")["jobs"]
    approve = jobs["approve"]
    # Every other job passed: all are needed, and the default success() condition applies (no always()).
    assert set(approve["needs"]) == set(jobs) - {"approve"}
    condition = " ".join(approve["if"].split())
    assert "always()" not in condition
    assert "needs.diff.outputs.auto_approve == 'true'" in condition
    assert "vars.AUTO_APPROVE_PAUSED != 'true'" in condition
    assert "github.event.pull_request.head.repo.full_name == github.repository" in condition
    # The approval comes from the App's token (GITHUB_TOKEN cannot approve), asking only to review.
    assert approve["permissions"] == {}
    token = step_using(approve, "actions/create-github-app-token")
    assert token["with"]["app-id"] == "${{ secrets.AUTO_APPROVE_APP_ID }}"
    assert token["with"]["private-key"] == "${{ secrets.AUTO_APPROVE_APP_PRIVATE_KEY }}"
    assert token["with"]["permission-pull-requests"] == "write"
    (review,) = [s for s in steps(approve) if "run" in s]
    assert review["env"]["GH_TOKEN"] == "${{ steps.app-token.outputs.token }}"
    assert "event=APPROVE" in review["run"]
    assert 'commit_id="$HEAD_SHA"' in review["run"]  # the commit that was judged, not a later push


def test_the_verdict_covers_every_affected_stack():
    (render,) = [s for s in steps(workflow("pull-request.yml")["jobs"]["diff"]) if s.get("id") == "render"]
    run = render["run"]
    assert "verdict=true" in run
    assert "verdict=false" in run
    assert run.index("verdict=true") < run.index("for stack in") < run.index("verdict=false")
    assert 'echo "auto_approve=$verdict" >> "$GITHUB_OUTPUT"' in run


def test_codeowners_makes_the_platform_team_review_everything_but_manifests():
    """Only workflow.yml files are left without a code owner (last match wins): a change to anything else,
    the pull-request workflow and the verdict code included, needs the platform team whatever the App does."""
    lines = [
        line.split()
        for line in (GITHUB / "CODEOWNERS").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines == [["*", "@ministryofjustice/analytical-platform"], ["/environments/**/workflow.yml"]]
