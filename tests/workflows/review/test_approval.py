"""Approval by risk (workflows/review/approval.py): the rules the git-backed tests in tests/shell/test_diff.py
cannot reach easily — trust, managed policies, Deny, external_role, outlets, secrets, files of other stacks."""

from __future__ import annotations

import json
from typing import Any

from tests.workflows.review.test_diff import (
    ATTACHMENTS,
    POLICY,
    ROLE,
    SECRET,
    manifest,
    platform,
    project_file,
    reading,
    shared,
    workflow,
)
from workflows.review.approval import assess
from workflows.review.diff import compare

KEY = "p/job"
FILE = "environments/development/p/job/workflow.yml"


def judge(base, head, base_manifest=None, head_manifest=None, files=(FILE,), author="alice", checks=True, **projects):
    """The verdict on ``p/job`` going from ``base`` to ``head``; ``projects``: ``base_projects``, ``head_projects``
    (each project's ``project.yml``)."""
    base_manifests = {KEY: base_manifest or manifest()}
    head_manifests = {KEY: head_manifest or manifest()}
    kwargs = {"base_manifests": base_manifests, "head_manifests": head_manifests}
    diff = compare(base, head, stack="development", base_ref="main", author=author, **kwargs, **projects)
    return assess(diff, base, head, changed_files=files, author=author, checks_passed=checks, **kwargs)


def inputs(resources: list[dict[str, Any]], type_: str) -> dict[str, Any]:
    return next(r for r in resources if r["type"] == type_)["inputs"]


def test_a_tag_bump_alone_approves():
    verdict = judge(workflow(KEY, tag="v1"), workflow(KEY, tag="v2"), manifest("v1"), manifest("v2"))
    assert verdict.as_dict() == {"auto_approve": True, "reasons": []}


def test_a_trust_change_needs_review():
    head = workflow(KEY)
    inputs(head, ROLE)["assumeRolePolicy"] = json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*"}]})
    assert judge(workflow(KEY), head).reasons == ("`p/job`: its role's trust policy changes",)


def test_a_new_managed_policy_needs_review_and_one_fewer_does_not():
    base, head = workflow(KEY), workflow(KEY)
    extra = "arn:aws:iam::593291632749:policy/airflow-service/bedrock"
    inputs(head, ATTACHMENTS)["policyArns"].append(extra)
    assert judge(base, head).reasons == (f"`p/job`: attaches a managed policy `{extra}`",)
    assert judge(head, base).auto_approve


