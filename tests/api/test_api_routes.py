"""Every route of the model API, over HTTP through Starlette's test client."""

from __future__ import annotations

import json

import pytest

from .conftest import MAX_BATCH

FIRST_CLASS_WOMAN = {
    "Pclass": 1,
    "Sex": "female",
    "Age": 38.0,
    "SibSp": 1,
    "Parch": 0,
    "Fare": 71.2833,
    "Embarked": "C",
    "Name": "Cumings, Mrs. John Bradley (Florence Briggs Thayer)",
}
THIRD_CLASS_MAN = {
    "Pclass": 3,
    "Sex": "male",
    "Age": 22.0,
    "SibSp": 1,
    "Parch": 0,
    "Fare": 7.25,
    "Embarked": "S",
    "Name": "Braund, Mr. Owen Harris",
}


def test_predict_one_row_answers_probabilities_per_label_and_version(client):
    response = client.post("/api/predict", json=FIRST_CLASS_WOMAN)
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == "titanic"
    assert body["version"] == "unregistered"  # a training run's outputs/ has no metadata.json
    assert set(body["probabilities"]) == {"died", "survived"}
    assert sum(body["probabilities"].values()) == pytest.approx(1, abs=1e-5)
    assert body["label"] == "survived"
    assert body["probabilities"]["survived"] > 0.8


def test_predict_one_row_scores_third_class_man_as_died(client):
    body = client.post("/api/predict", json=THIRD_CLASS_MAN).json()
    assert body["label"] == "died"
    assert body["probabilities"]["died"] > 0.8


def test_predict_batch_answers_each_row_in_order_as_singly(client):
    rows = [FIRST_CLASS_WOMAN, THIRD_CLASS_MAN, FIRST_CLASS_WOMAN | {"Age": None}]
    response = client.post("/api/predict", json=rows)
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == "titanic" and "version" in body
    singles = [client.post("/api/predict", json=row).json() for row in rows]
    assert [p["label"] for p in body["predictions"]] == [s["label"] for s in singles]
    for batched, single in zip(body["predictions"], singles, strict=True):
        assert batched["probabilities"] == pytest.approx(single["probabilities"], abs=1e-6)


def test_predict_nullable_fields_accept_null(client):
    response = client.post("/api/predict", json=THIRD_CLASS_MAN | {"Age": None, "Fare": None})
    assert response.status_code == 200


def test_predict_batch_at_the_limit_is_accepted(client):
    response = client.post("/api/predict", json=[THIRD_CLASS_MAN] * MAX_BATCH)
    assert response.status_code == 200
    assert len(response.json()["predictions"]) == MAX_BATCH


def test_params_lists_every_feature_with_type_and_allowed_values(client, model_dir):
    body = client.get("/api/predict/params").json()
    declared = json.loads((model_dir / "schema.json").read_text())
    assert [f["name"] for f in body["features"]] == [f["name"] for f in declared["features"]]
    by_name = {f["name"]: f for f in body["features"]}
    assert by_name["Sex"]["type"] == "category"
    assert by_name["Sex"]["categories"] == ["female", "male"]
    assert by_name["Age"]["nullable"] is True
    assert by_name["Pclass"]["type"] == "integer"
    assert body["labels"] == ["died", "survived"]
    assert body["max_batch"] == MAX_BATCH


def test_info_reports_status_and_model_metadata(client, model_dir):
    body = client.get("/api/info").json()
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert body["status"] == "ok"
    assert body["model"]["name"] == "titanic"
    assert body["model"]["version"] == "unregistered"
    assert body["model"]["tags"] == {}
    assert body["model"]["metrics"]["cv_accuracy_mean"] == metrics["cv_accuracy_mean"]


def test_info_version_comes_from_model_version_without_metadata(make_client):
    with make_client(model_version="17") as client:
        assert client.get("/api/info").json()["model"]["version"] == "17"
        assert client.post("/api/predict", json=THIRD_CLASS_MAN).json()["version"] == "17"


def test_info_reads_name_version_and_tags_from_metadata(tmp_path, model_dir):
    from modelapi.app import create_app
    from modelapi.settings import Settings
    from starlette.testclient import TestClient

    for name in ("model.onnx", "schema.json", "metrics.json"):
        (tmp_path / name).write_bytes((model_dir / name).read_bytes())
    metadata = {"name": "titanic", "version": 4, "tags": {"accuracy": "0.84", "run_id": "r-9"}}
    (tmp_path / "metadata.json").write_text(json.dumps(metadata | {"metrics": {"extra": 1}}))
    with TestClient(create_app(Settings(model_dir=tmp_path, model_version="99"))) as client:
        model = client.get("/api/info").json()["model"]
    assert model["version"] == "4"
    assert model["tags"] == {"accuracy": "0.84", "run_id": "r-9"}
    assert model["metrics"]["extra"] == 1 and "cv_accuracy_mean" in model["metrics"]


def test_docs_serves_swagger_ui_with_local_assets(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "docs/static/swagger-ui-bundle.js" in page.text
    assert "../openapi.json" in page.text
    assert "https://" not in page.text and "http://" not in page.text  # nothing from a CDN
    script = client.get("/api/docs/static/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.text
    assert client.get("/api/docs/static/swagger-ui.css").status_code == 200


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_answers_ready_when_the_model_scores(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_unknown_route_answers_json_404(client):
    response = client.get("/api/nothing")
    assert response.status_code == 404
    assert response.json()["message"] == "Not Found"


def test_get_on_predict_answers_json_405(client):
    response = client.get("/api/predict")
    assert response.status_code == 405
    assert "message" in response.json()


def test_cors_by_default_allows_no_origin(client):
    response = client.post(
        "/api/predict", json=THIRD_CLASS_MAN, headers={"Origin": "https://app.example"}
    )
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_cors_star_allows_every_origin_like_the_original(make_client):
    with make_client(cors_origins=("*",)) as client:
        response = client.post(
            "/api/predict", json=THIRD_CLASS_MAN, headers={"Origin": "https://any.example"}
        )
    assert response.headers["access-control-allow-origin"] == "*"


def test_cors_listed_origin_is_allowed_and_others_are_not(make_client):
    with make_client(cors_origins=("https://app.example",)) as client:
        preflight = client.options(
            "/api/predict",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        other = client.get("/api/info", headers={"Origin": "https://evil.example"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in other.headers


def test_cors_headers_belong_to_their_own_request_only(make_client):
    with make_client(cors_origins=("https://app.example",)) as client:
        for _ in range(3):
            allowed = client.get("/api/info", headers={"Origin": "https://app.example"})
        plain = client.get("/api/info")
    assert allowed.headers.get_list("access-control-allow-origin") == ["https://app.example"]
    assert "access-control-allow-origin" not in plain.headers
