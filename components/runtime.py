"""The platform runtime in the MWAA bucket: the files every DAG relies on."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from workflows import tokens
from workflows.dags.runtime import content_type


class PlatformRuntime(pulumi.ComponentResource):
    """The standard operator, compute profiles, platform settings and ``.airflowignore``, under
    the dags prefix. Each object's logical name is its key: unique by construction."""

    def __init__(
        self,
        name: str,
        bucket: str,
        files: Mapping[str, str],
        tags: Mapping[str, str],
        provider: pulumi.ProviderResource,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(tokens.PLATFORM_RUNTIME, name, None, opts)
        objects = {
            key: aws.s3.BucketObjectv2(
                key,
                bucket=bucket,
                key=key,
                content=content,
                content_type=content_type(key),
                tags=dict(tags),
                # The MWAA bucket is in the compute account: its provider, named on each object.
                opts=pulumi.ResourceOptions(parent=self, provider=provider),
            )
            for key, content in sorted(files.items())
        }
        self.register_outputs({"keys": [o.key for o in objects.values()]})
