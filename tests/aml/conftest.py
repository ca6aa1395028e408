"""Fixtures for the AML script tests: the scripts run as subprocesses, as the pipelines run
them, against a local-backend workspace in a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, shared_path

AML = REPO_ROOT / "aml"
TRAINING = REPO_ROOT / "training"


def clean_environ() -> dict[str, str]:
    """The current environment without any AZML_* variable (or a CI's Azure Pipelines marker)."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AZML_") and key != "TF_BUILD"
    }


def run_script(path: Path, *args: str, env: dict[str, str], cwd: Path | None = None):
    return subprocess.run(
        [sys.executable, str(path), *args],
        env=env,
        cwd=cwd or REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.fixture
def workspace(tmp_path) -> Path:
    return tmp_path / "aml-local"


@pytest.fixture
def aml(workspace):
    """Run aml/<script> with the given AZML_* variables on the local backend (in `workspace`)."""

    def run(script: str, *args: str, **variables: str):
        env = clean_environ()
        env["AZML_LOCAL_ROOT"] = str(workspace)
        env.update(variables)
        return run_script(AML / script, *args, env=env)

    return run


@pytest.fixture
def titanic_dir(tmp_path) -> Path:
    """A data folder holding the real Titanic CSV (as the data-load pipeline leaves it)."""
    source = shared_path("data", "titanic", "titanic.csv")
    folder = tmp_path / "data" / "titanic"
    folder.mkdir(parents=True)
    (folder / "titanic.csv").write_bytes(source.read_bytes())
    return folder


def make_crime_sample(out: Path, rows: int = 6000, seed: int = 1, months: int = 3):
    result = run_script(
        TRAINING / "make_crime_sample.py",
        "--rows", str(rows), "--seed", str(seed), "--months", str(months), "--out", str(out),
        env=clean_environ(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="session")
def trained_titanic(tmp_path_factory) -> Path:
    """outputs/ of one real (small) Titanic training run, for the fake services to hand back."""
    outputs = tmp_path_factory.mktemp("titanic-run") / "outputs"
    data = shared_path("data", "titanic", "titanic.csv")
    result = run_script(
        TRAINING / "scikit-titanic.py",
        "--data-path", str(data), "--estimators", "5", "--output-dir", str(outputs),
        env=clean_environ(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return outputs
