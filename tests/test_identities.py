"""The identities and grants of live resources are what the running service has, so a migration adopts
rather than recreates, and no workflow loses access.

Every name below is computed here, independently, from a manifest's path
(``<env>/<project>/<workflow>/workflow.yml``), the manifest itself and the stack
file's ``platform:projectAliases``; then compared with ``workflows.plan.naming`` and with
what the program registers (the inputs a provider would receive). Changing any of
these renames — and so replaces — a live resource for every workflow: a secret
replaced loses its value, a DAG id changed loses its run history. Each workflow's
grants are computed here the same way, from the running service's action lists
(``reference/live-installation.md``) and the corrections ``docs/migration.md`` lists.
The manifests: the repository's examples, our own, and ``../shared/corpus`` when present.
"""

from __future__ import annotations

import ast
import functools
import json
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from shell.offline import Registration, run_program
from tests.conftest import CORPUS, EXAMPLES, MINIMAL, REPO
from tests.shell.test_cli import corpus_with_dag_py
from workflows.config import StackConfig, stack_file
from workflows.model import ENVIRONMENTS
from workflows.plan.naming import derive
from workflows.validate import load_workflow

# Own manifests, so every naming rule is exercised whatever the examples hold:
# an aliased project, tasks, secrets, an external role, and another environment.
OWN = {
    ("development", "electronic-monitoring-data-store", "load-servicenow"): "secrets: [api-key, db-passwd]\n",
    ("development", "electronic-monitoring-data-store-pp", "load-y"): "secrets: [token]\n",
    ("development", "demo", "pipeline"): (
        "  tasks:\n    extract-all: {}\n    load:\n      dependencies: [extract-all]\n"
    ),
    ("development", "demo", "cross-account"): "iam:\n  external_role: arn:aws:iam::123456789012:role/elsewhere\n",
    ("test", "demo", "job"): "secrets: [token]\n",
    # Every iam key, and S3 paths that name no object (granted exactly as written, as today).
    ("development", "demo", "grants"): (
        "iam:\n"
        "  s3_read_only: [bucket-a, bucket-b/, bucket-b/in/*]\n"
        "  s3_read_write: [bucket-c/work/*, bucket-c/tmp/]\n"
        "  s3_write_only: [bucket-d/out/*]\n"
        "  s3_deny: [bucket-e/private/*]\n"
        "  kms: [arn:aws:kms:eu-west-2:593291632749:key/0b8f6a1e-1111-4c2d-9e3f-123456789abc]\n"
        "  athena: write\n"
        "  glue: true\n"
        "  bedrock: true\n"
        "  textract: true\n"
        "  lake_formation: true\n"
        "  cloudwatch_logs_read_only:\n"
        "    - arn:aws:logs:eu-west-2:593291632749:log-group:some-group\n"
        "    - arn:aws:logs:eu-west-2:593291632749:log-group:other-group:*\n"
        "  update_secrets: true\n"
        "secrets: [api-key, token]\n"
    ),
    ("development", "electronic-monitoring-data-store-pp", "updates"): (
        "iam:\n  update_secrets: true\n  s3_deny: [bucket-f/*]\nsecrets: [token]\nshared_secrets: [warehouse]\n"
    ),
}
# Own project files (shared secrets): an aliased project, whose shared secrets take the alias too.
OWN_PROJECTS = {
    (
        "development",
        "electronic-monitoring-data-store-pp",
    ): "secrets: [warehouse, unused]\nmaintainers: [octo-analyst]\n",
}


@dataclass(frozen=True)
class Expected:
    """A workflow's names, as DESIGN.md states them."""

    path: Path
    role: str | None  # None: iam.external_role, nothing generated
    service_account: str
    secrets: dict[str, str]  # Secrets Manager name -> Kubernetes secret (and ExternalSecret) name
    dag_id: str
    dag_key: str
    task_ids: tuple[str, ...]
    python_dag: bool


@functools.cache  # read for every manifest: once per stack file
def settings(stack: str) -> dict[str, Any]:
    return yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())["config"]


