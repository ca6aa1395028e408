"""Agent queues and variable groups through the SDK."""

from __future__ import annotations

import pytest
from azure.devops.exceptions import AzureDevOpsServiceError
from azure.devops.v7_1.task_agent.models import (
    ProjectReference,
    VariableGroupParameters,
    VariableGroupProjectReference,
    VariableValue,
)

from tests.emulator.helpers import call, clients


@pytest.fixture
def sdk(emulator):
    return clients(emulator)


@pytest.fixture
def project(sdk):
    return sdk.get_core_client().get_project("batcomputer")


def _params(project, name="shared-variables", **variables):
    return VariableGroupParameters(
        name=name,
        type="Vsts",
        description="made by a test",
        variables=variables
        or {
            "AZML_WORKSPACE": VariableValue(value="ws"),
            "ACR_PASSWORD": VariableValue(value="s3cret", is_secret=True),
        },
        variable_group_project_references=[
            VariableGroupProjectReference(
                name=name, project_reference=ProjectReference(id=project.id, name=project.name)
            )
        ],
    )


def test_queues_by_name_find_the_hosted_queue(sdk):
    tasks = sdk.get_task_agent_client()
    queues = tasks.get_agent_queues("batcomputer", queue_name="Azure Pipelines")
    assert [(q.name, q.pool.is_hosted) for q in queues] == [("Azure Pipelines", True)]
    assert [
        q.name for q in tasks.get_agent_queues_by_names(["Default"], project="batcomputer")
    ] == ["Default"]
    assert tasks.get_agent_queue(queues[0].id, project="batcomputer").name == "Azure Pipelines"
    assert {p.name for p in tasks.get_agent_pools()} == {"Default", "Azure Pipelines"}


def test_add_returns_secrets_as_null_and_keeps_them_stored(sdk, project, emulator):
    group = sdk.get_task_agent_client().add_variable_group(_params(project))
    assert group.variables["AZML_WORKSPACE"].value == "ws"
    assert (group.variables["ACR_PASSWORD"].value, group.variables["ACR_PASSWORD"].is_secret) == (
        None,
        True,
    )
    assert group.variable_group_project_references[0].project_reference.id == project.id
    stored = emulator.store.state["variableGroups"][str(group.id)]
    assert stored["variables"]["ACR_PASSWORD"]["value"] == "s3cret"
    raw = call(
        emulator,
        "GET",
        "batcomputer/_apis/distributedtask/variablegroups",
        api_version="7.1-preview.2",
    )
    assert "s3cret" not in raw.text
    assert raw.json()["value"][0]["variableGroupProjectReferences"] is None


def test_list_filters_by_name_with_wildcards_and_get_by_id(sdk, project):
    tasks = sdk.get_task_agent_client()
    first = tasks.add_variable_group(_params(project, "shared-variables"))
    tasks.add_variable_group(_params(project, "other"))
    assert [g.name for g in tasks.get_variable_groups("batcomputer", group_name="SHARED*")] == [
        "shared-variables"
    ]
    assert [g.name for g in tasks.get_variable_groups("batcomputer")] == [
        "other",
        "shared-variables",
    ]
    assert tasks.get_variable_group("batcomputer", first.id).name == "shared-variables"
    assert tasks.get_variable_group("batcomputer", 999) is None
    assert [g.id for g in tasks.get_variable_groups_by_id("batcomputer", [first.id])] == [first.id]


def test_add_duplicate_name_fails_with_409_group_exists(sdk, project, emulator):
    tasks = sdk.get_task_agent_client()
    tasks.add_variable_group(_params(project))
    with pytest.raises(AzureDevOpsServiceError) as caught:
        tasks.add_variable_group(_params(project, "SHARED-variables"))
    assert caught.value.type_key == "VariableGroupExistsException"
    body = tasks._serialize.body(_params(project), "VariableGroupParameters")
    answer = call(
        emulator,
        "POST",
        "_apis/distributedtask/variablegroups",
        json=body,
        api_version="7.1-preview.2",
    )
    assert answer.status_code == 409


