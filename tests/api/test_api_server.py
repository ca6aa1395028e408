"""The API as the image runs it: real server processes started by ``model-api/serve`` (and by
the Dockerfile's own CMD and HEALTHCHECK commands) on free loopback ports."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pytest

from .conftest import MODEL_API, SERVE, running_server, serve_env
from .test_api_image import dockerfile_instructions
from .test_api_routes import FIRST_CLASS_WOMAN, THIRD_CLASS_MAN


@pytest.fixture(scope="session")
def server(model_dir, tmp_path_factory):
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with running_server(model_dir, log) as running:
        yield running


def test_serve_predicts_over_real_http(server):
    with httpx.Client(base_url=server.url) as http:
        one = http.post("/api/predict", json=FIRST_CLASS_WOMAN)
        batch = http.post("/api/predict", json=[THIRD_CLASS_MAN] * 100)
    assert one.status_code == 200 and one.json()["label"] == "survived"
    assert batch.status_code == 200 and len(batch.json()["predictions"]) == 100


def test_serve_every_route_answers(server):
    with httpx.Client(base_url=server.url) as http:
        for path in (
            "/api/predict/params",
            "/api/info",
            "/openapi.json",
            "/api/docs",
            "/healthz",
            "/readyz",
        ):
            assert http.get(path).status_code == 200, path


def test_serve_body_over_one_mib_is_413_before_it_is_read(server):
    response = httpx.post(
        f"{server.url}/api/predict",
        content=b"[" + b" " * (1024 * 1024) + b"]",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["field"] == "body"


def test_serve_access_log_is_json_lines_without_bodies(server):
    secret_name = "Zyxwvut, Mr. Quintus Unloggable"
    response = httpx.post(
        f"{server.url}/api/predict?trace=1", json=THIRD_CLASS_MAN | {"Name": secret_name}
    )
    assert response.status_code == 200
    httpx.post(f"{server.url}/api/predict", json=THIRD_CLASS_MAN | {"Sex": "Quintus"})
    lines = server.log_lines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    access = [r for r in records if r.get("event") == "access" and r["path"] == "/api/predict"]
    assert {(r["method"], r["status"]) for r in access} >= {("POST", 200), ("POST", 422)}
    assert all(isinstance(r["ms"], float) and r["client"] == "127.0.0.1" for r in access)
    text = "\n".join(lines)
    assert "Quintus" not in text and "Unloggable" not in text


def test_serve_two_workers_share_the_port(model_dir, tmp_path):
    with running_server(model_dir, tmp_path / "log", WORKERS="2") as running:
        deadline = time.monotonic() + 20
        while sum('"Started server process' in line for line in running.log_lines()) < 2:
            assert time.monotonic() < deadline, running.log.read_text()
            time.sleep(0.1)
        answers = [httpx.post(f"{running.url}/api/predict", json=THIRD_CLASS_MAN) for _ in range(6)]
    assert all(a.status_code == 200 for a in answers)


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"MODEL_DIR": "/nonexistent/model"}, ("/nonexistent/model", "fetch-model.py")),
        ({"WORKERS": "none"}, ("WORKERS", "whole number")),
        ({"PORT": "70000"}, ("PORT", "out of range")),
        ({"LOG_LEVEL": "loud"}, ("LOG_LEVEL",)),
    ],
)
def test_serve_unusable_start_exits_2_with_one_line(model_dir, env, words):
    result = subprocess.run(
        [sys.executable, str(SERVE)],
        env=serve_env(model_dir, 0, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("model-api: ")
    assert all(word in lines[0] for word in words)


def test_image_cmd_and_healthcheck_work_outside_docker(model_dir, tmp_path):
    """The Dockerfile's CMD, run from the build context as from WORKDIR /app, serves; its
    HEALTHCHECK command passes against it and fails once it has stopped."""
    instructions = dockerfile_instructions()
    cmd = json.loads(instructions["CMD"][-1])
    healthcheck = json.loads(instructions["HEALTHCHECK"][-1].split("CMD", 1)[1])
    assert cmd[0] == healthcheck[0] == "python"
    check = [sys.executable, *healthcheck[1:]]
    with running_server(
        model_dir, tmp_path / "log", command=[sys.executable, *cmd[1:]], cwd=MODEL_API
    ) as running:
        port = running.url.rsplit(":", 1)[1]
        healthy = subprocess.run(check, env={"PORT": port}, capture_output=True, timeout=30)
    unhealthy = subprocess.run(check, env={"PORT": port}, capture_output=True, timeout=30)
    assert healthy.returncode == 0, healthy.stderr
    assert unhealthy.returncode != 0
