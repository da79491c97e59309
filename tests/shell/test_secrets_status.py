"""``secrets-status`` against an emulated data account (moto, in-process).

The account is populated the way the running service writes secrets
(``/airflow/<env>/<alias>/<workflow>/<id>``, KMS key ``alias/secretsmanager/airflow``,
value ``CHANGEME`` written right after the secret is created), and the way this stack
does (a secret with no value until a maintainer sets one), with the clock moved on
between events. Names and links here are written out from DESIGN.md and the user
guide, not computed by the code under test.
"""

from __future__ import annotations

import http.server
import json
import textwrap
import types
from pathlib import Path

import boto3
import moto.secretsmanager.models
import pytest
import yaml

from shell import cli
from tests.conftest import MINIMAL, REPO
from tests.fake_http import JsonHandler, serving
from tests.shell.emulated_aws import emulated_account

STACK = "development"
SETTINGS = yaml.safe_load((REPO / f"Pulumi.{STACK}.yaml").read_text())["config"]
ACCOUNT = str(SETTINGS["platform:accounts"]["data"]["id"])
REGION = SETTINGS["aws:region"]
KMS_ALIAS = "alias/secretsmanager/airflow"
START = 1_740_000_000  # 2025-02-19: when the running service created its secrets

WORKFLOWS = {
    # project, workflow: secrets
    ("electronic-monitoring-data-store", "load"): ["api-key", "db-passwd"],
    ("demo", "job"): ["token"],
    ("demo", "fresh"): ["key", "set-later", "not-created"],
    ("demo", "no-secrets"): [],
}


def link(name: str) -> str:
    encoded = name.replace("/", "%2F")
    return f"https://{REGION}.console.aws.amazon.com/secretsmanager/secret?name={encoded}&region={REGION}"


@pytest.fixture
def environments(tmp_path: Path) -> Path:
    root = tmp_path / "environments"
    for (project, workflow), secrets in WORKFLOWS.items():
        path = root / STACK / project / workflow / "workflow.yml"
        path.parent.mkdir(parents=True)
        extra = f"secrets: [{', '.join(secrets)}]\n" if secrets else ""
        path.write_text(textwrap.dedent(MINIMAL).lstrip("\n") + extra)
    return root


def _version_ids_with_their_dates(self, secret_id: str) -> str:
    """``ListSecretVersionIds`` as AWS answers it: each version's own creation date (moto 5.2 gives every
    version the current time)."""
    secret = self.secrets[secret_id]
    versions = [
        {"CreatedDate": version["createdate"], "VersionId": version_id, "VersionStages": version["version_stages"]}
        for version_id, version in secret.versions.items()
    ]
    return json.dumps({"ARN": secret.arn, "Name": secret.name, "Versions": versions})


@pytest.fixture
def clock(monkeypatch) -> list[int]:
    """The emulator's clock (seconds since the epoch) for secret and version creation dates."""
    now = [START]
    monkeypatch.setattr(moto.secretsmanager.models, "time", types.SimpleNamespace(time=lambda: now[0]))
    monkeypatch.setattr(
        moto.secretsmanager.models.SecretsManagerBackend, "list_secret_version_ids", _version_ids_with_their_dates
    )
    return now


@pytest.fixture
def aws(monkeypatch, clock):
    """An emulated data account; records every API operation called."""
    with emulated_account(monkeypatch, ACCOUNT, REGION) as calls:
        yield calls


# Version metadata only: never GetSecretValue.
METADATA_OPERATIONS = {"sts:GetCallerIdentity", "secretsmanager:ListSecrets", "secretsmanager:ListSecretVersionIds"}


def populate(clock: list[int]) -> None:
    sm = boto3.client("secretsmanager", region_name=REGION)

    def running_service_secret(name: str) -> str:
        """As the running service's Terraform writes a secret: created, then CHANGEME seconds later."""
        arn = sm.create_secret(
            Name=name,
            KmsKeyId=KMS_ALIAS,
            AddReplicaRegions=[{"Region": "eu-west-1", "KmsKeyId": KMS_ALIAS}],
        )["ARN"]
        clock[0] += 2
        sm.put_secret_value(SecretId=arn, SecretString="CHANGEME")
        return arn

    running_service_secret("/airflow/development/emds/load/api-key")
    changed = running_service_secret("/airflow/development/emds/load/db-passwd")
    running_service_secret("/airflow/development/demo/job/token")
    clock[0] += 30 * 86400  # a month later, a maintainer sets db-passwd
    sm.put_secret_value(SecretId=changed, SecretString="set by a maintainer")
    # This stack creates its secrets without a value; one maintainer sets theirs an hour later.
    sm.create_secret(Name="/airflow/development/demo/fresh/key", KmsKeyId=KMS_ALIAS)
    later = sm.create_secret(Name="/airflow/development/demo/fresh/set-later", KmsKeyId=KMS_ALIAS)["ARN"]
    clock[0] += 3600
    sm.put_secret_value(SecretId=later, SecretString="set by a maintainer")
    # Names that only start like a declared one are not it.
    sm.create_secret(Name="/airflow/development/demo/fresh/key-old", KmsKeyId=KMS_ALIAS)


