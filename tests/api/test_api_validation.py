"""Every kind of bad input gets a 4xx JSON error naming the field (and the row in a batch)."""

from __future__ import annotations

import json

import pytest

from .conftest import MAX_BATCH
from .test_api_routes import THIRD_CLASS_MAN

ONE_MIB = 1024 * 1024


def post_text(client, text: str | bytes, content_type: str | None = "application/json"):
    headers = {"Content-Type": content_type} if content_type else {}
    return client.post("/api/predict", content=text, headers=headers)


def only_error(response) -> dict:
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    assert response.json()["message"] == errors[0]["message"]
    return errors[0]


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"Age": "22"}, "Age", "wrong_type"),
        ({"Age": True}, "Age", "wrong_type"),
        ({"Age": [22]}, "Age", "wrong_type"),
        ({"Pclass": "3"}, "Pclass", "wrong_type"),
        ({"Pclass": 2.5}, "Pclass", "wrong_type"),
        ({"Pclass": False}, "Pclass", "wrong_type"),
        ({"Sex": 1}, "Sex", "wrong_type"),
        ({"Sex": {"value": "male"}}, "Sex", "wrong_type"),
        ({"Name": 42}, "Name", "wrong_type"),
        ({"Name": "x" * 201}, "Name", "too_long"),
        ({"Fare": 1e39}, "Fare", "out_of_range"),
        ({"SibSp": 10**40}, "SibSp", "out_of_range"),
        ({"Sex": None}, "Sex", "null_not_allowed"),
        ({"Pclass": None}, "Pclass", "null_not_allowed"),
    ],
)
def test_predict_bad_value_is_422_naming_the_field(client, change, field, code):
    response = client.post("/api/predict", json=THIRD_CLASS_MAN | change)
    assert response.status_code == 422
    error = only_error(response)
    assert (error["field"], error["code"]) == (field, code)
    assert field in error["message"]
    assert "row" not in error  # one object, not a batch


def test_predict_missing_field_is_422_naming_it(client):
    row = {k: v for k, v in THIRD_CLASS_MAN.items() if k != "Age"}
    response = client.post("/api/predict", json=row)
    assert response.status_code == 422
    error = only_error(response)
    assert (error["field"], error["code"]) == ("Age", "missing_field")


def test_predict_unknown_field_is_422_naming_it_and_the_features(client):
    response = client.post("/api/predict", json=THIRD_CLASS_MAN | {"Cabin": "C85"})
    assert response.status_code == 422
    error = only_error(response)
    assert (error["field"], error["code"]) == ("Cabin", "unknown_field")
    assert "Embarked" in error["message"]


def test_predict_unknown_category_is_422_listing_the_allowed_values(client):
    response = client.post("/api/predict", json=THIRD_CLASS_MAN | {"Embarked": "X"})
    assert response.status_code == 422
    error = only_error(response)
    assert (error["field"], error["code"]) == ("Embarked", "unknown_category")
    assert error["allowed"] == ["C", "Q", "S"]
    assert "C, Q, S" in error["message"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_predict_non_finite_number_is_422_naming_the_field(client, literal):
    text = json.dumps(THIRD_CLASS_MAN).replace('"Age": 22.0', f'"Age": {literal}')
    assert literal in text
    response = post_text(client, text)
    assert response.status_code == 422
    error = only_error(response)
    assert (error["field"], error["code"]) == ("Age", "not_finite")


def test_predict_every_problem_of_a_row_is_listed(client):
    row = {k: v for k, v in THIRD_CLASS_MAN.items() if k != "Fare"}
    response = client.post("/api/predict", json=row | {"Sex": "m", "Pclass": "1", "Deck": "B"})
    assert response.status_code == 422
    found = {(e["field"], e["code"]) for e in response.json()["errors"]}
    assert found == {
        ("Fare", "missing_field"),
        ("Deck", "unknown_field"),
        ("Sex", "unknown_category"),
        ("Pclass", "wrong_type"),
    }


@pytest.mark.parametrize(
    ("text", "content_type"),
    [
        ("Pclass=3&Sex=male", "application/x-www-form-urlencoded"),
        ('{"Pclass": 3}', "text/plain"),
        ("not json at all", "application/json"),
        ('{"Pclass": 3,', "application/json"),
        ("not json at all", None),
        (b"\xff\xfe\x00garbage", "application/json"),
    ],
)
def test_predict_non_json_body_is_415(client, text, content_type):
    response = post_text(client, text, content_type)
    assert response.status_code == 415
    error = only_error(response)
    assert error["field"] == "body"
    assert error["code"] in ("not_json", "unsupported_media_type")


@pytest.mark.parametrize("text", ["", "   \n"])
def test_predict_empty_body_is_400(client, text):
    response = post_text(client, text)
    assert response.status_code == 400
    error = only_error(response)
    assert (error["field"], error["code"]) == ("body", "empty_body")


def test_predict_body_over_one_mib_is_413(client):
    response = post_text(client, "[" + " " * ONE_MIB + "]")
    assert response.status_code == 413
    error = only_error(response)
    assert (error["field"], error["code"]) == ("body", "body_too_large")


def test_predict_chunked_body_over_one_mib_is_413(client):
    def chunks():
        yield b"["
        for _ in range(17):
            yield b" " * 65536
        yield b"]"

    response = client.post(
        "/api/predict", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert only_error(response)["code"] == "body_too_large"


def test_predict_batch_over_the_limit_is_413_naming_the_limit(client):
    response = client.post("/api/predict", json=[THIRD_CLASS_MAN] * (MAX_BATCH + 1))
    assert response.status_code == 413
    error = only_error(response)
    assert (error["field"], error["code"]) == ("body", "too_many_rows")
    assert str(MAX_BATCH) in error["message"] and "MAX_BATCH" in error["message"]


def test_predict_empty_batch_is_422(client):
    response = client.post("/api/predict", json=[])
    assert response.status_code == 422
    assert only_error(response)["code"] == "empty_batch"


@pytest.mark.parametrize("text", ["3", '"a row"', "null", "true"])
def test_predict_body_neither_object_nor_array_is_422(client, text):
    response = post_text(client, text)
    assert response.status_code == 422
    error = only_error(response)
    assert (error["field"], error["code"]) == ("body", "wrong_type")


def test_predict_batch_errors_name_the_row_and_field(client):
    rows = [THIRD_CLASS_MAN, THIRD_CLASS_MAN, THIRD_CLASS_MAN | {"Sex": "Male"}, "row", []]
    response = client.post("/api/predict", json=rows)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [(e.get("row"), e["field"], e["code"]) for e in errors] == [
        (2, "Sex", "unknown_category"),
        (3, "body", "wrong_type"),
        (4, "body", "wrong_type"),
    ]


def test_predict_error_list_is_capped(client):
    response = client.post("/api/predict", json=[{"x": 1}] * MAX_BATCH)
    assert response.status_code == 422
    assert len(response.json()["errors"]) == 50


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"Name": "\\ud800"}',
        json.dumps(THIRD_CLASS_MAN).replace('"Braund, Mr. Owen Harris"', '"\\ud800 Mr."'),
        "1" * 5000,
    ],
)
def test_predict_pathological_json_is_refused_with_4xx(client, text):
    response = post_text(client, text)
    assert 400 <= response.status_code < 500
    assert response.json()["errors"][0]["field"]