def expected(path: Path) -> Expected:
    env, project, workflow = path.parts[-4:-1]
    manifest = yaml.safe_load(path.read_text())
    config = settings(env)
    alias = (config.get("platform:projectAliases") or {}).get(project, project)
    dag = manifest["dag"]
    external = (manifest.get("iam") or {}).get("external_role")
    return Expected(
        path=path,
        role=None if external else f"airflow-{env}-{alias}-{workflow}",
        service_account=f"{alias}-{workflow}",
        secrets={
            f"/airflow/{env}/{alias}/{workflow}/{s}": f"{alias}-{workflow}-{s}" for s in manifest.get("secrets") or []
        },
        # The alias too, as the running service names its DAGs (emds.<workflow>, emds-pp.<workflow>): the DAG ids
        # Airflow shows today, so run history is kept.
        dag_id=f"{alias}.{workflow}",
        # Under the environment's folder, one folder per workflow, the file always dag.py.
        dag_key=f"{config.get('platform:dagsPrefix', 'dags/')}{env}/{alias}/{workflow}/dag.py",
        task_ids=tuple(str(t) for t in dag["tasks"]) if dag.get("tasks") else ("main",),
        python_dag=bool(dag.get("python_dag")),
    )


def own_environments(root: Path) -> Path:
    for (env, project), text in OWN_PROJECTS.items():
        (root / env / project).mkdir(parents=True, exist_ok=True)
        (root / env / project / "project.yml").write_text(text)
    for (env, project, workflow), extra in OWN.items():
        path = root / env / project / workflow / "workflow.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        base = textwrap.dedent(MINIMAL).lstrip("\n")
        if extra.startswith("  "):  # more keys under dag:
            path.write_text(base.replace("  tag: v1.0.0\n", "  tag: v1.0.0\n" + extra))
        else:
            path.write_text(base + extra)
    return root


@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> list[tuple[str, Path]]:
    """(stack, environments folder) for the repository's examples and for our own manifests."""
    own = own_environments(tmp_path_factory.mktemp("identities") / "environments")
    found = [(stack, EXAMPLES) for stack in ENVIRONMENTS if any((EXAMPLES / stack).glob("*/*/workflow.yml"))]
    found += [(stack, own) for stack in ENVIRONMENTS if (own / stack).is_dir()]
    if CORPUS.is_dir():  # the live manifests (python_dag ones with a dag.py of our own)
        corpus = corpus_with_dag_py(tmp_path_factory.mktemp("corpus"))
        found += [(stack, corpus) for stack in ENVIRONMENTS if (corpus / stack).is_dir()]
    return found


@pytest.fixture(scope="module")
def rendered(datasets) -> dict[tuple[str, Path], list[Registration]]:
    return {(stack, root): run_program(stack, root, REPO) for stack, root in datasets}


@functools.cache  # read by every test: once per stack and folder
def manifests(stack: str, root: Path) -> tuple[Expected, ...]:
    return tuple(expected(path) for path in sorted((root / stack).glob("*/*/workflow.yml")))


def shared_secrets(stack: str, root: Path) -> dict[str, str]:
    """Each project file's shared secrets: Secrets Manager name -> Kubernetes secret (and ExternalSecret) name,
    ``/airflow/<env>/<alias>/shared/<id>`` -> ``<alias>-shared-<id>``."""
    names: dict[str, str] = {}
    aliases = settings(stack).get("platform:projectAliases") or {}
    for path in sorted((root / stack).glob("*/project.yml")):
        alias = aliases.get(path.parent.name, path.parent.name)
        for secret in yaml.safe_load(path.read_text())["secrets"]:
            names[f"/airflow/{stack}/{alias}/shared/{secret}"] = f"{alias}-shared-{secret}"
    return names


def test_every_naming_rule_is_exercised(datasets):
    wanted = [w for stack, root in datasets for w in manifests(stack, root)]
    assert len(wanted) >= len(OWN)
    assert {w.path.parts[-4] for w in wanted} >= {"development", "test"}
    assert any(w.role is None for w in wanted)  # external role
    assert any(w.service_account.startswith("emds-") for w in wanted)  # project alias
    assert any(w.dag_id.startswith("emds-pp.") for w in wanted)  # the second alias
    assert any(len(w.task_ids) > 1 for w in wanted) and any(w.task_ids == ("main",) for w in wanted)
    assert any(w.secrets for w in wanted)
    assert any(shared_secrets(stack, root) for stack, root in datasets)


def test_naming_derives_the_names_design_states(datasets):
    for stack, root in datasets:
        config = StackConfig.from_stack_file(stack_file(REPO, stack))
        for want in manifests(stack, root):
            plan = load_workflow(want.path, config)
            workflow, names = plan.workflow, plan.names
            assert names == derive(workflow, config), want.path
            if want.role is not None:
                assert (names.role, names.policy) == (want.role, want.role), want.path
            assert names.service_account == want.service_account, want.path
            assert {names.secret_name(s): names.kubernetes_secret(s) for s in workflow.secrets} == want.secrets
            assert (names.dag_id, names.dag_key) == (want.dag_id, want.dag_key), want.path
            assert tuple(task.name for task in workflow.dag.tasks) == want.task_ids, want.path