def run(environments: Path) -> int:
    return cli.main(["secrets-status", "--stack", STACK, "--environments", str(environments)])


def test_lists_per_workflow_every_secret_still_without_a_maintainers_value(environments, aws, clock, capsys):
    populate(clock)
    assert run(environments) == 0
    output = capsys.readouterr()
    assert output.out.splitlines() == [
        f"stack development (account {ACCOUNT}, {REGION}): 4 of 6 secret(s) still need a value from their "
        "maintainers (no value was read)",
        "demo/fresh (maintainers: octo-analyst):",
        "  /airflow/development/demo/fresh/key: no value yet",
        f"    set it: {link('/airflow/development/demo/fresh/key')}",
        "  /airflow/development/demo/fresh/not-created: does not exist yet: the next `pulumi up` creates it, "
        "then it needs a value",
        f"    set it: {link('/airflow/development/demo/fresh/not-created')}",
        "demo/job (maintainers: octo-analyst):",
        "  /airflow/development/demo/job/token: still the running service's placeholder",
        f"    set it: {link('/airflow/development/demo/job/token')}",
        "electronic-monitoring-data-store/load (maintainers: octo-analyst):",
        "  /airflow/development/emds/load/api-key: still the running service's placeholder",
        f"    set it: {link('/airflow/development/emds/load/api-key')}",
    ]
    assert output.err == ""


def test_reads_version_metadata_only_never_a_value(environments, aws, clock):
    populate(clock)
    aws.clear()
    assert run(environments) == 0
    assert set(aws) == METADATA_OPERATIONS


def test_a_secret_scheduled_for_deletion_is_reported(environments, aws, clock, capsys):
    populate(clock)
    boto3.client("secretsmanager", region_name=REGION).delete_secret(
        SecretId="/airflow/development/demo/fresh/set-later", RecoveryWindowInDays=7
    )
    assert run(environments) == 0
    assert "  /airflow/development/demo/fresh/set-later: scheduled for deletion: restore it" in capsys.readouterr().out


def test_all_set_says_so(environments, aws, clock, capsys):
    for (project, workflow), _ in WORKFLOWS.items():
        if workflow != "no-secrets":
            (environments / STACK / project / workflow / "workflow.yml").unlink()
            (environments / STACK / project / workflow).rmdir()
    assert run(environments) == 0
    assert capsys.readouterr().out == (
        f"stack development (account {ACCOUNT}, {REGION}): all 0 secret(s) have a value set by their maintainers "
        "(no value was read)\n"
    )


def test_credentials_for_another_account_are_refused(environments, aws, capsys, monkeypatch):
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "111122223333")
    assert run(environments) == 2
    error = capsys.readouterr().err
    assert (
        f"the AWS credentials are for account 111122223333, but the roles, policies and secrets of stack "
        f"development are in account {ACCOUNT} (platform:accounts.data.id)" in error
    )


class _Recorder(JsonHandler):
    requests: list[str] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        _Recorder.requests.append(self.rfile.read(length).decode())
        body = b"<ErrorResponse><Error><Code>Unreachable</Code><Message>test endpoint</Message></Error></ErrorResponse>"
        self.answer(503, body, "text/xml")


def test_aws_endpoint_url_is_honoured_and_an_unreachable_aws_exits_2(environments, monkeypatch, capsys):
    with serving(http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)) as url:
        for key, value in {
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_MAX_ATTEMPTS": "1",
        }.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        _Recorder.requests.clear()
        assert run(environments) == 2
    assert any("Action=GetCallerIdentity" in request for request in _Recorder.requests)
    assert "error: cannot reach AWS" in capsys.readouterr().err


def test_an_invalid_manifest_fails_without_a_traceback(environments, capsys):
    (environments / STACK / "demo" / "job" / "workflow.yml").write_text("dag:\n  retires: 3\n")
    assert run(environments) == 1
    output = capsys.readouterr()
    assert "workflow.yml" in output.err + output.out and "Traceback" not in output.err


