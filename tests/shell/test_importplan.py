"""``import-plan``: the bulk-import file for the real program, with IDs looked up in an emulated account.

The emulated account (moto) is populated the way the running service names
things — role and policy ``airflow-<env>-<project>-<workflow>``, shared policies
under ``/airflow-service/``, secrets ``/airflow/<env>/<project>/<workflow>/<id>``,
DAGs in the MWAA bucket at ``dags/<env>/<project>/<workflow>/dag.py`` — computed here
from DESIGN.md and the live installation's layout, not from the code under test.
"""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from pathlib import Path

import boto3
import botocore.client
import pytest
import yaml
from moto import mock_aws

from shell import cli
from shell.importplan import import_plan_command
from shell.offline import PROJECT, run_program
from tests.conftest import EXAMPLES, MINIMAL, REPO
from workflows.model import ENVIRONMENTS
from workflows.review.importplan import (
    ATTACHMENT,
    EXTERNAL_SECRET,
    OBJECT,
    POLICY,
    ROLE,
    SECRET,
    SECRET_VERSION,
    SERVICE_ACCOUNT,
    is_placeholder,
    resolve_urns,
)

STACK = "development"
SETTINGS = yaml.safe_load((REPO / f"Pulumi.{STACK}.yaml").read_text())["config"]
ACCOUNT = str(SETTINGS["platform:accountId"])
REGION = SETTINGS["aws:region"]
BUCKET = SETTINGS["platform:mwaaBucket"]
ALIASES = SETTINGS.get("platform:projectAliases") or {}
NAMESPACE = SETTINGS.get("platform:namespace", "mwaa")
POLICY_DOCUMENT = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}
)
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)

# (project, workflow) -> (manifest extra, secrets holding a value, shared policies the service attaches)
WORKFLOWS = {
    ("electronic-monitoring-data-store", "load"): (
        "secrets: [api-key, db-passwd]\n",
        ("api-key", "db-passwd"),
        ("kms",),
    ),
    ("demo", "job"): (
        "iam:\n  athena: write\nsecrets: [token]\n",
        (),  # "token" was created but never given a value
        ("kms", "athena-read", "athena-write"),
    ),
    ("demo", "external"): ("iam:\n  external_role: arn:aws:iam::123456789012:role/elsewhere\n", (), ()),
    ("analytical-platform", "cadet-daily"): ("", (), ("kms", "cadet")),
}


def role_name(project: str, workflow: str) -> str:
    return f"airflow-{STACK}-{ALIASES.get(project, project)}-{workflow}"


def secret_name(project: str, workflow: str, secret: str) -> str:
    return f"/airflow/{STACK}/{ALIASES.get(project, project)}/{workflow}/{secret}"


def secrets_of(extra: str) -> list[str]:
    return (yaml.safe_load(extra) or {}).get("secrets", []) if extra else []


@pytest.fixture
def environments(tmp_path: Path) -> Path:
    root = tmp_path / "environments"
    for (project, workflow), (extra, _, _) in WORKFLOWS.items():
        path = root / STACK / project / workflow / "workflow.yml"
        path.parent.mkdir(parents=True)
        path.write_text(textwrap.dedent(MINIMAL).lstrip("\n") + extra)
    return root


@pytest.fixture
def aws(monkeypatch):
    """An emulated account with the stack's account id; records every API operation called."""
    for key, value in {
        "MOTO_ACCOUNT_ID": ACCOUNT,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    calls: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def recording(self, operation, params):
        calls.append(operation)
        return original(self, operation, params)

    with mock_aws():
        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
        yield calls


def running_service() -> dict[str, set[str]]:
    """Create what the running service has; return the import ID each resource should get, by type."""
    iam = boto3.client("iam", region_name=REGION)
    sm = boto3.client("secretsmanager", region_name=REGION)
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    shared = {
        name: iam.create_policy(PolicyName=name, Path="/airflow-service/", PolicyDocument=POLICY_DOCUMENT)["Policy"][
            "Arn"
        ]
        for name in ("kms", "athena-read", "athena-write", "cadet")
    }
    expected: dict[str, set[str]] = {t: set() for t in (ROLE, POLICY, ATTACHMENT, SECRET, SECRET_VERSION, OBJECT)}
    expected[SERVICE_ACCOUNT], expected[EXTERNAL_SECRET] = set(), set()
    for (project, workflow), (extra, with_value, attached) in WORKFLOWS.items():
        alias = ALIASES.get(project, project)
        expected[SERVICE_ACCOUNT].add(f"{NAMESPACE}/{alias}-{workflow}")
        # The live bucket's layout (as for its python_dag workflows): dags/<env>/<alias>/<workflow>/dag.py.
        key = f"dags/{STACK}/{alias}/{workflow}/dag.py"
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"# the old DAG\n")
        expected[OBJECT].add(f"{BUCKET}/{key}")
        if "external_role" not in extra:
            role = role_name(project, workflow)
            iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)
            arn = iam.create_policy(PolicyName=role, PolicyDocument=POLICY_DOCUMENT)["Policy"]["Arn"]
            expected[ROLE].add(role)
            expected[POLICY].add(arn)
            for policy in (arn, *(shared[name] for name in attached)):
                iam.attach_role_policy(RoleName=role, PolicyArn=policy)
            # One RolePolicyAttachmentsExclusive per role, imported by the role's name.
            expected[ATTACHMENT].add(role)
        for secret in secrets_of(extra):
            arn = sm.create_secret(Name=secret_name(project, workflow, secret))["ARN"]
            expected[SECRET].add(arn)
            expected[EXTERNAL_SECRET].add(f"{NAMESPACE}/{alias}-{workflow}-{secret}")
            if secret in with_value:
                version = sm.put_secret_value(SecretId=arn, SecretString="set by an analyst")["VersionId"]
                expected[SECRET_VERSION].add(f"{arn}|{version}")
    return expected


