"""workflows/manifest/discovery.py: where manifests are read from, and files that look like one but never are.

A ``workflow.yaml``, a ``Workflow.yml`` or a ``workflow.yml`` one folder too high or too deep is never
read: deploying without it would silently drop (or never create) that workflow, so the stack refuses
the whole environment while one exists, naming each file and where it must go.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CORPUS, MINIMAL
from workflows.errors import ManifestError
from workflows.manifest.discovery import discover, expand, looks_like_manifest, misplaced, scan

WRONG_NAME = (
    "this file is never read: the stack reads only files called exactly workflow.yml (lower-case, .yml): "
    "rename {name} to workflow.yml"
)
WRONG_DEPTH = (
    "this file is never read: a manifest must be two folders below the environment folder, as "
    "<environment>/<project>/<workflow>/workflow.yml, and this one is at {here}: move it to "
    "development/<project>/<workflow>/workflow.yml"
)


def write(root: Path, relative: str, text: str = MINIMAL) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("name", "looks"),
    [
        ("workflow.yml", True),
        ("workflow.yaml", True),
        ("Workflow.yml", True),
        ("WORKFLOW.YML", True),
        ("workFlow.Yaml", True),
        ("workflows.yml", False),
        ("workflow.yml.bak", False),
        ("workflow", False),
        ("dag.py", False),
    ],
)
def test_what_looks_like_a_manifest(name, looks):
    assert looks_like_manifest(Path(name)) is looks


STRAYS = {
    "development/proj/wf/workflow.yaml": WRONG_NAME.format(name="workflow.yaml"),
    "development/proj/wf2/Workflow.yml": WRONG_NAME.format(name="Workflow.yml"),
    "development/proj/wf3/WORKFLOW.YML": WRONG_NAME.format(name="WORKFLOW.YML"),
    "development/proj/workflow.yml": WRONG_DEPTH.format(here="development/proj/workflow.yml"),
    "development/workflow.yml": WRONG_DEPTH.format(here="development/workflow.yml"),
    "development/a/b/c/workflow.yml": WRONG_DEPTH.format(here="development/a/b/c/workflow.yml"),
    "development/a/b/c/d/workflow.yml": WRONG_DEPTH.format(here="development/a/b/c/d/workflow.yml"),
    "development/a/b/c/Workflow.yaml": (
        WRONG_NAME.format(name="Workflow.yaml")
        + ", and "
        + WRONG_DEPTH.format(here="development/a/b/c/Workflow.yaml").removeprefix("this file is never read: ")
    ),
}


@pytest.mark.parametrize("relative", STRAYS)
def test_the_stack_refuses_an_environment_with_a_file_it_would_never_read(tmp_path, relative):
    good = write(tmp_path, "development/proj/good/workflow.yml")
    stray = write(tmp_path, relative)
    with pytest.raises(ManifestError) as caught:
        discover(tmp_path, "development")
    assert [(p.path, p.line, p.column, p.severity, p.message) for p in caught.value.problems] == [
        (stray, 1, 1, "error", STRAYS[relative])
    ]
    assert scan(tmp_path, "development") == ([good], list(caught.value.problems))
    assert misplaced(stray) == STRAYS[relative]  # validate (below) says the same without knowing the root


def test_every_stray_is_listed_at_once(tmp_path):
    for relative in STRAYS:
        write(tmp_path, relative)
    with pytest.raises(ManifestError) as caught:
        discover(tmp_path, "development")
    assert sorted(str(p.path.relative_to(tmp_path)) for p in caught.value.problems) == sorted(STRAYS)


def test_only_the_stacks_own_environment_is_its_business(tmp_path):
    write(tmp_path, "test/proj/workflow.yml")
    write(tmp_path, "development/proj/wf/workflow.yml")
    assert discover(tmp_path, "development") == [tmp_path / "development/proj/wf/workflow.yml"]
    with pytest.raises(ManifestError):
        discover(tmp_path, "test")


def test_manifests_are_found_in_a_stable_order_with_their_files_beside_them(tmp_path):
    for relative in ("development/b/x/workflow.yml", "development/a/y/workflow.yml", "development/a/x/workflow.yml"):
        write(tmp_path, relative)
    write(tmp_path, "development/a/x/dag.py", "# dag\n")
    write(tmp_path, "development/a/x/README.md", "notes\n")
    assert [p.relative_to(tmp_path).as_posix() for p in discover(tmp_path, "development")] == [
        "development/a/x/workflow.yml",
        "development/a/y/workflow.yml",
        "development/b/x/workflow.yml",
    ]
    assert discover(tmp_path, "production") == []  # no folder: no manifest


def test_validate_finds_strays_in_a_folder_it_is_given(tmp_path):
    for relative in ("development/proj/wf/workflow.yml", *STRAYS):
        write(tmp_path / "environments", relative)
    found = expand([tmp_path / "environments"])
    assert sorted(p.relative_to(tmp_path / "environments").as_posix() for p in found) == sorted(
        ["development/proj/wf/workflow.yml", *STRAYS]
    )
    assert [misplaced(p) is None for p in found].count(True) == 1


def test_misplaced_files_outside_any_environment_folder(tmp_path):
    assert misplaced(tmp_path / "somewhere" / "workflow.yml") is None  # the location check explains the layout
    assert misplaced(tmp_path / "somewhere" / "workflow.yaml") == WRONG_NAME.format(name="workflow.yaml")
    # The folder above the project is the environment, even when a project is named like another environment.
    assert misplaced(tmp_path / "environments" / "development" / "test" / "wf" / "workflow.yml") is None


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is not present")
def test_the_live_corpus_has_no_stray_manifest():
    manifests, strays = scan(CORPUS, "development")
    assert (len(manifests), strays) == (120, [])
