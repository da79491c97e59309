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
from workflows.manifest.discovery import (
    discover,
    discover_projects,
    expand,
    link_problem,
    looks_like_manifest,
    misplaced,
    read_python_dag,
    scan,
)

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


# --- symbolic links: nothing is read through one ---------------------------------------------------------

LINK = "is a symbolic link (to {target}): the stack reads nothing through a link, only files in the repository: "
LINK_FIX = "replace the link with the real file or folder"
FOLDER_LINK = (
    "the folder {name} is a symbolic link (to {target}): the stack never reads manifests or dag.py through a "
    "link: replace the link with the real folder"
)


def linked_tree(tmp_path: Path, kind: str) -> tuple[Path, Path, Path]:
    """An environments tree with one real workflow and one reached through a link of ``kind``: (root, the
    manifest as the tree shows it, the link). The link's target is outside the tree (``/outside``)."""
    root = tmp_path / "environments"
    write(root, "development/proj/good/workflow.yml")
    outside = tmp_path / "outside"
    if kind == "manifest":
        target = write(outside, "wf/workflow.yml")
        link = root / "development/proj/bad/workflow.yml"
        link.parent.mkdir(parents=True)
        link.symlink_to(target)
        return root, link, link
    if kind == "manifest-inside":  # a link to another manifest of the same tree is refused too
        link = root / "development/proj/bad/workflow.yml"
        link.parent.mkdir(parents=True)
        link.symlink_to(root / "development/proj/good/workflow.yml")
        return root, link, link
    if kind == "workflow-folder":
        write(outside, "wf/workflow.yml")
        link = root / "development/proj/bad"
        link.symlink_to(outside / "wf", target_is_directory=True)
        return root, link / "workflow.yml", link
    if kind == "project-folder":
        write(outside, "proj/wf/workflow.yml")
        link = root / "development/linked"
        link.symlink_to(outside / "proj", target_is_directory=True)
        return root, link / "wf/workflow.yml", link
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["manifest", "manifest-inside", "workflow-folder", "project-folder"])
def test_the_stack_refuses_an_environment_with_a_link(tmp_path, kind):
    root, _, link = linked_tree(tmp_path, kind)
    with pytest.raises(ManifestError) as caught:
        discover(root, "development")
    [problem] = caught.value.problems
    assert problem.path == link
    target = link.readlink()
    if link.is_dir():
        assert problem.message == FOLDER_LINK.format(name=link.name, target=target)
    else:
        assert problem.message == f"workflow.yml {LINK.format(target=target)}{LINK_FIX}"
    assert scan(root, "development")[0] == [root / "development/proj/good/workflow.yml"]


@pytest.mark.parametrize("kind", ["manifest", "manifest-inside", "workflow-folder", "project-folder"])
def test_validate_finds_manifests_through_links_and_refuses_them(tmp_path, kind):
    root, manifest, link = linked_tree(tmp_path, kind)
    found = expand([root])
    assert manifest in found  # found, so that the check (tests/workflows/test_validate.py) refuses it
    what = {
        "manifest": "workflow.yml",
        "manifest-inside": "workflow.yml",
        "workflow-folder": "the workflow folder bad",
        "project-folder": "the project folder linked",
    }[kind]
    assert link_problem(manifest) == f"{what} {LINK.format(target=link.readlink())}{LINK_FIX}"
    assert link_problem(root / "development/proj/good/workflow.yml") is None


def test_a_link_loop_is_searched_once(tmp_path):
    root = tmp_path / "environments"
    write(root, "development/proj/wf/workflow.yml")
    (root / "development/proj/wf/loop").symlink_to(root / "development", target_is_directory=True)
    assert expand([root]) == [root / "development/proj/wf/workflow.yml"]


def test_a_linked_environment_folder_is_refused(tmp_path):
    write(tmp_path / "real", "development/proj/wf/workflow.yml")
    root = tmp_path / "environments"
    root.mkdir()
    (root / "development").symlink_to(tmp_path / "real/development", target_is_directory=True)
    with pytest.raises(ManifestError) as caught:
        discover(root, "development")
    assert "the environment folder development is a symbolic link" in caught.value.problems[0].message
    assert link_problem(root / "development/proj/wf/workflow.yml").startswith(
        "the environment folder development is a symbolic link"
    )


