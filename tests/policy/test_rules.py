"""The policy pack's rules: a passing and a failing resource for each, and whole rendered stacks pass."""

from __future__ import annotations

import ast
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from policy import rules
from shell.offline import run_program
from tests.conftest import EXAMPLES, MINIMAL, REPO
from workflows import tokens
from workflows.model import ENVIRONMENTS

# The stack files read the cluster facts at plan time; offline, the example issuer stands in.
OIDC = "oidc.eks.eu-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
PROVIDER = f"arn:aws:iam::593291632749:oidc-provider/{OIDC}"
TAGS = {
    "business-unit": "Platforms",
    "application": "analytical-platform-airflow",
    "environment": "development",
    "is-production": "false",
    "owner": "analytical-platform@digital.justice.gov.uk",
    "source-code": "github.com/ministryofjustice/analytical-platform-airflow",
}


def trust(sub: str = "system:serviceaccount:mwaa:demo-job", **overrides: Any) -> str:
    statement = {
        "Effect": "Allow",
        "Principal": {"Federated": PROVIDER},
        "Action": ["sts:AssumeRoleWithWebIdentity"],
        "Condition": {"StringEquals": {f"{OIDC}:sub": sub, f"{OIDC}:aud": "sts.amazonaws.com"}},
    }
    statement.update(overrides)
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def role(name: str = "airflow-development-demo-job", **props: Any) -> dict[str, Any]:
    return {"name": name, "assumeRolePolicy": trust(), "tags": TAGS, **props}


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions: Any, resources: Any = "arn:aws:s3:::bucket/*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


@pytest.fixture
def stack_file(tmp_path, monkeypatch):
    """Point the rules at a repository whose only stack file is ``Pulumi.development.yaml`` with ``text``
    (the rules' cached reads cleared before and after)."""

    def write(text: str) -> None:
        (tmp_path / "Pulumi.development.yaml").write_text(text)
        monkeypatch.setattr(rules, "REPO", tmp_path)
        rules.stack_settings.cache_clear()
        rules.environments.cache_clear()

    yield write
    rules.stack_settings.cache_clear()
    rules.environments.cache_clear()


# --------------------------------------------------------------------------- role-name


def test_role_name_passes():
    assert rules.role_name(rules.ROLE_TYPE, role(), "development") == []
    assert rules.role_name(rules.ROLE_TYPE, role("airflow-production-p-w"), "production") == []


@pytest.mark.parametrize(
    ("name", "environment", "expected"),
    [
        ("airflow-test-demo-job", "development", "must start with 'airflow-development-'"),
        ("demo-job", "development", "must start with 'airflow-development-'"),
        ("airflow-development-" + "x" * 45, "development", "65 characters, over IAM's limit of 64"),
        (None, "development", "must have an explicit name"),
    ],
)
def test_role_name_fails(name, environment, expected):
    (message,) = rules.role_name(rules.ROLE_TYPE, role(name), environment)
    assert expected in message


def test_role_name_of_exactly_64_characters_passes():
    name = "airflow-development-" + "x" * 44
    assert len(name) == 64
    assert rules.role_name(rules.ROLE_TYPE, role(name), "development") == []


def test_rules_ignore_other_types():
    attachments = {"roleName": "x", "policyArns": ["arn:aws:iam::593291632749:policy/airflow-service/kms"]}
    for rule in rules.RULES:
        assert (
            rule.check(
                "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive", attachments, "development"
            )
            == []
        )


# --------------------------------------------------------------------------- role-trust


def test_role_trust_passes():
    assert rules.role_trust(rules.ROLE_TYPE, role(), "development") == []
    # Alias or not, the subject is the role name without airflow-<env>-.
    emds = role("airflow-test-emds-load", assumeRolePolicy=trust("system:serviceaccount:mwaa:emds-load"))
    assert rules.role_trust(rules.ROLE_TYPE, emds, "test") == []


