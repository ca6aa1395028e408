"""Git repositories and items through the SDK, backed by a git checkout or a plain directory."""

from __future__ import annotations

import os
import subprocess

import pytest
from azure.devops.exceptions import AzureDevOpsServiceError

from tests.emulator.helpers import call, clients

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


@pytest.fixture
def checkout(tmp_path):
    """A git checkout: main has pipelines/a.yml; branch dev adds b.yml; c.yml is uncommitted."""
    env = {**os.environ, **GIT_ENV}

    def git(*args):
        subprocess.run(
            ["git", "-C", str(tmp_path), *args], check=True, capture_output=True, env=env
        )

    git("init", "-q", "-b", "main")
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "a.yml").write_text("trigger: none\n")
    git("add", ".")
    git("commit", "-q", "-m", "a")
    git("checkout", "-q", "-b", "dev")
    (tmp_path / "pipelines" / "b.yml").write_text("trigger: dev\n")
    git("add", ".")
    git("commit", "-q", "-m", "b")
    git("checkout", "-q", "main")
    (tmp_path / "pipelines" / "c.yml").write_text("not committed\n")
    return tmp_path


def _repo(sdk):
    return sdk.get_git_client().get_repositories("batcomputer")[0]


def test_repository_list_and_get_by_name_show_the_project_repository(emulator):
    git = clients(emulator).get_git_client()
    listed = git.get_repositories("batcomputer")
    assert [r.name for r in listed] == ["batcomputer"]
    by_name = git.get_repository("BatComputer", project="batcomputer")
    assert by_name.id == listed[0].id
    assert by_name.default_branch == "refs/heads/main"
    assert by_name.project.name == "batcomputer"


def test_repository_get_unknown_fails_with_repository_not_found(emulator):
    with pytest.raises(AzureDevOpsServiceError) as caught:
        clients(emulator).get_git_client().get_repository("nope", project="batcomputer")
    assert caught.value.type_key == "GitRepositoryNotFoundException"
    assert "TF401019" in caught.value.message


def test_item_at_default_branch_returns_committed_content(emulator_factory, checkout):
    emu = emulator_factory(repo_dir=str(checkout))
    sdk = clients(emu)
    git, repo = sdk.get_git_client(), _repo(sdk)
    item = git.get_item(repo.id, "pipelines/a.yml", project="batcomputer", include_content=True)
    assert (item.path, item.content) == ("/pipelines/a.yml", "trigger: none\n")
    raw = b"".join(git.get_item_content(repo.id, "/pipelines/a.yml", project="batcomputer"))
    assert raw == b"trigger: none\n"


def test_item_absent_or_uncommitted_fails_with_item_not_found(emulator_factory, checkout):
    emu = emulator_factory(repo_dir=str(checkout))
    sdk = clients(emu)
    git, repo = sdk.get_git_client(), _repo(sdk)
    for path in ("pipelines/c.yml", "pipelines/b.yml", "nope.yml"):
        with pytest.raises(AzureDevOpsServiceError) as caught:
            git.get_item(repo.id, path, project="batcomputer")
        assert caught.value.type_key == "GitItemNotFoundException"
        assert "TF401174" in caught.value.message
    answer = call(
        emu, "GET", f"batcomputer/_apis/git/repositories/{repo.id}/items", params={"path": "x.yml"}
    )
    assert answer.status_code == 404


def test_item_at_other_branch_and_missing_branch(emulator_factory, checkout):
    from azure.devops.v7_1.git.models import GitVersionDescriptor

    emu = emulator_factory(repo_dir=str(checkout))
    sdk = clients(emu)
    git, repo = sdk.get_git_client(), _repo(sdk)
    dev = GitVersionDescriptor(version="dev", version_type="branch")
    item = git.get_item(
        repo.id,
        "pipelines/b.yml",
        project="batcomputer",
        include_content=True,
        version_descriptor=dev,
    )
    assert item.content == "trigger: dev\n"
    with pytest.raises(AzureDevOpsServiceError) as caught:
        git.get_item(
            repo.id,
            "pipelines/a.yml",
            project="batcomputer",
            version_descriptor=GitVersionDescriptor(version="gone", version_type="branch"),
        )
    assert caught.value.type_key == "GitUnresolvableToCommitException"


