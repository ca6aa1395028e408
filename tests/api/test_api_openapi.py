"""The OpenAPI document: valid OpenAPI 3, true to what the API does, and no input found by
property-based testing against it makes the API answer 5xx."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def to_json_schema(schema: dict, components: dict) -> dict:
    """An OpenAPI 3.0 schema as plain JSON Schema: references inlined, ``nullable`` as a type."""
    if "$ref" in schema:
        return to_json_schema(components[schema["$ref"].rsplit("/", 1)[1]], components)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("nullable", "example"):
            continue
        if key == "properties":
            out[key] = {name: to_json_schema(s, components) for name, s in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = to_json_schema(value, components)
        elif key in ("oneOf", "anyOf", "allOf"):
            out[key] = [to_json_schema(s, components) for s in value]
        else:
            out[key] = value
    if schema.get("nullable"):
        out["type"] = [out["type"], "null"]
    return out


@pytest.fixture(scope="session")
def document(client) -> dict:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


@pytest.fixture(scope="session")
def components(document) -> dict:
    return document["components"]["schemas"]


def operation(document: dict, path: str, method: str) -> dict:
    return document["paths"][path][method]


def response_schema(document: dict, path: str, method: str, status: int) -> dict:
    content = operation(document, path, method)["responses"][str(status)]["content"]
    return to_json_schema(content["application/json"]["schema"], document["components"]["schemas"])


def test_openapi_document_is_valid_openapi_3(document):
    validate(document)
    assert document["openapi"].startswith("3.0")


def test_openapi_row_schema_is_generated_from_the_feature_schema(components, model_dir):
    declared = json.loads((model_dir / "schema.json").read_text())
    row = components["Row"]
    assert row["required"] == [f["name"] for f in declared["features"]]
    assert row["additionalProperties"] is False
    assert row["properties"]["Sex"]["enum"] == ["female", "male"]
    assert row["properties"]["Pclass"]["type"] == "integer"
    assert row["properties"]["Age"]["nullable"] is True
    assert row["properties"]["Name"]["maxLength"] == 200


def test_openapi_request_examples_are_valid_and_answered_as_documented(client, document):
    body = operation(document, "/api/predict", "post")["requestBody"]["content"]
    request = to_json_schema(body["application/json"]["schema"], document["components"]["schemas"])
    ok = response_schema(document, "/api/predict", "post", 200)
    assert set(body["application/json"]["examples"]) == {"one", "batch"}
    for example in body["application/json"]["examples"].values():
        jsonschema.validate(example["value"], request)
        response = client.post("/api/predict", json=example["value"])
        assert response.status_code == 200
        jsonschema.validate(response.json(), ok)


@pytest.mark.parametrize("path", ["/api/predict/params", "/api/info", "/healthz", "/readyz"])
def test_openapi_get_routes_answer_their_documented_schema(client, document, path):
    response = client.get(path)
    assert response.status_code == 200
    jsonschema.validate(response.json(), response_schema(document, path, "get", 200))


def test_openapi_error_schema_describes_refusals(client, document):
    error = response_schema(document, "/api/predict", "post", 422)
    response = client.post("/api/predict", json=[{"Sex": "x"}])
    assert response.status_code == 422
    jsonschema.validate(response.json(), error)


def test_openapi_every_documented_operation_is_served(client, document):
    for path, methods in document["paths"].items():
        for method in methods:
            status = client.request(method.upper(), path, json={}).status_code
            assert status != 404 and status != 405, (method, path)


def feature_values(schema: dict) -> st.SearchStrategy:
    """Every value the OpenAPI schema of one feature allows (enum, range, length, null)."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if schema["type"] == "integer":
        values = st.integers(int(schema["minimum"]), int(schema["maximum"]))
    elif schema["type"] == "number":
        values = st.floats(schema["minimum"], schema["maximum"], allow_nan=False)
    else:
        values = st.text(max_size=schema.get("maxLength"))
    return values | st.none() if schema.get("nullable") else values


def rows_allowed_by(document: dict) -> st.SearchStrategy:
    """One row or a short batch, drawn from the document's ``Row`` schema alone."""
    row = document["components"]["schemas"]["Row"]
    assert row["additionalProperties"] is False and set(row["required"]) == set(row["properties"])
    one = st.fixed_dictionaries(
        {name: feature_values(schema) for name, schema in row["properties"].items()}
    )
    return one | st.lists(one, min_size=1, max_size=5)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_predict_every_row_the_document_allows_is_scored(client, document, data):
    rows = data.draw(rows_allowed_by(document))
    response = client.post("/api/predict", json=rows)
    assert response.status_code == 200, response.text
    jsonschema.validate(response.json(), response_schema(document, "/api/predict", "post", 200))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_predict_no_input_makes_the_api_answer_5xx(client, document, example_row, data):
    names = list(example_row)
    mutated_row = st.fixed_dictionaries(
        {},
        optional={name: JSON_VALUES for name in names} | {"Cabin": JSON_VALUES, "": JSON_VALUES},
    ).map(lambda changes: example_row | changes)
    dropped = st.sets(st.sampled_from(names)).map(
        lambda gone: {k: v for k, v in example_row.items() if k not in gone}
    )
    payload = data.draw(
        st.one_of(
            JSON_VALUES,
            mutated_row,
            dropped,
            st.lists(st.one_of(mutated_row, dropped, JSON_VALUES), max_size=6),
        )
    )
    text = json.dumps(payload, allow_nan=True)
    response = client.post(
        "/api/predict", content=text, headers={"Content-Type": "application/json"}
    )
    assert response.status_code < 500, (text, response.text)
    if response.status_code != 200:
        jsonschema.validate(response.json(), response_schema(document, "/api/predict", "post", 422))
        rows = payload if isinstance(payload, list) else [payload]
        sent = {key for row in rows if isinstance(row, dict) for key in row}
        for error in response.json()["errors"]:
            assert error["field"] in {"body", *names, *sent}
