"""End to end on the local AML backend: upload-data -> run-training -> fetch-model into a copy
of the image's build context, then the image's file layout made from that context by the
Dockerfile's own COPY instructions, and the API started in it by the Dockerfile's own CMD with
its ENV (no Docker engine here: this is the image's start without the container)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO_ROOT, shared_path

from .conftest import MODEL_API, TRAINING_ESTIMATORS, running_server
from .test_api_image import dockerfile_instructions
from .test_api_routes import FIRST_CLASS_WOMAN


@pytest.fixture
def staged_context(tmp_path):
    """model-api/ as build-api stages it: the sources plus fetch-model's model/ directory."""
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(shared_path("data", "titanic", "titanic.csv"), data / "titanic.csv")
    context = tmp_path / "model-api"
    shutil.copytree(MODEL_API, context, ignore=shutil.ignore_patterns("__pycache__", "model"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZML_")}
    env |= {
        "AZML_BACKEND": "local",
        "AZML_LOCAL_ROOT": str(tmp_path / "aml-local"),
        "AZML_DATAPATH": "titanic-data",
        "AZML_SCRIPT": "scikit-titanic.py",
        "AZML_EXPERIMENT": "titanic-training",
        "AZML_MODEL": "titanic",
    }
    steps = [
        ["upload-data.py", "--data-dir", str(data)],
        ["run-training.py", "--estimators", TRAINING_ESTIMATORS],
        ["run-training.py", "--estimators", TRAINING_ESTIMATORS, "--seed", "3"],
        ["fetch-model.py", "--output-path", str(context / "model")],
    ]
    for script, *args in steps:
        result = subprocess.run(
            [sys.executable, str(REPO_ROOT / "aml" / script), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"{script}: {result.stderr}"
    assert "##vso[task.setvariable variable=AZML_MODEL_VER]2" in result.stdout
    return context


def image_layout(context: Path, app: Path, model_version: str) -> dict[str, str]:
    """Copy what the final stage's COPY instructions put into WORKDIR /app from ``context`` to
    ``app``; return the Dockerfile's ENV with /app mapped to ``app`` (PATH, HOST and PORT
    excepted: the test's interpreter and a free loopback port stand in for them)."""
    instructions = dockerfile_instructions()
    assert instructions["WORKDIR"] == ["/app"]
    app.mkdir()
    for copy in instructions["COPY"]:
        if copy.startswith("--from"):
            continue
        source, destination = copy.split()
        if not destination.startswith("./"):
            continue
        if (context / source).is_dir():
            shutil.copytree(context / source, app / destination)
        else:
            shutil.copy2(context / source, app / destination)
    env = {}
    for line in instructions["ENV"]:
        for pair in line.split():
            name, value = pair.split("=", 1)
            if name not in ("PATH", "HOST", "PORT"):
                value = value.replace("${MODEL_VERSION}", model_version)
                env[name] = str(app) + value[4:] if value.startswith("/app") else value
    return env


def test_fetch_model_directory_serves_end_to_end(staged_context, tmp_path):
    metadata = json.loads((staged_context / "model" / "metadata.json").read_text())
    app = tmp_path / "app"
    env = image_layout(staged_context, app, model_version=str(metadata["version"]))
    assert env["MODEL_DIR"] == str(app / "model") and env["WORKERS"] == "2"
    command = json.loads(dockerfile_instructions()["CMD"][-1])
    with running_server(
        None, tmp_path / "serve.log", command=[sys.executable, *command[1:]], cwd=app, **env
    ) as server:
        info = httpx.get(f"{server.url}/api/info").json()
        prediction = httpx.post(f"{server.url}/api/predict", json=FIRST_CLASS_WOMAN).json()
        openapi = httpx.get(f"{server.url}/openapi.json").json()
    assert info["model"]["name"] == "titanic"
    assert info["model"]["version"] == "2"  # the latest registered version
    assert info["model"]["tags"] == metadata["tags"]
    assert info["model"]["tags"]["seed"] == "3"
    assert info["model"]["metrics"]["cv_accuracy_mean"] == metadata["metrics"]["cv_accuracy_mean"]
    assert prediction["version"] == "2" and prediction["label"] == "survived"
    assert "version 2" in openapi["info"]["description"]
