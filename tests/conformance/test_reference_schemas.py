"""The swagger index and schema recorder themselves: matching, null handling, collections."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tests.conftest import shared_path
from tests.reference_schemas import SchemaRecorder, SpecIndex


@pytest.fixture(scope="module")
def index() -> SpecIndex:
    return SpecIndex(shared_path("reference", "ado-rest-7.1"))


@dataclass
class FakeExchange:
    """The fields of the emulator's Exchange that the recorder reads."""

    method: str
    path: str
    status: int
    response_json: object
    query: dict = field(default_factory=dict)
    request_json: object = None
    route: str = "test.route"


@pytest.mark.parametrize(
    ("method", "path", "query", "operation", "via"),
    [
        ("GET", "/demo/p/_apis/build/Definitions", {}, "Build Definitions_List", ""),
        ("PUT", "/demo/p/_apis/build/definitions/3", {}, "Build Definitions_Update", ""),
        (
            "PATCH",
            "/demo/p/_apis/build/definitions/3",
            {"deleted": "false"},
            "Build Definitions_Restore Definition",
            "",
        ),
        (
            "GET",
            "/demo/p/_apis/pipelines/pipelinePermissions/variablegroup/3",
            {},
            "pipelinePermissions Pipeline Permissions_Get",
            "",
        ),
        (
            "GET",
            "/demo/p/_apis/distributedtask/queues",
            {"queueNames": "Azure Pipelines"},
            "TaskAgent Queues_Get Agent Queues By Names",
            "",
        ),
        (
            "GET",
            "/demo/p/_apis/distributedtask/queues",
            {},
            "TaskAgent Queues_Get Agent Queues",
            "",
        ),
        (
            "GET",
            "/demo/p/_apis/serviceendpoint/endpoints",
            {"endpointNames": "azure"},
            "ServiceEndpoint Endpoints_Get Service Endpoints By Names",
            "",
        ),
        (
            "POST",
            "/demo/p/_apis/distributedtask/variablegroups",
            {},
            "TaskAgent Variablegroups_Add",
            "project-scoped route",
        ),
        (
            "GET",
            "/demo/p/_apis/build/folders",
            {},
            "Build Folders_List",
            "optional trailing route value",
        ),
        ("GET", "/demo/_apis/projects/batcomputer", {}, "Core Projects_Get", ""),
        (
            "PUT",
            "/demo/p/_apis/build/folders/TestFolder",
            {},
            "Build Folders_Create",
            "required query as a route value",
        ),
        (
            "DELETE",
            "/demo/p/_apis/distributedtask/variablegroups/4",
            {},
            "TaskAgent Variablegroups_Delete",
            "project-scoped route",
        ),
    ],
)
def test_spec_index_match_picks_the_documented_operation(
    index, method, path, query, operation, via
):
    match = index.match(method, path, query)
    assert match is not None
    assert (match.operation.name, match.via) == (operation, via)
    assert match.operation.line > 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/demo/_apis/ResourceAreas"),
        ("GET", "/demo/_apis/operations/5d44e8de-c67d-4b13-85fb-04339ce5ebad"),
        ("GET", "/demo/p/_apis/git/repositories"),
        ("DELETE", "/demo/_apis/projects"),
    ],
)
def test_spec_index_match_outside_the_specs_is_none(index, method, path):
    assert index.match(method, path, {}) is None


def test_spec_index_validate_accepts_null_values_the_service_sends(index):
    op = index.match("POST", "/demo/_apis/distributedtask/variablegroups").operation
    body = {
        "id": 1,
        "name": "g",
        "variables": {"secret": {"value": None, "isSecret": True}},
        "createdBy": {"id": "4adb1680-0eac-6149-b5ee-fc8b4f6ca227", "displayName": None},
        "variableGroupProjectReferences": None,
    }
    assert index.validate(op, body) == []


def test_spec_index_validate_reports_wrong_types_with_their_location(index):
    op = index.match("POST", "/demo/_apis/distributedtask/variablegroups").operation
    errors = index.validate(op, {"id": "1", "variables": {"a": {"value": 1}}})
    assert ".id: '1' is not of type 'integer'" in errors
    assert ".variables.a.value: 1 is not of type 'string'" in errors


