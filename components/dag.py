"""DAG files in the MWAA bucket: one per workflow, plus the platform's runtime package."""

from __future__ import annotations

import re

import pulumi
import pulumi_aws as aws

from workflows import dagrender, naming
from workflows.config import StackConfig
from workflows.model import Workflow

CONTENT_TYPES = {".py": "text/x-python", ".json": "application/json"}


def _content_type(key: str) -> str:
    for suffix, content_type in CONTENT_TYPES.items():
        if key.endswith(suffix):
            return content_type
    return "text/plain"


def dag_object(
    name: str, workflow: Workflow, config: StackConfig, opts: pulumi.ResourceOptions
) -> aws.s3.BucketObjectv2:
    """``dags/<project>/<workflow>.py``: the generated DAG, or the workflow's own ``dag.py``.

    A single resource, created directly under the ``Workflow`` component.
    """
    key = naming.names_for(workflow, config).dag_key
    return aws.s3.BucketObjectv2(
        f"{name}-dag",
        bucket=config.mwaa_bucket,
        key=key,
        content=dagrender.render_dag(workflow, config),
        content_type=_content_type(key),
        tags=naming.resource_tags(workflow, config),
        opts=opts,
    )


class PlatformRuntime(pulumi.ComponentResource):
    """Files every DAG relies on (the standard operator, compute profiles, platform settings,
    ``.airflowignore``), under the same ``dags/`` prefix."""

    objects: list[aws.s3.BucketObjectv2]

    def __init__(self, name: str, config: StackConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("analytical-platform:platform:PlatformRuntime", name, None, opts)
        self.objects = []
        for path, content in sorted(dagrender.runtime_files(config).items()):
            key = f"{config.dags_prefix}{path}"
            self.objects.append(
                aws.s3.BucketObjectv2(
                    f"{name}-{_slug(path)}",
                    bucket=config.mwaa_bucket,
                    key=key,
                    content=content,
                    content_type=_content_type(key),
                    tags=dict(config.tags),
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        self.register_outputs({"keys": [o.key for o in self.objects]})


def _slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")