@pytest.mark.parametrize("target", ["outside", "inside"])
def test_a_linked_dag_py_is_never_read(tmp_path, target):
    manifest = write(tmp_path, "environments/development/proj/wf/workflow.yml")
    secret = write(tmp_path, "secret.txt", "password = 'hunter2'\n")
    other = write(tmp_path, "environments/development/proj/other/dag.py", "# dag\n")
    dag_py = manifest.parent / "dag.py"
    dag_py.symlink_to(secret if target == "outside" else other)
    with pytest.raises(ManifestError) as caught:
        read_python_dag(manifest)
    [problem] = caught.value.problems
    assert (problem.path, problem.message) == (dag_py, f"dag.py {LINK.format(target=dag_py.readlink())}{LINK_FIX}")
    with pytest.raises(ManifestError) as caught:
        discover(tmp_path / "environments", "development")
    assert [p.path for p in caught.value.problems] == [dag_py]


def test_a_dangling_linked_dag_py_is_refused_too(tmp_path):
    manifest = write(tmp_path, "environments/development/proj/wf/workflow.yml")
    (manifest.parent / "dag.py").symlink_to(tmp_path / "nothing-here.py")
    with pytest.raises(ManifestError):
        read_python_dag(manifest)


def test_a_real_dag_py_is_read(tmp_path):
    manifest = write(tmp_path, "environments/development/proj/wf/workflow.yml")
    write(tmp_path, "environments/development/proj/wf/dag.py", "# dag\n")
    assert read_python_dag(manifest) == "# dag\n"


# --- a project's project.yml ---------------------------------------------------------------------------------

PROJECT_WRONG_NAME = (
    "this file is never read: the stack reads only project files called exactly project.yml (lower-case, .yml): "
    "rename {name} to project.yml"
)
PROJECT_WRONG_DEPTH = (
    "this file is never read: a project's project.yml sits in the project folder, as "
    "<environment>/<project>/project.yml, and this one is at {here}: move it to development/<project>/project.yml"
)
PROJECT_STRAYS = {
    "development/proj/project.yaml": PROJECT_WRONG_NAME.format(name="project.yaml"),
    "development/proj2/Project.yml": PROJECT_WRONG_NAME.format(name="Project.yml"),
    "development/proj/wf/project.yml": PROJECT_WRONG_DEPTH.format(here="development/proj/wf/project.yml"),
    "development/project.yml": PROJECT_WRONG_DEPTH.format(here="development/project.yml"),
}


def test_project_files_are_found_beside_their_workflows_folders(tmp_path):
    for relative in ("development/b/x/workflow.yml", "development/a/x/workflow.yml"):
        write(tmp_path, relative)
    write(tmp_path, "development/b/project.yml", "secrets: [x]\n")
    write(tmp_path, "development/a/project.yml", "secrets: [x]\n")
    write(tmp_path, "development/c/README.md", "notes\n")
    assert [p.relative_to(tmp_path).as_posix() for p in discover_projects(tmp_path, "development")] == [
        "development/a/project.yml",
        "development/b/project.yml",
    ]
    # They are not workflows, and not strays.
    assert scan(tmp_path, "development") == (
        [tmp_path / "development/a/x/workflow.yml", tmp_path / "development/b/x/workflow.yml"],
        [],
    )
    assert discover_projects(tmp_path, "production") == []


@pytest.mark.parametrize("relative", PROJECT_STRAYS)
def test_a_project_file_the_stack_would_never_read_is_refused(tmp_path, relative):
    write(tmp_path, "development/proj/good/workflow.yml")
    stray = write(tmp_path, relative, "secrets: [x]\n")
    with pytest.raises(ManifestError) as caught:
        discover(tmp_path, "development")
    assert [(p.path, p.message) for p in caught.value.problems] == [(stray, PROJECT_STRAYS[relative])]
    assert misplaced(stray) == PROJECT_STRAYS[relative]
    assert discover_projects(tmp_path, "development") == []


def test_a_linked_project_file_is_refused_and_never_read(tmp_path):
    target = write(tmp_path / "outside", "project.yml", "secrets: [x]\nmaintainers: [a]\n")
    link = tmp_path / "development/proj/project.yml"
    link.parent.mkdir(parents=True)
    link.symlink_to(target)
    with pytest.raises(ManifestError) as caught:
        discover(tmp_path, "development")
    assert [p.path for p in caught.value.problems] == [link]
    assert discover_projects(tmp_path, "development") == []
    assert link_problem(link).startswith(f"project.yml is a symbolic link (to {target})")
