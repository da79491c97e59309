"""The pure part of ``import-plan``: registrations (plain dicts) + live IDs → a bulk-import document."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

from tests.conftest import REPO
from workflows.review.importplan import (
    ATTACHMENT,
    EXTERNAL_SECRET,
    OBJECT,
    POLICY,
    ROLE,
    SECRET,
    SERVICE_ACCOUNT,
    build_import_plan,
    engine_urn,
    is_placeholder,
    lookup_targets,
    resolve_urns,
    running_service_keys,
)
from workflows.review.live_diff import Live, LivePolicy, LiveRole, LiveSecret

ACCOUNT = "593291632749"
PROJECT = "analytical-platform-airflow"
PREFIX = f"urn:pulumi:development::{PROJECT}::"
STACK_URN = f"{PREFIX}pulumi:pulumi:Stack::{PROJECT}-development"
WORKFLOW = "analytical-platform:workflows:Workflow"
ROLE_NAME = "airflow-development-demo-job"
POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/{ROLE_NAME}"
KMS_ARN = f"arn:aws:iam::{ACCOUNT}:policy/airflow-service/kms"
SECRET_NAME = "/airflow/development/demo/job/db-passwd"
SECRET_ARN = f"arn:aws:secretsmanager:eu-west-2:{ACCOUNT}:secret:{SECRET_NAME}-Ab12Cd"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
BUCKET = "mojap-compute-development-mwaa"
DAG_KEY = "dags/development/demo/job/dag.py"
KEY = "demo/job"  # the Workflow component and its own resources
SECRET_KEY = "demo/job/db-passwd"  # the resources of its secret


def urn(chain: str, name: str) -> str:
    """A URN the way the mock runtime spells it (its own type chain; only parent links matter here)."""
    return f"{PREFIX}{chain}::{name}"


def registration(
    type_: str, logical: str, parent: str, *, custom: bool = True, provider: str | None = None, **inputs
) -> dict:
    return {
        "type": type_,
        "name": logical,
        "urn": urn(f"{parent.split('::')[2].rsplit('$', maxsplit=1)[-1]}${type_}", logical),
        "parent": parent,
        "custom": custom,
        "inputs": inputs,
        "options": {"provider": provider} if provider else {},
    }


def program() -> list[dict]:
    """One workflow ``demo/job`` with one secret, as the program registers it.

    One Workflow component whose direct children are the role, its policy and the
    role's policy attachments, the service account and the DAG object (all named
    ``demo/job``), and the secret and its ExternalSecret (named ``demo/job/db-passwd``).
    """
    workflow = registration(WORKFLOW, KEY, STACK_URN, custom=False)
    parent = workflow["urn"]
    return [
        workflow,
        registration(ROLE, KEY, parent, name=ROLE_NAME),
        registration(POLICY, KEY, parent, name=ROLE_NAME, policy="{}"),
        registration(ATTACHMENT, KEY, parent, roleName=ROLE_NAME, policyArns=[POLICY_ARN, KMS_ARN]),
        registration(SECRET, SECRET_KEY, parent, name=SECRET_NAME),
        registration(
            EXTERNAL_SECRET,
            SECRET_KEY,
            parent,
            apiVersion="external-secrets.io/v1",
            kind="ExternalSecret",
            metadata={"name": "demo-job-db-passwd", "namespace": "mwaa"},
        ),
        registration(SERVICE_ACCOUNT, KEY, parent, metadata={"name": "demo-job", "namespace": "mwaa"}),
        registration(OBJECT, KEY, parent, bucket=BUCKET, key=DAG_KEY, content="dag"),
    ]


def everything_found(**changes) -> Live:
    """What a look-up finds when the running service has everything: the role, its policy, the secret."""
    values = {
        "account": ACCOUNT,
        "roles": {ROLE_NAME: LiveRole(name=ROLE_NAME)},
        "policies": {POLICY_ARN: LivePolicy(arn=POLICY_ARN)},
        "secrets": {SECRET_NAME: LiveSecret(arn=SECRET_ARN)},
    }
    return Live(**(values | changes))


def ids(plan) -> dict[tuple[str, str], str]:
    """Import ID by (type, logical name): a workflow's resources share their logical name."""
    return {(r["type"], r["logicalName"]): r["id"] for r in plan.resources if not r.get("component")}


