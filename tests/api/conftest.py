"""Fixtures for the model API tests: a model trained by the real training script, the app over
Starlette's test client, and real server processes started by ``model-api/serve``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO_ROOT, shared_path

MODEL_API = REPO_ROOT / "model-api"
SERVE = MODEL_API / "serve"
sys.path.insert(0, str(MODEL_API))

from modelapi.app import create_app  # noqa: E402
from modelapi.settings import Settings  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

MAX_BATCH = 50
TRAINING_ESTIMATORS = "40"  # enough for a realistic model; the default 200 only adds seconds


def train_titanic(output_dir: Path) -> Path:
    """Run ``training/scikit-titanic.py`` on the real data set into ``output_dir``."""
    data = shared_path("data", "titanic", "titanic.csv")
    subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "training" / "scikit-titanic.py"),
            "--data-path",
            str(data),
            "--estimators",
            TRAINING_ESTIMATORS,
            "--seed",
            "7",
            "--output-dir",
            str(output_dir),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return output_dir


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """A training run's ``outputs/`` (model.onnx, schema.json, metrics.json; no metadata)."""
    return train_titanic(tmp_path_factory.mktemp("titanic-outputs"))


@pytest.fixture(scope="session")
def client(model_dir) -> Iterator[TestClient]:
    app = create_app(Settings(model_dir=model_dir, max_batch=MAX_BATCH))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def make_client(model_dir):
    """A test client for the app built with other settings (CORS, version, batch limit)."""

    def make(**settings) -> TestClient:
        return TestClient(
            create_app(Settings(model_dir=model_dir, **settings)), raise_server_exceptions=False
        )

    return make


@pytest.fixture(scope="session")
def schema(client) -> dict:
    return client.get("/api/predict/params").json()


@pytest.fixture(scope="session")
def example_row(schema) -> dict:
    return {feature["name"]: feature["example"] for feature in schema["features"]}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path

    def log_lines(self) -> list[str]:
        return self.log.read_text().splitlines()


def serve_env(model_dir: Path | None, port: int, **extra: str) -> dict[str, str]:
    """The environment for ``serve``: this one without the API's own settings, then these.
    ``model_dir=None`` leaves MODEL_DIR unset (the default, ``model/`` beside the package)."""
    own = ("MODEL_DIR", "CORS_ORIGINS", "MODEL_VERSION", "MAX_BATCH", "WORKERS", "LOG_LEVEL")
    env = {k: v for k, v in os.environ.items() if k not in own}
    env |= {"HOST": "127.0.0.1", "PORT": str(port), "WORKERS": "1"}
    if model_dir is not None:
        env["MODEL_DIR"] = str(model_dir)
    return env | extra


@contextmanager
def running_server(
    model_dir: Path | None,
    log: Path,
    command: list[str] | None = None,
    cwd: Path = REPO_ROOT,
    **env,
) -> Iterator[Server]:
    """``model-api/serve`` (or ``command``) as a real process on a free loopback port, until
    ``/readyz`` answers; stopped with SIGTERM afterwards."""
    port = free_port()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command or [sys.executable, str(SERVE)],
            cwd=cwd,
            env=serve_env(model_dir, port, **env),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise AssertionError(
                    f"the server exited with {process.returncode}:\n{log.read_text()}"
                )
            try:
                if httpx.get(f"{server.url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the server did not get ready:\n{log.read_text()}")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
