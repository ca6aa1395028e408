"""--state round trip, the request log, latency."""

from __future__ import annotations

import json
import time

from tests.emulator.helpers import call, clients


def test_state_file_keeps_what_was_created_across_restarts(emulator_factory, tmp_path):
    state = tmp_path / "state.json"
    first = emulator_factory(state_file=str(state))
    project_id = clients(first).get_core_client().get_project("batcomputer").id
    created = call(
        first,
        "POST",
        "_apis/distributedtask/variablegroups",
        api_version="7.1-preview.2",
        json={
            "name": "kept",
            "type": "Vsts",
            "variables": {"s": {"value": "v", "isSecret": True}},
            "variableGroupProjectReferences": [
                {"name": "kept", "projectReference": {"id": project_id}}
            ],
        },
    ).json()
    first.stop()
    assert json.loads(state.read_text())["variableGroups"][str(created["id"])]["name"] == "kept"
    second = emulator_factory(state_file=str(state))
    assert clients(second).get_core_client().get_project("batcomputer").id == project_id
    group = clients(second).get_task_agent_client().get_variable_group("batcomputer", created["id"])
    assert group.name == "kept"
    assert (
        second.store.state["variableGroups"][str(created["id"])]["variables"]["s"]["value"] == "v"
    )
    assert not list(tmp_path.glob(".emulator-state-*"))


def test_request_log_has_method_path_query_status_ms_only(emulator_factory, tmp_path):
    log = tmp_path / "requests.jsonl"
    emu = emulator_factory(request_log_file=str(log))
    call(emu, "GET", "_apis/projects", params={"stateFilter": "all"})
    call(
        emu,
        "PUT",
        "batcomputer/_apis/build/folders/x",
        json={"description": "secret-body"},
        api_version="7.1-preview.2",
    )
    emu.stop()
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines == emu.request_log
    assert all(set(line) == {"method", "path", "query", "status", "ms"} for line in lines)
    assert lines[0]["query"] == {"stateFilter": "all"}
    assert "secret-body" not in log.read_text()
    assert "Basic" not in log.read_text()
    assert [entry["method"] for entry in emu.writes()] == ["PUT"]


def test_latency_is_added_to_every_response(emulator_factory):
    emu = emulator_factory(latency_ms=150)
    started = time.perf_counter()
    call(emu, "GET", "_apis/projects")
    assert time.perf_counter() - started >= 0.15
    assert emu.request_log[-1]["ms"] >= 150


def test_request_log_has_the_request_as_soon_as_the_client_has_its_answer(emulator):
    for index in range(20):
        call(
            emulator,
            "PUT",
            f"batcomputer/_apis/build/folders/f{index}",
            json={},
            api_version="7.1-preview.2",
        )
        assert len(emulator.writes()) == index + 1