def test_every_custom_resource_gets_the_import_id_its_provider_expects():
    plan = build_import_plan(program(), account=ACCOUNT, live=everything_found())
    assert ids(plan) == {
        (ROLE, KEY): ROLE_NAME,
        (POLICY, KEY): POLICY_ARN,
        (ATTACHMENT, KEY): ROLE_NAME,  # the whole set of the role's managed policies, by the role's name
        (SECRET, SECRET_KEY): SECRET_ARN,
        (EXTERNAL_SECRET, SECRET_KEY): "mwaa/demo-job-db-passwd",
        (SERVICE_ACCOUNT, KEY): "mwaa/demo-job",
    }
    assert (plan.errors, plan.missing, plan.warnings) == ([], [], [])


def test_a_dag_object_is_never_imported_but_uploaded_by_pulumi_up():
    # The running service keeps a YAML per workflow: the generated dag.py is at a key it does not use.
    plan = build_import_plan(program(), account=ACCOUNT, live=everything_found())
    assert (OBJECT, KEY) not in ids(plan)
    assert plan.created == [
        f"{OBJECT} 'demo/job': the first `pulumi up` uploads {BUCKET}/{DAG_KEY}, a key the running service does not use"
    ]


def test_a_python_dag_upload_replaces_the_running_service_file_of_the_same_key():
    replaced = running_service_keys("dags/", [DAG_KEY])
    plan = build_import_plan(program(), account=ACCOUNT, live=everything_found(), replaced_keys=replaced)
    assert plan.created == [
        f"{OBJECT} 'demo/job': the first `pulumi up` uploads {BUCKET}/{DAG_KEY} over the running service's "
        "file of that key"
    ]


def test_the_running_service_keys_are_its_runtime_files_and_python_dags():
    assert running_service_keys("dags/", ["dags/development/demo/job/dag.py"]) == {
        "dags/.airflowignore",
        "dags/analytical_platform/compute_profiles.py",
        "dags/analytical_platform/standard_operator.py",
        "dags/development/demo/job/dag.py",
    }


def test_a_secret_version_has_no_import_rule():
    # Secret values stay with their maintainers: the program declares no version, and a plan that
    # met one would fail rather than import a value into state.
    workflow_urn = program()[0]["urn"]
    version = registration(SECRET_VERSION, SECRET_KEY, workflow_urn, secretId=SECRET_ARN)
    plan = build_import_plan([*program(), version], account=ACCOUNT, live=everything_found())
    assert plan.errors == [f"{SECRET_VERSION} '{SECRET_KEY}': no import rule for type {SECRET_VERSION}"]


def test_without_a_lookup_secret_ids_are_placeholders_and_reported():
    plan = build_import_plan(program(), account=ACCOUNT)
    found = ids(plan)
    assert is_placeholder(found[SECRET, SECRET_KEY]) and SECRET_NAME in found[SECRET, SECRET_KEY]
    # Everything derivable is still there, unchecked.
    assert found[ROLE, KEY] == ROLE_NAME and found[ATTACHMENT, KEY] == ROLE_NAME
    assert plan.missing == [f"{SECRET} '{SECRET_KEY}': ARN of secret {SECRET_NAME} not looked up (run with --lookup)"]
    assert plan.errors == []


def test_components_are_listed_without_id_and_every_parent_resolves():
    plan = build_import_plan(program(), account=ACCOUNT, live=everything_found())
    document = plan.document
    assert document["nameTable"] == {f"{PROJECT}-development": STACK_URN}
    handles = [r["name"] for r in document["resources"]]
    assert len(handles) == len(set(handles))
    known = set(handles) | set(document["nameTable"])
    for entry in document["resources"]:
        assert entry["parent"] in known
        if entry["type"] == WORKFLOW:
            assert entry["component"] is True and "id" not in entry
        else:
            assert "component" not in entry and entry["id"]
    components = [r for r in document["resources"] if r.get("component")]
    assert [(r["type"], r["logicalName"]) for r in components] == [(WORKFLOW, KEY)]
    # Every resource is a direct child of the workflow's component, whose handle tells it from them.
    (component,) = components
    assert component["parent"] == f"{PROJECT}-development"
    assert {r["parent"] for r in document["resources"] if not r.get("component")} == {component["name"]}
    # A parent is always listed before its children.
    position = {r["name"]: i for i, r in enumerate(document["resources"])}
    for entry in document["resources"]:
        if entry["parent"] in position:
            assert position[entry["parent"]] < position[entry["name"]]