def plan(environments: Path, out: Path, *, lookup: bool) -> tuple[int, dict]:
    code = import_plan_command(STACK, environments, out, REPO, lookup=lookup)
    return code, json.loads(out.read_text()) if out.exists() else {}


def ids_by_type(document: dict) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for entry in document["resources"]:
        if not entry.get("component"):
            found.setdefault(entry["type"], set()).add(entry["id"])
    return found


def test_lookup_finds_every_import_id_the_running_service_has(environments, aws, tmp_path, capsys):
    expected = running_service()
    code, document = plan(environments, tmp_path / "import.json", lookup=True)
    output = capsys.readouterr()
    assert code == 0, output.err
    assert ids_by_type(document) == {type_: ids for type_, ids in expected.items() if ids}
    # Not there yet, so created by `pulumi up` rather than imported: the never-set secret's
    # first version, and the platform's runtime files (the old service had none of them).
    assert "secret /airflow/development/demo/job/token has no value yet" in output.err
    assert f"{BUCKET}/dags/analytical_platform/" in output.err
    assert "missing" not in output.err and "error" not in output.err


def test_each_id_belongs_to_its_own_declaration(environments, aws, tmp_path):
    running_service()
    _, document = plan(environments, tmp_path / "import.json", lookup=True)
    registrations = {(r.type, r.name): r for r in run_program(STACK, environments, REPO)}
    for entry in document["resources"]:
        if entry.get("component"):
            continue
        inputs = registrations[(entry["type"], entry["logicalName"])].inputs
        if entry["type"] == ROLE:
            assert entry["id"] == inputs["name"]
        elif entry["type"] == POLICY:
            assert entry["id"] == f"arn:aws:iam::{ACCOUNT}:policy/{inputs['name']}"
        elif entry["type"] == ATTACHMENT:
            assert entry["id"] == inputs["roleName"]
        elif entry["type"] == SECRET:
            assert entry["id"].startswith(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{inputs['name']}-")
        elif entry["type"] == SECRET_VERSION:
            arn, version = entry["id"].split("|")
            assert arn.startswith(inputs["secretId"][: -len("AbCdEf")]) and version
        elif entry["type"] == OBJECT:
            assert entry["id"] == f"{inputs['bucket']}/{inputs['key']}"
        else:
            assert entry["id"] == f"{inputs['metadata']['namespace']}/{inputs['metadata']['name']}"


def test_lookup_is_read_only_and_never_reads_a_secret_value(environments, aws, tmp_path):
    running_service()
    aws.clear()
    plan(environments, tmp_path / "import.json", lookup=True)
    assert "GetSecretValue" not in aws
    # Exactly the permissions docs/migration.md asks for (attachments are imported by role name: no listing).
    assert set(aws) <= {
        "GetCallerIdentity",
        "ListSecrets",
        "ListSecretVersionIds",
        "GetRole",
        "GetPolicy",
        "HeadObject",
    }


def test_a_secret_the_account_lacks_fails_the_lookup_with_a_placeholder(environments, aws, tmp_path, capsys):
    running_service()
    boto3.client("secretsmanager", region_name=REGION).delete_secret(
        SecretId=secret_name("demo", "job", "token"), ForceDeleteWithoutRecovery=True
    )
    code, document = plan(environments, tmp_path / "import.json", lookup=True)
    assert code == 1
    (secret,) = [e for e in document["resources"] if e["type"] == SECRET and e["logicalName"] == "demo/job/token"]
    assert is_placeholder(secret["id"])
    assert "missing: aws:secretsmanager/secret:Secret 'demo/job/token': secret /airflow/development/demo/job/token" in (
        capsys.readouterr().err
    )


def test_a_missing_role_fails_the_lookup(environments, aws, tmp_path, capsys):
    running_service()
    iam = boto3.client("iam", region_name=REGION)
    role = role_name("demo", "job")
    for policy in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=role, PolicyArn=policy["PolicyArn"])
    iam.delete_role(RoleName=role)
    code, _ = plan(environments, tmp_path / "import.json", lookup=True)
    assert code == 1
    assert f"{role} not found in account {ACCOUNT}" in capsys.readouterr().err


