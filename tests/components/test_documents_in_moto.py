"""What the providers receive is what AWS and Kubernetes accept.

Every rendered IAM role, policy, attachment, Secrets Manager secret and its
resource policy and placeholder value (the program run under the mock runtime,
over the examples in every stack and over the real corpus) is created in moto's
IAM and Secrets Manager with the inputs the provider gets. Every ServiceAccount
is validated against the Kubernetes OpenAPI schema (the strict JSON schemas of
``kubernetes-validate``), every ExternalSecret against the external-secrets.io/v1
CRD schema (``tests/schemas/``), and the names and labels of both against the API
server's own rules, which the OpenAPI schemas do not carry.

``tests/workflows/plan/test_iam.py`` checks documents built directly; these are the
serialised inputs of the rendered resources.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError
from kubernetes_validate.utils import schema_contents
from moto import mock_aws
from moto.iam.policy_validation import IAMPolicyDocumentValidator
from referencing import Registry, Resource

from shell.offline import Registration
from tests.components.test_least_privilege import SOURCES, rendered, stack_config

KUBERNETES_VERSION = "1.31"  # the EKS version the platform runs; the schemas are those of kubernetes-validate
SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
OBJECT_META = "/api/_definitions.json#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def of_type(registrations: tuple[Registration, ...], type_: str) -> list[Registration]:
    return [r for r in registrations if r.type == type_]


def tag_list(tags: dict[str, str] | None) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in (tags or {}).items()]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield


# --------------------------------------------------------------------------- AWS


@pytest.mark.parametrize(("source", "stack"), SOURCES)
def test_iam_accepts_every_rendered_role_policy_and_attachment(aws, monkeypatch, source: str, stack: str) -> None:
    config = stack_config(stack)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", config.account_id)
    registrations = rendered(source, stack)
    roles = of_type(registrations, "aws:iam/role:Role")
    policies = of_type(registrations, "aws:iam/policy:Policy")
    # One RolePolicyAttachmentsExclusive per role: the whole set of its managed policies.
    attachments = of_type(registrations, "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive")
    assert roles and policies and attachments
    assert sorted(a.inputs["roleName"] for a in attachments) == sorted(r.inputs["name"] for r in roles)
    arns = {a.inputs["roleName"]: a.inputs["policyArns"] for a in attachments}
    assert all(len(set(policy_arns)) == len(policy_arns) for policy_arns in arns.values())
    with mock_aws():
        client = boto3.client("iam", region_name=config.region)
        # The platform's shared policies exist before the stack runs: create each ARN attachments use
        # that no rendered policy creates, so a malformed ARN fails to attach.
        own = {f"arn:aws:iam::{config.account_id}:policy/{p.inputs['name']}" for p in policies}
        placeholder = json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
        )
        for arn in sorted({arn for policy_arns in arns.values() for arn in policy_arns} - own):
            match = re.fullmatch(rf"arn:aws:iam::{config.account_id}:policy(/.*/)([^/]+)", arn)
            assert match, arn
            client.create_policy(PolicyName=match[2], Path=match[1], PolicyDocument=placeholder)

        for role in roles:
            inputs = role.inputs
            client.create_role(
                RoleName=inputs["name"],
                AssumeRolePolicyDocument=inputs["assumeRolePolicy"],
                MaxSessionDuration=int(inputs["maxSessionDuration"]),
                Tags=tag_list(inputs.get("tags")),
            )
            # CreateRole stores the trust document unchecked in moto; UpdateAssumeRolePolicy checks its grammar.
            client.update_assume_role_policy(RoleName=inputs["name"], PolicyDocument=inputs["assumeRolePolicy"])
        created = {}
        for policy in policies:
            inputs = policy.inputs
            answer = client.create_policy(
                PolicyName=inputs["name"], PolicyDocument=inputs["policy"], Tags=tag_list(inputs.get("tags"))
            )
            created[answer["Policy"]["Arn"]] = inputs["policy"]
        assert set(created) == own  # the ARNs the mock hands to attachments are the real ones
        for role_name, policy_arns in arns.items():
            for arn in policy_arns:
                client.attach_role_policy(RoleName=role_name, PolicyArn=arn)

        for role in roles:
            name = role.inputs["name"]
            stored = client.get_role(RoleName=name)["Role"]
            assert stored["AssumeRolePolicyDocument"] == json.loads(role.inputs["assumeRolePolicy"])
            attached = {p["PolicyArn"] for p in client.list_attached_role_policies(RoleName=name)["AttachedPolicies"]}
            assert attached == set(arns[name])
            # The role's own policy comes first, then the shared ones.
            assert arns[name][0] == f"arn:aws:iam::{config.account_id}:policy/{name}"
        for arn, document in created.items():
            version = client.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            stored = client.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
            assert stored == json.loads(document)


@pytest.mark.parametrize(("source", "stack"), SOURCES)
def test_secrets_manager_accepts_every_rendered_secret(aws, monkeypatch, source: str, stack: str) -> None:
    config = stack_config(stack)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", config.account_id)
    registrations = rendered(source, stack)
    secrets = of_type(registrations, "aws:secretsmanager/secret:Secret")
    assert secrets, "nothing to check"
    with mock_aws():
        client = boto3.client("secretsmanager", region_name=config.region)
        arns: dict[str, str] = {}
        for secret in secrets:
            inputs = secret.inputs
            answer = client.create_secret(
                Name=inputs["name"],
                Description=inputs["description"],
                KmsKeyId=inputs["kmsKeyId"],
                AddReplicaRegions=[{"Region": r["region"], "KmsKeyId": r["kmsKeyId"]} for r in inputs["replicas"]],
                Tags=tag_list(inputs.get("tags")),
            )
            arns[inputs["name"]] = answer["ARN"]
            # moto's Secrets Manager stores resource policies unchecked: check the grammar as IAM does.
            IAMPolicyDocumentValidator(inputs["policy"]).validate()
            client.put_resource_policy(SecretId=answer["ARN"], ResourcePolicy=inputs["policy"], BlockPublicPolicy=True)
            described = client.describe_secret(SecretId=answer["ARN"])
            assert described["Name"] == inputs["name"]
            # The stack creates the secret only: no version, no value, until a maintainer puts one.
            assert not client.list_secret_version_ids(SecretId=answer["ARN"])["Versions"]
        assert len(arns) == len(secrets)


# --------------------------------------------------------------------------- Kubernetes


def _strict_patterns(cls: type) -> type:
    """The validator with ``pattern`` anchored as ECMA-262 (and Kubernetes' Go regexes) anchor it."""

    def pattern(validator: Any, value: str, instance: Any, schema: Any) -> Iterator[Any]:
        if validator.is_type(instance, "string") and not re.search(value.replace("$", r"\Z"), instance):
            yield ValidationError(f"{instance!r} does not match {value!r}")

    return validators.extend(cls, {"pattern": pattern})


@functools.cache
def kubernetes_registry() -> Registry:
    directory = f"kubernetes-json-schema/v{KUBERNETES_VERSION}.0-local-strict"
    definitions = schema_contents(f"{directory}/_definitions.json", KUBERNETES_VERSION)
    service_account = schema_contents(f"{directory}/serviceaccount-v1.json", KUBERNETES_VERSION)
    registry = Resource.from_contents(definitions) @ Registry()
    return Resource.from_contents(service_account) @ registry


@functools.cache
def kubernetes_validator(kind: str) -> Draft202012Validator:
    directory = f"kubernetes-json-schema/v{KUBERNETES_VERSION}.0-local-strict"
    if kind == "ObjectMeta":
        schema: dict[str, Any] = {"$id": "https://kubernetes.io/api/objectmeta.json", "$ref": OBJECT_META}
    elif kind == "ExternalSecret":
        schema = json.loads((SCHEMAS / "externalsecret-external-secrets.io-v1.json").read_text())
    else:
        schema = schema_contents(f"{directory}/{kind.lower()}-v1.json", KUBERNETES_VERSION)
    return _strict_patterns(Draft202012Validator)(schema, registry=kubernetes_registry())


def schema_errors(kind: str, document: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in kubernetes_validator(kind).iter_errors(document)]


DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
LABEL_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")


def apiserver_problems(metadata: dict[str, Any]) -> list[str]:
    """The API server's checks of names, labels and annotation keys (apimachinery validation)."""
    problems = []
    name, namespace = metadata.get("name", ""), metadata.get("namespace", "")
    if len(name) > 253 or not DNS_SUBDOMAIN.fullmatch(name):
        problems.append(f"name {name!r} is not a DNS subdomain")
    if len(namespace) > 63 or not DNS_LABEL.fullmatch(namespace):
        problems.append(f"namespace {namespace!r} is not a DNS label")

    def qualified(key: str) -> bool:
        prefix, _, base = key.rpartition("/")
        prefix_ok = not prefix or (len(prefix) <= 253 and DNS_SUBDOMAIN.fullmatch(prefix) is not None)
        return prefix_ok and len(base) <= 63 and LABEL_NAME.fullmatch(base) is not None

    for key, value in (metadata.get("labels") or {}).items():
        if not qualified(key):
            problems.append(f"label key {key!r}")
        if len(value) > 63 or not (value == "" or LABEL_NAME.fullmatch(value)):
            problems.append(f"label value {value!r}")
    for key in metadata.get("annotations") or {}:
        if not qualified(key):
            problems.append(f"annotation key {key!r}")
    return problems


@pytest.mark.parametrize(("source", "stack"), SOURCES)
def test_service_accounts_are_valid_kubernetes_objects(source: str, stack: str) -> None:
    accounts = of_type(rendered(source, stack), "kubernetes:core/v1:ServiceAccount")
    assert accounts
    for account in accounts:
        assert schema_errors("ServiceAccount", account.inputs) == [], account.name
        assert apiserver_problems(account.inputs["metadata"]) == [], account.name


@pytest.mark.parametrize(("source", "stack"), SOURCES)
def test_external_secrets_are_valid_for_their_crd(source: str, stack: str) -> None:
    config = stack_config(stack)
    registrations = rendered(source, stack)
    external = of_type(registrations, "kubernetes:external-secrets.io/v1:ExternalSecret")
    secret_names = {s.inputs["name"] for s in of_type(registrations, "aws:secretsmanager/secret:Secret")}
    if not secret_names:
        pytest.skip("no secrets in this stack")
    assert len(external) == len(secret_names)  # one external-secrets.io/v1 ExternalSecret per secret
    targets: set[str] = set()
    for resource in external:
        document = resource.inputs
        assert schema_errors("ExternalSecret", document) == [], resource.name
        assert schema_errors("ObjectMeta", document["metadata"]) == [], resource.name
        assert apiserver_problems(document["metadata"]) == [], resource.name
        spec = document["spec"]
        assert spec["secretStoreRef"] == {"kind": config.secret_store.kind, "name": config.secret_store.name}
        # It syncs a secret this stack manages, into a Kubernetes secret no other ExternalSecret writes.
        assert {d["remoteRef"]["key"] for d in spec["data"]} <= secret_names, resource.name
        assert spec["target"]["name"] not in targets
        targets.add(spec["target"]["name"])


def test_the_schemas_reject_what_the_cluster_would_reject() -> None:
    """Guards for the validators above: each catches a mistake of its kind."""
    account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "demo-job", "namespace": "mwaa", "labels": {"a": "b"}},
    }
    assert schema_errors("ServiceAccount", account) == []
    assert schema_errors("ServiceAccount", {**account, "spec": {}})  # unknown field
    assert schema_errors("ServiceAccount", {**account, "metadata": {"name": 5}})
    assert schema_errors("ServiceAccount", {**account, "metadata": {"labels": {"a": 1}}})
    assert apiserver_problems({"name": "Demo_Job", "namespace": "mwaa"})
    assert apiserver_problems({"name": "demo-job\n", "namespace": "mwaa"})
    assert apiserver_problems({"name": "x", "namespace": "mwaa", "labels": {"k": "v" * 64}})
    assert apiserver_problems({"name": "x", "namespace": "mwaa", "annotations": {"bad key": "v"}})

    external = {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": "x", "namespace": "mwaa"},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": "aws-secretsmanager"},
            "target": {"name": "x", "creationPolicy": "Owner"},
            "data": [{"secretKey": "data", "remoteRef": {"key": "/airflow/x"}}],
        },
    }
    assert schema_errors("ExternalSecret", external) == []
    for path, value in [
        (("spec", "refreshInterval"), "an hour"),
        (("spec", "secretStoreRef", "kind"), "Store"),
        (("spec", "target", "creationPolicy"), "Always"),
        (("spec", "target", "name"), "Bad_Name"),
        (("spec", "target", "name"), "x\n"),
        (("spec", "target", "nmae"), "typo"),
        (("apiVersion",), "external-secrets.io/v1beta1"),
    ]:
        broken = json.loads(json.dumps(external))
        node = broken
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        assert schema_errors("ExternalSecret", broken), (path, value)
    assert schema_errors("ExternalSecret", {**external, "spec": {**external["spec"], "data": [{"secretKey": "d"}]}})
    assert schema_errors("ObjectMeta", {"name": "x", "labels": ["a"]})