def test_urns_follow_the_parent_chain_as_the_engine_builds_them():
    plan = build_import_plan(program(), account=ACCOUNT, live=everything_found())
    urns = set(resolve_urns(plan.document, "development", PROJECT).values())
    assert urns == {
        f"{PREFIX}{WORKFLOW}::demo/job",
        f"{PREFIX}{WORKFLOW}${ROLE}::demo/job",
        f"{PREFIX}{WORKFLOW}${POLICY}::demo/job",
        f"{PREFIX}{WORKFLOW}${ATTACHMENT}::demo/job",
        f"{PREFIX}{WORKFLOW}${SERVICE_ACCOUNT}::demo/job",
        f"{PREFIX}{WORKFLOW}${SECRET}::demo/job/db-passwd",
        f"{PREFIX}{WORKFLOW}${EXTERNAL_SECRET}::demo/job/db-passwd",
    }


def test_entries_on_default_providers_carry_the_provider_version_the_program_uses():
    plan = build_import_plan(
        program(), account=ACCOUNT, versions={"aws": "7.51.1", "kubernetes": "4.34.2"}, live=everything_found()
    )
    for entry in plan.resources:
        if entry.get("component"):
            assert "version" not in entry
        else:
            assert entry["version"] == ("4.34.2" if entry["type"].startswith("kubernetes:") else "7.51.1")
    assert plan.providers == []


def with_providers() -> list[dict]:
    """The program with explicit providers, as the mock runtime records them: top-level provider
    registrations (the mock's URN keeps the stack's type), each resource naming its provider by reference."""
    data = registration("pulumi:providers:aws", "data", STACK_URN, defaultTags={"tags": {"a": "b"}})
    cluster = registration("pulumi:providers:kubernetes", "cluster", STACK_URN)
    # A provider only invokes go through (the cluster facts' account): nothing imported names it.
    common = registration("pulumi:providers:aws", "common", STACK_URN)
    registrations = [data, cluster, common]
    for item in program():
        if item.get("custom"):
            provider = cluster if item["type"].startswith("kubernetes:") else data
            item["options"]["provider"] = f"{provider['urn']}::04da6b54-80e4-46f7-96ec-b56ff0331ba9"
        registrations.append(item)
    return registrations


def test_explicit_providers_are_named_through_the_name_table_by_their_engine_urn():
    plan = build_import_plan(
        with_providers(), account=ACCOUNT, versions={"aws": "7.51.1", "kubernetes": "4.34.2"}, live=everything_found()
    )
    data_urn = f"{PREFIX}pulumi:providers:aws::data"
    cluster_urn = f"{PREFIX}pulumi:providers:kubernetes::cluster"
    assert plan.document["nameTable"] == {
        f"{PROJECT}-development": STACK_URN,
        "cluster (pulumi:providers:kubernetes)": cluster_urn,
        "data (pulumi:providers:aws)": data_urn,
    }
    entries = {(e["type"], e["logicalName"]): e for e in plan.resources if not e.get("component")}
    assert {key: (e["provider"], "version" in e) for key, e in entries.items()} == {
        (ROLE, KEY): ("data (pulumi:providers:aws)", False),
        (POLICY, KEY): ("data (pulumi:providers:aws)", False),
        (ATTACHMENT, KEY): ("data (pulumi:providers:aws)", False),
        (SECRET, SECRET_KEY): ("data (pulumi:providers:aws)", False),
        (EXTERNAL_SECRET, SECRET_KEY): ("cluster (pulumi:providers:kubernetes)", False),
        (SERVICE_ACCOUNT, KEY): ("cluster (pulumi:providers:kubernetes)", False),
    }
    # Providers are not imported: they must be in state first (`pulumi up --target`); only those the
    # imported resources name are listed.
    assert all(not e["type"].startswith("pulumi:providers:") for e in plan.resources)
    assert plan.providers == [data_urn, cluster_urn]
    assert plan.errors == []
    resolve_urns(plan.document, "development", PROJECT)