@pytest.mark.parametrize(
    ("assume_role_policy", "expected"),
    [
        (trust("system:serviceaccount:mwaa:other-job"), "sub must be exactly 'system:serviceaccount:mwaa:demo-job'"),
        (trust("system:serviceaccount:default:demo-job"), "sub must be exactly"),
        (trust(Principal={"Federated": PROVIDER, "AWS": "arn:aws:iam::1:root"}), "Federated OIDC provider only"),
        (trust(Principal={"AWS": "*"}), "Federated OIDC provider only"),
        (trust(Principal={"Federated": "arn:aws:iam::1:saml-provider/x"}), "one OIDC provider ARN"),
        (trust(Action=["sts:AssumeRoleWithWebIdentity", "sts:AssumeRole"]), "Action must be exactly"),
        (trust(Effect="Deny"), "Effect must be Allow"),
        (trust(Condition={"StringEquals": {f"{OIDC}:sub": "system:serviceaccount:mwaa:demo-job"}}), ":aud must be"),
        (
            trust(
                Condition={
                    "StringLike": {f"{OIDC}:sub": "system:serviceaccount:mwaa:*", f"{OIDC}:aud": "sts.amazonaws.com"}
                }
            ),
            "sub must be exactly",
        ),
        (document(), "has no trust statement"),
        ("not json", "not valid JSON"),
    ],
)
def test_role_trust_fails(assume_role_policy, expected):
    problems = rules.role_trust(rules.ROLE_TYPE, role(assumeRolePolicy=assume_role_policy), "development")
    assert any(expected in p for p in problems), problems


def test_role_trust_needs_the_environment_prefix():
    (message,) = rules.role_trust(rules.ROLE_TYPE, role("airflow-test-demo-job"), "development")
    assert "cannot be checked" in message


# --------------------------------------------------------------------------- no-wildcard-actions