# A project's shared secrets (project.yml): the project's maintainers set them, and each names the workflows
# that read it. Names written out from the design: /airflow/<env>/<alias>/shared/<id>, owner <project>/shared.
PROJECT_FILES = {
    "demo": "secrets: [warehouse-login, spare, set-already]\nmaintainers: [project-lead, octo-analyst]\n",
    "electronic-monitoring-data-store": "secrets: [warehouse]\nmaintainers: [emds-lead]\n",
}
SHARED_USES = {
    ("demo", "job"): "shared_secrets: [warehouse-login, set-already]\n",
    ("demo", "fresh"): "shared_secrets: [warehouse-login]\n",
    ("electronic-monitoring-data-store", "load"): "shared_secrets: [warehouse]\n",
}


@pytest.fixture
def with_projects(environments: Path) -> Path:
    for project, text in PROJECT_FILES.items():
        (environments / STACK / project / "project.yml").write_text(text)
    for (project, workflow), text in SHARED_USES.items():
        path = environments / STACK / project / workflow / "workflow.yml"
        path.write_text(path.read_text() + text)
    return environments


def test_the_projects_shared_secrets_are_reported_to_the_projects_maintainers(with_projects, aws, clock, capsys):
    populate(clock)
    sm = boto3.client("secretsmanager", region_name=REGION)
    # This stack creates shared secrets without a value; a project maintainer sets one of them later.
    sm.create_secret(Name="/airflow/development/demo/shared/warehouse-login", KmsKeyId=KMS_ALIAS)
    later = sm.create_secret(Name="/airflow/development/demo/shared/set-already", KmsKeyId=KMS_ALIAS)["ARN"]
    clock[0] += 3600
    sm.put_secret_value(SecretId=later, SecretString="set by a project maintainer")
    assert run(with_projects) == 0
    output = capsys.readouterr()
    assert output.out.splitlines() == [
        f"stack development (account {ACCOUNT}, {REGION}): 7 of 10 secret(s) still need a value from their "
        "maintainers (no value was read)",
        "demo/fresh (maintainers: octo-analyst):",
        "  /airflow/development/demo/fresh/key: no value yet",
        f"    set it: {link('/airflow/development/demo/fresh/key')}",
        "  /airflow/development/demo/fresh/not-created: does not exist yet: the next `pulumi up` creates it, "
        "then it needs a value",
        f"    set it: {link('/airflow/development/demo/fresh/not-created')}",
        "demo/job (maintainers: octo-analyst):",
        "  /airflow/development/demo/job/token: still the running service's placeholder",
        f"    set it: {link('/airflow/development/demo/job/token')}",
        "demo/shared (shared by the project's workflows, project.yml; maintainers: project-lead, octo-analyst):",
        "  /airflow/development/demo/shared/spare: does not exist yet: the next `pulumi up` creates it, "
        "then it needs a value",
        "    read by: no workflow yet",
        f"    set it: {link('/airflow/development/demo/shared/spare')}",
        "  /airflow/development/demo/shared/warehouse-login: no value yet",
        "    read by: fresh, job",
        f"    set it: {link('/airflow/development/demo/shared/warehouse-login')}",
        "electronic-monitoring-data-store/load (maintainers: octo-analyst):",
        "  /airflow/development/emds/load/api-key: still the running service's placeholder",
        f"    set it: {link('/airflow/development/emds/load/api-key')}",
        # The project alias names the secret, the project folder its owner.
        "electronic-monitoring-data-store/shared (shared by the project's workflows, project.yml; "
        "maintainers: emds-lead):",
        "  /airflow/development/emds/shared/warehouse: does not exist yet: the next `pulumi up` creates it, "
        "then it needs a value",
        "    read by: load",
        f"    set it: {link('/airflow/development/emds/shared/warehouse')}",
    ]
    assert output.err == ""


def test_shared_secrets_are_read_as_metadata_only_too(with_projects, aws, clock):
    populate(clock)
    boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="/airflow/development/demo/shared/warehouse-login", KmsKeyId=KMS_ALIAS
    )
    aws.clear()
    assert run(with_projects) == 0
    assert set(aws) == METADATA_OPERATIONS


def test_an_invalid_project_file_fails_without_a_traceback(with_projects, capsys):
    (with_projects / STACK / "demo" / "project.yml").write_text("secrets: [warehouse-login]\n")
    assert run(with_projects) == 1
    output = capsys.readouterr()
    assert "project.yml" in output.err + output.out and "Traceback" not in output.err
