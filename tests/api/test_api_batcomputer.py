"""Nothing in the API knows the Titanic model: the Batcomputer model (other features, labels and
types), trained by its real script on a synthetic sample, is validated, documented and scored
from its schema.json alone."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from modelapi.app import create_app
from modelapi.settings import Settings
from openapi_spec_validator import validate
from starlette.testclient import TestClient

from tests.conftest import REPO_ROOT

from .test_api_openapi import rows_allowed_by


@pytest.fixture(scope="module")
def batcomputer(tmp_path_factory):
    work = tmp_path_factory.mktemp("batcomputer")
    training = REPO_ROOT / "training"
    for command in (
        ["make_crime_sample.py", "--rows", "3000", "--out", str(work / "data")],
        [
            "scikit-batcomputer.py",
            "--data-path",
            str(work / "data"),
            "--estimators",
            "20",
            "--output-dir",
            str(work / "model"),
        ],
    ):
        subprocess.run(
            [sys.executable, str(training / command[0]), *command[1:]],
            check=True,
            capture_output=True,
            timeout=120,
        )
    with TestClient(create_app(Settings(model_dir=work / "model"))) as client:
        yield client


@pytest.fixture(scope="module")
def document(batcomputer):
    return batcomputer.get("/openapi.json").json()


def test_batcomputer_document_is_valid_and_describes_its_own_features(document):
    validate(document)
    row = document["components"]["schemas"]["Row"]
    assert "crime_type" in row["required"] and "Pclass" not in row["properties"]


def test_batcomputer_example_is_scored_with_its_own_labels(batcomputer, document):
    example = document["components"]["schemas"]["Row"]["example"]
    body = batcomputer.post("/api/predict", json=example).json()
    assert body["model"] == "batcomputer"
    assert set(body["probabilities"]) == {"unresolved", "resolved"}


def test_batcomputer_unknown_category_lists_its_allowed_values(batcomputer, document):
    example = document["components"]["schemas"]["Row"]["example"]
    response = batcomputer.post("/api/predict", json=example | {"crime_type": "Piracy"})
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["field"] == "crime_type" and "Burglary" in error["allowed"]


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_batcomputer_every_row_its_document_allows_is_scored(batcomputer, document, data):
    response = batcomputer.post("/api/predict", json=data.draw(rows_allowed_by(document)))
    assert response.status_code == 200, response.text
