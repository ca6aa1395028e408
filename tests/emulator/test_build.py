"""Build definitions, folders, builds and pipeline runs through the SDK."""

from __future__ import annotations

import pytest
from azure.devops.exceptions import AzureDevOpsServiceError
from azure.devops.v7_1.build.models import Build, BuildDefinition, Folder

from tests.emulator.helpers import call, clients

API = "7.1-preview.7"


@pytest.fixture
def sdk(emulator):
    return clients(emulator)


@pytest.fixture
def repo(sdk):
    return sdk.get_git_client().get_repositories("batcomputer")[0]


def _definition(repo, name="training", path="\\", **extra) -> BuildDefinition:
    return BuildDefinition(
        name=name,
        path=path,
        process={"type": 2, "yamlFilename": f"pipelines/{name}.yml"},
        repository={
            "type": "TfsGit",
            "id": repo.id,
            "name": repo.name,
            "defaultBranch": "refs/heads/main",
        },
        **extra,
    )


def test_create_yaml_definition_with_queue_groups_and_triggers(sdk, repo, emulator):
    build, tasks = sdk.get_build_client(), sdk.get_task_agent_client()
    queue = tasks.get_agent_queues("batcomputer", queue_name="Azure Pipelines")[0]
    project = sdk.get_core_client().get_project("batcomputer")
    group = call(
        emulator,
        "POST",
        "_apis/distributedtask/variablegroups",
        api_version="7.1-preview.2",
        json={
            "name": "shared-variables",
            "type": "Vsts",
            "variables": {"S": {"value": "x", "isSecret": True}},
            "variableGroupProjectReferences": [
                {"name": "shared-variables", "projectReference": {"id": project.id}}
            ],
        },
    ).json()
    training = build.create_definition(
        _definition(
            repo,
            queue={"id": queue.id},
            variable_groups=[{"id": group["id"]}],
            triggers=[{"triggerType": 2, "settingsSourceType": 2}],
            variables={"AZML_MODEL": {"value": "m"}, "KEY": {"value": "k", "isSecret": True}},
        ),
        "batcomputer",
    )
    assert (training.revision, training.queue.name, training.process["yamlFilename"]) == (
        1,
        "Azure Pipelines",
        "pipelines/training.yml",
    )
    assert training.repository.type == "TfsGit"
    assert training.triggers[0]["triggerType"] == "continuousIntegration"
    assert training.variables["KEY"].value is None
    assert training.variable_groups[0].variables["S"].value is None
    api = build.create_definition(
        _definition(
            repo,
            "build-api",
            triggers=[
                {
                    "triggerType": "buildCompletion",
                    "definition": {"id": training.id},
                    "branchFilters": ["+refs/heads/main"],
                    "requiresSuccessfulBuild": True,
                }
            ],
        ),
        "batcomputer",
    )
    trigger = api.triggers[0]
    assert (
        trigger["triggerType"],
        trigger["definition"]["id"],
        trigger["requiresSuccessfulBuild"],
    ) == ("buildCompletion", training.id, True)
    assert api.queue.name == "Azure Pipelines"


def test_create_github_repository_needs_a_service_connection(sdk, emulator):
    project = sdk.get_core_client().get_project("batcomputer")
    github = sdk.get_service_endpoint_client().create_service_endpoint(
        {
            "name": "gh",
            "type": "GitHub",
            "url": "https://github.com",
            "authorization": {"scheme": "Token", "parameters": {"AccessToken": "t"}},
            "serviceEndpointProjectReferences": [
                {"projectReference": {"id": project.id}, "name": "gh"}
            ],
        }
    )
    definition = BuildDefinition(
        name="gh",
        process={"type": 2, "yamlFilename": "a.yml"},
        repository={
            "type": "GitHub",
            "id": "org/repo",
            "name": "org/repo",
            "properties": {"connectedServiceId": github.id},
        },
    )
    created = sdk.get_build_client().create_definition(definition, "batcomputer")
    assert (created.repository.type, created.repository.properties["connectedServiceId"]) == (
        "GitHub",
        github.id,
    )
    definition.name = "gh2"
    definition.repository = {
        "type": "GitHub",
        "id": "org/repo",
        "name": "org/repo",
        "properties": {},
    }
    with pytest.raises(AzureDevOpsServiceError) as caught:
        sdk.get_build_client().create_definition(definition, "batcomputer")
    assert caught.value.type_key == "MissingEndpointInformationException"


