"""The workflow's AWS identity: IAM role with an EKS IRSA trust, its policy and attachments."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from workflows import iam, naming
from workflows.config import StackConfig
from workflows.model import Workflow


class WorkflowIdentity(pulumi.ComponentResource):
    """Role ``airflow-<env>-<project>-<workflow>``, a managed policy of the same name built
    from the manifest's ``iam`` keys, and attachments of that policy and the platform's
    shared managed policies. Not created for ``iam.external_role``."""

    role_arn: pulumi.Output[str]

    def __init__(
        self, name: str, workflow: Workflow, config: StackConfig, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("analytical-platform:workflows:WorkflowIdentity", name, None, opts)
        names = naming.names_for(workflow, config)
        tags = naming.resource_tags(workflow, config)
        child = pulumi.ResourceOptions(parent=self)

        role = aws.iam.Role(
            f"{name}-role",
            name=names.role,
            assume_role_policy=iam.policy_json(iam.trust_document(workflow, config)),
            max_session_duration=naming.ROLE_MAX_SESSION_SECONDS,
            tags=tags,
            opts=child,
        )
        policy = aws.iam.Policy(
            f"{name}-policy",
            name=names.policy,
            policy=iam.policy_json(iam.policy_document(workflow, config)),
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicyAttachment(f"{name}-policy-attachment", role=role.name, policy_arn=policy.arn, opts=child)
        for arn in iam.managed_policy_arns(workflow, config):
            shared = arn.rsplit("/", 1)[1]
            aws.iam.RolePolicyAttachment(f"{name}-{shared}-attachment", role=role.name, policy_arn=arn, opts=child)

        self.role_arn = role.arn
        self.register_outputs({"role_arn": role.arn, "role_name": role.name, "policy_arn": policy.arn})
