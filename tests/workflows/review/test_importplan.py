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
    SECRET_VERSION,
    SERVICE_ACCOUNT,
    Live,
    LiveSecret,
    build_import_plan,
    is_placeholder,
    lookup_targets,
    resolve_urns,
    secret_name_of,
)

ACCOUNT = "593291632749"
PROJECT = "analytical-platform-airflow"
PREFIX = f"urn:pulumi:development::{PROJECT}::"
STACK_URN = f"{PREFIX}pulumi:pulumi:Stack::{PROJECT}-development"
WORKFLOW = "analytical-platform:workflows:Workflow"
IDENTITY = "analytical-platform:workflows:WorkflowIdentity"
SECRETS = "analytical-platform:workflows:WorkflowSecrets"
ROLE_NAME = "airflow-development-demo-job"
POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/{ROLE_NAME}"
KMS_ARN = f"arn:aws:iam::{ACCOUNT}:policy/airflow-service/kms"
SECRET_NAME = "/airflow/development/demo/job/db-passwd"
SECRET_ARN = f"arn:aws:secretsmanager:eu-west-2:{ACCOUNT}:secret:{SECRET_NAME}-Ab12Cd"
VERSION_ID = "0d5c3f8e-6b1a-4c55-9d0e-1f2a3b4c5d6e"
BUCKET = "mojap-development-mwaa"
DAG_KEY = "dags/demo/job.py"


def urn(chain: str, name: str) -> str:
    """A URN the way the mock runtime spells it (its own type chain; only parent links matter here)."""
    return f"{PREFIX}{chain}::{name}"


def registration(type_: str, logical: str, parent: str, *, custom: bool = True, **inputs) -> dict:
    return {
        "type": type_,
        "name": logical,
        "urn": urn(f"{parent.split('::')[2].rsplit('$', maxsplit=1)[-1]}${type_}", logical),
        "parent": parent,
        "custom": custom,
        "inputs": inputs,
        "options": {},
    }


def program() -> list[dict]:
    """One workflow ``demo/job`` with a role, a secret, a service account and a DAG."""
    workflow = registration(WORKFLOW, "demo-job", STACK_URN, custom=False)
    identity = registration(IDENTITY, "demo-job", workflow["urn"], custom=False)
    secrets = registration(SECRETS, "demo-job", workflow["urn"], custom=False)
    mock_arn = f"arn:aws:secretsmanager:eu-west-2:{ACCOUNT}:secret:{SECRET_NAME}-AbCdEf"
    return [
        workflow,
        identity,
        secrets,
        registration(ROLE, "demo-job-role", identity["urn"], name=ROLE_NAME),
        registration(POLICY, "demo-job-policy", identity["urn"], name=ROLE_NAME, policy="{}"),
        registration(ATTACHMENT, "demo-job-policy-attachment", identity["urn"], role=ROLE_NAME, policyArn=POLICY_ARN),
        registration(ATTACHMENT, "demo-job-kms-attachment", identity["urn"], role=ROLE_NAME, policyArn=KMS_ARN),
        registration(SECRET, "demo-job-db-passwd", secrets["urn"], name=SECRET_NAME),
        registration(SECRET_VERSION, "demo-job-db-passwd-placeholder", secrets["urn"], secretId=mock_arn),
        registration(
            EXTERNAL_SECRET,
            "demo-job-db-passwd-external-secret",
            secrets["urn"],
            apiVersion="external-secrets.io/v1",
            kind="ExternalSecret",
            metadata={"name": "demo-job-db-passwd", "namespace": "mwaa"},
        ),
        registration(
            SERVICE_ACCOUNT,
            "demo-job-service-account",
            workflow["urn"],
            metadata={"name": "demo-job", "namespace": "mwaa"},
        ),
        registration(OBJECT, "demo-job-dag", workflow["urn"], bucket=BUCKET, key=DAG_KEY, content="dag"),
    ]


def everything_found(**changes) -> Live:
    checks = {
        (ROLE, ROLE_NAME),
        (POLICY, POLICY_ARN),
        (ATTACHMENT, f"{ROLE_NAME}/{POLICY_ARN}"),
        (ATTACHMENT, f"{ROLE_NAME}/{KMS_ARN}"),
        (OBJECT, f"{BUCKET}/{DAG_KEY}"),
    }
    values = {
        "account": ACCOUNT,
        "secrets": {SECRET_NAME: LiveSecret(arn=SECRET_ARN, current_version=VERSION_ID)},
        "found": frozenset(checks),
    }
    return Live(**(values | changes))


