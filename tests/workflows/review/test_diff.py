"""The pure comparison behind ``python -m workflows diff``: resources and manifests in, a summary out."""

from __future__ import annotations

import json
import random
from typing import Any

from workflows.review.diff import PLATFORM, WORKFLOW_TYPE, changed_fields, compare

STACK_URN = (
    "urn:pulumi:development::analytical-platform-airflow::pulumi:pulumi:Stack::analytical-platform-airflow-development"
)
ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
ATTACHMENTS = "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"
DAG = "aws:s3/bucketObjectv2:BucketObjectv2"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
BUCKET = "mojap-development-mwaa"


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:development::analytical-platform-airflow::{type_}::{name}"


def workflow(
    key: str,
    *,
    tag: str = "v1.0.0",
    actions: tuple[str, ...] = ("s3:GetObject",),
    owner: str = "a@justice.gov.uk",
    secrets: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """The resources one workflow renders to, as ``render`` writes them.

    One Workflow component named ``<project>/<workflow>`` whose direct children are the
    role, policy, role policy attachments, service account and DAG object (all named
    like the component) and, per secret, a secret, its version and its ExternalSecret
    (named ``<project>/<workflow>/<secret>``).
    """
    project, name = key.split("/")
    base = f"{project}-{name}"
    component = {
        "type": WORKFLOW_TYPE,
        "name": key,
        "urn": urn(f"pulumi:pulumi:Stack${WORKFLOW_TYPE}", key),
        "parent": STACK_URN,
        "custom": False,
        "inputs": {"environment": "development", "project": project, "workflow": name},
    }
    tags = {"owner": owner, "environment-name": "development"}
    role_name = f"airflow-development-{base}"
    policy_arn = f"arn:aws:iam::593291632749:policy/{role_name}"
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": ["*"]}]}
    dag = {
        "bucket": BUCKET,
        "key": f"dags/development/{project}/{name}/dag.py",
        "content": f"import x\n\nIMAGE = 'img:{tag}'\n",
        "tags": tags,
    }
    children = [
        (ROLE, key, {"name": role_name, "tags": tags}),
        (POLICY, key, {"name": role_name, "policy": json.dumps(policy), "tags": tags}),
        (ATTACHMENTS, key, {"roleName": role_name, "policyArns": [policy_arn]}),
        (SERVICE_ACCOUNT, key, {"metadata": {"name": base, "namespace": "mwaa"}}),
        (DAG, key, dag),
    ]
    for secret in secrets:
        secret_name = f"/airflow/development/{project}/{name}/{secret}"
        children += [
            (SECRET, f"{key}/{secret}", {"name": secret_name, "tags": tags}),
            (SECRET_VERSION, f"{key}/{secret}", {"secretId": f"arn:aws:secretsmanager:::secret:{secret_name}"}),
            (EXTERNAL_SECRET, f"{key}/{secret}", {"metadata": {"name": f"{base}-{secret}", "namespace": "mwaa"}}),
        ]
    return [component] + [
        {
            "type": t,
            "name": n,
            "urn": urn(f"{WORKFLOW_TYPE}${t}", n),
            "parent": component["urn"],
            "custom": True,
            "inputs": i,
        }
        for t, n, i in children
    ]


def platform(content: str = "ignore\n") -> list[dict[str, Any]]:
    runtime = "analytical-platform:platform:PlatformRuntime"
    component = {
        "type": runtime,
        "name": "platform-runtime",
        "urn": urn(f"pulumi:pulumi:Stack${runtime}", "platform-runtime"),
        "parent": STACK_URN,
        "custom": False,
        "inputs": {},
    }
    # A runtime file's logical name is its full key.
    obj = {
        "type": DAG,
        "name": "dags/.airflowignore",
        "urn": urn(f"{runtime}${DAG}", "dags/.airflowignore"),
        "parent": component["urn"],
        "custom": True,
        "inputs": {"bucket": BUCKET, "key": "dags/.airflowignore", "content": content},
    }
    return [component, obj]


def manifest(tag: str = "v1.0.0", maintainers: tuple[str, ...] = ("Alice",), **dag: Any) -> dict[str, Any]:
    return {
        "dag": {"repository": "moj-analytical-services/x", "tag": tag, **dag},
        "maintainers": list(maintainers),
        "tags": {"business_unit": "HQ", "owner": "a@justice.gov.uk"},
    }


def test_added_removed_changed_and_unchanged_workflows():
    secrets = ("db-passwd",)
    base = [*platform(), *workflow("p/kept"), *workflow("p/gone", secrets=secrets), *workflow("p/edited")]
    head = [
        *platform(),
        *workflow("p/kept"),
        *workflow("p/new", secrets=secrets),
        *workflow("p/edited", actions=("s3:PutObject",)),
    ]
    diff = compare(
        base,
        head,
        stack="development",
        base_ref="origin/main",
        base_manifests={"p/kept": manifest(), "p/gone": manifest(), "p/edited": manifest()},
        head_manifests={"p/kept": manifest(), "p/new": manifest(), "p/edited": manifest(retries=2)},
    )
    changes = {w.key: w.change for w in diff.workflows}
    assert changes == {"p/kept": "unchanged", "p/gone": "removed", "p/new": "added", "p/edited": "changed"}
    added = next(w for w in diff.workflows if w.key == "p/new")
    # Resources sharing a logical name are told apart by their type; a secret's resources are the workflow's.
    assert {(r.type, r.name, r.change) for r in added.resources} == {
        (ROLE, "p/new", "added"),
        (POLICY, "p/new", "added"),
        (ATTACHMENTS, "p/new", "added"),
        (SERVICE_ACCOUNT, "p/new", "added"),
        (DAG, "p/new", "added"),
        (SECRET, "p/new/db-passwd", "added"),
        (SECRET_VERSION, "p/new/db-passwd", "added"),
        (EXTERNAL_SECRET, "p/new/db-passwd", "added"),
    }
    removed = next(w for w in diff.workflows if w.key == "p/gone")
    assert {r.change for r in removed.resources} == {"removed"}
    assert len(removed.resources) == 8
    edited = next(w for w in diff.workflows if w.key == "p/edited")
    # Which resource, and which field of it: the policy document compares as JSON, not as one string.
    assert [(r.type, r.name, r.fields) for r in edited.resources] == [(POLICY, "p/edited", ("policy.Statement",))]
    assert edited.manifest_fields == ("dag.retries",)
    assert not edited.tag_only
    assert diff.platform == ()

    text = diff.markdown()
    assert "**1 added, 1 removed, 1 changed** workflow(s), 1 unchanged" in text
    assert "| `p/new` | added |" in text
    assert "| `p/gone` | removed |" in text
    assert "| `p/edited` | changed | manifest: `dag.retries`; resources: 1 changed |" in text
    assert "`p/kept`" not in text
    assert "`policy.Statement`" in text
    assert '-        "s3:GetObject"' in text
    assert '+        "s3:PutObject"' in text


def test_tag_bump_by_a_listed_maintainer_is_tag_only_by_maintainer():
    diff = compare(
        workflow("p/job", tag="v1.0.0"),
        workflow("p/job", tag="v1.1.0"),
        stack="development",
        base_ref="main",
        base_manifests={"p/job": manifest("v1.0.0", maintainers=("Alice", "bob"))},
        head_manifests={"p/job": manifest("v1.1.0", maintainers=("Alice", "bob"))},
        author="alice",  # GitHub user names compare without case
    )
    (job,) = diff.workflows
    assert job.change == "changed"
    assert job.tag == ("v1.0.0", "v1.1.0")
    assert job.tag_only
    assert job.author_is_maintainer
    assert job.tag_only_by_maintainer
    assert diff.only_tag_bumps_by_maintainers
    assert [(r.type, r.fields) for r in job.resources] == [(DAG, ("content",))]
    text = diff.markdown()
    assert "| `p/job` | image tag only | tag `v1.0.0` → `v1.1.0`; by @alice, a listed maintainer;" in text
    assert "Every change is an image-tag bump by a listed maintainer" in text
    assert "+IMAGE = 'img:v1.1.0'" in text


def test_tag_bump_by_someone_not_listed_is_not_tag_only_by_maintainer():
    diff = compare(
        workflow("p/job", tag="v1.0.0"),
        workflow("p/job", tag="v1.1.0"),
        stack="development",
        base_ref="main",
        base_manifests={"p/job": manifest("v1.0.0")},
        head_manifests={"p/job": manifest("v1.1.0")},
        author="mallory",
    )
    (job,) = diff.workflows
    assert job.tag_only
    assert not job.author_is_maintainer
    assert not job.tag_only_by_maintainer
    assert not diff.only_tag_bumps_by_maintainers
    assert "by @mallory, **not** a listed maintainer" in diff.markdown()
    assert "Every change is an image-tag bump" not in diff.markdown()


def test_maintainers_are_those_of_the_base_ref():
    # Mallory adds herself as a maintainer and bumps the tag in the same change: not tag-only.
    diff = compare(
        workflow("p/job", tag="v1.0.0"),
        workflow("p/job", tag="v1.1.0"),
        stack="development",
        base_ref="main",
        base_manifests={"p/job": manifest("v1.0.0")},
        head_manifests={"p/job": manifest("v1.1.0", maintainers=("Alice", "mallory"))},
        author="mallory",
    )
    (job,) = diff.workflows
    assert set(job.manifest_fields) == {"dag.tag", "maintainers"}
    assert not job.tag_only
    assert not job.author_is_maintainer
    assert not job.tag_only_by_maintainer


def test_no_author_is_never_a_maintainer():
    diff = compare(
        workflow("p/job", tag="v1"),
        workflow("p/job", tag="v2"),
        stack="development",
        base_ref="main",
        base_manifests={"p/job": manifest("v1")},
        head_manifests={"p/job": manifest("v2")},
    )
    assert diff.workflows[0].tag_only
    assert not diff.workflows[0].tag_only_by_maintainer
    assert "by an unknown author, **not** a listed maintainer" in diff.markdown()


def test_tag_and_another_key_is_not_tag_only():
    diff = compare(
        workflow("p/job", tag="v1"),
        workflow("p/job", tag="v2"),
        stack="development",
        base_ref="main",
        base_manifests={"p/job": manifest("v1")},
        head_manifests={"p/job": manifest("v2", retries=3)},
        author="Alice",
    )
    (job,) = diff.workflows
    assert job.tag == ("v1", "v2")
    assert not job.tag_only
    assert not job.tag_only_by_maintainer


def test_tag_only_manifest_change_with_other_resource_changes_is_not_tag_only():
    # The manifest changes only its tag, but the role changes too (say, the stack config changed with it).
    diff = compare(
        workflow("p/job", tag="v1"),
        workflow("p/job", tag="v2", owner="b@justice.gov.uk"),
        stack="development",
        base_ref="main",
        base_manifests={"p/job": manifest("v1")},
        head_manifests={"p/job": manifest("v2")},
        author="Alice",
        config_changed=True,
    )
    (job,) = diff.workflows
    assert job.manifest_fields == ("dag.tag",)
    assert not job.tag_only
    assert {r.type for r in job.resources} == {ROLE, POLICY, DAG}
    assert "Pulumi.development.yaml" in diff.markdown()


def test_a_new_workflow_is_never_a_tag_only_change():
    diff = compare(
        [],
        workflow("p/job"),
        stack="development",
        base_ref="main",
        head_manifests={"p/job": manifest()},
        author="Alice",
    )
    (job,) = diff.workflows
    assert job.change == "added"
    assert not job.tag_only_by_maintainer
    assert not diff.only_tag_bumps_by_maintainers


def test_resources_outside_workflows_are_the_platforms():
    diff = compare(platform("a\n"), platform("b\n"), stack="development", base_ref="main")
    assert diff.workflows == ()
    assert [(r.name, r.change, r.fields) for r in diff.platform] == [("dags/.airflowignore", "changed", ("content",))]
    assert "| platform runtime | changed | resources: 1 changed |" in diff.markdown()
    assert PLATFORM not in diff.markdown()


def test_nothing_changed():
    resources = [*platform(), *workflow("p/job")]
    manifests = {"p/job": manifest()}
    diff = compare(
        resources, resources, stack="test", base_ref="main", base_manifests=manifests, head_manifests=manifests
    )
    assert not diff.has_changes
    assert not diff.only_tag_bumps_by_maintainers
    assert "No resource of this stack changes." in diff.markdown()
    assert diff.markdown().startswith("### Stack `test`")


def test_output_does_not_depend_on_input_order():
    base = [*platform(), *workflow("a/one"), *workflow("b/two", secrets=("s",)), *workflow("c/three")]
    head = [
        *platform("x\n"),
        *workflow("a/one", tag="v2"),
        *workflow("c/three", actions=("s3:*",)),
        *workflow("d/four", secrets=("s", "t")),
    ]
    kwargs = {"stack": "development", "base_ref": "main", "author": "Alice"}
    expected = compare(base, head, **kwargs)
    shuffled = random.Random(7)
    for _ in range(5):
        b, h = base[:], head[:]
        shuffled.shuffle(b)
        shuffled.shuffle(h)
        again = compare(b, h, **kwargs)
        assert again.markdown() == expected.markdown()
        assert again.as_dict() == expected.as_dict()
    assert json.dumps(expected.as_dict(), sort_keys=True)  # JSON-serialisable


def test_changed_fields_paths():
    assert changed_fields({"a": 1, "b": {"c": 1, "d": 2}}, {"a": 1, "b": {"c": 2, "d": 2}, "e": 0}) == ["b.c", "e"]
    assert changed_fields({"tags": {"x": "1"}}, {"tags": {}}) == ["tags.x"]
    assert changed_fields([1], [2]) == ["(value)"]
    assert changed_fields({"l": [1, 2]}, {"l": [1, 3]}) == ["l"]
    old = json.dumps({"Statement": [], "Version": "2012-10-17"})
    new = json.dumps({"Statement": [], "Version": "2008-10-17"})
    assert changed_fields({"policy": old}, {"policy": new}) == ["policy.Version"]
    assert changed_fields({"s": "{not json"}, {"s": "{still not"}) == ["s"]


def test_a_new_secret_reminds_the_maintainers_where_to_set_it():
    diff = compare(
        workflow("p/job", secrets=("old-key",)),
        workflow("p/job", secrets=("old-key", "api-key")) + workflow("p/new", secrets=("token",)),
        stack="development",
        base_ref="main",
        base_manifests={"p/job": manifest(maintainers=("Alice",))},
        head_manifests={"p/job": manifest(maintainers=("Alice", "bob")), "p/new": manifest(maintainers=("carol",))},
        region="eu-west-2",
    )
    lines = diff.markdown().splitlines()
    start = lines.index(
        "**Secrets to set after the merge** (each holds a placeholder until a maintainer sets its value):"
    )
    assert lines[start + 1 : start + 3] == [
        "- `p/job`: @Alice, @bob, set [`/airflow/development/p/job/api-key`]("
        "https://eu-west-2.console.aws.amazon.com/secretsmanager/secret"
        "?name=%2Fairflow%2Fdevelopment%2Fp%2Fjob%2Fapi-key&region=eu-west-2) in the AWS Secrets Manager console",
        "- `p/new`: @carol, set [`/airflow/development/p/new/token`]("
        "https://eu-west-2.console.aws.amazon.com/secretsmanager/secret"
        "?name=%2Fairflow%2Fdevelopment%2Fp%2Fnew%2Ftoken&region=eu-west-2) in the AWS Secrets Manager console",
    ]
    assert lines[start + 3] == ""


def test_no_reminder_when_no_secret_is_added():
    diff = compare(
        workflow("p/job", secrets=("old-key",)),
        workflow("p/job", tag="v2", secrets=("old-key",)),
        stack="development",
        base_ref="main",
        region="eu-west-2",
    )
    assert "Secrets to set" not in diff.markdown()
