"""``import-plan``: the bulk-import file for the real program, with IDs looked up in an emulated account,
and the differences the first ``pulumi up`` makes to what the account holds.

The emulated data account (moto) is populated the way the running service names and
writes things (reference/live-installation.md) — role and policy
``airflow-<env>-<alias>-<workflow>`` with the IRSA trust of the cluster's OIDC issuer,
the live policy (``s3:CreateMultipartUpload``, ``s3:ListAllMyBuckets`` on bucket ARNs),
attachments to the shared policies under ``/airflow-service/``, secrets
``/airflow/<env>/<alias>/<workflow>/<id>`` under ``alias/secretsmanager/airflow`` with a
replica, the ``UserAccess`` resource policy for principal ``*`` on ``aws:userName``, value
``CHANGEME``, and the running service's default tags — all written out here from that page
and DESIGN.md, not computed by the code under test.
"""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from pathlib import Path

import boto3
import moto.secretsmanager.models
import pytest
import yaml

from shell import cli
from shell.importplan import import_plan_command
from shell.offline import PROJECT, run_program
from tests.conftest import EXAMPLES, MINIMAL, REPO
from tests.shell.emulated_aws import emulated_account
from workflows.model import ENVIRONMENTS
from workflows.review.importplan import (
    ATTACHMENT,
    EXTERNAL_SECRET,
    OBJECT,
    POLICY,
    ROLE,
    SECRET,
    SERVICE_ACCOUNT,
    is_placeholder,
    resolve_urns,
)

SHARED_SECRETS = "analytical-platform:workflows:SharedSecrets"
STACK = "development"
SETTINGS = yaml.safe_load((REPO / f"Pulumi.{STACK}.yaml").read_text())["config"]
ACCOUNT = str(SETTINGS["platform:accounts"]["data"]["id"])
REGION = SETTINGS["aws:region"]
REPLICA_REGION = SETTINGS["platform:replicaRegion"]
ALIASES = SETTINGS.get("platform:projectAliases") or {}
NAMESPACE = SETTINGS.get("platform:namespace", "mwaa")
KMS_ALIAS = "alias/secretsmanager/airflow"
# DescribeSecret reports a key given by alias as the alias's ARN.
KMS_ALIAS_ARN = {region: f"arn:aws:kms:{region}:{ACCOUNT}:{KMS_ALIAS}" for region in (REGION, REPLICA_REGION)}
# The cluster's OIDC issuer, as the running service's trust policies name it.
# The stack files read the cluster facts at plan time; offline, the example issuer stands in.
OIDC = "oidc.eks.eu-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
# The running service's provider default tags: on every resource it created.
LIVE_TAGS = {
    "business-unit": "Platforms",
    "application": "Analytical Platform",
    "component": "Airflow Service",
    "environment": "development",
    "is-production": "false",
    "owner": "analytical-platform:analytical-platform@digital.justice.gov.uk",
    "infrastructure-support": "analytical-platform:analytical-platform@digital.justice.gov.uk",
    "source-code": "github.com/ministryofjustice/analytical-platform-airflow/terraform",
}
SHARED_POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]}
)
# The running service's write grants (reference/live-installation.md), CreateMultipartUpload included.
LIVE_READ_WRITE = [
    "s3:GetObject",
    "s3:GetObjectAcl",
    "s3:GetObjectTagging",
    "s3:GetObjectVersion",
    "s3:PutObject",
    "s3:PutObjectAcl",
    "s3:PutObjectTagging",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:RestoreObject",
    "s3:CreateMultipartUpload",
]

# (project, workflow) -> (manifest extra, shared policies the service attaches, its live s3_read_write paths)
WORKFLOWS = {
    ("electronic-monitoring-data-store", "load"): (
        "iam:\n  s3_read_write:\n    - mojap-land/emds/*\nsecrets: [api-key, db-passwd]\n",
        ("kms",),
        ("mojap-land/emds/*",),
    ),
    ("demo", "job"): ("iam:\n  athena: write\nsecrets: [token]\n", ("kms", "athena-read", "athena-write"), ()),
    ("demo", "external"): ("iam:\n  external_role: arn:aws:iam::593291632749:role/elsewhere\n", (), ()),
    ("analytical-platform", "cadet-daily"): ("", ("kms", "cadet"), ()),
}