def ids(plan) -> dict[str, str]:
    return {r["logicalName"]: r["id"] for r in plan.resources if not r.get("component")}


def test_every_custom_resource_gets_the_import_id_its_provider_expects():
    plan = build_import_plan(program(), account=ACCOUNT, live=everything_found())
    assert ids(plan) == {
        "demo-job-role": ROLE_NAME,
        "demo-job-policy": POLICY_ARN,
        "demo-job-policy-attachment": f"{ROLE_NAME}/{POLICY_ARN}",
        "demo-job-kms-attachment": f"{ROLE_NAME}/{KMS_ARN}",
        "demo-job-db-passwd": SECRET_ARN,
        "demo-job-db-passwd-placeholder": f"{SECRET_ARN}|{VERSION_ID}",
        "demo-job-db-passwd-external-secret": "mwaa/demo-job-db-passwd",
        "demo-job-service-account": "mwaa/demo-job",
        "demo-job-dag": f"{BUCKET}/{DAG_KEY}",
    }
    assert (plan.errors, plan.missing, plan.created, plan.warnings) == ([], [], [], [])


def test_without_a_lookup_secret_ids_are_placeholders_and_reported():
    plan = build_import_plan(program(), account=ACCOUNT)
    found = ids(plan)
    assert is_placeholder(found["demo-job-db-passwd"]) and SECRET_NAME in found["demo-job-db-passwd"]
    assert is_placeholder(found["demo-job-db-passwd-placeholder"])
    # Everything derivable is still there, unchecked.
    assert found["demo-job-role"] == ROLE_NAME and found["demo-job-dag"] == f"{BUCKET}/{DAG_KEY}"
    assert len(plan.missing) == 2 and all(SECRET_NAME in line for line in plan.missing)
    assert all("--lookup" in line for line in plan.missing)
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
        if entry["type"] in (WORKFLOW, IDENTITY, SECRETS):
            assert entry["component"] is True and "id" not in entry
        else:
            assert "component" not in entry and entry["id"]
    components = {(r["type"], r["logicalName"]) for r in document["resources"] if r.get("component")}
    assert components == {(WORKFLOW, "demo-job"), (IDENTITY, "demo-job"), (SECRETS, "demo-job")}
    # A parent is always listed before its children.
    position = {r["name"]: i for i, r in enumerate(document["resources"])}
    for entry in document["resources"]:
        if entry["parent"] in position:
            assert position[entry["parent"]] < position[entry["name"]]


def test_urns_follow_the_parent_chain_as_the_engine_builds_them():
    plan = build_import_plan(program(), account=ACCOUNT, live=everything_found())
    urns = set(resolve_urns(plan.document, "development", PROJECT).values())
    assert f"{PREFIX}{WORKFLOW}::demo-job" in urns
    assert f"{PREFIX}{WORKFLOW}${IDENTITY}::demo-job" in urns
    assert f"{PREFIX}{WORKFLOW}${IDENTITY}${ROLE}::demo-job-role" in urns
    assert f"{PREFIX}{WORKFLOW}${SECRETS}${SECRET_VERSION}::demo-job-db-passwd-placeholder" in urns
    assert f"{PREFIX}{WORKFLOW}${OBJECT}::demo-job-dag" in urns
    assert len(urns) == len(program())


def test_entries_carry_the_provider_version_the_program_uses():
    plan = build_import_plan(
        program(), account=ACCOUNT, versions={"aws": "7.51.1", "kubernetes": "4.34.2"}, live=everything_found()
    )
    for entry in plan.resources:
        if entry.get("component"):
            assert "version" not in entry
        else:
            assert entry["version"] == ("4.34.2" if entry["type"].startswith("kubernetes:") else "7.51.1")


def test_a_secret_that_is_not_there_is_missing_with_a_placeholder():
    plan = build_import_plan(program(), account=ACCOUNT, live=everything_found(secrets={}))
    found = ids(plan)
    assert is_placeholder(found["demo-job-db-passwd"])
    assert is_placeholder(found["demo-job-db-passwd-placeholder"])
    assert len(plan.missing) == 2
    assert f"secret {SECRET_NAME} not found in account {ACCOUNT}" in plan.missing[0]


def test_a_secret_without_a_value_gets_its_version_created_not_imported():
    live = everything_found(secrets={SECRET_NAME: LiveSecret(arn=SECRET_ARN, current_version=None)})
    plan = build_import_plan(program(), account=ACCOUNT, live=live)
    assert "demo-job-db-passwd-placeholder" not in ids(plan)
    assert ids(plan)["demo-job-db-passwd"] == SECRET_ARN
    assert plan.missing == []
    assert len(plan.created) == 1 and "no value yet" in plan.created[0]


