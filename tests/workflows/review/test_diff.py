"""The pure comparison behind ``python -m workflows diff``: resources and manifests in, a summary out."""

from __future__ import annotations

import json
import random
from typing import Any

from workflows.review.diff import PLATFORM, WORKFLOW_TYPE, StackDiff, changed_fields, compare

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


def bump(old: str = "v1", new: str = "v2", *, base: Any = None, head: Any = None, **kwargs: Any) -> StackDiff:
    """``p/job``'s image tag bumped from ``old`` to ``new``; its manifests ``base`` and ``head`` (by default
    differing in the tag alone)."""
    return compare(
        workflow("p/job", tag=old),
        workflow("p/job", tag=new),
        stack="development",
        base_ref="main",
        base_manifests={"p/job": base or manifest(old)},
        head_manifests={"p/job": head or manifest(new)},
        **kwargs,
    )


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
    diff = bump(
        "v1.0.0",
        "v1.1.0",
        base=manifest("v1.0.0", maintainers=("Alice", "bob")),
        head=manifest("v1.1.0", maintainers=("Alice", "bob")),
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
    diff = bump("v1.0.0", "v1.1.0", author="mallory")
    (job,) = diff.workflows
    assert job.tag_only
    assert not job.author_is_maintainer
    assert not job.tag_only_by_maintainer
    assert not diff.only_tag_bumps_by_maintainers
    assert "by @mallory, **not** a listed maintainer" in diff.markdown()
    assert "Every change is an image-tag bump" not in diff.markdown()


def test_maintainers_are_those_of_the_base_ref():
    # Mallory adds herself as a maintainer and bumps the tag in the same change: not tag-only.
    diff = bump("v1.0.0", "v1.1.0", head=manifest("v1.1.0", maintainers=("Alice", "mallory")), author="mallory")
    (job,) = diff.workflows
    assert set(job.manifest_fields) == {"dag.tag", "maintainers"}
    assert not job.tag_only
    assert not job.author_is_maintainer
    assert not job.tag_only_by_maintainer


def test_no_author_is_never_a_maintainer():
    diff = bump()
    assert diff.workflows[0].tag_only
    assert not diff.workflows[0].tag_only_by_maintainer
    assert "by an unknown author, **not** a listed maintainer" in diff.markdown()


def test_tag_and_another_key_is_not_tag_only():
    diff = bump(head=manifest("v2", retries=3), author="Alice")
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
    start = lines.index("**Secrets to set after the merge** (each has no value until a maintainer sets it):")
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


# --- A project's shared secrets (project.yml) ------------------------------------------------------------------

SHARED_SECRETS = "analytical-platform:workflows:SharedSecrets"
LINK = "https://eu-west-2.console.aws.amazon.com/secretsmanager/secret?name={}&region=eu-west-2"


def shared(project: str, readers: dict[str, tuple[str, ...]], maintainers: tuple[str, ...] = ("Lead",)) -> list:
    """A project's shared secrets as ``render`` writes them: one SharedSecrets component ``<project>/shared``
    whose children are, per id, a secret and its ExternalSecret named ``<project>/shared/<id>`` (the secret's
    resource policy names the maintainers, the ExternalSecret's annotation the workflows that read it)."""
    key = f"{project}/shared"
    component = {
        "type": SHARED_SECRETS,
        "name": key,
        "urn": urn(f"pulumi:pulumi:Stack${SHARED_SECRETS}", key),
        "parent": STACK_URN,
        "custom": False,
        "inputs": {"environment": "development", "project": project},
    }
    children = []
    for secret, workflows in readers.items():
        policy = {"Statement": [{"Condition": {"StringLike": {"aws:userid": [f"*:{m}" for m in maintainers]}}}]}
        annotations = {"airflow.compute.analytical-platform.service.justice.gov.uk/workflows": ",".join(workflows)}
        children += [
            (
                SECRET,
                f"{key}/{secret}",
                {"name": f"/airflow/development/{project}/shared/{secret}", "policy": json.dumps(policy)},
            ),
            (
                EXTERNAL_SECRET,
                f"{key}/{secret}",
                {"metadata": {"name": f"{project}-shared-{secret}"}, "spec": {"annotations": annotations}},
            ),
        ]
    return [component] + [
        {
            "type": t,
            "name": n,
            "urn": urn(f"{SHARED_SECRETS}${t}", n),
            "parent": component["urn"],
            "custom": True,
            "inputs": i,
        }
        for t, n, i in children
    ]


def project_file(secrets: tuple[str, ...], maintainers: tuple[str, ...] = ("Lead",)) -> dict[str, Any]:
    return {"secrets": list(secrets), "maintainers": list(maintainers)}


def reading(*secrets: str, **changes: Any) -> dict[str, Any]:
    return manifest(**changes) | {"shared_secrets": list(secrets)}


def test_a_new_project_file_shows_its_secrets_readers_and_maintainers_and_where_to_set_them():
    diff = compare(
        [*workflow("p/job")],
        [*workflow("p/job"), *shared("p", {"login": ("job",)})],
        stack="development",
        base_ref="main",
        base_manifests={"p/job": manifest()},
        head_manifests={"p/job": reading("login")},
        head_projects={"p": project_file(("login",))},
        region="eu-west-2",
    )
    # The shared secrets are the project's, not the platform's, nor the workflow's.
    assert diff.platform == ()
    (job,) = diff.workflows
    assert (job.change, job.manifest_fields, job.resources, job.new_secrets) == ("changed", ("shared_secrets",), (), ())
    (project,) = diff.projects
    assert project.as_dict() == {
        "project": "p",
        "change": "added",
        "manifest_fields": [],
        "secrets_added": ["login"],
        "secrets_removed": [],
        "readers_added": [{"workflow": "job", "secret": "login"}],
        "readers_removed": [],
        "maintainers_added": ["Lead"],
        "maintainers_removed": [],
        "new_secrets": ["/airflow/development/p/shared/login"],
        "resources": [
            {"type": SECRET, "name": "p/shared/login", "change": "added", "fields": []},
            {"type": EXTERNAL_SECRET, "name": "p/shared/login", "change": "added", "fields": []},
        ],
    }
    assert diff.has_changes
    assert diff.as_dict()["projects"] == [project.as_dict()]
    lines = diff.markdown().splitlines()
    assert "Shared secrets (`project.yml`) of **1 project(s)** change." in lines
    assert lines[lines.index("| project (shared secrets) | change | summary |") + 2] == (
        "| `p` | added | secrets added: `login`; readers added: `job` (`login`); maintainers added: @Lead; "
        "resources: 2 added |"
    )
    start = lines.index("**Secrets to set after the merge** (each has no value until a maintainer sets it):")
    assert lines[start + 1 : start + 3] == [
        "- `p/shared` (shared by the project's workflows, project.yml): @Lead, set "
        "[`/airflow/development/p/shared/login`](https://eu-west-2.console.aws.amazon.com/secretsmanager/secret"
        "?name=%2Fairflow%2Fdevelopment%2Fp%2Fshared%2Flogin&region=eu-west-2) in the AWS Secrets Manager console",
        "",
    ]
    assert "<details><summary><code>p</code> shared secrets: 2 resource change(s)</summary>" in lines


def test_a_changed_project_file_shows_secrets_readers_and_maintainers_added_and_removed():
    base_readers = {"a": ("one",), "b": ("one", "two")}
    head_readers = {"b": ("one",), "c": ("one",)}
    diff = compare(
        [*workflow("p/one"), *workflow("p/two"), *shared("p", base_readers, ("Lead", "bob"))],
        [*workflow("p/one"), *workflow("p/two"), *shared("p", head_readers, ("lead", "carol"))],
        stack="development",
        base_ref="main",
        base_manifests={"p/one": reading("a", "b"), "p/two": reading("b")},
        head_manifests={"p/one": reading("b", "c"), "p/two": manifest()},
        base_projects={"p": project_file(("a", "b"), ("Lead", "bob"))},
        head_projects={"p": project_file(("b", "c"), ("lead", "carol"))},
    )
    (project,) = diff.projects
    assert project.change == "changed"
    assert project.manifest_fields == ("maintainers", "secrets")
    assert (project.secrets_added, project.secrets_removed) == (("c",), ("a",))
    assert project.readers_added == (("one", "c"),)
    assert project.readers_removed == (("one", "a"), ("two", "b"))
    # GitHub logins compare without case: Lead → lead is no change.
    assert (project.maintainers_added, project.maintainers_removed) == (("carol",), ("bob",))
    assert project.new_secrets == ("/airflow/development/p/shared/c",)
    assert [(r.type, r.name, r.change, r.fields) for r in project.resources] == [
        (SECRET, "p/shared/a", "removed", ()),
        (SECRET, "p/shared/b", "changed", ("policy.Statement",)),
        (SECRET, "p/shared/c", "added", ()),
        (EXTERNAL_SECRET, "p/shared/a", "removed", ()),
        (
            EXTERNAL_SECRET,
            "p/shared/b",
            "changed",
            ("spec.annotations.airflow.compute.analytical-platform.service.justice.gov.uk/workflows",),
        ),
        (EXTERNAL_SECRET, "p/shared/c", "added", ()),
    ]
    assert (
        "| `p` | changed | secrets added: `c`; secrets removed: `a`; readers added: `one` (`c`); readers removed: "
        "`one` (`a`), `two` (`b`); maintainers added: @carol; maintainers removed: @bob; resources: 2 added, "
        "2 removed, 2 changed |"
    ) in diff.markdown()
    assert "project.yml keys changed: `maintainers`, `secrets`" in diff.markdown()
    assert "- `p/shared` (shared by the project's workflows, project.yml): @lead, @carol, set `" in diff.markdown()


def test_a_removed_project_file_and_one_that_does_not_change():
    diff = compare(
        [*shared("gone", {"x": ()}), *shared("same", {"y": ("job",)})],
        [*shared("same", {"y": ("job",)})],
        stack="development",
        base_ref="main",
        base_manifests={"same/job": reading("y")},
        head_manifests={"same/job": reading("y")},
        base_projects={"gone": project_file(("x",)), "same": project_file(("y",))},
        head_projects={"same": project_file(("y",))},
    )
    assert [(p.project, p.change) for p in diff.projects] == [("gone", "removed"), ("same", "unchanged")]
    gone = diff.projects[0]
    assert (gone.secrets_removed, gone.maintainers_removed, gone.new_secrets) == (("x",), ("Lead",), ())
    assert [p["project"] for p in diff.as_dict()["projects"]] == ["gone"]
    text = diff.markdown()
    assert "| `gone` | removed | secrets removed: `x`; maintainers removed: @Lead; resources: 2 removed |" in text
    assert "`same`" not in text
    # Only the project changes: no empty workflow table, and no reminder for a removed secret.
    assert "| workflow | change | summary |" not in text
    assert "Secrets to set" not in text
    assert not diff.only_tag_bumps_by_maintainers


def test_a_tag_bump_beside_a_project_change_is_not_only_tag_bumps():
    diff = compare(
        [*workflow("p/job", tag="v1"), *shared("p", {"x": ()})],
        [*workflow("p/job", tag="v2"), *shared("p", {"x": ()}, ("Lead", "mallory"))],
        stack="development",
        base_ref="main",
        base_manifests={"p/job": manifest("v1")},
        head_manifests={"p/job": manifest("v2")},
        base_projects={"p": project_file(("x",))},
        head_projects={"p": project_file(("x",), ("Lead", "mallory"))},
        author="Alice",
    )
    assert diff.workflows[0].tag_only_by_maintainer
    assert not diff.only_tag_bumps_by_maintainers