def test_no_wildcard_actions_passes():
    policy = document(
        allow(["s3:GetObject", "s3:PutObject"]),
        allow("s3:ListAllMyBuckets", "*"),  # no resource-level permissions: "*" is its only resource
        allow(["kms:GenerateDataKey*", "kms:Decrypt"], "arn:aws:kms:eu-west-2:1:key/k"),
        allow(["textract:AnalyzeDocument"], "*"),
        {"Effect": "Deny", "Action": "s3:*", "Resource": "*"},  # a Deny of everything is fine
    )
    assert rules.no_wildcard_actions(rules.POLICY_TYPE, {"name": "p", "policy": policy}, "development") == []
    secret_policy = document(
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::1:root"},
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*",
        }
    )
    assert (
        rules.no_wildcard_actions(rules.SECRET_TYPE, {"name": "/airflow/x", "policy": secret_policy}, "development")
        == []
    )


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (allow("*", "*"), "allows every action of a service (*)"),
        (allow(["s3:GetObject", "s3:*"]), "allows every action of a service (s3:*)"),
        (allow(["glue:*"], "arn:aws:glue:*:1:*"), "(glue:*)"),
        (allow(["s3:GetObject"], "*"), "allows s3:GetObject on every bucket"),
        (allow(["s3:Get*"], ["arn:aws:s3:::*"]), "on every bucket"),
        (allow(["s3:PutObject"], "arn:aws:s3:::*/*"), "on every bucket"),
        ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, "Allow with NotAction"),
        ({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::x/*"}, "Allow with NotResource"),
    ],
)
def test_no_wildcard_actions_fails(statement, expected):
    problems = rules.no_wildcard_actions(rules.POLICY_TYPE, {"name": "p", "policy": document(statement)}, "development")
    assert any(expected in p for p in problems), problems


def test_no_wildcard_actions_checks_every_document_a_type_holds():
    bad = document(allow("*", "*"))
    inline = role(inlinePolicies=({"name": "inline", "policy": bad},))  # the policy SDK hands lists as sequences
    assert rules.no_wildcard_actions(rules.ROLE_TYPE, inline, "development")
    assert rules.no_wildcard_actions(rules.ROLE_POLICY_TYPE, {"name": "x", "policy": bad}, "development")
    assert rules.no_wildcard_actions(
        rules.SECRET_TYPE, {"name": "/airflow/development/x", "policy": bad}, "development"
    )
    assert rules.no_wildcard_actions(rules.SECRET_POLICY_TYPE, {"policy": bad}, "development")
    assert rules.no_wildcard_actions(rules.POLICY_TYPE, {"name": "x", "policy": "{oops"}, "development")


# --------------------------------------------------------------------------- platform-buckets

DEV_MWAA = "arn:aws:s3:::mojap-compute-development-mwaa"
PROD_MWAA = "arn:aws:s3:::mojap-compute-production-mwaa"
DENY_PLATFORM = {
    "Sid": "DenyPlatformBuckets",
    "Effect": "Deny",
    "Action": ["s3:*"],
    "Resource": [DEV_MWAA, f"{DEV_MWAA}/*", PROD_MWAA, f"{PROD_MWAA}/*"],
}


def platform_violations(*statements: dict[str, Any], environment: str = "development") -> list[str]:
    return rules.platform_buckets(rules.POLICY_TYPE, {"name": "p", "policy": document(*statements)}, environment)


def test_platform_buckets_pass():
    assert (
        platform_violations(
            allow(["s3:GetObject", "s3:PutObject"], ["arn:aws:s3:::bucket-a/*", "arn:aws:s3:::bucket-b"]),
            allow("s3:ListAllMyBuckets", "*"),  # reaches no bucket
            allow(["s3:GetObject"], "arn:aws:s3:::mojap-compute-development-mwaa-logs/*"),  # another bucket
            allow(["s3:GetObject"], "arn:aws:s3:::bucket-a/mojap-compute-development-mwaa/*"),  # a key, not a bucket
            allow(["kms:Decrypt"], "*"),  # not S3
            allow(["lakeformation:GetDataAccess"], "*"),
            {"Effect": "Deny", "Action": "s3:*", "Resource": "*"},  # Denies are fine
            DENY_PLATFORM,
        )
        == []
    )


@pytest.mark.parametrize(
    ("statement", "bucket"),
    [
        (allow(["s3:PutObject"], f"{DEV_MWAA}/dags/*"), "mojap-compute-development-mwaa"),
        (allow(["s3:GetObject"], f"{DEV_MWAA}/dags/runtime/__init__.py"), "mojap-compute-development-mwaa"),
        (allow(["s3:ListBucket"], DEV_MWAA), "mojap-compute-development-mwaa"),
        (allow(["s3:PutObject"], [f"{PROD_MWAA}/*"]), "mojap-compute-production-mwaa"),  # another environment's
        (allow(["s3:PutObject"], "arn:aws:s3:::mojap-compute-test-mwaa/dags/*"), "mojap-compute-test-mwaa"),
        (allow(["s3:PutObject"], "arn:aws:s3:::mojap-*/dags/*"), "mojap-compute-development-mwaa"),
        (allow(["s3:PutObject"], "arn:aws:s3:::mojap-compute-????-mwaa/*"), "mojap-compute-test-mwaa"),
        (allow(["s3:PutObject"], "arn:aws:s3:::*"), "mojap-compute-development-mwaa"),
        (allow(["s3:GetObject"], "*"), "mojap-compute-development-mwaa"),
        (allow(["s3:GetObject"], "arn:*:s3:::mojap-compute-test-mwaa/*"), "mojap-compute-"),
        (allow("*", f"{DEV_MWAA}/*"), "mojap-compute-development-mwaa"),
        (allow(["s3:Put*"], f"{DEV_MWAA}/*"), "mojap-compute-development-mwaa"),
        (allow(["S3:PutObject"], f"{DEV_MWAA}/*"), "mojap-compute-development-mwaa"),
        (allow(["s?:PutObject"], f"{DEV_MWAA}/*"), "mojap-compute-development-mwaa"),
        (allow(["s3:ListAllMyBuckets", "s3:GetObject"], "*"), "mojap-compute-development-mwaa"),
    ],
)
def test_platform_buckets_fail(statement, bucket):
    problems = platform_violations(statement, DENY_PLATFORM)  # the Deny does not excuse the Allow
    assert len(problems) == 1, problems
    assert f"which matches the platform bucket {bucket}" in problems[0]
    assert "no workflow may be granted access to it" in problems[0]
    assert problems[0].startswith("Policy 'p' policy statement #1: allows ")


def test_platform_buckets_checks_every_document_a_type_holds():
    bad = document(allow(["s3:PutObject"], f"{DEV_MWAA}/dags/*"))
    inline = role(inlinePolicies=({"name": "inline", "policy": bad},))
    assert rules.platform_buckets(rules.ROLE_TYPE, inline, "development")
    assert rules.platform_buckets(rules.ROLE_POLICY_TYPE, {"name": "x", "policy": bad}, "test")
    assert rules.platform_buckets(rules.POLICY_TYPE, {"name": "x", "policy": bad}, "production")
    assert rules.platform_buckets(rules.POLICY_TYPE, {"name": "x", "policy": bad}, "staging") == []  # environment
    assert "platform-buckets" in rules.violations(rules.POLICY_TYPE, {"name": "x", "policy": bad}, "development")


def test_platform_buckets_come_from_the_stack_file(stack_file):
    stack_file(
        "config:\n  platform:namespace: mwaa\n  platform:dagsPrefix: dags/\n"
        "  platform:platformBuckets: [my-state-bucket, mojap-compute-development-mwaa]\n"
    )
    assert platform_violations(allow(["s3:GetObject"], "arn:aws:s3:::my-state-bucket/.pulumi/*"))
    assert platform_violations(allow(["s3:GetObject"], f"{PROD_MWAA}/*")) == []  # not listed in this file


def test_the_pack_and_the_stack_match_platform_buckets_with_the_same_code():
    """One matcher: the pack loads the stack's own file (workflows/plan/platform_buckets.py)."""
    from workflows.plan import platform_buckets

    assert Path(rules.platform_buckets_matcher.__file__) == Path(platform_buckets.__file__)


# --------------------------------------------------------------------------- secret-name


LAYOUTS = (
    "/airflow/development/<project>/<workflow>/<secret> for a workflow's secret, or "
    "/airflow/development/<project>/shared/<secret> for a project's shared secret"
)


@pytest.mark.parametrize(
    "name",
    [
        "/airflow/development/demo/job/api-key",
        # A project's shared secret (project.yml), aliased project or not.
        "/airflow/development/demo/shared/warehouse-login",
        "/airflow/development/emds/shared/warehouse-login",
    ],
)
def test_secret_name_passes(name):
    assert rules.secret_name(rules.SECRET_TYPE, {"name": name}, "development") == []


@pytest.mark.parametrize(
    "name", ["/airflow/production/demo/job/key", "airflow/development/x", "/airflow/development/", None]
)
def test_secret_name_fails(name):
    (message,) = rules.secret_name(rules.SECRET_TYPE, {"name": name}, "development")
    assert message == f"secret name {name!r} must start with '/airflow/development/' ({LAYOUTS})"


@pytest.mark.parametrize(
    "name",
    [
        "/airflow/development/x",
        "/airflow/development/demo/shared",
        "/airflow/development/demo//key",
        "/airflow/development/demo/job/key/extra",
        "/airflow/development/demo/../key",
        "/airflow/development/demo/shared/",
    ],
)
def test_secret_name_of_another_shape_fails(name):
    assert rules.secret_name(rules.SECRET_TYPE, {"name": name}, "development") == [
        f"secret name {name!r} must be {LAYOUTS}"
    ]


def test_the_shared_secrets_component_has_nothing_to_check():
    """A project's SharedSecrets component (project.yml): its inputs only name the project; every rule but the
    environment's leaves it alone (its secrets and ExternalSecrets are checked one by one)."""
    props = {"environment": "development", "project": "demo"}
    for rule in rules.RULES:
        assert rule.check(tokens.SHARED_SECRETS, props, "development") == [], rule.name
        assert rule.check(tokens.SHARED_SECRETS, {}, "development") == [], rule.name
    assert rules.violations(tokens.SHARED_SECRETS, props, "dev-alice") == {
        "environment": [
            "stack 'dev-alice' is not one of development, production, test: the stack name is the environment"
        ]
    }


# --------------------------------------------------------------------------- dag-object-key


def test_dag_object_key_passes():
    assert rules.dag_object_key(rules.DAG_OBJECT_TYPE, {"key": "dags/development/demo/job/dag.py"}, "development") == []


@pytest.mark.parametrize(
    "key", ["plugins/demo.py", "/dags/demo.py", "dags/../requirements.txt", "requirements.txt", None]
)
def test_dag_object_key_fails(key):
    (message,) = rules.dag_object_key(rules.DAG_OBJECT_TYPE, {"key": key}, "development")
    assert "must be under 'dags/'" in message
    assert rules.dag_object_key(rules.LEGACY_DAG_OBJECT_TYPE, {"key": key}, "development")


# --------------------------------------------------------------------------- required-tags


@pytest.mark.parametrize("resource_type", rules.TAGGABLE)
def test_required_tags_pass(resource_type):
    assert rules.required_tags(resource_type, {"name": "x", "tags": TAGS}, "development") == []
    production = TAGS | {"environment": "production", "is-production": "true"}
    assert rules.required_tags(resource_type, {"name": "x", "tags": production}, "production") == []


@pytest.mark.parametrize(
    ("tags", "environment", "expected"),
    [
        ({k: v for k, v in TAGS.items() if k != "owner"}, "development", "missing tag(s) owner"),
        (TAGS | {"source-code": ""}, "development", "missing tag(s) source-code"),
        (None, "development", "missing tag(s) business-unit, application, environment"),
        (TAGS, "test", "environment='development' in stack 'test'"),
        (TAGS | {"environment": "production"}, "production", "is-production='false'; expected 'true'"),
    ],
)
def test_required_tags_fail(tags, environment, expected):
    problems = rules.required_tags(rules.SECRET_TYPE, {"name": "/airflow/x", "tags": tags}, environment)
    assert any(expected in p for p in problems), problems


# --------------------------------------------------------------------------- environment, URNs


def test_environment_rule():
    assert rules.known_environment(rules.ROLE_TYPE, {}, "production") == []
    (message,) = rules.known_environment(rules.ROLE_TYPE, {}, "dev-alice")
    assert "'dev-alice' is not one of development, production, test" in message


def test_stack_of_urn():
    urn = "urn:pulumi:production::analytical-platform-airflow::aws:iam/role:Role::x"
    assert rules.stack_of(urn) == "production"


def test_violations_collects_by_rule():
    found = rules.violations(rules.ROLE_TYPE, role("bad", tags={}), "development")
    assert set(found) == {"role-name", "role-trust", "required-tags"}


# --------------------------------------------------------------------------- whole stacks

FULL = """
dag:
  repository: moj-analytical-services/everything
  tag: v1.0.0
  tasks:
    extract: {}
    load: {dependencies: [extract]}
iam:
  athena: write
  glue: true
  bedrock: true
  textract: true
  lake_formation: true
  update_secrets: true
  s3_read_only: [bucket-one/data/*]
  s3_read_write: [bucket-two]
  s3_write_only: [bucket-three/out/*]
  # A platform bucket may be denied (only granting is refused): it gets no ListBucket, so the pack passes.
  s3_deny: [bucket-two/private/*, mojap-compute-production-mwaa/*]
  kms: [arn:aws:kms:eu-west-2:593291632749:key/0000-1111]
  cloudwatch_logs_read_only: [arn:aws:logs:eu-west-2:593291632749:log-group:/aws/x]
secrets: [api-key, db-password]
maintainers: [octo-analyst]
tags:
  business_unit: HQ
  owner: someone@justice.gov.uk
"""
EXTERNAL = MINIMAL + "iam:\n  external_role: arn:aws:iam::123456789012:role/somewhere-else\n"


@pytest.fixture(scope="module")
def own_examples(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("policy") / "environments"
    for environment in ("development", "test", "production"):
        for key, text in {
            "demo/minimal": MINIMAL,
            "demo/everything": FULL + "shared_secrets: [warehouse-login]\n",
            "demo/external": EXTERNAL,
            "electronic-monitoring-data-store/load": MINIMAL + "shared_secrets: [feed]\n",
        }.items():
            path = root / environment / key / "workflow.yml"
            path.parent.mkdir(parents=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"))
        # Projects' shared secrets (project.yml), one of an aliased project.
        for project, secrets in {
            "demo": "[warehouse-login, spare]",
            "electronic-monitoring-data-store": "[feed]",
        }.items():
            (root / environment / project / "project.yml").write_text(
                f"secrets: {secrets}\nmaintainers: [octo-analyst]\n"
            )
    return root


def violations_of(registrations) -> dict[tuple[str, str], dict[str, list[str]]]:
    return {
        (r.type, r.name): found
        for r in registrations
        if (found := rules.violations(r.type, r.inputs, rules.stack_of(r.urn)))
    }


@pytest.mark.parametrize("stack", ["development", "test", "production"])
def test_every_resource_of_a_rendered_stack_passes(stack, own_examples):
    registrations = run_program(stack, own_examples, REPO)
    # The examples reach every rule, in the stack's own environment.
    types = {r.type for r in registrations}
    assert {rules.ROLE_TYPE, rules.POLICY_TYPE, rules.SECRET_TYPE, rules.DAG_OBJECT_TYPE} <= types
    assert tokens.SHARED_SECRETS in types
    assert {r.inputs["name"] for r in registrations if r.type == rules.SECRET_TYPE and "/shared/" in r.name} == {
        f"/airflow/{stack}/demo/shared/warehouse-login",
        f"/airflow/{stack}/demo/shared/spare",
        f"/airflow/{stack}/emds/shared/feed",
    }
    assert {rules.stack_of(r.urn) for r in registrations} == {stack}
    assert violations_of(registrations) == {}


@pytest.mark.parametrize("stack", ["development", "test", "production"])
def test_the_repository_examples_pass(stack):
    if not (EXAMPLES / stack).is_dir():
        pytest.skip(f"no examples for {stack}")
    assert violations_of(run_program(stack, EXAMPLES, REPO)) == {}


def test_a_rendered_resource_that_breaks_a_rule_is_caught(own_examples):
    registrations = run_program("development", own_examples, REPO)
    role_ = next(r for r in registrations if r.type == rules.ROLE_TYPE)
    broken = dict(role_.inputs, assumeRolePolicy=role_.inputs["assumeRolePolicy"].replace(":mwaa:", ":default:"))
    assert "role-trust" in rules.violations(role_.type, broken, "development")
    policy_ = next(r for r in registrations if r.type == rules.POLICY_TYPE and r.name == "demo/everything")
    document_ = json.loads(policy_.inputs["policy"])
    assert document_["Statement"][-1]["Sid"] == "DenyPlatformBuckets"
    document_["Statement"].append(allow(["s3:PutObject"], "arn:aws:s3:::mojap-compute-development-mwaa/dags/*"))
    broken = dict(policy_.inputs, policy=json.dumps(document_))
    assert "platform-buckets" in rules.violations(policy_.type, broken, "development")


# --------------------------------------------------------------------------- the pack itself


def test_rules_need_only_the_standard_library_and_yaml():
    """The pack's venv has the standard library, the Pulumi SDK and PyYAML (pinned in its requirements)."""
    tree = ast.parse((REPO / "policy" / "rules.py").read_text())
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported - {"__future__", "yaml"} <= set(sys.stdlib_module_names)
    assert "PyYAML==" in (REPO / "policy" / "requirements.txt").read_text()


def test_namespace_and_dag_prefix_come_from_the_stack_file(stack_file):
    """The pack reads platform:namespace and platform:dagsPrefix where the stack does: a stack file that
    says otherwise changes what the rules expect."""
    stack_file(
        "config:\n  platform:namespace: airflow-jobs\n  platform:dagsPrefix: airflow/dags/\n"
        "  platform:platformBuckets: [b]\n"
    )
    assert rules.stack_settings("development") == rules.StackSettings("airflow-jobs", "airflow/dags/", ("b",))
    assert rules.dag_object_key(rules.DAG_OBJECT_TYPE, {"key": "airflow/dags/x/y/dag.py"}, "development") == []
    assert rules.dag_object_key(rules.DAG_OBJECT_TYPE, {"key": "dags/x/y/dag.py"}, "development")
    # A role's trust names the stack file's namespace.
    airflow_jobs = role(assumeRolePolicy=trust("system:serviceaccount:airflow-jobs:demo-job"))
    assert rules.role_trust(rules.ROLE_TYPE, airflow_jobs, "development") == []
    assert rules.role_trust(rules.ROLE_TYPE, role(), "development")  # namespace mwaa


def test_the_repository_stacks_are_the_environments_and_set_namespace_and_prefix():
    assert set(rules.environments()) == set(ENVIRONMENTS)
    for environment in ENVIRONMENTS:
        assert rules.stack_settings(environment) == rules.StackSettings(
            "mwaa",
            "dags/",
            ("mojap-compute-development-mwaa", "mojap-compute-test-mwaa", "mojap-compute-production-mwaa"),
        )


def test_pack_definition():
    pack = yaml.safe_load((REPO / "policy" / "PulumiPolicy.yaml").read_text())
    assert pack["runtime"]["name"] == "python"
    assert pack["runtime"]["options"]["virtualenv"] == "venv"
    requirements = (REPO / "policy" / "requirements.txt").read_text()
    assert "pulumi-policy==" in requirements
    main = (REPO / "policy" / "__main__.py").read_text()
    assert "rules.RULES" in main
    assert "EnforcementLevel.MANDATORY" in main
    assert len({rule.name for rule in rules.RULES}) == len(rules.RULES)
