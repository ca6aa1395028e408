"""Pipeline permissions and build authorizedresources: one flag, two APIs."""

from __future__ import annotations

import pytest
from azure.devops.v7_1.build.models import DefinitionResourceReference

from tests.emulator.helpers import call, clients


@pytest.fixture
def sdk(emulator):
    return clients(emulator)


def test_all_pipelines_flag_is_shared_with_authorizedresources(sdk):
    permissions, build = sdk.get_pipeline_permissions_client(), sdk.get_build_client()
    assert (
        permissions.get_pipeline_permissions_for_resource(
            "batcomputer", "variablegroup", "7"
        ).all_pipelines
        is None
    )
    result = permissions.update_pipeline_permisions_for_resource(
        {"allPipelines": {"authorized": True}}, "batcomputer", "variablegroup", "7"
    )
    assert result.all_pipelines.authorized is True
    listed = build.get_project_resources("batcomputer", type="variablegroup", id="7")
    assert [(r.type, r.id, r.authorized) for r in listed] == [("variablegroup", "7", True)]
    build.authorize_project_resources(
        [DefinitionResourceReference(authorized=False, id="7", name="g", type="variablegroup")],
        "batcomputer",
    )
    assert (
        permissions.get_pipeline_permissions_for_resource(
            "batcomputer", "variablegroup", "7"
        ).all_pipelines
        is None
    )


def test_authorizedresources_patch_answers_every_authorized_resource(emulator):
    path = "batcomputer/_apis/build/authorizedresources"
    first = call(
        emulator,
        "PATCH",
        path,
        api_version="5.0-preview.1",
        json=[{"authorized": True, "id": "1", "name": "a", "type": "variablegroup"}],
    )
    assert first.json() == {
        "count": 1,
        "value": [{"type": "variablegroup", "id": "1", "authorized": True}],
    }
    second = call(
        emulator,
        "PATCH",
        path,
        api_version="5.0-preview.1",
        json=[{"authorized": True, "id": "2", "name": "b", "type": "endpoint"}],
    )
    assert second.json()["count"] == 2


def test_per_pipeline_entries_add_and_remove(sdk):
    permissions = sdk.get_pipeline_permissions_client()
    permissions.update_pipeline_permisions_for_resource(
        {"pipelines": [{"id": 3, "authorized": True}, {"id": 4, "authorized": True}]},
        "batcomputer",
        "endpoint",
        "e",
    )
    result = permissions.update_pipeline_permisions_for_resource(
        {"pipelines": [{"id": 3, "authorized": False}]}, "batcomputer", "endpoint", "e"
    )
    assert [p.id for p in result.pipelines] == [4]
    assert result.resource.type == "endpoint"


def test_update_many_resources_at_once(sdk):
    results = sdk.get_pipeline_permissions_client().update_pipeline_permisions_for_resources(
        [
            {"resource": {"type": "queue", "id": "1"}, "allPipelines": {"authorized": True}},
            {
                "resource": {"type": "variablegroup", "id": "2"},
                "pipelines": [{"id": 9, "authorized": True}],
            },
        ],
        "batcomputer",
    )
    assert [(r.resource.type, bool(r.all_pipelines)) for r in results] == [
        ("queue", True),
        ("variablegroup", False),
    ]


def test_unknown_resource_type_fails_with_400(emulator):
    answer = call(emulator, "GET", "batcomputer/_apis/pipelines/pipelinePermissions/spaceship/1")
    assert (answer.status_code, answer.json()["typeKey"]) == (400, "ArgumentException")


def test_deleting_a_variable_group_drops_its_permissions(sdk, emulator):
    project = sdk.get_core_client().get_project("batcomputer")
    created = call(
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
    permissions = sdk.get_pipeline_permissions_client()
    permissions.update_pipeline_permisions_for_resource(
        {"allPipelines": {"authorized": True}}, "batcomputer", "variablegroup", str(created["id"])
    )
    sdk.get_task_agent_client().delete_variable_group(created["id"], [project.id])
    assert emulator.store.state["permissions"] == {}
