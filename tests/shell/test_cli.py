"""The command-line contract (DESIGN.md): output format, exit codes, corpus and examples."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shell.cli import main
from tests.conftest import CORPUS, EXAMPLES, MINIMAL, REPO

OWN_DAG_PY = """
from datetime import datetime
from airflow.models import DAG
from analytical_platform.standard_operator import AnalyticalPlatformStandardOperator

with DAG(dag_id="PLACEHOLDER_PROJECT.PLACEHOLDER_WORKFLOW", start_date=datetime(2025, 1, 1), schedule=None):
    AnalyticalPlatformStandardOperator(
        task_id="main",
        name="PLACEHOLDER_WORKFLOW",
        compute_profile="general-spot-1vcpu-4gb",
        image="509399598587.dkr.ecr.eu-west-2.amazonaws.com/PLACEHOLDER_REPOSITORY_NAME:PLACEHOLDER_REPOSITORY_TAG",
        environment="PLACEHOLDER_ENVIRONMENT",
        project="PLACEHOLDER_PROJECT",
        workflow="PLACEHOLDER_WORKFLOW",
    )
"""


def corpus_with_dag_py(tmp_path: Path) -> Path:
    """A copy of the corpus where every python_dag workflow has a dag.py of our own."""
    environments = tmp_path / "environments"
    shutil.copytree(CORPUS, environments)
    for path in environments.glob("*/*/*/workflow.yml"):
        if (yaml.safe_load(path.read_text())["dag"] or {}).get("python_dag"):
            (path.parent / "dag.py").write_text(OWN_DAG_PY)
    return environments


needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is not present")


def test_validate_examples_exit_zero(capsys):
    assert main(["validate", str(EXAMPLES)]) == 0
    assert capsys.readouterr().out == ""


def test_validate_reports_every_problem_as_path_line_col(manifest, capsys):
    bad = manifest(MINIMAL + "retires: 3\nsecrets: [Bad_Id]\n", workflow="bad")
    manifest(workflow="good")
    assert main(["validate", str(bad.parents[3])]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{bad}:8:1: unknown key 'retires' in the manifest; allowed keys: dag, iam, maintainers, notifications, "
        "secrets, shared_secrets, tags",
        f"{bad}:9:11: 'Bad_Id' is not a valid value for secrets[0]: secret ids use lower-case letters, digits and '-'",
    ]


def test_validate_github_format(manifest, capsys):
    bad = manifest(MINIMAL + "retires: 3\n")
    assert main(["validate", "--format", "github", str(bad)]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith(f"::error file={bad},line=8,col=1,title=Unknown key::unknown key 'retires'")


def test_validate_github_titles_name_the_kind_of_problem(manifest, capsys):
    bad = manifest(MINIMAL.replace("dag:\n", "dag:\n  schedule: '0 5 * *'\n"))
    assert main(["validate", "--format", "github", str(bad)]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith(f"::error file={bad},line=2,col=13,title=Invalid cron::")


def test_validate_json_format(manifest, capsys):
    bad = manifest(MINIMAL + "retires: 3\n")
    assert main(["validate", "--format", "json", str(bad)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False
    assert report["problems"][0]["line"] == 8
    assert report["problems"][0]["code"] == "unknown-key"
    assert report["problems"][0]["key"] == "retires"
    assert report["problems"][0]["severity"] == "error"


def test_validate_json_gives_the_key_path_of_a_nested_problem(manifest, capsys):
    bad = manifest(MINIMAL.replace("dag:\n", "dag:\n  tasks:\n    extract:\n      env_vars:\n        1ZIP: x\n"))
    assert main(["validate", "--format", "json", str(bad)]) == 1
    (problem,) = json.loads(capsys.readouterr().out)["problems"]
    assert (problem["code"], problem["key"], problem["severity"]) == (
        "invalid-name",
        "dag.tasks.extract.env_vars.1ZIP",
        "error",
    )


def test_usage_errors_exit_two(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "missing")]) == 2
    with pytest.raises(SystemExit) as exit_:
        main(["validate", "--format", "xml", str(tmp_path)])
    assert exit_.value.code == 2


def test_a_bad_file_never_produces_a_traceback(manifest):
    bad = manifest("dag: {repository: [1, 2], tag: {a: b}}\nmaintainers: 7\ntags: []\n\x00")
    result = subprocess.run(
        [sys.executable, "-m", "workflows", "validate", str(bad)], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout.startswith(str(bad))


@needs_corpus
def test_validate_the_real_corpus(capsys):
    """Every real manifest is valid, except python_dag ones whose dag.py is not in the corpus (warnings aside:
    tests/workflows/manifest/test_rules.py lists them)."""
    assert main(["validate", str(CORPUS)]) == 1
    lines = [line for line in capsys.readouterr().out.splitlines() if ": warning: " not in line]
    expected = sorted(
        str(p.parent / "dag.py")
        for p in CORPUS.glob("*/*/*/workflow.yml")
        if (yaml.safe_load(p.read_text())["dag"] or {}).get("python_dag")
    )
    assert len(expected) >= 1
    assert len(lines) == len(expected)
    assert all("dag.python_dag is true but" in line for line in lines)
    assert sorted(line.split(" but ")[1].split(" does not exist")[0] for line in lines) == expected


@needs_corpus
def test_the_real_corpus_with_its_dag_py_validates_with_warnings_only(tmp_path, capsys):
    """Warnings alone leave the exit status 0: every live manifest keeps working."""
    environments = corpus_with_dag_py(tmp_path)
    assert main(["validate", str(environments)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 4  # tests/workflows/manifest/test_rules.py lists them (an outlet not written: issue 12)
    assert all(": warning: " in line for line in lines)
    assert captured.err == "120 manifest(s) checked, 0 invalid, 0 error(s), 4 warning(s)\n"


@needs_corpus
def test_render_the_real_corpus(tmp_path, capsys):
    environments = corpus_with_dag_py(tmp_path)
    out = tmp_path / "out"
    assert main(["render", "--stack", "development", "--environments", str(environments), "--out", str(out)]) == 0
    manifests = sorted(environments.glob("development/*/*/workflow.yml"))
    resources = json.loads((out / "resources.json").read_text())
    workflows = [r for r in resources if r["type"] == "analytical-platform:workflows:Workflow"]
    assert len(workflows) == len(manifests)
    dags = sorted(p.relative_to(out / "dags").as_posix() for p in (out / "dags").rglob("*.py"))
    # dags/<env>/<project alias>/<workflow>/dag.py: one per manifest, and nothing else under the env folder.
    aliases = yaml.safe_load((REPO / "Pulumi.development.yaml").read_text())["config"]["platform:projectAliases"]
    expected = sorted(
        f"development/{aliases.get(p.parent.parent.name, p.parent.parent.name)}/{p.parent.name}/dag.py"
        for p in manifests
    )
    assert [d for d in dags if d.startswith("development/")] == expected
    assert "workflows" in capsys.readouterr().out


def test_render_writes_the_documented_files(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["render", "--stack", "development", "--out", str(out), "--environments", str(EXAMPLES)]) == 0
    resources = json.loads((out / "resources.json").read_text())
    assert all({"type", "name", "inputs"} <= set(r) for r in resources)
    role = next(r for r in resources if r["type"] == "aws:iam/role:Role")
    assert "assumeRolePolicy" in role["inputs"]
    review = out / "workflows" / "platform-examples" / "multi-task"
    assert json.loads((review / "iam-policy.json").read_text())["Version"] == "2012-10-17"
    assert json.loads((review / "trust-policy.json").read_text())["Statement"]
    kinds = [d["kind"] for d in yaml.safe_load_all((review / "kubernetes.yaml").read_text())]
    assert kinds == ["ServiceAccount", "ExternalSecret", "ExternalSecret"]
    external = out / "workflows" / "platform-examples" / "external-role"
    assert not (external / "trust-policy.json").exists()
    assert (out / "dags" / "development" / "platform-examples" / "python-dag" / "dag.py").read_text().count(
        "PLACEHOLDER_"
    ) == 0
    assert (out / "dags" / "development" / "emds" / "load-case-notes" / "dag.py").is_file()  # the project alias
    # The mirror holds exactly the objects under dags/: nothing else.
    objects = {
        r["inputs"]["key"].removeprefix("dags/")
        for r in resources
        if r["type"] == "aws:s3/bucketObjectv2:BucketObjectv2"
    }
    assert {p.relative_to(out / "dags").as_posix() for p in (out / "dags").rglob("*") if p.is_file()} == objects


def test_render_refuses_an_invalid_stack(manifest, tmp_path, capsys):
    bad = manifest(MINIMAL + "retires: 3\n")
    out = tmp_path / "out"
    code = main(["render", "--stack", "development", "--environments", str(bad.parents[3]), "--out", str(out)])
    assert code == 1
    assert "unknown key 'retires'" in capsys.readouterr().out
    assert not (out / "resources.json").exists()


def test_a_failed_render_says_the_output_folder_is_stale(manifest, tmp_path, capsys):
    bad = manifest(MINIMAL + "retires: 3\n")
    out = tmp_path / "out"
    out.mkdir()
    code = main(["render", "--stack", "development", "--environments", str(bad.parents[3]), "--out", str(out)])
    assert code == 1
    assert f"{out} was not updated: what it holds is from an earlier render and is stale" in capsys.readouterr().out


def test_render_summarises_each_workflow(manifest, tmp_path, capsys):
    path = manifest(
        MINIMAL.replace("dag:\n", "dag:\n  schedule: '0 5 * * *'\n  compute_profile: general-spot-2vcpu-8gb\n")
        + "secrets: [api-key]\n"
    )
    out = tmp_path / "out"
    assert main(["render", "--stack", "development", "--environments", str(path.parents[3]), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    start = printed.index("  demo/job:")
    summary = printed[start : printed.index("wrote ")]
    assert summary == (
        "  demo/job: DAG demo.job\n"
        "    schedule: 0 5 * * *\n"
        "    image: 509399598587.dkr.ecr.eu-west-2.amazonaws.com/moj-analytical-services/example:v1.0.0\n"
        "    tasks: main (general-spot-2vcpu-8gb)\n"
        "    role arn:aws:iam::593291632749:role/airflow-development-demo-job\n"
        "    secrets to fill in after deploying: /airflow/development/demo/job/api-key\n"
    )


def test_validate_catches_a_clash_with_a_manifest_it_was_not_given(manifest, capsys):
    """`a` + `b-c` and `a-b` + `c` would share a role and service account: validate says so even when
    only one of the two files is checked (as a pull request does), agreeing with render."""
    manifest(project="a", workflow="b-c")
    changed = manifest(project="a-b", workflow="c")
    assert main(["validate", str(changed)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{changed}:1:1: ")
    assert "would also belong to a/b-c" in out


# --------------------------------------------------------------------------- warnings

WARNED = MINIMAL + "iam:\n  s3_read_only: [my-bucket, my-bucket/data/*]\n"
WARNING = "iam.s3_read_only[0]: 'my-bucket' matches no object: write 'my-bucket/*' for every object in the bucket"


def test_a_warning_is_printed_like_an_error_and_leaves_the_exit_status_zero(manifest, capsys):
    path = manifest(WARNED)
    assert main(["validate", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"{path}:9:18: warning: {WARNING}\n"
    assert captured.err == "1 manifest(s) checked, 0 invalid, 0 error(s), 1 warning(s)\n"


def test_a_warning_in_github_format(manifest, capsys):
    path = manifest(WARNED)
    assert main(["validate", "--format", "github", str(path)]) == 0
    escaped = str(path).replace(":", "%3A").replace(",", "%2C")
    assert capsys.readouterr().out == (
        f"::warning file={escaped},line=9,col=18,title=S3 path matches nothing::{WARNING}\n"
    )


def test_a_warning_in_json_format(manifest, capsys):
    path = manifest(WARNED + "retires: 3\n")
    assert main(["validate", "--format", "json", str(path)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False
    assert [(p["line"], p["severity"]) for p in report["problems"]] == [(9, "warning"), (10, "error")]
    assert report["problems"][0] == {
        "path": str(path),
        "line": 9,
        "column": 18,
        "severity": "warning",
        "code": "s3-path-matches-nothing",
        "key": "iam.s3_read_only[0]",
        "message": WARNING,
    }


def test_errors_and_warnings_are_counted_apart(manifest, capsys):
    manifest(WARNED, workflow="warned")
    bad = manifest(MINIMAL + "retires: 3\nsecrets: [Bad_Id]\n", workflow="bad")
    assert main(["validate", str(bad.parents[3])]) == 1
    captured = capsys.readouterr()
    assert [line.split(": ")[1] for line in captured.out.splitlines()] == [
        "unknown key 'retires' in the manifest; allowed keys",
        "'Bad_Id' is not a valid value for secrets[0]",
        "warning",
    ]
    assert captured.err == "2 manifest(s) checked, 1 invalid, 2 error(s), 1 warning(s)\n"


def test_render_goes_ahead_with_warnings(manifest, tmp_path, capsys):
    path = manifest(WARNED)
    out = tmp_path / "out"
    assert main(["render", "--stack", "development", "--environments", str(path.parents[3]), "--out", str(out)]) == 0
    policy = json.loads((out / "workflows" / "demo" / "job" / "iam-policy.json").read_text())
    granted = {r for s in policy["Statement"] if s.get("Sid") == "S3ReadOnly" for r in s["Resource"]}
    assert "arn:aws:s3:::my-bucket/data/*" in granted


# --------------------------------------------------------------------------- files that look like manifests


@pytest.mark.parametrize(
    ("relative", "why"),
    [
        ("demo/job/workflow.yaml", "rename workflow.yaml to workflow.yml"),
        ("demo/job/Workflow.yml", "rename Workflow.yml to workflow.yml"),
        ("demo/job/WORKFLOW.YML", "rename WORKFLOW.YML to workflow.yml"),
        ("demo/workflow.yml", "this one is at development/demo/workflow.yml"),
        ("demo/a/b/workflow.yml", "this one is at development/demo/a/b/workflow.yml"),
    ],
)
def test_validate_reports_a_file_that_would_never_be_read(tmp_path, capsys, relative, why):
    """Today such a file gets "0 checked" and a green pull request while nothing deploys."""
    environments = tmp_path / "environments"
    stray = environments / "development" / relative
    stray.parent.mkdir(parents=True)
    stray.write_text(MINIMAL)
    assert main(["validate", str(environments)]) == 1
    captured = capsys.readouterr()
    (line,) = captured.out.splitlines()
    assert line.startswith(f"{stray}:1:1: this file is never read: ")
    assert why in line
    assert captured.err == "1 manifest(s) checked, 1 invalid, 1 error(s), 0 warning(s)\n"
    assert main(["validate", str(stray)]) == 1  # named on its own, too
    assert capsys.readouterr().out == captured.out


def test_render_refuses_an_environment_with_a_file_that_would_never_be_read(manifest, tmp_path, capsys):
    good = manifest()
    stray = good.parent.parent / "other" / "workflow.yaml"
    stray.parent.mkdir()
    stray.write_text(MINIMAL)
    out = tmp_path / "out"
    code = main(["render", "--stack", "development", "--environments", str(good.parents[3]), "--out", str(out)])
    assert code == 1
    assert f"\n{stray}:1:1: this file is never read: " in capsys.readouterr().out
    assert not (out / "resources.json").exists()


def test_validate_checks_a_projects_file_given_or_found_in_a_folder(manifest, capsys):
    workflow = manifest(MINIMAL + "shared_secrets: [warehouse-login]\n", workflow="load")
    project = workflow.parents[1] / "project.yml"
    project.write_text("secrets: [warehouse-login]\nmaintainers: [octo-analyst]\n")
    assert main(["validate", str(workflow.parents[3])]) == 0
    assert capsys.readouterr().err.strip() == "2 manifest(s) checked, 0 invalid, 0 error(s), 0 warning(s)"
    # The pull request that removes the secret while a workflow still reads it: only project.yml changed.
    project.write_text("secrets: [api-token]\nmaintainers: [octo-analyst]\n")
    assert main(["validate", str(project)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{project}:1:1: workflow(s) load read shared secret 'warehouse-login' (their shared_secrets), which this "
        "file does not declare: declare it here, or take it out of their shared_secrets too, in the same pull "
        "request (a shared secret is never removed while workflows still read it)"
    ]
    project.write_text("secrets: [Api_Token]\nmaintainers: [octo-analyst]\n")
    assert main(["validate", str(project), "--format", "json"]) == 1
    (problem,) = json.loads(capsys.readouterr().out)["problems"]
    assert (problem["line"], problem["column"], problem["code"], problem["key"]) == (
        1,
        11,
        "invalid-value",
        "secrets[0]",
    )
