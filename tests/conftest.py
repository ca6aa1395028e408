"""Fixtures every test gets: no real home, no real keyring, no SDK disk cache, no network.

Tests that need ``../shared`` use :data:`SHARED` and skip with a clear reason when absent.
"""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from bootstrap import redaction

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test saying what is missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: these tests need the shared reference material")
    return path


class MemoryKeyring(KeyringBackend):
    """An in-memory keyring so no test ever reads or writes the user's real one."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError(f"no entry for {service}/{username}")


def _is_local(address) -> bool:
    if isinstance(address, str):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory, monkeypatch):
    """Keep every test away from the real home, keyring, SDK cache and any remote host."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("AZURE_DEVOPS_CACHE_DIR", str(home / "ado-cache"))
    monkeypatch.delenv("AZURE_DEVOPS_EXT_PAT", raising=False)
    for name in list(__import__("os").environ):
        if name.startswith("BOOTSTRAP_SECRET_"):
            monkeypatch.delenv(name)

    backend = MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)

    real_connect = socket.socket.connect

    def guarded_connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
            raise OSError(f"tests may only reach loopback addresses, not {address!r}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    yield backend
    keyring.set_keyring(previous)
    redaction.clear()


# -- the local Azure DevOps emulator (owner: emulator) ----------------------------------------

from tests.reference_schemas import RECORDER as SCHEMA_RECORDER  # noqa: E402

EMULATOR_DEFAULTS = {
    "org": "demo",
    "projects": ("batcomputer",),
    "pats": ("demo-pat",),
    "repo_dir": str(REPO_ROOT),
}


@pytest.fixture
def emulator_factory():
    """Start emulators with the default org/project/PAT unless overridden; all stop at teardown.

    Every emulator hands its answers to the session-wide schema recorder, and the test that
    made one answer a body the reference schemas reject fails at teardown.
    """
    from bootstrap.emulator import Emulator

    started = []

    def start(**kwargs):
        options = {**EMULATOR_DEFAULTS, **kwargs}
        options.setdefault("observer", SCHEMA_RECORDER.observe)
        emu = Emulator(**options).start()
        started.append(emu)
        return emu

    yield start
    for emu in started:
        emu.stop()
    SCHEMA_RECORDER.assert_clean()


@pytest.fixture
def emulator(emulator_factory):
    """A fresh emulator: org "demo", project "batcomputer", PAT "demo-pat", this repository."""
    return emulator_factory()
