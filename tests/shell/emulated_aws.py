"""An emulated AWS account (moto, in-process) for the commands that ask the data account, read-only
(``import-plan --lookup``, ``secrets-status``), recording every API operation they call."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import botocore.client
import pytest
from moto import mock_aws


@contextlib.contextmanager
def emulated_account(monkeypatch: pytest.MonkeyPatch, account: str, region: str) -> Iterator[list[str]]:
    """moto as ``account`` in ``region`` with test credentials (no profile, no endpoint); yields the API
    operations called, as ``<service>:<Operation>`` (``sts:GetCallerIdentity``)."""
    for key, value in {
        "MOTO_ACCOUNT_ID": account,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region,
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    calls: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def recording(self, operation, params):
        calls.append(f"{self.meta.service_model.signing_name}:{operation}")
        return original(self, operation, params)

    with mock_aws():
        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
        yield calls