def test_add_without_project_references_fails_with_400(emulator):
    answer = call(
        emulator,
        "POST",
        "_apis/distributedtask/variablegroups",
        api_version="7.1-preview.2",
        json={"name": "x", "type": "Vsts", "variables": {"a": {"value": "1"}}},
    )
    assert (answer.status_code, answer.json()["typeKey"]) == (400, "ArgumentNullException")


def test_update_replaces_the_set_and_keeps_unsent_secret_values(sdk, project, emulator):
    tasks = sdk.get_task_agent_client()
    group = tasks.add_variable_group(_params(project))
    update = _params(
        project, ACR_PASSWORD=VariableValue(is_secret=True), NEW=VariableValue(value="n")
    )
    updated = tasks.update_variable_group(update, group.id)
    assert set(updated.variables) == {"ACR_PASSWORD", "NEW"}
    stored = emulator.store.state["variableGroups"][str(group.id)]["variables"]
    assert stored["ACR_PASSWORD"]["value"] == "s3cret"
    rotated = tasks.update_variable_group(
        _params(project, ACR_PASSWORD=VariableValue(value="new", is_secret=True)), group.id
    )
    assert rotated.variables["ACR_PASSWORD"].value is None
    assert (
        emulator.store.state["variableGroups"][str(group.id)]["variables"]["ACR_PASSWORD"]["value"]
        == "new"
    )


def test_update_unknown_group_fails_with_not_found(sdk, project):
    with pytest.raises(AzureDevOpsServiceError) as caught:
        sdk.get_task_agent_client().update_variable_group(_params(project), 404)
    assert caught.value.type_key == "VariableGroupNotFoundException"


def test_delete_needs_project_ids_and_removes_the_group(sdk, project, emulator):
    tasks = sdk.get_task_agent_client()
    group = tasks.add_variable_group(_params(project))
    answer = call(
        emulator,
        "DELETE",
        f"_apis/distributedtask/variablegroups/{group.id}",
        api_version="7.1-preview.2",
    )
    assert (answer.status_code, answer.json()["typeKey"]) == (400, "ArgumentNullException")
    tasks.delete_variable_group(group.id, [project.id])
    assert tasks.get_variable_groups("batcomputer") == []


def test_project_scoped_legacy_routes_create_update_delete(emulator):
    path = "batcomputer/_apis/distributedtask/variablegroups"
    created = call(
        emulator,
        "POST",
        path,
        api_version="5.0-preview.1",
        json={"name": "group1", "type": "Vsts", "variables": {"v": {"value": "1"}}},
    )
    assert created.status_code == 200
    group_id = created.json()["id"]
    assert created.json()["createdBy"]["displayName"] is None
    renamed = call(
        emulator,
        "PUT",
        f"{path}/{group_id}",
        api_version="5.0-preview.1",
        json={"name": "newGroup", "type": "Vsts", "variables": {"v": {"value": "2"}}},
    )
    assert renamed.json()["variableGroupProjectReferences"][0]["name"] == "newGroup"
    assert (
        call(emulator, "DELETE", f"{path}/{group_id}", api_version="5.0-preview.1").status_code
        == 204
    )
    assert call(emulator, "GET", path, api_version="5.0-preview.1").json() == {
        "count": 0,
        "value": [],
    }


def test_concurrent_adds_of_one_name_create_exactly_one_group(emulator, project):
    from concurrent.futures import ThreadPoolExecutor

    body = {
        "name": "race",
        "type": "Vsts",
        "variables": {"a": {"value": "1"}},
        "variableGroupProjectReferences": [
            {"name": "race", "projectReference": {"id": project.id}}
        ],
    }

    def add(_):
        return call(
            emulator,
            "POST",
            "_apis/distributedtask/variablegroups",
            json=body,
            api_version="7.1-preview.2",
        ).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(add, range(8)))
    assert statuses == [200] + [409] * 7
    assert len(emulator.store.state["variableGroups"]) == 1