def test_spec_index_validate_collection_checks_each_item_and_the_count(index):
    op = index.match("GET", "/demo/p/_apis/distributedtask/queues").operation
    errors = index.validate(
        op, {"count": 2, "value": [{"id": 1, "pool": {"id": 9, "options": "bogus"}}]}
    )
    assert errors[0] == "count: 2 but value has 1 items"
    assert errors[1].startswith("value[0].pool.options: 'bogus' is not one of")


def test_spec_index_validate_enum_rejects_an_undocumented_value(index):
    op = index.match("GET", "/demo/p/_apis/build/definitions/3").operation
    errors = index.validate(op, {"id": 3, "queueStatus": "Enabled"})
    assert errors and errors[0].startswith(".queueStatus: 'Enabled' is not one of")


def test_schema_recorder_assert_clean_raises_once_per_failure():
    recorder = SchemaRecorder(spec_dir=shared_path("reference", "ado-rest-7.1"))
    recorder.observe(FakeExchange("GET", "/demo/_apis/projects/p", 200, {"id": 7}))
    with pytest.raises(AssertionError, match=r"Core Projects_Get \[ado-rest-7.1/core/7.1/"):
        recorder.assert_clean()
    recorder.assert_clean()  # already reported: the next test is not blamed for it


def test_schema_recorder_counts_validated_unmatched_and_bodiless_answers():
    recorder = SchemaRecorder(spec_dir=shared_path("reference", "ado-rest-7.1"))
    ok = {"id": "2c2bf6e8-cba2-4dcb-80d6-86eaf14998f6", "name": "p", "state": "wellFormed"}
    recorder.observe(FakeExchange("GET", "/demo/_apis/projects/p", 200, ok))
    recorder.observe(FakeExchange("GET", "/demo/_apis/ResourceAreas", 200, {"count": 0}))
    recorder.observe(FakeExchange("DELETE", "/demo/p/_apis/build/definitions/1", 204, None))
    recorder.observe(FakeExchange("GET", "/demo/_apis/projects/x", 404, {"message": "no"}))
    recorder.assert_clean()
    assert recorder.validated == {"Core Projects_Get": 1}
    assert recorder.unmatched == {"GET test.route": 1}
    assert sum(recorder.without_schema.values()) == 2
    assert recorder.summary_lines()[0].startswith("responses schema-validated: 1 over 1")


def test_schema_recorder_observe_turns_its_own_errors_into_failures():
    recorder = SchemaRecorder(spec_dir=shared_path("reference", "ado-rest-7.1"))
    recorder.observe(object())  # not an exchange: must not raise inside the emulator
    with pytest.raises(AssertionError, match="AttributeError"):
        recorder.assert_clean()


def test_spec_index_documented_keys_follow_refs_items_and_dictionaries(index):
    create = index.match("POST", "/demo/_apis/serviceendpoint/endpoints").operation
    assert {"owner", "serviceEndpointProjectReferences", "isShared"} <= index.documented_keys(
        create, ()
    )
    assert "projectReference" in index.documented_keys(
        create, ("serviceEndpointProjectReferences", "[]")
    )
    assert index.documented_keys(create, ("authorization", "parameters")) is None
    assert index.documented_keys(create, ("nonsense",)) == set()
    listing = index.match("GET", "/demo/p/_apis/serviceendpoint/endpoints").operation
    assert index.documented_keys(listing, ()) == {"count", "value"}
    assert "authorization" in index.documented_keys(listing, ("value", "[]"))


def test_spec_index_undocumented_keys_lists_paths_outside_the_schema(index):
    op = index.match("GET", "/demo/p/_apis/serviceendpoint/endpoints").operation
    body = {
        "count": 1,
        "value": [{"id": "x", "isOutdated": False, "authorization": {"parameters": {"a": "b"}}}],
    }
    assert index.undocumented_keys(op, body) == {"value[].isOutdated"}