def test_a_providers_engine_urn_carries_every_ancestors_type_but_the_stacks():
    workflow = program()[0]
    nested = registration("pulumi:providers:aws", "nested", workflow["urn"])
    by_urn = {r["urn"]: r for r in (workflow, nested)}
    assert engine_urn(nested, by_urn) == f"{PREFIX}{WORKFLOW}$pulumi:providers:aws::nested"
    assert engine_urn(workflow, by_urn) == f"{PREFIX}{WORKFLOW}::{KEY}"


def test_a_provider_may_also_be_named_by_its_logical_name():
    registrations = with_providers()
    for item in registrations:
        if item["options"].get("provider"):
            item["options"]["provider"] = "cluster" if item["type"].startswith("kubernetes:") else "data"
    plan = build_import_plan(registrations, account=ACCOUNT, live=everything_found())
    assert {e.get("provider") for e in plan.resources if not e.get("component")} == {
        "cluster (pulumi:providers:kubernetes)",
        "data (pulumi:providers:aws)",
    }


def test_a_resource_on_an_undeclared_provider_is_an_error():
    registrations = with_providers()
    role = next(r for r in registrations if r["type"] == ROLE)
    role["options"]["provider"] = f"{PREFIX}pulumi:providers:aws::elsewhere::1"
    plan = build_import_plan(registrations, account=ACCOUNT, live=everything_found())
    assert plan.errors == [f"{ROLE} 'demo/job': its provider {PREFIX}pulumi:providers:aws::elsewhere is not declared"]


def test_a_secret_that_is_not_there_is_missing_with_a_placeholder():
    plan = build_import_plan(program(), account=ACCOUNT, live=everything_found(secrets={}))
    assert is_placeholder(ids(plan)[SECRET, SECRET_KEY])
    assert plan.missing == [f"{SECRET} '{SECRET_KEY}': secret {SECRET_NAME} not found in account {ACCOUNT}"]


def test_a_secret_scheduled_for_deletion_must_be_restored_first():
    live = everything_found(secrets={SECRET_NAME: LiveSecret(arn=SECRET_ARN, deleted="2030-01-01")})
    plan = build_import_plan(program(), account=ACCOUNT, live=live)
    assert len(plan.missing) == 1
    assert "restore-secret" in plan.missing[0] and SECRET_ARN in plan.missing[0]


def test_an_absent_role_or_policy_is_missing():
    live = everything_found(roles={}, policies={})
    plan = build_import_plan(program(), account=ACCOUNT, live=live)
    assert plan.missing == [
        f"{POLICY} 'demo/job': {POLICY_ARN} not found in account {ACCOUNT}",
        f"{ROLE} 'demo/job': {ROLE_NAME} not found in account {ACCOUNT}",
    ]
    found = ids(plan)
    assert found[ROLE, KEY] == ROLE_NAME  # still named, so the file shows what was expected
    # The attachments exist exactly when the role does: not checked, reported or dropped on their own.
    assert found[ATTACHMENT, KEY] == ROLE_NAME


def test_what_could_not_be_checked_is_kept_with_a_warning():
    live = everything_found(roles={}, unchecked={(ROLE, ROLE_NAME): "AccessDenied"})
    plan = build_import_plan(program(), account=ACCOUNT, live=live)
    assert ids(plan)[ROLE, KEY] == ROLE_NAME
    assert plan.warnings == [f"{ROLE} 'demo/job': could not check {ROLE_NAME}: AccessDenied"]
    assert plan.missing == []


def test_a_type_without_an_import_rule_is_an_error():
    registrations = [*program(), registration("aws:sqs/queue:Queue", "demo-job-queue", STACK_URN, name="q")]
    plan = build_import_plan(registrations, account=ACCOUNT, live=everything_found())
    assert plan.errors == ["aws:sqs/queue:Queue 'demo-job-queue': no import rule for type aws:sqs/queue:Queue"]


