"""Pulumi type tokens: the one home of every resource type the stack registers or reads back.

The components register these types (the provider classes carry the same token;
``tests/components/test_workflow.py`` checks they agree), the offline runner,
``diff``, ``import-plan`` and the policy pack recognise resources by them. Standard
library only: the policy pack, in its own virtual environment, imports this file too.
"""

from __future__ import annotations

STACK = "pulumi:pulumi:Stack"

# Our own ComponentResources: ``<package>:<module>:<Class>``.
WORKFLOW = "analytical-platform:workflows:Workflow"
SHARED_SECRETS = "analytical-platform:workflows:SharedSecrets"
PLATFORM_RUNTIME = "analytical-platform:platform:PlatformRuntime"

ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
ROLE_POLICY_ATTACHMENTS = "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"
SECRET = "aws:secretsmanager/secret:Secret"  # noqa: S105 - a type token, not a password
BUCKET_OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"  # noqa: S105 - a type token

# The providers every resource names (components/providers.py): ``pulumi:providers:<package>``.
PROVIDER_PREFIX = "pulumi:providers:"
AWS_PROVIDER = "pulumi:providers:aws"
KUBERNETES_PROVIDER = "pulumi:providers:kubernetes"

# Provider functions the program calls (reads at plan time): the cluster facts' secret.
GET_SECRET_VERSION = "aws:secretsmanager/getSecretVersion:getSecretVersion"  # noqa: S105 - a function token
