"""The pure part of ``secrets-status``: which secrets still wait for a maintainer, from version metadata only."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import REPO
from workflows.review.secrets_status import (
    DeclaredSecret,
    OwnerStatus,
    Pending,
    SecretHistory,
    format_report,
    secrets_to_set,
    status,
)
from workflows.runtime_modules import identity

CREATED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
REGION = "eu-west-2"
PLACEHOLDER = "still the running service's placeholder"
TOKEN = "/airflow/development/demo/job/token"
API_KEY = "/airflow/development/demo/job/api-key"


def link(name: str) -> str:
    return identity.console_link(REGION, name)


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        (None, "does not exist yet: the next `pulumi up` creates it, then it needs a value"),
        (SecretHistory(created=CREATED), "no value yet"),
        # The running service wrote CHANGEME right after creating the secret, and nobody changed it since.
        (
            SecretHistory(created=CREATED, versions=(CREATED + timedelta(seconds=3),)),
            "still the running service's placeholder",
        ),
        (
            SecretHistory(created=CREATED, versions=(CREATED + timedelta(minutes=5),)),
            "still the running service's placeholder",
        ),
        # This stack's secret, set once by its maintainer an hour after the deploy created it.
        (SecretHistory(created=CREATED, versions=(CREATED + timedelta(hours=1),)), None),
        # The placeholder, then a maintainer's value (the placeholder is now deprecated or AWSPREVIOUS).
        (SecretHistory(created=CREATED, versions=(CREATED, CREATED + timedelta(days=2))), None),
        (
            SecretHistory(created=CREATED, deleted="2025-04-01 00:00:00+00:00"),
            "scheduled for deletion: restore it (aws secretsmanager restore-secret) or remove it "
            "(deleted 2025-04-01 00:00:00+00:00)",
        ),
        (SecretHistory(created=CREATED, unreadable="AccessDenied"), "could not be checked: AccessDenied"),
    ],
)
def test_status(history, expected):
    assert status(history) == expected


def test_the_console_link_is_the_user_guide_one_with_the_path_encoded():
    assert identity.console_link("eu-west-2", "/airflow/development/emds/load/api-key") == (
        "https://eu-west-2.console.aws.amazon.com/secretsmanager/secret"
        "?name=%2Fairflow%2Fdevelopment%2Femds%2Fload%2Fapi-key&region=eu-west-2"
    )


def test_secrets_to_set_lists_only_what_waits_per_workflow_sorted():
    declared = [
        DeclaredSecret("demo/job", "/airflow/development/demo/job/token", ("octo", "Ana")),
        DeclaredSecret("demo/job", "/airflow/development/demo/job/api-key", ("octo", "Ana")),
        DeclaredSecret("demo/all-set", "/airflow/development/demo/all-set/key", ("bo",)),
        DeclaredSecret("alpha/new", "/airflow/development/alpha/new/key", ("cy",)),
    ]
    live = {
        "/airflow/development/demo/job/token": SecretHistory(created=CREATED, versions=(CREATED,)),
        "/airflow/development/demo/job/api-key": SecretHistory(created=CREATED),
        "/airflow/development/demo/all-set/key": SecretHistory(created=CREATED, versions=(CREATED, CREATED)),
    }
    assert secrets_to_set(declared, live, REGION) == [
        OwnerStatus(
            "alpha/new",
            ("cy",),
            (
                Pending(
                    "/airflow/development/alpha/new/key",
                    "does not exist yet: the next `pulumi up` creates it, then it needs a value",
                    link("/airflow/development/alpha/new/key"),
                ),
            ),
        ),
        OwnerStatus(
            "demo/job",
            ("octo", "Ana"),
            (
                Pending(
                    "/airflow/development/demo/job/api-key",
                    "no value yet",
                    link("/airflow/development/demo/job/api-key"),
                ),
                Pending(
                    "/airflow/development/demo/job/token",
                    "still the running service's placeholder",
                    link("/airflow/development/demo/job/token"),
                ),
            ),
        ),
    ]


def test_the_report_names_each_secret_its_state_and_where_to_set_it():
    statuses = [
        OwnerStatus(
            "demo/job",
            ("octo",),
            (
                Pending(
                    "/airflow/development/demo/job/token", "no value yet", link("/airflow/development/demo/job/token")
                ),
            ),
        )
    ]
    assert format_report(statuses, stack="development", account="593291632749", region=REGION, total=3) == [
        "stack development (account 593291632749, eu-west-2): 1 of 3 secret(s) still need a value from their "
        "maintainers (no value was read)",
        "demo/job (maintainers: octo):",
        "  /airflow/development/demo/job/token: no value yet",
        "    set it: https://eu-west-2.console.aws.amazon.com/secretsmanager/secret"
        "?name=%2Fairflow%2Fdevelopment%2Fdemo%2Fjob%2Ftoken&region=eu-west-2",
    ]
    assert format_report([], stack="test", account="593291632749", region=REGION, total=2) == [
        "stack test (account 593291632749, eu-west-2): all 2 secret(s) have a value set by their maintainers "
        "(no value was read)"
    ]


def test_the_pure_part_does_not_import_pulumi_or_boto3():
    code = "import sys, workflows.review.secrets_status; sys.exit(any(m in sys.modules for m in ('pulumi', 'boto3')))"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO, check=False).returncode == 0


def test_a_projects_shared_secrets_are_grouped_under_the_project_with_their_readers():
    shared = "/airflow/development/demo/shared/warehouse-login"
    spare = "/airflow/development/demo/shared/spare"
    declared = [
        DeclaredSecret("demo/job", TOKEN, ("octo",)),
        DeclaredSecret("demo/shared", shared, ("lead", "octo"), readers=("job", "load")),
        DeclaredSecret("demo/shared", spare, ("lead", "octo"), readers=()),
    ]
    live = {TOKEN: SecretHistory(created=CREATED, versions=(CREATED, CREATED + timedelta(days=1)))}
    statuses = secrets_to_set(declared, live, REGION)
    assert statuses == [
        OwnerStatus(
            "demo/shared",
            ("lead", "octo"),
            (
                Pending(
                    spare,
                    "does not exist yet: the next `pulumi up` creates it, then it needs a value",
                    link(spare),
                    readers=(),
                ),
                Pending(
                    shared,
                    "does not exist yet: the next `pulumi up` creates it, then it needs a value",
                    link(shared),
                    readers=("job", "load"),
                ),
            ),
            shared=True,
        )
    ]
    assert format_report(statuses, stack="development", account="593291632749", region=REGION, total=3) == [
        "stack development (account 593291632749, eu-west-2): 2 of 3 secret(s) still need a value from their "
        "maintainers (no value was read)",
        "demo/shared (shared by the project's workflows, project.yml; maintainers: lead, octo):",
        "  /airflow/development/demo/shared/spare: does not exist yet: the next `pulumi up` creates it, then it "
        "needs a value",
        "    read by: no workflow yet",
        "    set it: https://eu-west-2.console.aws.amazon.com/secretsmanager/secret"
        "?name=%2Fairflow%2Fdevelopment%2Fdemo%2Fshared%2Fspare&region=eu-west-2",
        "  /airflow/development/demo/shared/warehouse-login: does not exist yet: the next `pulumi up` creates it, "
        "then it needs a value",
        "    read by: job, load",
        "    set it: https://eu-west-2.console.aws.amazon.com/secretsmanager/secret"
        "?name=%2Fairflow%2Fdevelopment%2Fdemo%2Fshared%2Fwarehouse-login&region=eu-west-2",
    ]
