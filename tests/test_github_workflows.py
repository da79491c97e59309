"""The GitHub Actions pipeline: it parses, covers every stack, pins actions, asks for least permissions."""

from __future__ import annotations

import importlib.util
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


def test_main_deploys_every_stack_in_order():
    main = workflow("main.yml")
    assert main["on"] == {"push": {"branches": ["main"]}}
    jobs = main["jobs"]
    previous = "tests"
    assert "make test" in " ".join(str(s.get("run", "")) for s in steps(jobs["tests"]))
    for stack in ENVIRONMENTS:  # development, then test, then production
        job = jobs[stack]
        assert job["uses"] == "./.github/workflows/deploy.yml"
        assert job["with"] == {"stack": stack}
        assert job["needs"] == previous
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
        previous = stack


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
    validate = " ".join(str(s.get("run", "")) for s in steps(jobs["validate"]))
    assert "-m workflows validate --format github" in validate
    assert "make test" in " ".join(str(s.get("run", "")) for s in steps(jobs["test"]))
    diff = " ".join(str(s.get("run", "")) for s in steps(jobs["diff"]))
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


def test_manifests_to_validate(changed_stacks, tmp_path: Path):
    for key in ("development/p/a", "development/p/b", "test/q/c"):
        folder = tmp_path / "environments" / key
        folder.mkdir(parents=True)
        (folder / "workflow.yml").write_text("dag: {}\n")
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
    assert done.stdout.splitlines() == ['stacks=["development"]', "manifests=0"]


# zizmor is pinned in requirements.txt, so `make test` always runs this; elsewhere it may be absent.
ZIZMOR = shutil.which("zizmor", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")


@pytest.mark.skipif(ZIZMOR is None, reason="zizmor is not installed: pip install -r requirements.txt")
def test_zizmor_finds_nothing():
    done = subprocess.run([ZIZMOR, "--offline", str(GITHUB)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