def by_type(registrations: list[Registration], type_: str) -> list[Registration]:
    return [r for r in registrations if r.type == type_]


def test_the_program_registers_resources_under_those_names(datasets, rendered):
    for stack, root in datasets:
        registrations = rendered[(stack, root)]
        wanted = manifests(stack, root)
        namespace = settings(stack).get("platform:namespace", "mwaa")
        roles = sorted(w.role for w in wanted if w.role)
        assert sorted(r.inputs["name"] for r in by_type(registrations, "aws:iam/role:Role")) == roles
        assert sorted(r.inputs["name"] for r in by_type(registrations, "aws:iam/policy:Policy")) == roles
        secrets = {name: k8s for w in wanted for name, k8s in w.secrets.items()} | shared_secrets(stack, root)
        assert sorted(r.inputs["name"] for r in by_type(registrations, "aws:secretsmanager/secret:Secret")) == sorted(
            secrets
        )
        accounts = by_type(registrations, "kubernetes:core/v1:ServiceAccount")
        assert sorted(r.inputs["metadata"]["name"] for r in accounts) == sorted(w.service_account for w in wanted)
        assert {r.inputs["metadata"]["namespace"] for r in accounts} == {namespace}
        external = by_type(registrations, "kubernetes:external-secrets.io/v1:ExternalSecret")
        assert sorted(r.inputs["metadata"]["name"] for r in external) == sorted(secrets.values())
        for registration in external:
            spec = registration.inputs["spec"]
            (data,) = spec["data"]
            # Syncs its own Secrets Manager secret into a Kubernetes secret of its own name, key `data`.
            assert secrets[data["remoteRef"]["key"]] == registration.inputs["metadata"]["name"]
            assert spec["target"]["name"] == registration.inputs["metadata"]["name"]
            assert data["secretKey"] == "data"
            assert registration.inputs["metadata"]["namespace"] == namespace


def test_each_dag_is_uploaded_under_its_key_with_its_dag_id_and_task_ids(datasets, rendered):
    for stack, root in datasets:
        bucket = settings(stack)["platform:mwaaBucket"]
        objects = {
            r.inputs["key"]: r.inputs.get("content", "")
            for r in by_type(rendered[(stack, root)], "aws:s3/bucketObjectv2:BucketObjectv2")
            if r.inputs["bucket"] == bucket
        }
        for want in manifests(stack, root):
            assert want.dag_key in objects, want.path
            if want.python_dag:
                continue  # the workflow's own dag.py names its DAG and tasks
            literals = [
                (node.arg, node.value.value)
                for node in ast.walk(ast.parse(objects[want.dag_key]))
                if isinstance(node, ast.keyword)
                and node.arg in ("dag_id", "task_id")
                and isinstance(node.value, ast.Constant)
            ]
            assert [v for k, v in literals if k == "dag_id"] == [want.dag_id], want.path
            assert sorted(v for k, v in literals if k == "task_id") == sorted(want.task_ids), want.path


# --------------------------------------------------------------------------- grants