def test_create_duplicate_name_in_folder_fails_with_400_definition_exists(sdk, repo, emulator):
    build = sdk.get_build_client()
    build.create_definition(_definition(repo), "batcomputer")
    build.create_definition(_definition(repo, path="\\other"), "batcomputer")
    body = build._serialize.body(_definition(repo, "TRAINING"), "BuildDefinition")
    answer = call(
        emulator, "POST", "batcomputer/_apis/build/definitions", json=body, api_version=API
    )
    assert (answer.status_code, answer.json()["typeKey"]) == (400, "DefinitionExistsException")


def test_create_invalid_fields_fail_with_400(emulator, repo):
    path = "batcomputer/_apis/build/definitions"
    cases = [
        (
            {
                "process": {"type": 2, "yamlFilename": "a.yml"},
                "repository": {"type": "TfsGit", "id": repo.id},
            },
            "ArgumentNullException",
        ),
        (
            {"name": "x", "process": {"type": 2}, "repository": {"type": "TfsGit", "id": repo.id}},
            "InvalidDefinitionException",
        ),
        (
            {"name": "x", "process": {"type": 2, "yamlFilename": "a.yml"}},
            "MissingRepositoryException",
        ),
        (
            {
                "name": "x",
                "process": {"type": 2, "yamlFilename": "a.yml"},
                "repository": {"type": "TfsGit", "id": "nope"},
            },
            "RepositoryInformationInvalidException",
        ),
        (
            {
                "name": "x",
                "process": {"type": 2, "yamlFilename": "a.yml"},
                "repository": {"type": "TfsGit", "id": repo.id},
                "queue": {"id": 999},
            },
            "TaskAgentQueueNotFoundException",
        ),
        (
            {
                "name": "x",
                "process": {"type": 2, "yamlFilename": "a.yml"},
                "repository": {"type": "TfsGit", "id": repo.id},
                "triggers": [{"triggerType": "buildCompletion", "definition": {"id": 42}}],
            },
            "InvalidDefinitionInTriggerSourceException",
        ),
    ]
    for body, type_key in cases:
        answer = call(emulator, "POST", path, json=body, api_version=API)
        assert (answer.status_code, answer.json()["typeKey"]) == (400, type_key), body
    assert emulator.store.state["definitions"] == {}


def test_update_needs_current_revision_and_matching_id(sdk, repo, emulator):
    build = sdk.get_build_client()
    created = build.create_definition(_definition(repo), "batcomputer")
    created.description = "v2"
    updated = build.update_definition(created, "batcomputer", created.id)
    assert (updated.revision, updated.description) == (2, "v2")
    with pytest.raises(AzureDevOpsServiceError) as caught:
        build.update_definition(created, "batcomputer", created.id)
    assert caught.value.type_key == "DefinitionNotFoundException"
    body = build._serialize.body(updated, "BuildDefinition")
    stale = call(
        emulator,
        "PUT",
        f"batcomputer/_apis/build/definitions/{created.id}",
        json={**body, "revision": 1},
        api_version=API,
    )
    assert stale.status_code == 404
    mismatched = call(
        emulator, "PUT", "batcomputer/_apis/build/definitions/77", json=body, api_version=API
    )
    assert (mismatched.status_code, mismatched.json()["typeKey"]) == (
        400,
        "DefinitionNotMatchedException",
    )


def test_list_filters_by_name_wildcard_and_path_and_pages(sdk, repo, emulator):
    build = sdk.get_build_client()
    for name, path in (("data-load", "\\ml"), ("training", "\\ml"), ("build-api", "\\")):
        build.create_definition(_definition(repo, name, path), "batcomputer")
    assert sorted(d.name for d in build.get_definitions("batcomputer", name="*a*n*")) == [
        "training"
    ]
    assert sorted(d.name for d in build.get_definitions("batcomputer", path="\\ml")) == [
        "data-load",
        "training",
    ]
    assert [d.name for d in build.get_definitions("batcomputer", name="BUILD-API")] == ["build-api"]
    path = "batcomputer/_apis/build/definitions"
    first = call(
        emulator,
        "GET",
        path,
        params={"$top": 2, "queryOrder": "definitionNameAscending"},
        api_version=API,
    )
    assert [d["name"] for d in first.json()["value"]] == ["build-api", "data-load"]
    token = first.headers["x-ms-continuationtoken"]
    rest = call(
        emulator,
        "GET",
        path,
        params={"$top": 2, "queryOrder": "definitionNameAscending", "continuationToken": token},
        api_version=API,
    )
    assert [d["name"] for d in rest.json()["value"]] == ["training"]
    assert "x-ms-continuationtoken" not in rest.headers