def role_name(project: str, workflow: str) -> str:
    return f"airflow-{STACK}-{ALIASES.get(project, project)}-{workflow}"


def secret_name(project: str, workflow: str, secret: str) -> str:
    return f"/airflow/{STACK}/{ALIASES.get(project, project)}/{workflow}/{secret}"


def secrets_of(extra: str) -> list[str]:
    return (yaml.safe_load(extra) or {}).get("secrets", []) if extra else []


def live_trust(service_account: str) -> str:
    """The IRSA trust as the running service's Terraform writes it (no Sid)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{OIDC}"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{OIDC}:sub": f"system:serviceaccount:{NAMESPACE}:{service_account}",
                            f"{OIDC}:aud": "sts.amazonaws.com",
                        }
                    },
                }
            ],
        }
    )


def live_policy(alias: str, workflow: str, read_write: tuple[str, ...]) -> str:
    """The workflow policy as the running service writes it."""
    statements = [
        {
            "Sid": "SecretsManagerRead",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": [
                f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:/airflow/{STACK}/{alias}/{workflow}/*"
                for region in (REGION, REPLICA_REGION)
            ],
        }
    ]
    if read_write:
        buckets = sorted({f"arn:aws:s3:::{path.split('/', 1)[0]}" for path in read_write})
        statements += [
            {
                "Sid": "S3Buckets",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListAllMyBuckets"],
                "Resource": buckets,
            },
            {
                "Sid": "S3ReadWrite",
                "Effect": "Allow",
                "Action": LIVE_READ_WRITE,
                "Resource": [f"arn:aws:s3:::{path}" for path in read_write],
            },
        ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def user_access(maintainers: list[str]) -> str:
    """The running service's secret resource policy: principal * conditioned on aws:userName."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "UserAccess",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": [
                        "secretsmanager:DescribeSecret",
                        "secretsmanager:GetSecretValue",
                        "secretsmanager:PutSecretValue",
                    ],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:userName": [m.lower() for m in maintainers]}},
                }
            ],
        }
    )


@pytest.fixture
def environments(tmp_path: Path) -> Path:
    root = tmp_path / "environments"
    for (project, workflow), (extra, _, _) in WORKFLOWS.items():
        path = root / STACK / project / workflow / "workflow.yml"
        path.parent.mkdir(parents=True)
        path.write_text(textwrap.dedent(MINIMAL).lstrip("\n") + extra)
    return root


def _replicas_with_their_keys(original):
    """``create_replicas`` keeping each replica's KMS key, as AWS does (moto 5.2 reports the default key)."""

    def create_replicas(self, replica_regions, force_overwrite):
        replicas = original(self, replica_regions, force_overwrite)
        for replica, config in zip(replicas, replica_regions or [], strict=True):
            replica.config["KmsKeyId"] = config.get("KmsKeyId", replica.config["KmsKeyId"])
        return replicas

    return create_replicas


@pytest.fixture
def aws(monkeypatch):
    """An emulated data account; records every API operation called."""
    fake_secret = moto.secretsmanager.models.FakeSecret
    monkeypatch.setattr(fake_secret, "create_replicas", _replicas_with_their_keys(fake_secret.create_replicas))
    with emulated_account(monkeypatch, ACCOUNT, REGION) as calls:
        yield calls


