"""The providers every resource names explicitly: one per account (and region) the stack writes to.

``workflows/installation.py`` decides which providers there are and how each is set up;
this module only registers them. Every AWS and Kubernetes resource of the stack names one
of these as its ``provider`` (the components pass it on each child), and each stack file sets
``pulumi:disable-default-providers: ["*"]``, so a resource that forgot its provider fails
instead of landing in whatever account the ambient credentials belong to.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi_aws as aws
import pulumi_kubernetes as k8s

from workflows.installation import AwsProviderSpec


@dataclass(frozen=True)
class Providers:
    """The providers a workflow's resources and the runtime's objects are written through."""

    data: aws.Provider  # roles, policies, attachments, secrets (data account, primary region)
    compute: aws.Provider  # the MWAA bucket's objects (compute account)
    cluster: k8s.Provider  # service accounts and ExternalSecrets (the compute account's EKS cluster)


def aws_provider(spec: AwsProviderSpec) -> aws.Provider:
    """An AWS provider for one account: it assumes the account's role (with a session name
    CloudTrail shows), refuses credentials of any other account, and tags what it creates."""
    assume = (
        [aws.ProviderAssumeRoleArgs(role_arn=spec.role_arn, session_name=spec.session_name)]
        if spec.role_arn is not None
        else None
    )
    return aws.Provider(
        spec.name,
        region=spec.region,
        assume_roles=assume,
        # A wrong role or ambient identity fails at the first call instead of writing to another account.
        allowed_account_ids=[spec.account_id],
        default_tags=aws.ProviderDefaultTagsArgs(tags=dict(spec.default_tags)),
    )


def kubernetes_provider(name: str, kubeconfig: str) -> k8s.Provider:
    """A Kubernetes provider for the environment's cluster from a kubeconfig built from the cluster
    facts (never the ambient kubeconfig or its current context)."""
    # The kubeconfig holds no credential: the token comes from `aws eks get-token`, assuming the
    # compute account's role, so the deploy credentials need only be able to assume that role.
    return k8s.Provider(name, kubeconfig=kubeconfig)