def test_delete_is_soft_and_restore_brings_it_back(sdk, repo, emulator):
    build = sdk.get_build_client()
    created = build.create_definition(_definition(repo), "batcomputer")
    build.delete_definition("batcomputer", created.id)
    assert build.get_definitions("batcomputer") == []
    with pytest.raises(AzureDevOpsServiceError):
        build.get_definition("batcomputer", created.id)
    deleted = call(
        emulator,
        "GET",
        "batcomputer/_apis/build/definitions",
        params={"deletedFilter": "onlyDeleted"},
        api_version=API,
    ).json()
    assert [d["id"] for d in deleted["value"]] == [created.id]
    restored = build.restore_definition("batcomputer", created.id, False)
    assert restored.revision == 2
    assert [d.name for d in build.get_definitions("batcomputer")] == ["training"]


def test_folders_create_move_list_and_delete(sdk, repo):
    build = sdk.get_build_client()
    build.create_folder(Folder(description="models"), "batcomputer", "\\ml")
    with pytest.raises(AzureDevOpsServiceError) as caught:
        build.create_folder(Folder(), "batcomputer", "\\ml")
    assert caught.value.type_key == "FolderExistsException"
    build.create_definition(_definition(repo, path="\\ml"), "batcomputer")
    build.update_folder(Folder(path="\\models\\ml"), "batcomputer", "\\ml")
    assert [f.path for f in build.get_folders("batcomputer")] == ["\\", "\\models", "\\models\\ml"]
    assert build.get_definitions("batcomputer")[0].path == "\\models\\ml"
    build.delete_folder("batcomputer", "\\models")
    assert [f.path for f in build.get_folders("batcomputer")] == ["\\"]
    assert build.get_definitions("batcomputer") == []


def test_queue_build_and_run_pipeline_are_recorded(sdk, repo):
    build, pipelines = sdk.get_build_client(), sdk.get_pipelines_client()
    definition = build.create_definition(_definition(repo), "batcomputer")
    queued = build.queue_build(
        Build(definition={"id": definition.id}, source_branch="main"), "batcomputer"
    )
    assert (queued.status, queued.source_branch, queued.definition.id) == (
        "notStarted",
        "refs/heads/main",
        definition.id,
    )
    assert build.get_build("batcomputer", queued.id).build_number == queued.build_number
    run = pipelines.run_pipeline(
        {"resources": {"repositories": {"self": {"refName": "refs/heads/main"}}}},
        "batcomputer",
        definition.id,
    )
    assert (run.state, run.pipeline.id) == ("inProgress", definition.id)
    assert pipelines.get_run("batcomputer", definition.id, run.id).id == run.id
    assert [r.id for r in pipelines.list_runs("batcomputer", definition.id)] == [run.id, queued.id]
    assert [p.name for p in pipelines.list_pipelines("batcomputer")] == ["training"]
    with pytest.raises(AzureDevOpsServiceError):
        pipelines.run_pipeline({}, "batcomputer", 999)


def test_get_then_update_unchanged_round_trips_every_field(sdk, repo, emulator):
    build = sdk.get_build_client()
    project = sdk.get_core_client().get_project("batcomputer")
    group = call(
        emulator,
        "POST",
        "_apis/distributedtask/variablegroups",
        api_version="7.1-preview.2",
        json={
            "name": "g",
            "type": "Vsts",
            "variables": {"a": {"value": "1"}},
            "variableGroupProjectReferences": [
                {"name": "g", "projectReference": {"id": project.id}}
            ],
        },
    ).json()
    source = build.create_definition(_definition(repo, "source"), "batcomputer")
    created = build.create_definition(
        _definition(
            repo,
            "api",
            path="\\ml",
            variable_groups=[{"id": group["id"]}],
            variables={"KEY": {"value": "k", "isSecret": True}, "PLAIN": {"value": "p"}},
            triggers=[
                {
                    "triggerType": "buildCompletion",
                    "definition": {"id": source.id},
                    "branchFilters": ["+refs/heads/main"],
                    "requiresSuccessfulBuild": True,
                }
            ],
        ),
        "batcomputer",
    )
    fetched = build.get_definition("batcomputer", created.id)
    again = build.update_definition(fetched, "batcomputer", created.id)
    before, after = (
        build._serialize.body(fetched, "BuildDefinition"),
        build._serialize.body(again, "BuildDefinition"),
    )
    for changing in ("revision", "url", "_links", "createdDate"):
        before.pop(changing, None)
        after.pop(changing, None)
    assert after == before
    stored = emulator.store.state["definitions"][str(created.id)]["variables"]["KEY"]
    assert stored["value"] == "k"