# The running service's action lists (reference/live-installation.md), written out; with the corrections
# docs/migration.md lists ("Corrections to grants").
S3_READ_ONLY = ("s3:GetObject", "s3:GetObjectAcl", "s3:GetObjectVersion")
S3_WRITE_ONLY = ("s3:PutObject", "s3:PutObjectAcl", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:RestoreObject")
S3_READ_WRITE = (*S3_READ_ONLY, "s3:GetObjectTagging", "s3:PutObjectTagging", *S3_WRITE_ONLY)
# Correction: in place of s3:CreateMultipartUpload, which is no IAM action.
S3_MULTIPART = ("s3:AbortMultipartUpload", "s3:ListMultipartUploadParts")
LOGS = (
    "logs:Describe*",
    "logs:Get*",
    "logs:List*",
    "logs:StartQuery",
    "logs:StopQuery",
    "logs:TestMetricFilter",
    "logs:FilterLogEvents",
    "logs:StartLiveTail",
    "logs:StopLiveTail",
    "cloudwatch:GenerateQuery",
    "cloudwatch:GenerateQueryResultsSummary",
)
# Correction: the Logs Insights query actions without a resource type, also on "*".
LOGS_UNSCOPED = (
    "logs:StopQuery",
    "logs:DescribeQueries",
    "logs:DescribeQueryDefinitions",
    "logs:ListLogGroupsForQuery",
    "cloudwatch:GenerateQuery",
    "cloudwatch:GenerateQueryResultsSummary",
)
KMS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*")

Grant = tuple[str, str, str]  # (Effect, Action, Resource)


def data_account(config: dict[str, Any]) -> str:
    accounts = config.get("platform:accounts") or {}
    return str((accounts.get("data") or {}).get("id") or config.get("platform:accountId"))


def expected_grants(path: Path) -> set[Grant] | None:
    """What the workflow's own policy grants: the running service's grants for its manifest, corrected."""
    env, project, workflow = path.parts[-4:-1]
    manifest = yaml.safe_load(path.read_text())
    config = settings(env)
    iam = manifest.get("iam") or {}
    if iam.get("external_role"):
        return None
    alias = (config.get("platform:projectAliases") or {}).get(project, project)
    account = data_account(config)
    regions = (config["aws:region"], config["platform:replicaRegion"])
    secrets = f"/airflow/{env}/{alias}/{workflow}/"
    grants = {
        ("Allow", "secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{r}:{account}:secret:{secrets}*")
        for r in regions
    }
    # A project's shared secrets it lists: read only, exactly each one (AWS adds '-' and six characters).
    grants |= {
        ("Allow", "secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{r}:{account}:secret:{shared}-??????")
        for shared in (f"/airflow/{env}/{alias}/shared/{s}" for s in manifest.get("shared_secrets") or [])
        for r in regions
    }
    if iam.get("update_secrets"):
        grants |= {
            ("Allow", action, f"arn:aws:secretsmanager:{r}:{account}:secret:{secrets}{secret}*")
            for secret in manifest.get("secrets") or []
            for r in regions
            for action in ("secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret")
        }
    paths = [p for key in ("s3_read_only", "s3_read_write", "s3_write_only", "s3_deny") for p in iam.get(key) or []]
    if paths:
        grants.add(("Allow", "s3:ListAllMyBuckets", "*"))  # correction: the action takes no resource
        for p in paths:
            bucket = p.split("/")[0]
            grants |= {("Allow", a, f"arn:aws:s3:::{bucket}") for a in ("s3:ListBucket", "s3:GetBucketLocation")}
    for key, actions in (
        ("s3_read_only", S3_READ_ONLY),
        ("s3_read_write", (*S3_READ_WRITE, *S3_MULTIPART)),
        ("s3_write_only", (*S3_WRITE_ONLY, *S3_MULTIPART)),
    ):
        grants |= {("Allow", a, f"arn:aws:s3:::{p}") for p in iam.get(key) or [] for a in actions}
    grants |= {
        ("Deny", a, f"arn:aws:s3:::{p}") for p in iam.get("s3_deny") or [] for a in (*S3_READ_WRITE, *S3_MULTIPART)
    }
    # Not today's, and narrower: every generated policy denies every S3 action on the platform buckets (issue 12).
    grants |= {("Deny", "s3:*", f"arn:aws:s3:::{b}{t}") for b in config["platform:platformBuckets"] for t in ("", "/*")}
    grants |= {("Allow", a, key) for key in iam.get("kms") or [] for a in KMS}
    if iam.get("glue"):
        grants.add(("Allow", "iam:PassRole", f"arn:aws:iam::{account}:role/airflow-{env}-{alias}-{workflow}"))
    if iam.get("lake_formation"):
        grants.add(("Allow", "lakeformation:GetDataAccess", "*"))
    for group in iam.get("cloudwatch_logs_read_only") or []:
        resources = [group] if group.endswith("*") else [group, f"{group}:*"]
        grants |= {("Allow", a, r) for r in resources for a in LOGS}
        grants |= {("Allow", a, "*") for a in LOGS_UNSCOPED}
    return grants


def granted(document: dict[str, Any]) -> set[Grant]:
    def as_list(value: Any) -> list[str]:
        return value if isinstance(value, list) else [value]

    return {
        (s["Effect"], action, resource)
        for s in document["Statement"]
        for action in as_list(s["Action"])
        for resource in as_list(s["Resource"])
    }


def test_every_workflow_keeps_its_grants_and_gets_nothing_broader(datasets, rendered):
    checked = 0
    for stack, root in datasets:
        policies = {
            r.inputs["name"]: json.loads(r.inputs["policy"])
            for r in by_type(rendered[(stack, root)], "aws:iam/policy:Policy")
        }
        for path in sorted((root / stack).glob("*/*/workflow.yml")):
            want, role = expected_grants(path), expected(path).role
            if want is None:
                continue
            assert granted(policies[role]) == want, path
            checked += 1
    assert checked >= len(OWN) - 1