def test_a_secret_scheduled_for_deletion_must_be_restored_first():
    live = everything_found(
        secrets={SECRET_NAME: LiveSecret(arn=SECRET_ARN, current_version=VERSION_ID, deleted="2030-01-01")}
    )
    plan = build_import_plan(program(), account=ACCOUNT, live=live)
    assert len(plan.missing) == 1
    assert "restore-secret" in plan.missing[0] and SECRET_ARN in plan.missing[0]


def test_an_absent_role_or_policy_is_missing_but_an_absent_attachment_or_object_is_created():
    live = everything_found(found=frozenset({(ATTACHMENT, f"{ROLE_NAME}/{POLICY_ARN}")}))
    plan = build_import_plan(program(), account=ACCOUNT, live=live)
    assert sorted(line.split("': ", 1)[0] + "'" for line in plan.missing) == [
        f"{POLICY} 'demo-job-policy'",
        f"{ROLE} 'demo-job-role'",
    ]
    found = ids(plan)
    assert found["demo-job-role"] == ROLE_NAME  # still named, so the file shows what was expected
    assert "demo-job-kms-attachment" not in found and "demo-job-dag" not in found
    assert "demo-job-policy-attachment" in found
    assert len(plan.created) == 2


def test_what_could_not_be_checked_is_kept_with_a_warning():
    key = (OBJECT, f"{BUCKET}/{DAG_KEY}")
    live = everything_found(found=everything_found().found - {key}, unchecked={key: "AccessDenied"})
    plan = build_import_plan(program(), account=ACCOUNT, live=live)
    assert ids(plan)["demo-job-dag"] == f"{BUCKET}/{DAG_KEY}"
    assert plan.warnings == [f"{OBJECT} 'demo-job-dag': could not check {BUCKET}/{DAG_KEY}: AccessDenied"]


def test_a_type_without_an_import_rule_is_an_error():
    registrations = [*program(), registration("aws:sqs/queue:Queue", "demo-job-queue", STACK_URN, name="q")]
    plan = build_import_plan(registrations, account=ACCOUNT, live=everything_found())
    assert len(plan.errors) == 1 and "aws:sqs/queue:Queue" in plan.errors[0]


def test_a_version_of_an_undeclared_secret_is_an_error():
    registrations = program()
    registrations[8]["inputs"]["secretId"] = "/airflow/development/other/secret"
    plan = build_import_plan(registrations, account=ACCOUNT, live=everything_found())
    assert len(plan.errors) == 1 and "is not a secret the stack declares" in plan.errors[0]


def test_the_document_does_not_depend_on_registration_order():
    expected = json.dumps(build_import_plan(program(), account=ACCOUNT, live=everything_found()).document)
    shuffled = program()
    random.Random(7).shuffle(shuffled)
    assert json.dumps(build_import_plan(shuffled, account=ACCOUNT, live=everything_found()).document) == expected


def test_lookup_targets_list_secrets_and_existence_checks_sorted():
    targets = lookup_targets(program(), ACCOUNT)
    assert targets.secrets == (SECRET_NAME,)
    assert targets.checks == (
        (POLICY, POLICY_ARN),
        (ROLE, ROLE_NAME),
        (ATTACHMENT, f"{ROLE_NAME}/{POLICY_ARN}"),
        (ATTACHMENT, f"{ROLE_NAME}/{KMS_ARN}"),
        (OBJECT, f"{BUCKET}/{DAG_KEY}"),
    )


@pytest.mark.parametrize(
    ("secret_id", "name"),
    [
        (SECRET_ARN, SECRET_NAME),
        (SECRET_NAME, SECRET_NAME),  # a name ending in "-" and six characters is still a name
        (f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:plain-Zz9yX8", "plain"),
    ],
)
def test_secret_name_of(secret_id, name):
    assert secret_name_of(secret_id) == name


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d["resources"][1].update(parent="nowhere"), "parent 'nowhere'"),
        (lambda d: d["resources"][1].update(name=d["resources"][2]["name"]), "is used by 2 entries"),
        (lambda d: d["resources"][0].update(id="x"), "is a component but has an id"),
        (lambda d: d["resources"][-1].pop("id"), "has no id"),
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
    code = "import sys, workflows.importplan; sys.exit('pulumi' in ' '.join(sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO, check=False).returncode == 0
