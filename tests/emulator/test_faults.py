"""Fault injection as the SDK and plain HTTP see it: 429, 500, 503 and dropped connections."""

from __future__ import annotations

import pytest
import requests
from azure.devops.exceptions import AzureDevOpsServiceError
from msrest.exceptions import ClientRequestError

from tests.emulator.helpers import call, clients


def _vg_body(project_id: str, name: str = "g") -> dict:
    return {
        "name": name,
        "type": "Vsts",
        "variables": {"a": {"value": "1"}},
        "variableGroupProjectReferences": [{"name": name, "projectReference": {"id": project_id}}],
    }


def test_fault_429_has_retry_after_and_rate_limit_headers(emulator):
    emulator.set_faults(1.0, ["429"])
    answer = call(emulator, "GET", "_apis/projects")
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "1"
    for header in (
        "X-RateLimit-Resource",
        "X-RateLimit-Delay",
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
    ):
        assert header in answer.headers
    assert answer.json()["message"].startswith("TF400733")


def test_fault_429_reaches_the_sdk_on_a_post(emulator):
    sdk = clients(emulator)
    project = sdk.get_core_client().get_project("batcomputer")
    emulator.set_faults(1.0, ["429"])
    with pytest.raises(AzureDevOpsServiceError) as caught:
        sdk.get_task_agent_client().add_variable_group(_vg_body(project.id))
    assert caught.value.type_key == "RequestBlockedException"
    emulator.set_faults(0.0)
    assert emulator.store.state["variableGroups"] == {}


@pytest.mark.parametrize(("kind", "status"), [("500", 500), ("503", 503)])
def test_fault_5xx_answers_error_body_and_changes_nothing(emulator, kind, status):
    project_id = next(iter(emulator.store.state["projects"]))
    emulator.set_faults(1.0, [kind])
    answer = call(
        emulator,
        "POST",
        "_apis/distributedtask/variablegroups",
        json=_vg_body(project_id),
        api_version="7.1-preview.2",
    )
    assert answer.status_code == status
    assert set(answer.json()) >= {"$id", "message", "typeKey", "typeName"}
    assert emulator.store.state["variableGroups"] == {}


def test_fault_reset_drops_the_connection_without_a_response(emulator):
    emulator.set_faults(1.0, ["reset"])
    with pytest.raises(requests.exceptions.ConnectionError):
        call(emulator, "GET", "_apis/projects")
    assert emulator.request_log[-1]["status"] == 0


def test_fault_reset_reaches_the_sdk_as_a_connection_error(emulator):
    sdk = clients(emulator)
    core = sdk.get_core_client()
    core.get_projects()
    core.config.retry_policy.retries = 0  # msrest would retry a GET for seconds
    emulator.set_faults(1.0, ["reset"])
    with pytest.raises(ClientRequestError) as caught:
        core.get_projects()
    assert "Connection reset by peer" in str(caught.value)


def test_fault_reset_on_writes_applies_about_half_before_dropping(emulator):
    project_id = next(iter(emulator.store.state["projects"]))
    emulator.set_faults(1.0, ["reset"], seed=7)
    for index in range(20):
        with pytest.raises(requests.exceptions.ConnectionError):
            call(
                emulator,
                "POST",
                "_apis/distributedtask/variablegroups",
                json=_vg_body(project_id, f"g{index}"),
                api_version="7.1-preview.2",
            )
    applied = len(emulator.store.state["variableGroups"])
    assert 3 <= applied <= 17


def test_fault_sequence_is_repeatable_with_a_seed(emulator_factory):
    def statuses(seed):
        emu = emulator_factory(fault_rate=0.5, faults=("429", "500", "503"), fault_seed=seed)
        return [call(emu, "GET", "_apis/projects").status_code for _ in range(12)]

    first = statuses(11)
    assert first == statuses(11)
    assert {200} < set(first)


def test_fault_settings_are_validated(emulator):
    with pytest.raises(ValueError):
        emulator.set_faults(1.5)
    with pytest.raises(ValueError):
        emulator.set_faults(0.5, ["404"])