def test_the_document_does_not_depend_on_registration_order():
    expected = json.dumps(build_import_plan(with_providers(), account=ACCOUNT, live=everything_found()).document)
    shuffled = with_providers()
    random.Random(7).shuffle(shuffled)
    assert json.dumps(build_import_plan(shuffled, account=ACCOUNT, live=everything_found()).document) == expected


def test_lookup_targets_list_roles_policies_and_secrets_sorted():
    targets = lookup_targets(program(), ACCOUNT)
    # No attachment, S3 or Kubernetes look-up: attachments go with the role, objects are uploaded.
    assert (targets.roles, targets.policies, targets.secrets) == ((ROLE_NAME,), (POLICY_ARN,), (SECRET_NAME,))


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d["resources"][1].update(parent="nowhere"), "parent 'nowhere'"),
        (lambda d: d["resources"][1].update(name=d["resources"][2]["name"]), "is used by 2 entries"),
        (lambda d: d["resources"][0].update(id="x"), "is a component but has an id"),
        (lambda d: d["resources"][-1].pop("id"), "has no id"),
        (lambda d: d["resources"][-1].update(provider="nowhere"), "provider 'nowhere' is not in nameTable"),
        (
            lambda d: d["resources"][-1].update(
                logicalName=d["resources"][-2]["logicalName"], type=d["resources"][-2]["type"]
            ),
            "ambiguous URN",
        ),
    ],
)
def test_resolve_urns_rejects_what_pulumi_import_would(change, problem):
    document = build_import_plan(program(), account=ACCOUNT, live=everything_found()).document
    change(document)
    with pytest.raises(ValueError, match=problem):
        resolve_urns(document, "development", PROJECT)


def test_the_pure_part_does_not_import_pulumi():
    code = "import sys, workflows.review.importplan; sys.exit('pulumi' in ' '.join(sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO, check=False).returncode == 0


SHARED_SECRETS = "analytical-platform:workflows:SharedSecrets"
SHARED_NAME = "/airflow/development/demo/shared/login"


def with_shared_secrets() -> list[dict]:
    """``program()`` and the project's shared secrets: a SharedSecrets component ``demo/shared`` whose children
    are the secret ``demo/shared/login`` and its ExternalSecret."""
    component = registration(SHARED_SECRETS, "demo/shared", STACK_URN, custom=False)
    metadata = {"name": "demo-shared-login", "namespace": "mwaa"}
    return [
        *program(),
        component,
        registration(SECRET, "demo/shared/login", component["urn"], name=SHARED_NAME),
        registration(EXTERNAL_SECRET, "demo/shared/login", component["urn"], metadata=metadata),
    ]


def test_a_projects_shared_secrets_are_created_by_pulumi_up_never_imported():
    plan = build_import_plan(with_shared_secrets(), account=ACCOUNT, live=everything_found())
    # Nothing of theirs in the document, and nothing missing or wrong: the live account has none.
    assert ids(plan) == ids(build_import_plan(program(), account=ACCOUNT, live=everything_found()))
    assert [r for r in plan.resources if r["logicalName"].startswith("demo/shared")] == []
    assert (plan.errors, plan.missing, plan.warnings) == ([], [], [])
    assert plan.created[:3] == [
        f"{SHARED_SECRETS} 'demo/shared' and its resources: the running service has none (a project's shared "
        "secrets), the first `pulumi up` creates them",
        f"{SECRET} 'demo/shared/login': the first `pulumi up` creates it",
        f"{EXTERNAL_SECRET} 'demo/shared/login': the first `pulumi up` creates it",
    ]
    resolve_urns(plan.document, "development", PROJECT)
    # Without a look-up the same: no placeholder for a secret that is never imported.
    offline = build_import_plan(with_shared_secrets(), account=ACCOUNT)
    assert offline.missing == [
        f"{SECRET} '{SECRET_KEY}': ARN of secret {SECRET_NAME} not looked up (run with --lookup)"
    ]


def test_a_projects_shared_secrets_are_not_looked_up():
    targets = lookup_targets(with_shared_secrets(), ACCOUNT)
    assert (targets.roles, targets.policies, targets.secrets) == ((ROLE_NAME,), (POLICY_ARN,), (SECRET_NAME,))
