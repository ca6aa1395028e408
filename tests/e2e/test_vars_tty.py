"""The terminal paths: hidden prompts and confirmation, run in a real pseudo-terminal.

Each command runs as a child process whose controlling terminal is a pty (``getpass`` reads
``/dev/tty``), answering prompts as they appear. The child uses the test's in-memory keyring
class (``PYTHON_KEYRING_BACKEND``), so nothing reaches a real keyring; it lives as long as
the one command.
"""

from __future__ import annotations

import os
import pty
import select
import sys
import time

import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.e2e.conftest import DEMO_CONFIG, group, run

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pty")


def on_tty(argv, answers, env, timeout=30.0):
    """Run ``bootstrap ARGV`` on a pty; ``answers``: (prompt substring, reply) in order.

    Returns (exit code, everything the terminal showed).
    """
    pid, fd = pty.fork()
    if pid == 0:  # the child: exec at once, nothing else
        os.chdir(REPO_ROOT)
        os.execve(sys.executable, [sys.executable, "-m", "bootstrap.cli", *argv], env)
    shown, pending = b"", list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                shown += chunk
            if pending and pending[0][0].encode() in shown:
                prompt, reply = pending.pop(0)
                shown += f"<answered {prompt}>".encode()
                os.write(fd, reply.encode() + b"\n")
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    assert not pending, f"prompts never shown: {pending}; terminal: {shown.decode()}"
    return os.waitstatus_to_exitcode(status), shown.decode("utf-8", errors="replace")


@pytest.fixture
def child_env(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BOOTSTRAP_SECRET_", "AZURE_DEVOPS_EXT_PAT"))
    }
    env.update(
        PYTHONPATH=str(REPO_ROOT),
        PYTHON_KEYRING_BACKEND="tests.conftest.MemoryKeyring",
        HOME=str(tmp_path / "home"),
        XDG_CONFIG_HOME=str(tmp_path / "home" / ".config"),
        AZURE_DEVOPS_CACHE_DIR=str(tmp_path / "home" / "cache"),
        TERM="dumb",
    )
    return env


def test_vars_tty_login_hidden_prompt_does_not_echo_the_pat(emu, child_env):
    code, shown = on_tty(
        ["login", "--org", emu.url], [("Personal access token", "demo-pat")], child_env
    )
    assert code == 0, shown
    assert "PAT checked and stored" in shown
    assert "demo-pat" not in shown


def test_vars_tty_pat_prompted_when_nothing_else_gives_one(emu, child_env):
    code, shown = on_tty(
        ["vars", "list", "--config", str(DEMO_CONFIG), "--org", emu.url],
        [("Personal access token", "demo-pat")],
        child_env,
    )
    assert code == 0, shown
    assert "ACR_PASSWORD" in shown and "demo-pat" not in shown


def test_vars_tty_sync_prompts_for_value_and_confirmation(emu, child_env, tmp_path):
    assert run(emu, "up", "--yes").exit_code == 0
    config = tmp_path / "demo.yaml"
    doc = yaml.safe_load(DEMO_CONFIG.read_text())
    doc["organization"] = emu.url
    config.write_text(yaml.safe_dump(doc))
    child_env["AZURE_DEVOPS_EXT_PAT"] = "demo-pat"
    declined, shown = on_tty(
        ["vars", "sync", "--prompt", "--config", str(config)],
        [("Value of ACR_PASSWORD", "typed-acr-1"), ("Apply these changes", "n")],
        child_env,
    )
    assert declined == 2, shown
    assert "cancelled: nothing was changed" in shown
    assert group(emu)["variables"]["ACR_PASSWORD"]["value"] is None
    code, shown = on_tty(
        ["vars", "sync", "--prompt", "--config", str(config)],
        [("Value of ACR_PASSWORD", "typed-acr-1"), ("Apply these changes", "y")],
        child_env,
    )
    assert code == 0, shown
    assert group(emu)["variables"]["ACR_PASSWORD"]["value"] == "typed-acr-1"
    assert "typed-acr-1" not in shown