def test_a_lost_deny_needs_review():
    def with_deny(resources, deny: bool):
        document = json.loads(inputs(resources, POLICY)["policy"])
        if deny:
            document["Statement"].append({"Effect": "Deny", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::x/*"]})
        inputs(resources, POLICY)["policy"] = json.dumps(document)
        return resources

    verdict = judge(with_deny(workflow(KEY), True), with_deny(workflow(KEY), False))
    assert verdict.reasons == ("`p/job`: loses a Deny: `s3:*` on `arn:aws:s3:::x/*`",)
    assert judge(with_deny(workflow(KEY), False), with_deny(workflow(KEY), True)).auto_approve


def test_a_condition_dropped_from_a_grant_needs_review():
    def conditioned(condition):
        resources = workflow(KEY)
        document = json.loads(inputs(resources, POLICY)["policy"])
        document["Statement"][0]["Condition"] = condition
        inputs(resources, POLICY)["policy"] = json.dumps(document)
        return resources

    base = conditioned({"StringEquals": {"iam:PassedToService": "glue.amazonaws.com"}})
    # The same action on the same resource, now without its condition: more than before.
    assert judge(base, workflow(KEY)).reasons == ("`p/job`: grants more: Allow `s3:GetObject` on `*`",)


def test_switching_to_an_external_role_needs_review():
    head = [r for r in workflow(KEY) if r["type"] not in (ROLE, POLICY, ATTACHMENTS)]
    arn = "arn:aws:iam::123456789012:role/x"
    head_manifest = manifest() | {"iam": {"external_role": arn}}
    verdict = judge(workflow(KEY), head, head_manifest=head_manifest)
    assert "`p/job`: `iam.external_role` changed" in verdict.reasons
    assert "`p/job`: its IAM role appears or disappears (external_role)" in verdict.reasons


def test_a_new_outlet_needs_review_and_a_removed_one_does_not():
    one = manifest(outlets=["s3://a/x/"])
    two = manifest(outlets=["s3://a/x/"], tasks={"t": {"outlets": ["s3://other-team/y/"]}})
    assert judge(workflow(KEY), workflow(KEY), one, two).reasons == (
        "`p/job`: new outlet dataset(s) s3://other-team/y/",
    )
    assert judge(workflow(KEY), workflow(KEY), two, one).auto_approve


def test_a_secret_added_approves_with_its_update_grant_but_update_on_an_old_secret_does_not():
    base = workflow(KEY, secrets=("old",))
    head = workflow(KEY, secrets=("old", "new"))
    arn = "arn:aws:secretsmanager:eu-west-2:593291632749:secret:/airflow/development/p/job/{}*"
    read = {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["*"]}
    document = {"Version": "2012-10-17", "Statement": [read]}

    def grant(resources, secrets):
        doc = json.loads(json.dumps(document))
        if secrets:
            put = ["secretsmanager:PutSecretValue"]
            doc["Statement"].append({"Effect": "Allow", "Action": put, "Resource": [arn.format(s) for s in secrets]})
        inputs(resources, POLICY)["policy"] = json.dumps(doc)
        # The test helper names secrets by their full name as ``name``.
        for r in resources:
            if r["type"] == SECRET:
                r["inputs"]["name"] = "/airflow/development/p/job/" + r["name"].rsplit("/", 1)[1]
        return resources

    assert judge(grant(base, ["old"]), grant(head, ["old", "new"])).auto_approve
    verdict = judge(grant(workflow(KEY, secrets=("old",)), []), grant(workflow(KEY, secrets=("old",)), ["old"]))
    assert verdict.reasons == (f"`p/job`: grants more: Allow `secretsmanager:PutSecretValue` on `{arn.format('old')}`",)


def test_files_outside_environments_the_stack_config_and_the_platform_need_review():
    verdict = judge(
        [*platform("a\n"), *workflow(KEY)],
        [*platform("b\n"), *workflow(KEY)],
        files=(FILE, "Pulumi.development.yaml", "README.md", "environments/README.md", "environments/x/p/w/x.yml"),
    )
    assert verdict.reasons == (
        "`Pulumi.development.yaml` is outside environments/: needs review",
        "`README.md` is outside environments/: needs review",
        "`environments/README.md` is outside environments/: needs review",
        "`environments/x/p/w/x.yml` is outside environments/: needs review",
        "the platform runtime changes: needs review",
    )


def test_another_stacks_manifest_is_that_stacks_to_judge():
    files = (FILE, "environments/production/p/job/workflow.yml")
    assert judge(workflow(KEY, tag="v1"), workflow(KEY, tag="v2"), files=files).auto_approve


def test_nothing_to_approve_and_checks_not_run():
    nothing = judge(workflow(KEY), workflow(KEY), files=())
    assert nothing.reasons == ("nothing changes in this stack: nothing to approve",)
    assert judge(workflow(KEY, tag="v1"), workflow(KEY, tag="v2"), checks=False).reasons == (
        "the image and maintainer checks did not pass (or were not run)",
    )


def test_an_environments_prefix_inside_the_repository():
    files = ("sub/environments/development/p/job/workflow.yml",)
    diff = compare(workflow(KEY), workflow(KEY, tag="v2"), stack="development", base_ref="main")
    verdict = assess(
        diff,
        workflow(KEY),
        workflow(KEY, tag="v2"),
        base_manifests={KEY: manifest()},
        head_manifests={KEY: manifest("v2")},
        changed_files=files,
        environments_prefix="sub/environments",
        author="Alice",
        checks_passed=True,
    )
    assert verdict.auto_approve


# --- A project's shared secrets (project.yml) ------------------------------------------------------------------

PROJECT_FILE = "environments/development/p/project.yml"
SHARED_READ = "arn:aws:secretsmanager:{}:593291632749:secret:/airflow/development/p/shared/login-??????"


def with_shared_read(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The workflow's policy with the ``SecretsManagerShared`` statement its ``shared_secrets: [login]`` gives."""
    document = json.loads(inputs(resources, POLICY)["policy"])
    arns = [SHARED_READ.format(region) for region in ("eu-west-1", "eu-west-2")]
    document["Statement"].append(
        {
            "Sid": "SecretsManagerShared",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": arns,
        }
    )
    inputs(resources, POLICY)["policy"] = json.dumps(document)
    return resources


def test_a_new_project_file_and_a_workflow_reading_its_secret_need_review():
    verdict = judge(
        workflow(KEY),
        [*with_shared_read(workflow(KEY)), *shared("p", {"login": ("job",)})],
        head_manifest=reading("login"),
        files=(FILE, PROJECT_FILE),
        head_projects={"p": project_file(("login",))},
    )
    assert verdict.reasons == (
        "`environments/development/p/project.yml`: a project's shared secrets and who sets them (project.yml): "
        "needs review",
        "`p/job`: starts reading the project's shared secret(s) login (a new `SecretsManagerShared` grant): "
        "needs review",
        f"`p/job`: grants more: Allow `secretsmanager:GetSecretValue` on `{SHARED_READ.format('eu-west-1')}`",
        f"`p/job`: grants more: Allow `secretsmanager:GetSecretValue` on `{SHARED_READ.format('eu-west-2')}`",
        "`p/shared`: the project's shared secrets are new (project.yml): secret login added; job starts reading "
        "login; maintainer Lead added: needs review",
    )


def test_a_project_file_change_alone_needs_review_even_with_no_resource_change():
    # Only a comment or the order of its maintainers: nothing the stack declares changes, the file still does.
    same = [*workflow(KEY), *shared("p", {"login": ()})]
    project = {"p": project_file(("login",))}
    verdict = judge(same, same, files=(PROJECT_FILE,), base_projects=project, head_projects=project)
    assert verdict.reasons == (
        "`environments/development/p/project.yml`: a project's shared secrets and who sets them (project.yml): "
        "needs review",
    )


def test_a_project_maintainer_added_needs_review_without_the_file_rule():
    # Even when the changed files say nothing (another stack's diff, say), the project's change is reason enough.
    verdict = judge(
        [*workflow(KEY, tag="v1"), *shared("p", {"login": ()})],
        [*workflow(KEY, tag="v2"), *shared("p", {"login": ()}, ("Lead", "mallory"))],
        manifest("v1"),
        manifest("v2"),
        base_projects={"p": project_file(("login",))},
        head_projects={"p": project_file(("login",), ("Lead", "mallory"))},
    )
    assert verdict.reasons == (
        "`p/shared`: the project's shared secrets change (project.yml): maintainer mallory added: needs review",
    )


def test_a_workflow_that_stops_reading_a_shared_secret_needs_review_for_the_project():
    base = [*with_shared_read(workflow(KEY)), *shared("p", {"login": ("job",)})]
    head = [*workflow(KEY), *shared("p", {"login": ()})]
    project = {"p": project_file(("login",))}
    verdict = judge(base, head, reading("login"), base_projects=project, head_projects=project)
    assert verdict.reasons == (
        "`p/shared`: the project's shared secrets change (project.yml): job stops reading login: needs review",
    )