def running_service() -> dict[str, set[str]]:
    """Create what the running service has; return the import ID each resource should get, by type."""
    iam = boto3.client("iam", region_name=REGION)
    sm = boto3.client("secretsmanager", region_name=REGION)
    for region in (REGION, REPLICA_REGION):
        kms = boto3.client("kms", region_name=region)
        kms.create_alias(AliasName=KMS_ALIAS, TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
    tags = [{"Key": k, "Value": v} for k, v in LIVE_TAGS.items()]
    shared = {
        name: iam.create_policy(PolicyName=name, Path="/airflow-service/", PolicyDocument=SHARED_POLICY)["Policy"][
            "Arn"
        ]
        for name in ("kms", "athena-read", "athena-write", "cadet")
    }
    expected: dict[str, set[str]] = {t: set() for t in (ROLE, POLICY, ATTACHMENT, SECRET)}
    expected[SERVICE_ACCOUNT], expected[EXTERNAL_SECRET] = set(), set()
    for (project, workflow), (extra, attached, read_write) in WORKFLOWS.items():
        alias = ALIASES.get(project, project)
        expected[SERVICE_ACCOUNT].add(f"{NAMESPACE}/{alias}-{workflow}")
        if "external_role" not in extra:
            role = role_name(project, workflow)
            iam.create_role(
                RoleName=role,
                AssumeRolePolicyDocument=live_trust(f"{alias}-{workflow}"),
                MaxSessionDuration=43200,
                Tags=tags,
            )
            arn = iam.create_policy(
                PolicyName=role, PolicyDocument=live_policy(alias, workflow, read_write), Tags=tags
            )["Policy"]["Arn"]
            expected[ROLE].add(role)
            expected[POLICY].add(arn)
            for policy in (arn, *(shared[name] for name in attached)):
                iam.attach_role_policy(RoleName=role, PolicyArn=policy)
            # One RolePolicyAttachmentsExclusive per role, imported by the role's name.
            expected[ATTACHMENT].add(role)
        for secret in secrets_of(extra):
            arn = sm.create_secret(
                Name=secret_name(project, workflow, secret),
                KmsKeyId=KMS_ALIAS_ARN[REGION],
                AddReplicaRegions=[{"Region": REPLICA_REGION, "KmsKeyId": KMS_ALIAS_ARN[REPLICA_REGION]}],
                Tags=tags,
            )["ARN"]
            sm.put_secret_value(SecretId=arn, SecretString="CHANGEME")
            sm.put_resource_policy(SecretId=arn, ResourcePolicy=user_access(["octo-analyst"]))
            expected[SECRET].add(arn)
            expected[EXTERNAL_SECRET].add(f"{NAMESPACE}/{alias}-{workflow}-{secret}")
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
    # No secret version and no S3 object: versions are never imported, objects are uploaded.
    assert ids_by_type(document) == {type_: ids for type_, ids in expected.items() if ids}
    assert "missing" not in output.err and "error" not in output.err
    # Every resource goes through its account's provider, which must be in state before the import.
    providers = {entry["type"]: entry.get("provider") for entry in document["resources"] if "id" in entry}
    assert providers == {
        ROLE: "data-account (pulumi:providers:aws)",
        POLICY: "data-account (pulumi:providers:aws)",
        ATTACHMENT: "data-account (pulumi:providers:aws)",
        SECRET: "data-account (pulumi:providers:aws)",
        SERVICE_ACCOUNT: "compute-cluster (pulumi:providers:kubernetes)",
        EXTERNAL_SECRET: "compute-cluster (pulumi:providers:kubernetes)",
    }
    prefix = f"urn:pulumi:{STACK}::{PROJECT}::"
    assert document["nameTable"] == {
        f"{PROJECT}-{STACK}": f"{prefix}pulumi:pulumi:Stack::{PROJECT}-{STACK}",
        "compute-cluster (pulumi:providers:kubernetes)": f"{prefix}pulumi:providers:kubernetes::compute-cluster",
        "data-account (pulumi:providers:aws)": f"{prefix}pulumi:providers:aws::data-account",
    }
    assert (
        f"first: pulumi up --stack {STACK} --target '{prefix}pulumi:providers:aws::data-account' "
        f"--target '{prefix}pulumi:providers:kubernetes::compute-cluster'"
    ) in output.out


def test_dag_and_runtime_files_are_uploaded_not_imported(environments, aws, tmp_path, capsys):
    running_service()
    plan(environments, tmp_path / "import.json", lookup=True)
    err = capsys.readouterr().err
    bucket = SETTINGS["platform:mwaaBucket"]
    # A workflow's generated DAG: at a key the running service does not use (it keeps workflow.yml there).
    assert (
        "not imported: aws:s3/bucketObjectv2:BucketObjectv2 'demo/job': the first `pulumi up` uploads "
        f"{bucket}/dags/{STACK}/demo/job/dag.py, a key the running service does not use"
    ) in err
    # The runtime package: same path as the running service's, so its files are replaced.
    assert (
        "not imported: aws:s3/bucketObjectv2:BucketObjectv2 'dags/analytical_platform/standard_operator.py': the "
        f"first `pulumi up` uploads {bucket}/dags/analytical_platform/standard_operator.py over the running "
        "service's file of that key"
    ) in err


def test_lookup_prints_every_difference_the_first_up_makes(environments, aws, tmp_path, capsys):
    running_service()
    code, _ = plan(environments, tmp_path / "import.json", lookup=True)
    out = capsys.readouterr().out
    assert code == 0
    report = out.split("differences the first `pulumi up` makes to what exists (live → declared):\n", 1)[1]
    blocks = blocks_by_workflow(report)
    assert blocks["electronic-monitoring-data-store/load"] == EMDS_LOAD
    assert blocks["demo/job"] == DEMO_JOB


def blocks_by_workflow(report: str) -> dict[str, list[str]]:
    blocks: dict[str, list[str]] = {}
    current: list[str] = []
    for line in report.splitlines():
        if line and not line.startswith(" ") and line.endswith(":"):
            current = blocks.setdefault(line[:-1], [])
        elif line.startswith(" "):
            current.append(line)
    return blocks


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
        else:
            assert entry["id"] == f"{inputs['metadata']['namespace']}/{inputs['metadata']['name']}"


# Exactly the operations docs/migration.md asks permissions for; no value, no version list.
LOOKUP_OPERATIONS = {
    "sts:GetCallerIdentity",
    "iam:GetRole",
    "iam:ListAttachedRolePolicies",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "secretsmanager:ListSecrets",
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetResourcePolicy",
    "kms:DescribeKey",
}


def test_lookup_is_read_only_and_never_reads_a_secret_value(environments, aws, tmp_path):
    running_service()
    aws.clear()
    plan(environments, tmp_path / "import.json", lookup=True)
    assert set(aws) == LOOKUP_OPERATIONS


def test_a_secret_the_account_lacks_fails_the_lookup_with_a_placeholder(environments, aws, tmp_path, capsys):
    running_service()
    sm = boto3.client("secretsmanager", region_name=REGION)
    sm.remove_regions_from_replication(
        SecretId=secret_name("demo", "job", "token"), RemoveReplicaRegions=[REPLICA_REGION]
    )
    sm.delete_secret(SecretId=secret_name("demo", "job", "token"), ForceDeleteWithoutRecovery=True)
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
    assert (
        "credentials are for account 111122223333, but the roles, policies and secrets of stack development "
        f"are in account {ACCOUNT} (platform:accounts.data.id)"
    ) in capsys.readouterr().err


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
        # Every registration but the providers (in state before the import), the S3 objects (uploaded) and a
        # project's shared secrets (the SharedSecrets component and its children: created by `pulumi up`).
        shared = {r.urn for r in registrations if r.type == SHARED_SECRETS}
        imported = [
            r
            for r in registrations
            if not r.type.startswith("pulumi:providers:")
            and r.type != OBJECT
            and r.urn not in shared
            and r.parent not in shared
        ]
        assert Counter((e["type"], e["logicalName"]) for e in entries) == Counter((r.type, r.name) for r in imported)
        assert sum(1 for e in entries if not e.get("component")) == sum(1 for r in imported if r.custom)
        by_handle = {e["name"]: e for e in entries}
        stack_urn = document["nameTable"][f"{PROJECT}-{stack}"]
        for registration in imported:
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
        assert sorted(urns.values()) == sorted(real_urn(r, by_urn, stack) for r in imported)


def test_the_command_line_writes_the_file_and_reports_placeholders(environments, tmp_path, capsys):
    out = tmp_path / "plans" / "import.json"
    argv = ["import-plan", "--stack", STACK, "--environments", str(environments), "--out", str(out)]
    assert cli.main(argv) == 0
    output = capsys.readouterr()
    assert "placeholder: aws:secretsmanager/secret:Secret 'demo/job/token'" in output.err
    assert "differences the first" not in output.out  # compared only with --lookup
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


# What the first `pulumi up` changes for each workflow, written out from the live shapes above and
# what the stack declares (DESIGN.md; docs/migration.md, "Corrections to grants"):
# - tags: the workflow's own are added (its manifest's owner, airflow-project, airflow-workflow);
# - the trust gets a Sid, and nothing else changes in it;
# - grants: CreateMultipartUpload (not an IAM action) gives way to the real multipart actions, and
#   ListAllMyBuckets moves from the bucket ARN (where it matches nothing) to "*";
# - secrets: a description; the UserAccess statement (principal *, aws:userName) becomes the
#   maintainers' statement (the data account's principals, aws:userid); KMS keys and replicas stay.
def workflow_tags(project: str, workflow: str) -> list[str]:
    return [
        f"    tag added: airflow-project='{project}'",
        f"    tag added: airflow-workflow='{workflow}'",
        "    tag owner: 'analytical-platform:analytical-platform@digital.justice.gov.uk' → 'someone@justice.gov.uk'",
    ]


TRUST_SID = ["    trust statement Sid: (none) → 'ServiceAccount' (otherwise the same)"]
SECRET_ACTIONS = (
    '"Action":["secretsmanager:DescribeSecret","secretsmanager:GetSecretValue","secretsmanager:PutSecretValue"]'
)
SECRET_POLICY = [
    f'    resource policy statement removed: {{{SECRET_ACTIONS},"Condition":{{"StringEquals":{{"aws:userName":'
    '["octo-analyst"]}},"Effect":"Allow","Principal":{"AWS":["*"]},"Resource":["*"],"Sid":"UserAccess"}',
    f'    resource policy statement added: {{{SECRET_ACTIONS},"Condition":{{"StringLike":{{"aws:userid":'
    f'["*:octo-analyst"]}}}},"Effect":"Allow","Principal":{{"AWS":["arn:aws:iam::{ACCOUNT}:root"]}},'
    '"Resource":["*"],"Sid":"MaintainersReadAndPut"}',
]


def secret_block(alias: str, project: str, workflow: str, secret: str) -> list[str]:
    return [
        f"  secret /airflow/development/{alias}/{workflow}/{secret}:",
        f"    description: (none) → 'Airflow secret {secret} of {project}/{workflow} (development), set by its "
        "maintainers'",
        *SECRET_POLICY,
        *workflow_tags(project, workflow),
    ]


EMDS = "electronic-monitoring-data-store"
# Issue 12: every generated policy denies the platform buckets (a second line of defence).
PLATFORM_DENY = [
    "    grant added: Deny s3:* on arn:aws:s3:::mojap-compute-development-mwaa",
    "    grant added: Deny s3:* on arn:aws:s3:::mojap-compute-development-mwaa/*",
    "    grant added: Deny s3:* on arn:aws:s3:::mojap-compute-production-mwaa",
    "    grant added: Deny s3:* on arn:aws:s3:::mojap-compute-production-mwaa/*",
    "    grant added: Deny s3:* on arn:aws:s3:::mojap-compute-test-mwaa",
    "    grant added: Deny s3:* on arn:aws:s3:::mojap-compute-test-mwaa/*",
]
EMDS_LOAD = [
    "  policy airflow-development-emds-load:",
    "    grant removed: Allow s3:ListAllMyBuckets on arn:aws:s3:::mojap-land",
    "    grant removed: Allow s3:CreateMultipartUpload on arn:aws:s3:::mojap-land/emds/*",
    "    grant added: Allow s3:ListAllMyBuckets on *",
    *PLATFORM_DENY,
    "    grant added: Allow s3:AbortMultipartUpload, s3:ListMultipartUploadParts on arn:aws:s3:::mojap-land/emds/*",
    *workflow_tags(EMDS, "load"),
    "  role airflow-development-emds-load:",
    *TRUST_SID,
    *workflow_tags(EMDS, "load"),
    *secret_block("emds", EMDS, "load", "api-key"),
    *secret_block("emds", EMDS, "load", "db-passwd"),
]
DEMO_JOB = [
    "  policy airflow-development-demo-job:",
    *PLATFORM_DENY,
    *workflow_tags("demo", "job"),
    "  role airflow-development-demo-job:",
    *TRUST_SID,
    *workflow_tags("demo", "job"),
    *secret_block("demo", "demo", "job", "token"),
]


# --- A project's shared secrets: the running service has none; created by the first `pulumi up` -------------


@pytest.fixture
def with_shared_secrets(environments: Path) -> Path:
    """``demo`` declares two shared secrets (project.yml); ``demo/job`` reads one, the aliased project's ``load``
    the other project's."""
    (environments / STACK / "demo" / "project.yml").write_text("secrets: [login, spare]\nmaintainers: [octo-analyst]\n")
    (environments / STACK / EMDS / "project.yml").write_text("secrets: [warehouse]\nmaintainers: [octo-analyst]\n")
    for project, workflow, listed in (("demo", "job", "login"), (EMDS, "load", "warehouse")):
        path = environments / STACK / project / workflow / "workflow.yml"
        path.write_text(path.read_text() + f"shared_secrets: [{listed}]\n")
    return environments


def test_shared_secrets_are_created_by_the_first_up_never_imported_nor_looked_up(
    with_shared_secrets, aws, tmp_path, capsys
):
    expected = running_service()
    aws.clear()
    code, document = plan(with_shared_secrets, tmp_path / "import.json", lookup=True)
    output = capsys.readouterr()
    # Nothing is missing: the running service has no shared secret, and none is asked for.
    assert code == 0, output.err
    assert "missing" not in output.err and "error" not in output.err
    assert ids_by_type(document) == {type_: ids for type_, ids in expected.items() if ids}
    assert not [e for e in document["resources"] if "/shared" in e["logicalName"]]
    assert set(aws) == LOOKUP_OPERATIONS
    created = [line for line in output.err.splitlines() if "shared" in line]
    assert created == [
        "not imported: analytical-platform:workflows:SharedSecrets 'demo/shared' and its resources: the running "
        "service has none (a project's shared secrets), the first `pulumi up` creates them",
        "not imported: aws:secretsmanager/secret:Secret 'demo/shared/login': the first `pulumi up` creates it",
        "not imported: aws:secretsmanager/secret:Secret 'demo/shared/spare': the first `pulumi up` creates it",
        "not imported: kubernetes:external-secrets.io/v1:ExternalSecret 'demo/shared/login': the first `pulumi up` "
        "creates it",
        "not imported: kubernetes:external-secrets.io/v1:ExternalSecret 'demo/shared/spare': the first `pulumi up` "
        "creates it",
        "not imported: analytical-platform:workflows:SharedSecrets 'electronic-monitoring-data-store/shared' and its "
        "resources: the running service has none (a project's shared secrets), the first `pulumi up` creates them",
        "not imported: aws:secretsmanager/secret:Secret 'electronic-monitoring-data-store/shared/warehouse': the "
        "first `pulumi up` creates it",
        "not imported: kubernetes:external-secrets.io/v1:ExternalSecret "
        "'electronic-monitoring-data-store/shared/warehouse': the first `pulumi up` creates it",
    ]
    # The workflows that read them are imported as ever; the first `pulumi up` adds the read to their policies.
    report = output.out.split("differences the first `pulumi up` makes to what exists (live → declared):\n", 1)[1]
    assert (
        "    grant added: Allow secretsmanager:GetSecretValue on arn:aws:secretsmanager:eu-west-2:"
        f"{ACCOUNT}:secret:/airflow/development/demo/shared/login-??????"
    ) in blocks_by_workflow(report)["demo/job"]
    assert "shared" not in "".join(line for line in report.splitlines() if line.startswith("  secret "))
    # The file is one `pulumi import` accepts.
    resolve_urns(document, STACK, PROJECT)


def test_without_lookup_shared_secrets_are_no_placeholders(with_shared_secrets, tmp_path, capsys):
    code, document = plan(with_shared_secrets, tmp_path / "import.json", lookup=False)
    err = capsys.readouterr().err
    assert code == 0
    assert "placeholder: aws:secretsmanager/secret:Secret 'demo/job/token'" in err
    assert not [line for line in err.splitlines() if line.startswith("placeholder:") and "/shared/" in line]
    assert {e["logicalName"] for e in document["resources"] if "shared" in e["logicalName"]} == set()