def test_item_from_plain_directory_serves_files_as_main(emulator_factory, tmp_path):
    (tmp_path / "x.yml").write_text("steps: []\n")
    emu = emulator_factory(repo_dir=str(tmp_path))
    sdk = clients(emu)
    git, repo = sdk.get_git_client(), _repo(sdk)
    item = git.get_item(repo.id, "x.yml", project="batcomputer", include_content=True)
    assert item.content == "steps: []\n"
    with pytest.raises(AzureDevOpsServiceError):
        git.get_item(repo.id, "../etc/passwd", project="batcomputer")


def test_item_without_repo_dir_is_absent_and_repository_has_no_default_branch(emulator_factory):
    emu = emulator_factory(repo_dir=None)
    sdk = clients(emu)
    repo = _repo(sdk)
    assert repo.default_branch is None
    with pytest.raises(AzureDevOpsServiceError):
        sdk.get_git_client().get_item(repo.id, "pyproject.toml", project="batcomputer")


@pytest.mark.parametrize("kind", ["git", "directory"])
def test_items_listing_by_scope_path_and_recursion_level(emulator_factory, checkout, kind):
    if kind == "directory":
        (checkout / "pipelines" / "c.yml").unlink()
        subprocess.run(["rm", "-rf", str(checkout / ".git")], check=True)
    emu = emulator_factory(repo_dir=str(checkout))
    repo = _repo(clients(emu))
    path = f"batcomputer/_apis/git/repositories/{repo.id}/items"
    full = call(
        emu,
        "GET",
        path,
        params={
            "scopePath": "/pipelines",
            "recursionLevel": "Full",
            "versionDescriptor.version": "main",
            "versionDescriptor.versionType": "branch",
        },
    ).json()
    assert [(i["path"], i["gitObjectType"], i.get("isFolder")) for i in full["value"]] == [
        ("/pipelines", "tree", True),
        ("/pipelines/a.yml", "blob", None),
    ]
    assert full["count"] == 2
    root = call(emu, "GET", path, params={"scopePath": "/", "recursionLevel": "OneLevel"}).json()
    assert [i["path"] for i in root["value"]] == ["/", "/pipelines"]
    folder = call(emu, "GET", path, params={"path": "/pipelines"}).json()
    assert (folder["path"], folder["isFolder"]) == ("/pipelines", True)
    missing = call(emu, "GET", path, params={"scopePath": "/nope", "recursionLevel": "Full"})
    assert (missing.status_code, missing.json()["typeKey"]) == (404, "GitItemNotFoundException")


def test_items_listing_through_sdk_get_items(emulator_factory, checkout):
    emu = emulator_factory(repo_dir=str(checkout))
    sdk = clients(emu)
    repo = _repo(sdk)
    items = sdk.get_git_client().get_items(
        repo.id, project="batcomputer", scope_path="/pipelines", recursion_level="Full"
    )
    assert [(i.path, i.is_folder) for i in items] == [
        ("/pipelines", True),
        ("/pipelines/a.yml", None),
    ]


def test_repository_and_item_by_id_without_a_project(emulator):
    git = clients(emulator).get_git_client()
    repo = git.get_repositories("batcomputer")[0]
    assert git.get_repository(repo.id).name == "batcomputer"
    assert [r.id for r in git.get_repositories()] == [repo.id]
    item = git.get_item(repo.id, "pyproject.toml", include_content=True)
    assert "[project]" in item.content
    with pytest.raises(AzureDevOpsServiceError):
        git.get_repository("batcomputer")
