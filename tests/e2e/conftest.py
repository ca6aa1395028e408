"""End-to-end fixtures: emulators serving a temporary Git repository with the six pipelines,
the CLI driven in-process through click's CliRunner, and readers of the emulator's state."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from bootstrap.cli import main
from tests.conftest import REPO_ROOT

PAT = "demo-pat"
DEMO_CONFIG = REPO_ROOT / "config" / "demo.yaml"
PIPELINES = [
    f"{model}-{kind}"
    for model in ("batcomputer", "titanic")
    for kind in ("data-load", "training", "build-api")
]
# Fault-injection runs must not sit in multi-second backoffs.
FAST_RETRY_ENV = {"BOOTSTRAP_RETRY_MAX_DELAY": "0.05", "BOOTSTRAP_RETRY_MAX_ATTEMPTS": "12"}


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="session")
def pipelines_repo(tmp_path_factory) -> Path:
    """A Git repository (branch main) holding the checkout's pipelines/ folder."""
    root = tmp_path_factory.mktemp("repo")
    shutil.copytree(REPO_ROOT / "pipelines", root / "pipelines")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "pipelines")
    git(root, "commit", "-q", "-m", "pipelines")
    return root


@pytest.fixture
def make_emulator(emulator_factory, pipelines_repo):
    """The shared emulator factory (schema-checked answers), serving :func:`pipelines_repo`."""

    def make(**kwargs):
        kwargs.setdefault("repo_dir", str(pipelines_repo))
        return emulator_factory(**kwargs)

    return make


@pytest.fixture
def emu(make_emulator):
    return make_emulator()


def run(emu, *args: str, config: Path = DEMO_CONFIG, env: dict | None = None):
    """``bootstrap ARGS --config demo.yaml --org EMU`` in-process; returns click's Result."""
    full_env = {"AZURE_DEVOPS_EXT_PAT": PAT, **FAST_RETRY_ENV, **(env or {})}
    return CliRunner().invoke(
        main, [*args, "--config", str(config), "--org", emu.url], env=full_env
    )


def settled_writes(emu) -> list[dict]:
    """The emulator's write log once it stops growing (it records a request just after
    answering it, so the last entry can trail the client by a moment)."""
    import time

    seen, deadline = -1, time.monotonic() + 2.0
    while time.monotonic() < deadline:
        count = len(emu.request_log)
        if count == seen:
            break
        seen = count
        time.sleep(0.05)
    return emu.writes()


# ---- reading the emulator's state -----------------------------------------------------


def definitions(emu) -> dict[str, dict]:
    live = [d for d in emu.store.state["definitions"].values() if not d.get("deleted")]
    return {d["name"]: d for d in live}


def live_names(emu) -> dict[str, list[str]]:
    state = emu.store.state
    return {
        "definitions": sorted(
            d["name"] for d in state["definitions"].values() if not d.get("deleted")
        ),
        "variableGroups": sorted(g["name"] for g in state["variableGroups"].values()),
        "serviceEndpoints": sorted(e["name"] for e in state["serviceEndpoints"].values()),
    }


def assert_no_duplicates(emu) -> None:
    for kind, names in live_names(emu).items():
        assert len(names) == len(set(names)), f"duplicate {kind}: {names}"


def group(emu, name: str = "shared-variables") -> dict | None:
    return next((g for g in emu.store.state["variableGroups"].values() if g["name"] == name), None)


def endpoint(emu, name: str = "azure-mlops") -> dict | None:
    return next(
        (e for e in emu.store.state["serviceEndpoints"].values() if e["name"] == name), None
    )


def permission(emu, resource_type: str, resource_id) -> dict | None:
    suffix = f"/{resource_type}/{resource_id}"
    return next(
        (p for key, p in emu.store.state["permissions"].items() if key.endswith(suffix)), None
    )


class Rest:
    """Plain HTTP against the emulator, as another client (or a person in the UI) would."""

    def __init__(self, emu) -> None:
        self.base = emu.url
        self.session = requests.Session()
        self.session.auth = ("", PAT)

    def call(self, method: str, path: str, *, version: str = "7.1", **kwargs):
        headers = {"Accept": f"application/json;api-version={version}"}
        response = self.session.request(method, f"{self.base}/{path}", headers=headers, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None


@pytest.fixture
def rest(emu) -> Rest:
    return Rest(emu)
