"""Write the CI roles' policy documents of every stack from its ``Pulumi.<stack>.yaml``.

    .venv/bin/python ci-roles/generate.py           # (re)write ci-roles/<stack>/*
    .venv/bin/python ci-roles/generate.py --check   # exit 1 if a file differs (CI and tests run this)

One folder per stack, one file per account and role (README.md in this folder says
which role each is for, and how operators apply them). Account ids, regions, the MWAA
bucket, the secrets' KMS alias, the roles and the cluster-facts secret come from the
stack config; the statements below say what each role may do. What the program needs
is checked independently by ``tests/ci_roles/``: every resource type the rendered
stacks register is covered, no deploy document reads a workflow secret's value.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).resolve().parent
REPO = FOLDER.parent
sys.path.insert(0, str(REPO))

from workflows.config import StackConfig, stack_file  # noqa: E402 - after the path is set
from workflows.model import ENVIRONMENTS  # noqa: E402
from workflows.plan.iam import statement  # noqa: E402

VERSION = "2012-10-17"

# What the provider does for each resource, by what it manages (pulumi-aws / Terraform AWS provider:
# create, read, update, tag, delete; the read is also what `pulumi refresh` does).
ROLE_MANAGE = [
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:ListRolePolicies",
    "iam:ListRoleTags",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
]
ROLE_READ = [
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:ListRoleTags",
]
POLICY_MANAGE = [
    "iam:CreatePolicy",
    "iam:CreatePolicyVersion",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:ListPolicyTags",
    "iam:ListPolicyVersions",
    "iam:TagPolicy",
    "iam:UntagPolicy",
]
POLICY_READ = ["iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyTags", "iam:ListPolicyVersions"]
# A secret, never its value: no GetSecretValue, no PutSecretValue (UpdateSecret changes the description,
# KMS key and replicas; Secrets Manager gives no condition key to keep it from taking a value too).
SECRET_MANAGE = [
    "secretsmanager:CreateSecret",
    "secretsmanager:DeleteResourcePolicy",
    "secretsmanager:DeleteSecret",
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetResourcePolicy",
    "secretsmanager:PutResourcePolicy",
    "secretsmanager:RemoveRegionsFromReplication",
    "secretsmanager:ReplicateSecretToRegions",
    "secretsmanager:RestoreSecret",
    "secretsmanager:TagResource",
    "secretsmanager:UntagResource",
    "secretsmanager:UpdateSecret",
]
SECRET_READ = [
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetResourcePolicy",
    "secretsmanager:ListSecretVersionIds",
]
# Secrets Manager uses the KMS key itself (on the role's behalf) when a secret's key or replica changes.
SECRET_KEY_USE = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
OBJECT_MANAGE = [
    "s3:DeleteObject",
    "s3:DeleteObjectTagging",
    "s3:DeleteObjectVersion",
    "s3:GetObject",
    "s3:GetObjectTagging",
    "s3:PutObject",
    "s3:PutObjectTagging",
]
OBJECT_READ = ["s3:GetObject", "s3:GetObjectTagging"]
OBJECT_WRITE = [a for a in OBJECT_MANAGE if not a.startswith("s3:Get")]


def _statement(
    sid: str, actions: list[str], resources: list[str], condition: dict | None = None, *, effect: str = "Allow"
) -> dict[str, Any]:
    """:func:`workflows.plan.iam.statement`, the one way a statement is written, with the condition positional."""
    return statement(sid, actions, resources, effect=effect, condition=condition or None)


def _document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": list(statements)}


def _alias_name(key: str) -> str:
    """``alias/x`` from an alias or an alias ARN."""
    return "alias/" + key.split(":alias/", 1)[1] if ":alias/" in key else key


def documents(config: StackConfig) -> dict[str, dict[str, Any]]:
    """File name → policy document, for one stack."""
    env, data, common = config.environment, config.accounts.data.id, config.accounts.common.id
    regions = sorted({config.region, config.replica_region})
    roles = f"arn:aws:iam::{data}:role/airflow-{env}-*"
    policies = f"arn:aws:iam::{data}:policy/airflow-{env}-*"
    shared = f"arn:aws:iam::{data}:policy/{config.shared_policy_path.strip('/')}/*"
    secrets = [f"arn:aws:secretsmanager:{region}:{data}:secret:/airflow/{env}/*" for region in regions]
    keys = [f"arn:aws:kms:{region}:{data}:key/*" for region in regions]
    aliases = sorted({_alias_name(config.secrets_kms_key_arn), _alias_name(config.secrets_replica_kms_key_arn)})
    via = [f"secretsmanager.{region}.amazonaws.com" for region in regions]
    bucket = f"arn:aws:s3:::{config.mwaa_bucket}"
    dags = f"{bucket}/{config.dags_prefix}*"
    kube = f"{bucket}/{config.dags_prefix}.kube/*"

    found = {
        "data-deploy.json": _document(
            _statement("WorkflowRoles", ROLE_MANAGE, [roles]),
            # Attach only the workflow's own policy and the platform's shared ones: never, say,
            # AdministratorAccess. Detaching is always allowed: the attachments resource removes
            # whatever was attached by hand.
            _statement(
                "AttachWorkflowAndSharedPolicies",
                ["iam:AttachRolePolicy"],
                [roles],
                {"ArnLike": {"iam:PolicyARN": [policies, shared]}},
            ),
            _statement("DetachPolicies", ["iam:DetachRolePolicy"], [roles]),
            _statement("WorkflowPolicies", POLICY_MANAGE, [policies]),
            _statement("WorkflowSecrets", SECRET_MANAGE, secrets),
            # A removed secret always keeps its recovery window: it can be restored, with its value.
            _statement(
                "NoDeleteWithoutRecovery",
                ["secretsmanager:DeleteSecret"],
                secrets,
                {"Bool": {"secretsmanager:ForceDeleteWithoutRecovery": "true"}},
                effect="Deny",
            ),
            _statement(
                "SecretsKey", ["kms:DescribeKey"], keys, {"ForAnyValue:StringEquals": {"kms:ResourceAliases": aliases}}
            ),
            _statement(
                "SecretsKeyThroughSecretsManager",
                SECRET_KEY_USE,
                keys,
                {
                    "ForAnyValue:StringEquals": {"kms:ResourceAliases": aliases},
                    "StringEquals": {"kms:ViaService": via},
                },
            ),
        ),
        "data-preview.json": _document(
            _statement("WorkflowRoles", ROLE_READ, [roles]),
            _statement("WorkflowPolicies", POLICY_READ, [policies]),
            # Metadata only (secrets-status, import-plan --lookup): no value.
            _statement("WorkflowSecrets", SECRET_READ, secrets),
            _statement("ListSecrets", ["secretsmanager:ListSecrets"], ["*"]),
            _statement(
                "SecretsKey", ["kms:DescribeKey"], keys, {"ForAnyValue:StringEquals": {"kms:ResourceAliases": aliases}}
            ),
        ),
        "compute-deploy.json": _document(
            _statement("DagObjects", OBJECT_MANAGE, [dags]),
            *(
                # The cluster's own Terraform writes the kubeconfig MWAA uses: never this stack.
                [_statement("NotTheKubeconfig", OBJECT_WRITE, [kube], effect="Deny")]
                if config.kubernetes.bucket_path is None
                else []
            ),
            # HeadObject on a missing key answers 404 (not 403) only with ListBucket; deleting a file
            # of the versioned MWAA bucket lists its versions under its own key.
            _statement("ListBucket", ["s3:ListBucket"], [bucket]),
            _statement(
                "ListDagVersions",
                ["s3:ListBucketVersions"],
                [bucket],
                {"StringLike": {"s3:prefix": [f"{config.dags_prefix}*"]}},
            ),
        ),
        "compute-preview.json": _document(
            _statement("DagObjects", OBJECT_READ, [dags]),
            _statement("ListBucket", ["s3:ListBucket"], [bucket]),
        ),
    }
    for purpose in ("deploy", "preview"):
        # `pulumi up` assumes the deploy roles, and the preview roles in its preview phase; a preview
        # (pull request code) only ever the preview roles.
        accounts = (config.accounts.data, config.accounts.compute)
        previews = (True,) if purpose == "preview" else (False, True)
        assumed = [arn for arn in (a.role_arn(preview=p) for a in accounts for p in previews) if arn]
        statements = [_statement("AssumeStackRoles", ["sts:AssumeRole"], assumed)]
        source = config.cluster.facts_secret
        if source is not None:
            # The cluster facts, read at plan time through the common account's provider: this one secret.
            statements += [
                _statement(
                    "ReadClusterFacts",
                    ["secretsmanager:GetSecretValue"],
                    [f"arn:aws:secretsmanager:{config.region}:{common}:secret:{source.secret_id}-??????"],
                ),
                _statement(
                    "ClusterFactsKey",
                    ["kms:Decrypt"],
                    [f"arn:aws:kms:{config.region}:{common}:key/*"],
                    {"StringEquals": {"kms:ViaService": [f"secretsmanager.{config.region}.amazonaws.com"]}},
                ),
            ]
        if purpose == "preview":
            # `check-images` on pull requests: does the image a changed manifest's DAG pulls exist in ECR.
            statements.append(
                _statement(
                    "CheckImages",
                    ["ecr:DescribeImages"],
                    [f"arn:aws:ecr:{config.image_registry.split('.')[3]}:{common}:repository/*"],
                )
            )
        found[f"common-{purpose}.json"] = _document(*statements)
    return found


def kubernetes_objects(config: StackConfig) -> list[dict[str, Any]]:
    """What the compute roles' EKS access entries map to: a Role per purpose in the stack's namespace,
    bound to the group the access entry names, and a policy that lets the preview group only dry-run.

    The Kubernetes provider previews with server-side dry-run applies, which Kubernetes authorises
    like real ones: the preview Role needs ``create`` and ``patch``, and the admission policy keeps
    pull-request code (which previews) from changing anything.
    """
    read = ["get", "list", "watch"]
    verbs = {"deploy": [*read, "create", "delete", "patch", "update"], "preview": [*read, "create", "patch"]}
    kinds = [("", "serviceaccounts"), ("external-secrets.io", "externalsecrets")]
    objects: list[dict[str, Any]] = []
    for purpose, allowed in verbs.items():
        name = f"analytical-platform-airflow-{purpose}"
        objects.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": name, "namespace": config.namespace},
                "rules": [
                    {"apiGroups": [group], "resources": [resource], "verbs": sorted(allowed)}
                    for group, resource in kinds
                ],
            }
        )
        objects.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": name, "namespace": config.namespace},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": name}],
            }
        )
    dry_run = "analytical-platform-airflow-preview-dry-run-only"
    objects += [
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": dry_run},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": sorted(group for group, _ in kinds),
                            "apiVersions": ["*"],
                            "operations": ["CREATE", "DELETE", "UPDATE"],
                            "resources": sorted(resource for _, resource in kinds),
                        }
                    ]
                },
                "validations": [
                    {
                        "expression": "!('analytical-platform-airflow-preview' in request.userInfo.groups) "
                        "|| request.dryRun == true",
                        "message": "the preview role may only dry-run",
                    }
                ],
            },
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": dry_run},
            "spec": {"policyName": dry_run, "validationActions": ["Deny"]},
        },
    ]
    return objects


def rendered(config: StackConfig) -> dict[str, str]:
    """File name → text, for one stack."""
    files = {name: json.dumps(document, indent=2) + "\n" for name, document in documents(config).items()}
    objects = {"apiVersion": "v1", "kind": "List", "items": kubernetes_objects(config)}
    files["kubernetes-roles.json"] = json.dumps(objects, indent=2) + "\n"
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="report files that differ instead of writing them")
    args = parser.parse_args(argv)
    stale: list[str] = []
    for stack in ENVIRONMENTS:
        config = StackConfig.from_stack_file(stack_file(REPO, stack))
        folder = FOLDER / stack
        for name, text in rendered(config).items():
            path = folder / name
            if path.exists() and path.read_text() == text:
                continue
            if args.check:
                stale.append(str(path.relative_to(REPO)))
            else:
                folder.mkdir(exist_ok=True)
                path.write_text(text)
    for path in stale:
        print(f"stale: {path} (run .venv/bin/python ci-roles/generate.py)", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
