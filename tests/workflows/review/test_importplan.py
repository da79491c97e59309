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
ROLE_NAME = "airflow-development-demo-job"
POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/{ROLE_NAME}"
KMS_ARN = f"arn:aws:iam::{ACCOUNT}:policy/airflow-service/kms"
SECRET_NAME = "/airflow/development/demo/job/db-passwd"
SECRET_ARN = f"arn:aws:secretsmanager:eu-west-2:{ACCOUNT}:secret:{SECRET_NAME}-Ab12Cd"
VERSION_ID = "0d5c3f8e-6b1a-4c55-9d0e-1f2a3b4c5d6e"
BUCKET = "mojap-development-mwaa"
DAG_KEY = "dags/development/demo/job/dag.py"
KEY = "demo/job"  # the Workflow component and its own resources
SECRET_KEY = "demo/job/db-passwd"  # the resources of its secret


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
    """One workflow ``demo/job`` with one secret, as the program registers it.

    One Workflow component whose direct children are the role, its policy and the
    role's policy attachments, the service account and the DAG object (all named
    ``demo/job``), and the secret, its placeholder version and its ExternalSecret
    (named ``demo/job/db-passwd``).
    """
    workflow = registration(WORKFLOW, KEY, STACK_URN, custom=False)
    parent = workflow["urn"]
    mock_arn = f"arn:aws:secretsmanager:eu-west-2:{ACCOUNT}:secret:{SECRET_NAME}-AbCdEf"
    return [
        workflow,
        registration(ROLE, KEY, parent, name=ROLE_NAME),
        registration(POLICY, KEY, parent, name=ROLE_NAME, policy="{}"),
        registration(ATTACHMENT, KEY, parent, roleName=ROLE_NAME, policyArns=[POLICY_ARN, KMS_ARN]),
        registration(SECRET, SECRET_KEY, parent, name=SECRET_NAME),
        registration(SECRET_VERSION, SECRET_KEY, parent, secretId=mock_arn),
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
    # What a look-up checks: the role, its policy and the DAG object (the attachments go with the role).
    checks = {
        (ROLE, ROLE_NAME),
        (POLICY, POLICY_ARN),
        (OBJECT, f"{BUCKET}/{DAG_KEY}"),
    }
    values = {
        "account": ACCOUNT,
        "secrets": {SECRET_NAME: LiveSecret(arn=SECRET_ARN, current_version=VERSION_ID)},
        "found": frozenset(checks),
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
        (SECRET_VERSION, SECRET_KEY): f"{SECRET_ARN}|{VERSION_ID}",
        (EXTERNAL_SECRET, SECRET_KEY): "mwaa/demo-job-db-passwd",
        (SERVICE_ACCOUNT, KEY): "mwaa/demo-job",
        (OBJECT, KEY): f"{BUCKET}/{DAG_KEY}",
    }
    assert (plan.errors, plan.missing, plan.created, plan.warnings) == ([], [], [], [])


def test_without_a_lookup_secret_ids_are_placeholders_and_reported():
    plan = build_import_plan(program(), account=ACCOUNT)
    found = ids(plan)
    assert is_placeholder(found[SECRET, SECRET_KEY]) and SECRET_NAME in found[SECRET, SECRET_KEY]
    assert is_placeholder(found[SECRET_VERSION, SECRET_KEY])
    # Everything derivable is still there, unchecked.
    assert found[ROLE, KEY] == ROLE_NAME and found[OBJECT, KEY] == f"{BUCKET}/{DAG_KEY}"
    assert found[ATTACHMENT, KEY] == ROLE_NAME
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
        f"{PREFIX}{WORKFLOW}${OBJECT}::demo/job",
        f"{PREFIX}{WORKFLOW}${SECRET}::demo/job/db-passwd",
        f"{PREFIX}{WORKFLOW}${SECRET_VERSION}::demo/job/db-passwd",
        f"{PREFIX}{WORKFLOW}${EXTERNAL_SECRET}::demo/job/db-passwd",
    }
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
    assert is_placeholder(found[SECRET, SECRET_KEY])
    assert is_placeholder(found[SECRET_VERSION, SECRET_KEY])
    assert len(plan.missing) == 2
    assert f"secret {SECRET_NAME} not found in account {ACCOUNT}" in plan.missing[0]


def test_a_secret_without_a_value_gets_its_version_created_not_imported():
    live = everything_found(secrets={SECRET_NAME: LiveSecret(arn=SECRET_ARN, current_version=None)})
    plan = build_import_plan(program(), account=ACCOUNT, live=live)
    assert (SECRET_VERSION, SECRET_KEY) not in ids(plan)
    assert ids(plan)[SECRET, SECRET_KEY] == SECRET_ARN
    assert plan.missing == []
    assert len(plan.created) == 1 and "no value yet" in plan.created[0]


def test_a_secret_scheduled_for_deletion_must_be_restored_first():
    live = everything_found(
        secrets={SECRET_NAME: LiveSecret(arn=SECRET_ARN, current_version=VERSION_ID, deleted="2030-01-01")}
    )
    plan = build_import_plan(program(), account=ACCOUNT, live=live)
    assert len(plan.missing) == 1
    assert "restore-secret" in plan.missing[0] and SECRET_ARN in plan.missing[0]


def test_an_absent_role_or_policy_is_missing_but_an_absent_object_is_created():
    live = everything_found(found=frozenset())
    plan = build_import_plan(program(), account=ACCOUNT, live=live)
    assert sorted(line.split("': ", 1)[0] + "'" for line in plan.missing) == [
        f"{POLICY} 'demo/job'",
        f"{ROLE} 'demo/job'",
    ]
    found = ids(plan)
    assert found[ROLE, KEY] == ROLE_NAME  # still named, so the file shows what was expected
    # The attachments exist exactly when the role does: not checked, reported or dropped on their own.
    assert found[ATTACHMENT, KEY] == ROLE_NAME
    assert (OBJECT, KEY) not in found
    assert plan.created == [f"{OBJECT} 'demo/job': {BUCKET}/{DAG_KEY} does not exist yet; `pulumi up` will create it"]


def test_what_could_not_be_checked_is_kept_with_a_warning():
    key = (OBJECT, f"{BUCKET}/{DAG_KEY}")
    live = everything_found(found=everything_found().found - {key}, unchecked={key: "AccessDenied"})
    plan = build_import_plan(program(), account=ACCOUNT, live=live)
    assert ids(plan)[OBJECT, KEY] == f"{BUCKET}/{DAG_KEY}"
    assert plan.warnings == [f"{OBJECT} 'demo/job': could not check {BUCKET}/{DAG_KEY}: AccessDenied"]


def test_a_type_without_an_import_rule_is_an_error():
    registrations = [*program(), registration("aws:sqs/queue:Queue", "demo-job-queue", STACK_URN, name="q")]
    plan = build_import_plan(registrations, account=ACCOUNT, live=everything_found())
    assert len(plan.errors) == 1 and "aws:sqs/queue:Queue" in plan.errors[0]


def test_a_version_of_an_undeclared_secret_is_an_error():
    registrations = program()
    version = next(r for r in registrations if r["type"] == SECRET_VERSION)
    version["inputs"]["secretId"] = "/airflow/development/other/secret"
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
    # No attachment check: the attachments are imported by the role's name and exist when the role does.
    assert targets.checks == (
        (POLICY, POLICY_ARN),
        (ROLE, ROLE_NAME),
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
    code = "import sys, workflows.review.importplan; sys.exit('pulumi' in ' '.join(sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO, check=False).returncode == 0
