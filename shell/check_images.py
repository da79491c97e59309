"""``python -m workflows check-images PATH...``: the image each manifest's DAG will pull exists in ECR.

The image is the plan's (``names.image``: ``<registry>/<repository lower-cased, _ as ->:<tag>``, python_dag
workflows too); ``ecr:DescribeImages`` in the registry's account and region (stack config
``platform:imageRegistry``). Standard AWS credential chain; boto3 honours ``AWS_ENDPOINT_URL``. Every missing
image at once (exit 1); exit 2 when ECR cannot be asked (no credentials, access denied, no answer).
A project's ``project.yml`` (shared secrets) names no image: it is skipped.
"""

from __future__ import annotations

from pathlib import Path

from shell.manifest_checks import run_checks
from workflows.config import StackConfig
from workflows.errors import ManifestError, Problem
from workflows.manifest.discovery import is_project_manifest
from workflows.manifest.load import load
from workflows.review.checks import ImageReference, Unreachable, image_reference, missing_image_problem
from workflows.validate import check_workflow

NOT_FOUND = {
    "ImageNotFoundException": "no image with that tag",
    "RepositoryNotFoundException": "no such repository",
}


def image_missing(image: ImageReference, clients: dict[str, object]) -> str | None:
    """Why the image is missing, or None when it exists. Raises :class:`Unreachable`."""
    import boto3  # noqa: PLC0415 - only this command needs boto3
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    try:
        if image.region not in clients:
            clients[image.region] = boto3.client("ecr", region_name=image.region or None)
        clients[image.region].describe_images(  # type: ignore[attr-defined]
            registryId=image.registry_id, repositoryName=image.repository, imageIds=[{"imageTag": image.tag}]
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in NOT_FOUND:
            return NOT_FOUND[code]
        raise Unreachable(f"ECR refused DescribeImages for {image}: {code}: {error}") from None
    except BotoCoreError as error:
        raise Unreachable(f"cannot ask ECR ({image.region}): {error}") from None
    return None


def check_images_command(paths: list[Path], config_dir: Path, output: str = "text") -> int:
    clients: dict[str, object] = {}

    def check(path: Path, config: StackConfig) -> list[Problem]:
        if is_project_manifest(path):
            return []  # a project's shared secrets: no image
        plan, _ = check_workflow(path, config)
        if plan is None:
            return [Problem(path, 1, 1, "not checked: the manifest is invalid (see validate)")]
        image = image_reference(plan.names.image)
        why = image_missing(image, clients)
        if not why:
            return []
        try:
            _, positions = load(path)
        except ManifestError as error:  # it loaded a moment ago; a race with an editor
            return list(error.problems)
        return [missing_image_problem(path, positions, image, why)]

    return run_checks(paths, config_dir, output, check)
