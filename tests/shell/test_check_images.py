"""``python -m workflows check-images`` against moto's ECR."""

from __future__ import annotations

import contextlib
import json

import boto3
import pytest

from shell.cli import main
from tests.conftest import MINIMAL, REPO
from tests.shell.emulated_aws import emulated_account

REGISTRY = "509399598587"  # platform:imageRegistry of the development stack
REGION = "eu-west-2"


@pytest.fixture
def ecr(monkeypatch):
    with emulated_account(monkeypatch, REGISTRY, REGION):  # the registry's account is moto's
        yield boto3.client("ecr", region_name=REGION)


def push(client, repository: str, tag: str) -> None:
    with contextlib.suppress(client.exceptions.RepositoryAlreadyExistsException):
        client.create_repository(repositoryName=repository, registryId=REGISTRY)
    digest = tag.encode().hex().ljust(64, "0")[:64]
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"digest": f"sha256:{digest}"},
        }
    )
    client.put_image(registryId=REGISTRY, repositoryName=repository, imageManifest=manifest, imageTag=tag)


def run(paths, capsys, *extra: str) -> tuple[int, str, str]:
    code = main(["check-images", "--config-dir", str(REPO), *extra, *map(str, paths)])
    out, err = capsys.readouterr()
    return code, out, err


def test_every_missing_image_on_its_tag_line(ecr, manifest, capsys):
    push(ecr, "moj-analytical-services/example", "v1.0.0")
    push(ecr, "moj-analytical-services/with-underscore", "v2")
    there = manifest(MINIMAL, workflow="there")
    # The repository as the image name is derived: lower case, "_" as "-".
    derived = manifest(MINIMAL.replace("example", "With_Underscore").replace("v1.0.0", "v2"), workflow="derived")
    no_tag = manifest(MINIMAL.replace("v1.0.0", "v9.9.9"), workflow="notag")
    no_repo = manifest(MINIMAL.replace("example", "never-pushed"), workflow="norepo")

    code, out, _ = run([there, derived, no_tag, no_repo], capsys)

    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(
        f"{no_repo}:3:8: the image moj-analytical-services/never-pushed:v1.0.0 does not exist in ECR "
        f"(no such repository) in account {REGISTRY}: create a release"
    )
    assert lines[1].startswith(
        f"{no_tag}:3:8: the image moj-analytical-services/example:v9.9.9 does not exist in ECR (no image with that tag)"
    )
    assert "check that the image was pushed" in lines[1]


def test_python_dag_workflows_are_checked_too(ecr, manifest, capsys):
    path = manifest(MINIMAL.replace("  tag: v1.0.0\n", "  tag: v1.0.0\n  python_dag: true\n"))
    (path.parent / "dag.py").write_text(
        (REPO / "environments/development/platform-examples/python-dag/dag.py").read_text()
    )
    code, out, _ = run([path], capsys, "--format", "github")
    assert code == 1
    assert out.startswith(
        f"::error file={str(path).replace(':', '%3A')},line=3,col=8,title=Invalid manifest::the image"
    )
    push(ecr, "moj-analytical-services/example", "v1.0.0")
    assert run([path], capsys)[0] == 0


def test_ecr_unreachable_is_exit_2(manifest, capsys, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # honoured by boto3: nothing listens there
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    code, out, err = run([manifest(MINIMAL)], capsys)
    assert code == 2
    assert out == ""
    assert "cannot ask ECR (eu-west-2)" in err
