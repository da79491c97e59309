"""The CI roles' policy documents (``ci-roles/``) against what the rendered stacks need.

Each stack is rendered offline twice, as ``pulumi up`` and as ``pulumi preview`` run it.
For every resource the program registers, its provider says which account it lands in;
the table below (written out from the AWS provider's create/read/update/delete/tag calls,
not from ``ci-roles/generate.py``) says what each type needs on which ARN, and a small
IAM evaluator (``policy_eval.py``) checks the account's deploy document allows it, and
its preview document the reads. No document reads a workflow secret's value: no
``GetSecretValue``, ``PutSecretValue`` or ``secretsmanager:*``; preview documents only read.
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from shell.offline import Rendered, render_stack
from tests.ci_roles.policy_eval import action_matches, allowed, as_list, statements
from tests.conftest import EXAMPLES, REPO
from workflows.config import StackConfig, stack_file

FOLDER = REPO / "ci-roles"
STACKS = ("development", "test", "production")
ACCOUNTS = ("data", "compute", "common")

ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
ATTACHMENTS = "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"
SECRET = "aws:secretsmanager/secret:Secret"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
GET_SECRET_VERSION = "aws:secretsmanager/getSecretVersion:getSecretVersion"
# Registered, but nothing in AWS or Kubernetes to allow: components and providers (a provider's only
# call, sts:GetCallerIdentity, needs no permission; assuming its role is checked below).
NOTHING_TO_ALLOW = {
    "analytical-platform:workflows:Workflow",
    "analytical-platform:workflows:SharedSecrets",  # a project's shared secrets: its children are checked
    "analytical-platform:platform:PlatformRuntime",
    "pulumi:providers:aws",
    "pulumi:providers:kubernetes",
}

# type -> (what `pulumi up` does with it, what a preview or refresh reads), each as
# (action, which ARN of the resource, extra context). Every type the program registers must be here.
SECRET_KEY = "secret's KMS key, through Secrets Manager"
TABLE: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]] = {
    ROLE: (
        [
            ("iam:CreateRole", "role"),
            ("iam:TagRole", "role"),  # CreateRole with tags
            ("iam:GetRole", "role"),
            ("iam:ListRolePolicies", "role"),  # the read lists inline policies...
            ("iam:GetRolePolicy", "role"),
            ("iam:ListAttachedRolePolicies", "role"),  # ...and managed ones
            ("iam:UpdateAssumeRolePolicy", "role"),
            ("iam:UpdateRole", "role"),  # max session
            ("iam:UpdateRoleDescription", "role"),
            ("iam:UntagRole", "role"),
            ("iam:ListInstanceProfilesForRole", "role"),  # delete removes it from instance profiles first
            ("iam:DeleteRole", "role"),
        ],
        [("iam:GetRole", "role"), ("iam:ListRolePolicies", "role"), ("iam:ListAttachedRolePolicies", "role")],
    ),
    POLICY: (
        [
            ("iam:CreatePolicy", "policy"),
            ("iam:TagPolicy", "policy"),
            ("iam:GetPolicy", "policy"),
            ("iam:GetPolicyVersion", "policy"),
            ("iam:ListPolicyVersions", "policy"),  # an update deletes the oldest of five versions
            ("iam:CreatePolicyVersion", "policy"),
            ("iam:DeletePolicyVersion", "policy"),
            ("iam:UntagPolicy", "policy"),
            ("iam:DeletePolicy", "policy"),
        ],
        [("iam:GetPolicy", "policy"), ("iam:GetPolicyVersion", "policy")],
    ),
    ATTACHMENTS: (
        [
            ("iam:ListAttachedRolePolicies", "role"),
            ("iam:AttachRolePolicy", "role, each declared policy"),
            ("iam:DetachRolePolicy", "role"),
        ],
        [("iam:ListAttachedRolePolicies", "role")],
    ),
    SECRET: (
        [
            ("secretsmanager:CreateSecret", "secret"),
            ("secretsmanager:TagResource", "secret"),
            ("secretsmanager:DescribeSecret", "secret"),
            ("secretsmanager:GetResourcePolicy", "secret"),
            ("secretsmanager:PutResourcePolicy", "secret"),
            ("secretsmanager:DeleteResourcePolicy", "secret"),
            ("secretsmanager:UpdateSecret", "secret"),  # description, KMS key
            ("secretsmanager:ReplicateSecretToRegions", "secret"),
            ("secretsmanager:RemoveRegionsFromReplication", "secret"),
            ("secretsmanager:UntagResource", "secret"),
            ("secretsmanager:DeleteSecret", "secret"),
            ("kms:GenerateDataKey", SECRET_KEY),  # a changed key or replica re-encrypts the value
            ("kms:Encrypt", SECRET_KEY),
            ("kms:Decrypt", SECRET_KEY),
        ],
        [("secretsmanager:DescribeSecret", "secret"), ("secretsmanager:GetResourcePolicy", "secret")],
    ),
    OBJECT: (
        [
            ("s3:PutObject", "object"),
            ("s3:PutObjectTagging", "object"),
            ("s3:GetObject", "object"),  # HeadObject
            ("s3:GetObjectTagging", "object"),
            ("s3:ListBucket", "bucket"),  # HeadObject answers 404 for a missing key only with it
            ("s3:DeleteObject", "object"),
            ("s3:ListBucketVersions", "bucket, prefix the key"),  # the bucket is versioned: delete every version
            ("s3:DeleteObjectVersion", "object"),
        ],
        [("s3:GetObject", "object"), ("s3:GetObjectTagging", "object"), ("s3:ListBucket", "bucket")],
    ),
    SERVICE_ACCOUNT: ([], []),  # Kubernetes RBAC: checked against kubernetes-roles.json below
    EXTERNAL_SECRET: ([], []),
}
KUBERNETES = {SERVICE_ACCOUNT: ("", "serviceaccounts"), EXTERNAL_SECRET: ("external-secrets.io", "externalsecrets")}
KUBERNETES_VERBS = {
    "deploy": {"create", "get", "list", "watch", "patch", "update", "delete"},
    # A preview is a server-side dry-run apply, authorised like a real one (an admission policy
    # then lets the preview group only dry-run).
    "preview": {"get", "list", "watch", "create", "patch"},
}
# What must never be allowed on a workflow's secret, to anyone the CI roles describe.
SECRET_VALUE_ACTIONS = ("secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue")


def document(stack: str, account: str, purpose: str) -> dict[str, Any]:
    return json.loads((FOLDER / stack / f"{account}-{purpose}.json").read_text())


@functools.cache
def environments() -> Path:
    """Every stack with the development examples (they use every key, secrets and a project's shared secrets
    included), so that each stack's documents are checked against every resource type."""
    root = Path(tempfile.mkdtemp(prefix="ci-roles-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    for stack in STACKS:
        shutil.copytree(EXAMPLES / "development", root / stack)
    return root


@functools.cache
def rendered(stack: str, preview: bool) -> Rendered:
    return render_stack(stack, environments(), REPO, preview=preview)


@functools.cache
def config(stack: str) -> StackConfig:
    return StackConfig.from_stack_file(stack_file(REPO, stack))


def account_of(stack: str, provider: dict[str, Any]) -> str:
    """Which of the installation's accounts a provider writes to (``allowedAccountIds``)."""
    (account_id,) = json.loads(provider["inputs"]["allowedAccountIds"])
    accounts = config(stack).accounts
    return next(name for name in ACCOUNTS if getattr(accounts, name).id == account_id)


def requests(registration: Any, provider: dict[str, Any], which: int) -> Iterator[tuple[str, str, dict]]:
    """Each (action, ARN, context) the table asks for one registration: ``which`` 0 deploy, 1 preview."""
    inputs, region = registration.inputs, provider["inputs"]["region"]
    (account_id,) = json.loads(provider["inputs"]["allowedAccountIds"])
    for action, target in TABLE[registration.type][which]:
        if registration.type in (ROLE, ATTACHMENTS):
            role = f"arn:aws:iam::{account_id}:role/{inputs.get('name') or inputs.get('roleName')}"
            if target == "role, each declared policy":
                for policy in inputs["policyArns"]:
                    yield action, role, {"iam:PolicyARN": policy}
            else:
                yield action, role, {}
        elif registration.type == POLICY:
            yield action, f"arn:aws:iam::{account_id}:policy{inputs.get('path') or '/'}{inputs['name']}", {}
        elif registration.type == SECRET and target == SECRET_KEY:
            alias = "alias/" + inputs["kmsKeyId"].split(":alias/", 1)[1]
            context = {"kms:ResourceAliases": [alias], "kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}
            yield action, f"arn:aws:kms:{region}:{account_id}:key/1234abcd-12ab-34cd-56ef-1234567890ab", context
        elif registration.type == SECRET:
            yield action, f"arn:aws:secretsmanager:{region}:{account_id}:secret:{inputs['name']}-AbCdEf", {}
        elif registration.type == OBJECT and target == "object":
            yield action, f"arn:aws:s3:::{inputs['bucket']}/{inputs['key']}", {}
        elif registration.type == OBJECT:
            context = {"s3:prefix": inputs["key"]} if "prefix" in target else {}
            yield action, f"arn:aws:s3:::{inputs['bucket']}", context


def cases(stack: str, preview: bool) -> Iterator[tuple[Any, dict[str, Any]]]:
    """Each custom registration with its provider's registration."""
    registrations = rendered(stack, preview).registrations
    providers = {r.name: r.as_json() for r in registrations if r.type.startswith("pulumi:providers:")}
    for registration in registrations:
        if registration.custom and registration.type in TABLE and TABLE[registration.type][0]:
            yield registration, providers[registration.provider]


@pytest.mark.parametrize("stack", STACKS)
def test_every_registered_type_is_in_the_table(stack):
    types = {r.type for r in rendered(stack, False).registrations}
    assert types - NOTHING_TO_ALLOW <= set(TABLE), "a new resource type: add what it needs to TABLE and ci-roles/"
    # The table is not stale either: the examples register every type it lists.
    assert set(TABLE) <= types


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize(
    ("preview", "purpose"),
    [
        pytest.param(False, "deploy", id="deploy-allows-what-pulumi-up-does"),
        pytest.param(True, "preview", id="preview-allows-what-a-preview-reads"),
    ],
)
def test_the_documents_allow_what_the_program_does(stack, preview, purpose):
    missing = [
        f"{account_of(stack, provider)}-{purpose}: {action} on {arn} {context or ''}"
        for registration, provider in cases(stack, preview)
        for action, arn, context in requests(registration, provider, int(preview))
        if not allowed(document(stack, account_of(stack, provider), purpose), action, arn, context)
    ]
    assert missing == []


def assumed_roles(stack: str, preview: bool) -> set[str]:
    return {
        role["roleArn"]
        for r in rendered(stack, preview).registrations
        if r.type == "pulumi:providers:aws" and "assumeRoles" in r.inputs
        for role in json.loads(r.inputs["assumeRoles"])
    }


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize(("preview", "purpose"), [(False, "deploy"), (True, "preview")])
def test_ci_credentials_may_assume_each_providers_role_and_read_the_cluster_facts(stack, preview, purpose):
    run = rendered(stack, preview)
    common = document(stack, "common", purpose)
    # `pulumi up` runs a preview first (preview roles), then the update (deploy roles); a preview, only
    # the preview roles: pull-request code never reaches a deploy role.
    roles = assumed_roles(stack, True) | (set() if preview else assumed_roles(stack, False))
    assert len(roles) == (2 if preview else 4), "the data and compute providers assume a role"
    assert sorted(arn for arn in roles if not allowed(common, "sts:AssumeRole", arn)) == []
    if preview:
        deploy_roles = assumed_roles(stack, False)
        assert sorted(arn for arn in deploy_roles if allowed(common, "sts:AssumeRole", arn)) == []
    reads = [i for i in run.invokes if i.token == GET_SECRET_VERSION]
    assert reads, "the program reads the cluster facts"
    for invoke in reads:
        arn = f"arn:aws:secretsmanager:{config(stack).region}:{config(stack).accounts.common.id}:secret:"
        assert allowed(common, "secretsmanager:GetSecretValue", f"{arn}{invoke.args['secretId']}-AbCdEf")
        assert not allowed(common, "secretsmanager:GetSecretValue", f"{arn}{invoke.args['secretId']}-other-AbCdEf")


@pytest.mark.parametrize("stack", STACKS)
def test_no_document_reads_or_writes_a_workflow_secrets_value(stack):
    secrets = [r for r in rendered(stack, False).registrations if r.type == SECRET]
    assert secrets
    data = config(stack).accounts.data.id
    for account in ACCOUNTS:
        for purpose in ("deploy", "preview"):
            policy = document(stack, account, purpose)
            for secret in secrets:
                for region in (config(stack).region, config(stack).replica_region):
                    arn = f"arn:aws:secretsmanager:{region}:{data}:secret:{secret.inputs['name']}-AbCdEf"
                    for action in SECRET_VALUE_ACTIONS:
                        assert not allowed(policy, action, arn), f"{account}-{purpose} allows {action} on {arn}"
            actions = {a.lower() for s in statements(policy) for a in as_list(s.get("Action"))}
            assert "secretsmanager:*" not in actions and "*" not in actions
            if account != "common":  # the common account's only read is the cluster facts (checked above)
                assert not actions & {a.lower() for a in SECRET_VALUE_ACTIONS}


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("account", ACCOUNTS)
def test_preview_documents_only_read(stack, account):
    for statement in statements(document(stack, account, "preview")):
        assert statement["Effect"] == "Allow" and "NotAction" not in statement
        for action in as_list(statement["Action"]):
            verb = action.split(":", 1)[1]
            assert "*" not in action
            # Decrypting is a read when only Secrets Manager may do it (the cluster facts' secret).
            through_secrets_manager = action == "kms:Decrypt" and "kms:ViaService" in str(statement.get("Condition"))
            assert verb.startswith(("Get", "List", "Describe")) or action == "sts:AssumeRole" or through_secrets_manager


@pytest.mark.parametrize("stack", STACKS)
def test_the_deploy_documents_reach_nothing_outside_the_stack(stack):
    c = config(stack)
    data, compute = document(stack, "data", "deploy"), document(stack, "compute", "deploy")
    other = "production" if stack != "production" else "test"
    account = c.accounts.data.id
    policy = f"arn:aws:iam::{account}:policy/airflow-{stack}-demo-job"
    role = f"arn:aws:iam::{account}:role/airflow-{stack}-demo-job"
    # Control: allowed inside the stack.
    assert allowed(data, "iam:AttachRolePolicy", role, {"iam:PolicyARN": policy})
    assert allowed(data, "iam:CreateRole", role)
    # Never a policy of AWS's or another's to a workflow role; nothing of another stack or service.
    assert not allowed(
        data, "iam:AttachRolePolicy", role, {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}
    )
    assert not allowed(data, "iam:AttachRolePolicy", role, {"iam:PolicyARN": f"arn:aws:iam::{account}:policy/admin"})
    assert not allowed(data, "iam:CreateRole", f"arn:aws:iam::{account}:role/airflow-{other}-demo-job")
    assert not allowed(data, "iam:CreateRole", f"arn:aws:iam::{account}:role/analytical-platform-infrastructure-access")
    assert not allowed(data, "iam:PutRolePolicy", role)
    assert not allowed(data, "iam:PassRole", role)
    secret = f"arn:aws:secretsmanager:{c.region}:{account}:secret:/airflow/{other}/demo/job/token-AbCdEf"
    assert not allowed(data, "secretsmanager:DeleteSecret", secret)
    own = f"arn:aws:secretsmanager:{c.region}:{account}:secret:/airflow/{stack}/demo/job/token-AbCdEf"
    assert allowed(data, "secretsmanager:DeleteSecret", own, {"secretsmanager:ForceDeleteWithoutRecovery": "false"})
    # A removed secret keeps its recovery window.
    assert not allowed(data, "secretsmanager:DeleteSecret", own, {"secretsmanager:ForceDeleteWithoutRecovery": "true"})
    key = f"arn:aws:kms:{c.region}:{account}:key/1234"
    assert not allowed(data, "kms:Decrypt", key, {"kms:ResourceAliases": ["alias/secretsmanager/airflow"]})
    bucket = f"arn:aws:s3:::{c.mwaa_bucket}"
    assert allowed(compute, "s3:PutObject", f"{bucket}/dags/{stack}/demo/job/dag.py")
    assert not allowed(compute, "s3:PutObject", f"{bucket}/requirements.txt")
    # The kubeconfig belongs to the cluster's own Terraform.
    assert not allowed(compute, "s3:PutObject", f"{bucket}/dags/.kube/config")
    assert not allowed(compute, "s3:DeleteObject", f"{bucket}/dags/.kube/config")
    assert not allowed(compute, "s3:PutObject", f"arn:aws:s3:::mojap-compute-{other}-mwaa/dags/x.py")
    assert not allowed(compute, "s3:ListBucketVersions", bucket, {"s3:prefix": "requirements.txt"})


@pytest.mark.parametrize("stack", STACKS)
def test_the_kubernetes_roles_cover_every_kubernetes_type_rendered(stack):
    items = json.loads((FOLDER / stack / "kubernetes-roles.json").read_text())["items"]
    roles = {item["metadata"]["name"].rsplit("-", 1)[1]: item for item in items if item["kind"] == "Role"}
    # Each Role is bound to the group its access entry names, and the preview group may only dry-run.
    bindings = {item["metadata"]["name"]: item for item in items if item["kind"] == "RoleBinding"}
    for purpose in KUBERNETES_VERBS:
        name = f"analytical-platform-airflow-{purpose}"
        assert bindings[name]["roleRef"]["name"] == name
        assert bindings[name]["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": name}]
    (policy,) = [item for item in items if item["kind"] == "ValidatingAdmissionPolicy"]
    (binding,) = [item for item in items if item["kind"] == "ValidatingAdmissionPolicyBinding"]
    assert binding["spec"] == {"policyName": policy["metadata"]["name"], "validationActions": ["Deny"]}
    (validation,) = policy["spec"]["validations"]
    assert validation["expression"] == (
        "!('analytical-platform-airflow-preview' in request.userInfo.groups) || request.dryRun == true"
    )
    assert set(policy["spec"]["matchConstraints"]["resourceRules"][0]["operations"]) == {"CREATE", "UPDATE", "DELETE"}
    rendered_types = {r.type for r in rendered(stack, False).registrations if r.type.startswith("kubernetes:")}
    assert rendered_types <= set(KUBERNETES)
    for purpose, verbs in KUBERNETES_VERBS.items():
        role = roles[purpose]
        assert role["metadata"]["namespace"] == config(stack).namespace
        for type_ in rendered_types:
            group, resource = KUBERNETES[type_]
            granted = {
                verb
                for rule in role["rules"]
                if group in rule["apiGroups"] and resource in rule["resources"]
                for verb in rule["verbs"]
            }
            assert granted == verbs, (purpose, type_)


def test_every_document_is_a_valid_managed_policy(monkeypatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        iam = boto3.client("iam", region_name="eu-west-2")
        for path in sorted(FOLDER.glob("*/*-*.json")):
            if path.name == "kubernetes-roles.json":
                continue
            text = path.read_text()
            compact = json.dumps(json.loads(text), separators=(",", ":"))
            assert len(compact) <= 6144, path  # a managed policy's size limit
            iam.create_policy(PolicyName=f"{path.parent.name}-{path.stem}", PolicyDocument=text)  # moto validates


def test_the_documents_are_what_the_stack_files_give():
    spec = importlib.util.spec_from_file_location("ci_roles_generate", FOLDER / "generate.py")
    generate = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(generate)  # type: ignore[union-attr]
    assert generate.main(["--check"]) == 0, "run .venv/bin/python ci-roles/generate.py"
    assert sorted(p.relative_to(FOLDER).as_posix() for p in FOLDER.glob("*/*.json")) == sorted(
        f"{stack}/{name}" for stack in STACKS for name in generate.rendered(config(stack))
    )


def test_the_evaluator_tells_allow_from_deny():
    doc = {
        "Statement": [
            {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/*"},
            {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/secret/*"},
            {
                "Effect": "Allow",
                "Action": "iam:AttachRolePolicy",
                "Resource": "*",
                "Condition": {"ArnLike": {"iam:PolicyARN": "arn:aws:iam::1:policy/ok-*"}},
            },
        ]
    }
    assert allowed(doc, "S3:getobject", "arn:aws:s3:::b/x")
    assert not allowed(doc, "s3:GetObject", "arn:aws:s3:::b/secret/x")
    assert not allowed(doc, "s3:PutObject", "arn:aws:s3:::b/x")
    assert not allowed(doc, "s3:GetObject", "arn:aws:s3:::B/x")  # resources match with case
    assert allowed(doc, "iam:AttachRolePolicy", "r", {"iam:PolicyARN": "arn:aws:iam::1:policy/ok-1"})
    assert not allowed(doc, "iam:AttachRolePolicy", "r", {"iam:PolicyARN": "arn:aws:iam::1:policy/no"})
    assert not allowed(doc, "iam:AttachRolePolicy", "r")  # the condition's key is absent
    assert action_matches("kms:GenerateDataKey*", "kms:GenerateDataKeyWithoutPlaintext")


def test_readme_lists_every_file():
    readme = (FOLDER / "README.md").read_text()
    for name in {p.name for p in FOLDER.glob("*/*.json")}:
        assert f"`{name}`" in readme, name


@pytest.mark.parametrize("stack", STACKS)
def test_the_data_preview_role_covers_the_read_only_lookups(stack):
    # `import-plan --lookup` (its calls: LOOKUP_OPERATIONS in tests/shell/test_importplan.py) and
    # `secrets-status` run with it.
    c, preview = config(stack), document(stack, "data", "preview")
    account = c.accounts.data.id
    role = f"arn:aws:iam::{account}:role/airflow-{stack}-demo-job"
    policy = f"arn:aws:iam::{account}:policy/airflow-{stack}-demo-job"
    secret = f"arn:aws:secretsmanager:{c.region}:{account}:secret:/airflow/{stack}/demo/job/token-AbCdEf"
    key = f"arn:aws:kms:{c.region}:{account}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    for action, arn, context in [
        ("iam:GetRole", role, {}),
        ("iam:ListAttachedRolePolicies", role, {}),
        ("iam:GetPolicy", policy, {}),
        ("iam:GetPolicyVersion", policy, {}),
        ("secretsmanager:ListSecrets", "*", {}),
        ("secretsmanager:DescribeSecret", secret, {}),
        ("secretsmanager:GetResourcePolicy", secret, {}),
        ("secretsmanager:ListSecretVersionIds", secret, {}),
        ("kms:DescribeKey", key, {"kms:ResourceAliases": ["alias/secretsmanager/airflow"]}),
    ]:
        assert allowed(preview, action, arn, context), action


@pytest.mark.parametrize("stack", STACKS)
def test_the_deploy_role_manages_the_projects_shared_secrets_but_never_reads_or_writes_their_value(stack):
    """``/airflow/<env>/<project>/shared/<id>`` (project.yml) is managed like a workflow's secret: the example
    project's shared secret, rendered in every stack, is covered by the deploy document, never its value."""
    c = config(stack)
    data = c.accounts.data.id
    shared = sorted(
        r.inputs["name"] for r in rendered(stack, False).registrations if r.type == SECRET and "/shared/" in r.name
    )
    name = f"/airflow/{stack}/platform-examples/shared/warehouse-login"
    assert shared == [name]
    deploy, preview = document(stack, "data", "deploy"), document(stack, "data", "preview")
    for region in (c.region, c.replica_region):
        arn = f"arn:aws:secretsmanager:{region}:{data}:secret:{name}-AbCdEf"
        for action, _ in TABLE[SECRET][0]:
            if action.startswith("secretsmanager:"):
                assert allowed(deploy, action, arn, {"secretsmanager:ForceDeleteWithoutRecovery": "false"}), action
        assert not allowed(
            deploy, "secretsmanager:DeleteSecret", arn, {"secretsmanager:ForceDeleteWithoutRecovery": "true"}
        )
        for action, _ in TABLE[SECRET][1]:
            assert allowed(preview, action, arn), action
        for account in ACCOUNTS:
            for purpose in ("deploy", "preview"):
                for action in SECRET_VALUE_ACTIONS:
                    assert not allowed(document(stack, account, purpose), action, arn), (account, purpose, action)
    # Another stack's shared secrets are out of reach.
    other = "production" if stack != "production" else "test"
    elsewhere = f"arn:aws:secretsmanager:{c.region}:{data}:secret:/airflow/{other}/platform-examples/shared/x-AbCdEf"
    assert not allowed(deploy, "secretsmanager:CreateSecret", elsewhere)
