"""Discovery and core (projects, operations, teams, processes) through the unmodified SDK."""

from __future__ import annotations

import time

import pytest
from azure.devops.exceptions import AzureDevOpsServiceError

from tests.emulator.helpers import call, clients

BASIC = "b8a3a935-7e91-48b8-a94c-606d37c3e9f2"


def _create_body(name: str) -> dict:
    return {
        "name": name,
        "description": "made by a test",
        "visibility": "private",
        "capabilities": {
            "versioncontrol": {"sourceControlType": "Git"},
            "processTemplate": {"templateTypeId": BASIC},
        },
    }


def test_discovery_options_lists_served_locations_only(emulator):
    answer = call(emulator, "OPTIONS", "_apis", api_version=None)
    assert answer.status_code == 200
    body = answer.json()
    assert body["count"] == len(body["value"]) == 21
    areas = {(e["area"], e["resourceName"]) for e in body["value"]}
    assert ("Build", "Definitions") in areas
    assert ("distributedtask", "variablegroups") in areas
    assert ("pipelinePermissions", "pipelinePermissions") in areas


def test_discovery_resource_areas_point_at_the_emulator(emulator):
    body = call(emulator, "GET", "_apis/ResourceAreas", api_version=None).json()
    assert {a["name"] for a in body["value"]} >= {"core", "git", "Build", "distributedtask"}
    assert {a["locationUrl"] for a in body["value"]} == {f"{emulator.url}/"}


def test_discovery_connection_data_through_sdk_names_the_user(emulator):
    data = clients(emulator).get_location_client().get_connection_data()
    assert data.authenticated_user.provider_display_name == "Emulator User"
    assert data.instance_id == emulator.store.org["id"]


def test_project_get_by_name_and_id_returns_the_seeded_project(emulator):
    core = clients(emulator).get_core_client()
    by_name = core.get_project("BATCOMPUTER", include_capabilities=True)
    by_id = core.get_project(by_name.id)
    assert by_id.name == by_name.name == "batcomputer"
    assert by_name.default_team.name == "batcomputer Team"
    assert by_name.capabilities["versioncontrol"]["sourceControlType"] == "Git"
    assert by_id.capabilities is None
    assert [p.name for p in core.get_projects()] == ["batcomputer"]


def test_project_get_unknown_fails_with_project_does_not_exist(emulator):
    core = clients(emulator).get_core_client()
    with pytest.raises(AzureDevOpsServiceError) as caught:
        core.get_project("nope")
    assert caught.value.type_key == "ProjectDoesNotExistWithNameException"
    answer = call(emulator, "GET", "nope/_apis/build/definitions")
    assert answer.status_code == 404
    assert answer.json()["typeKey"] == "ProjectDoesNotExistWithNameException"
    assert set(answer.json()) == {
        "$id",
        "innerException",
        "message",
        "typeName",
        "typeKey",
        "errorCode",
        "eventId",
    }


def test_project_create_is_async_and_seeds_repo_team_and_queues(emulator):
    sdk = clients(emulator)
    core, operations = sdk.get_core_client(), sdk.get_operations_client()
    reference = core.queue_create_project(_create_body("fresh"))
    assert reference.status == "notSet"
    assert [p.name for p in core.get_projects()] == ["batcomputer"]
    statuses = [operations.get_operation(reference.id).status for _ in range(3)]
    assert statuses == ["inProgress", "succeeded", "succeeded"]
    project = core.get_project("fresh")
    assert project.state == "wellFormed"
    assert [r.name for r in sdk.get_git_client().get_repositories("fresh")] == ["fresh"]
    queues = sdk.get_task_agent_client().get_agent_queues("fresh")
    assert sorted(q.name for q in queues) == ["Azure Pipelines", "Default"]
    assert [t.name for t in core.get_teams(project.id)] == ["fresh Team"]


def test_project_create_completes_after_a_second_without_polling(emulator):
    core = clients(emulator).get_core_client()
    core.queue_create_project(_create_body("later"))
    time.sleep(1.05)
    assert core.get_project("later").state == "wellFormed"


def test_project_create_duplicate_and_invalid_are_refused(emulator):
    answer = call(
        emulator,
        "POST",
        "_apis/projects",
        json=_create_body("batcomputer"),
        api_version="7.1-preview.4",
    )
    assert (answer.status_code, answer.json()["typeKey"]) == (409, "ProjectAlreadyExistsException")
    body = _create_body("x")
    del body["capabilities"]["processTemplate"]
    answer = call(emulator, "POST", "_apis/projects", json=body, api_version="7.1-preview.4")
    assert answer.status_code == 400
    assert "capabilities.processTemplate.templateTypeId" in answer.json()["message"]


def test_project_delete_is_async_and_removes_the_project(emulator):
    sdk = clients(emulator)
    core, operations = sdk.get_core_client(), sdk.get_operations_client()
    project = core.get_project("batcomputer")
    reference = core.queue_delete_project(project.id)
    while operations.get_operation(reference.id).status != "succeeded":
        pass
    assert core.get_projects() == []
    assert emulator.store.state["repositories"] == {}


def test_processes_list_has_the_four_system_processes(emulator):
    body = call(emulator, "GET", "_apis/process/processes", api_version="7.1").json()
    assert sorted(p["name"] for p in body["value"]) == ["Agile", "Basic", "CMMI", "Scrum"]
