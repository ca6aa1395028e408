"""The readers of the reference traffic and the key-shape comparison the replays rely on."""

from __future__ import annotations

import pytest

from tests.conformance.reference import IdMap, key_differences, load_cassette, load_http_example
from tests.conformance.replay import not_served_reason
from tests.conftest import shared_path


def test_key_differences_same_keys_different_values_is_empty():
    recorded = {"id": 47, "name": "group1", "createdBy": {"id": "a", "displayName": None}}
    emulated = {"id": 3, "name": "group1", "createdBy": {"id": "b", "displayName": "Demo"}}
    assert key_differences(recorded, emulated) == []


def test_key_differences_names_missing_and_extra_keys_with_their_location():
    recorded = {"queue": {"id": 1, "pool": {"id": 9, "isHosted": True}}}
    emulated = {"queue": {"id": 1, "pool": {"id": 9, "size": 1}}}
    assert key_differences(recorded, emulated) == [
        ".queue.pool: missing keys ['isHosted']",
        ".queue.pool: extra keys ['size']",
    ]


def test_key_differences_compares_lists_by_the_union_of_their_items_keys():
    recorded = {"value": [{"id": 1, "name": "a"}, {"id": 2, "pool": {"id": 1}}]}
    assert key_differences(recorded, {"value": [{"id": 5, "name": "x", "pool": {"id": 9}}]}) == []
    assert key_differences(recorded, {"value": [{"id": 5, "name": "x"}]}) == [
        ".value[]: missing keys ['pool']"
    ]
    assert key_differences(recorded, {"value": []}) == [
        ".value: empty where the reference has 2 items"
    ]
    assert key_differences({"value": []}, {"value": [{"id": 1}]}) == []


def test_key_differences_null_constrains_nothing_but_kinds_must_agree():
    assert key_differences({"refs": None}, {"refs": [{"name": "p"}]}) == []
    assert key_differences({"refs": [{"name": "p"}]}, {"refs": None}) == []
    assert key_differences({"data": {}}, {"data": []}) == [
        ".data: array where the reference has object"
    ]
    assert key_differences({"id": 47, "ok": True}, {"id": "47", "ok": False}) == [
        ".id: string where the reference has number"
    ]


def test_key_differences_lets_documented_extra_keys_through():
    def documented(path):
        return {"id", "name", "owner"} if path == () else set()

    assert key_differences({"id": 1}, {"id": 1, "owner": "library"}, documented) == []
    assert key_differences({"id": 1}, {"id": 1, "bogus": 1}, documented) == [
        "(body): extra keys ['bogus']"
    ]


def test_id_map_learns_ids_side_by_side_and_rewrites_requests():
    ids = IdMap()
    ids.learn(
        {"id": 47, "project": {"id": "rec-project"}, "value": [{"id": 3941, "name": "Hosted"}]},
        {"id": 2, "project": {"id": "emu-project"}, "value": [{"id": 7, "name": "hosted"}]},
    )
    assert ids.values == {"47": 2, "rec-project": "emu-project", "3941": 7}
    assert ids.segment("47") == "2"
    assert ids.query_value("groupIds", "47,3941") == "2,7"
    assert ids.query_value("$top", "47") == "47"
    assert ids.body([{"id": "47", "type": "variablegroup", "revision": 47}]) == [
        {"id": "2", "type": "variablegroup", "revision": 47}
    ]


def test_id_map_does_not_pair_unnamed_lists_of_different_lengths():
    ids = IdMap()
    ids.learn({"value": [{"id": 1}, {"id": 2}]}, {"value": [{"id": 5}]})
    assert ids.values == {}


def test_load_cassette_reads_requests_answers_and_reference_lines():
    interactions = load_cassette(
        shared_path("reference", "ado-recordings", "test_variable_group.yaml")
    )
    create = interactions[7]
    assert (create.method, create.status, create.org) == ("POST", 200, "v-anvashist0376")
    assert create.segments == ["varGroupTests000001", "_apis", "distributedtask", "variablegroups"]
    assert create.accept == "application/json;api-version=5.0-preview.1"
    assert create.request_json["name"] == "group1"
    assert create.response_json["id"] == 47
    assert create.label == "test_variable_group.yaml#7 POST distributedtask/variablegroups"
    assert interactions[14].response_json is None  # 204
    assert interactions[0].line == 2


def test_load_http_example_reads_both_example_formats():
    root = shared_path("reference", "ado-rest-7.1")
    generated = load_http_example(
        root / "distributedTask/7.1/httpExamples/variablegroups/GET_VariableGroupsByIds.json", root
    )
    assert generated.method == "GET"
    assert generated.query == (("groupIds", "1,2"),)
    assert generated.accept == "application/json; api-version=4.1-preview.1"
    migrated = load_http_example(root / "core/7.1/httpExamples/projects/POST__projects.json", root)
    assert (migrated.method, migrated.status) == ("POST", 202)
    assert migrated.query == (("api-version", "2.0-preview"),)


@pytest.mark.parametrize(
    ("method", "segments", "served"),
    [
        ("POST", ["p", "_apis", "git", "repositories", "r", "importRequests"], False),
        ("GET", ["_apis", "serviceendpoint", "types"], False),
        ("PUT", ["_apis", "serviceendpoint", "endpoints"], True),
        ("PUT", ["_apis", "serviceendpoint", "endpoints", "5e47a0d8"], True),
        ("GET", ["p", "_apis", "git", "repositories", "p"], True),
        ("GET", ["p", "_apis", "build", "Definitions", "47"], True),
    ],
)
def test_not_served_reason_only_for_endpoints_outside_issue_2(method, segments, served):
    assert (not_served_reason(method, segments) is None) == served


def test_not_served_reason_none_once_the_emulator_has_a_route(monkeypatch):
    from tests.conformance import replay

    monkeypatch.setattr(replay, "emulator_serves", lambda method, segments: True)
    assert not_served_reason("GET", ["_apis", "serviceendpoint", "types"]) is None