def test_credentials_for_another_account_are_refused(environments, aws, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "111122223333")
    code, document = plan(environments, tmp_path / "import.json", lookup=True)
    assert (code, document) == (1, {})
    assert "credentials are for account 111122223333" in capsys.readouterr().err


def real_urn(registration, by_urn, stack: str) -> str:
    """The URN the engine gives a registration: every ancestor's type, the stack's left out."""
    types = [registration.type]
    parent = by_urn.get(registration.parent)
    while parent is not None:
        types.insert(0, parent.type)
        parent = by_urn.get(parent.parent)
    return f"urn:pulumi:{stack}::{PROJECT}::{'$'.join(types)}::{registration.name}"


def example_sets(tmp_root: Path) -> list[tuple[str, Path]]:
    sets = [(stack, EXAMPLES) for stack in ENVIRONMENTS if any((EXAMPLES / stack).glob("*/*/workflow.yml"))]
    return [*sets, (STACK, tmp_root)]


def test_the_file_names_every_declared_resource_once_with_its_type_name_and_parent(environments, tmp_path, capsys):
    for stack, root in example_sets(environments):
        out = tmp_path / f"{stack}-{root.parent.name}.json"
        assert import_plan_command(stack, root, out, REPO, lookup=False) == 0, capsys.readouterr().err
        document = json.loads(out.read_text())
        registrations = run_program(stack, root, REPO)
        by_urn = {r.urn: r for r in registrations}
        entries = document["resources"]
        assert Counter((e["type"], e["logicalName"]) for e in entries) == Counter(
            (r.type, r.name) for r in registrations
        )
        assert sum(1 for e in entries if not e.get("component")) == sum(1 for r in registrations if r.custom)
        by_handle = {e["name"]: e for e in entries}
        (stack_urn,) = document["nameTable"].values()
        for registration in registrations:
            (entry,) = [e for e in entries if (e["type"], e["logicalName"]) == (registration.type, registration.name)]
            assert entry.get("component", False) is not registration.custom
            assert ("id" in entry) is registration.custom
            parent = by_urn.get(registration.parent)
            if parent is None:
                assert registration.parent == stack_urn == document["nameTable"][entry["parent"]]
            else:
                assert (by_handle[entry["parent"]]["type"], by_handle[entry["parent"]]["logicalName"]) == (
                    parent.type,
                    parent.name,
                )
        # What `pulumi import` will call each resource is what `pulumi up` calls it.
        urns = resolve_urns(document, stack, PROJECT)
        assert sorted(urns.values()) == sorted(real_urn(r, by_urn, stack) for r in registrations)


def test_the_command_line_writes_the_file_and_reports_placeholders(environments, tmp_path, capsys):
    out = tmp_path / "plans" / "import.json"
    argv = ["import-plan", "--stack", STACK, "--environments", str(environments), "--out", str(out)]
    assert cli.main(argv) == 0
    output = capsys.readouterr()
    assert "placeholder: aws:secretsmanager/secret:Secret 'demo/job/token'" in output.err
    assert "do not import with this file until it is written with --lookup" in output.err
    assert out.read_text().endswith("\n")
    assert cli.main([*argv[:-1], str(tmp_path / "again.json")]) == 0
    assert (tmp_path / "again.json").read_text() == out.read_text()


def test_an_invalid_manifest_fails_without_a_traceback(environments, tmp_path, capsys):
    (environments / STACK / "demo" / "job" / "workflow.yml").write_text("dag:\n  retires: 3\n")
    argv = ["import-plan", "--stack", STACK, "--environments", str(environments), "--out", str(tmp_path / "i.json")]
    assert cli.main(argv) == 1
    output = capsys.readouterr()
    assert "workflow.yml" in output.err + output.out and "Traceback" not in output.err
    assert not (tmp_path / "i.json").exists()


def test_a_missing_environment_folder_is_a_usage_error(tmp_path, capsys):
    argv = ["import-plan", "--stack", STACK, "--environments", str(tmp_path), "--out", str(tmp_path / "i.json")]
    assert cli.main(argv) == 2
    assert "no folder" in capsys.readouterr().err
