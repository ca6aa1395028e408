"""No PAT and no secret value ever shows: every command, with --debug, against the emulator.

One scenario runs the whole life cycle with known, awkward secret values (quotes, slashes,
non-ASCII, ``%``, ``&``, ``=``): a rejected and an accepted `login`, `vars set`, `plan`, `up`
(which sends the service principal key in the service connection body), `status` (text and
JSON), `vars list` (text and JSON), `vars sync` (first push, rotation, dry run, JSON, a value
from ``BOOTSTRAP_SECRET_<NAME>``), a PAT from the environment that is rejected (`vars sync`,
`up`), a write the emulator fails (fault injection), `vars unset`, `down`, `logout`. --debug
switches msrest's HTTP logger on, so request and response bodies are logged. Everything a user or
operator could see is captured and searched:

- each command's stdout and stderr (click's CliRunner keeps them apart), and the text of any
  exception that escaped;
- a log file fed by a plain ``logging.Formatter`` (no redaction of its own) on the loggers of
  bootstrap, msrest (which logs whole request bodies at DEBUG), azure-devops, requests and
  urllib3, so the records themselves must already be clean;
- the emulator's request log file, and every file the commands left under ``$HOME`` (the
  pushed-secrets state file among them).

A value is searched in clear and in the encodings it could travel in: base64 (standard and
URL-safe, at every byte alignment, so ``Basic base64(user:PAT)`` is caught whatever the user
name), JSON-escaped (ASCII and not) and URL-encoded.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import traceback
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from click.testing import CliRunner

from bootstrap.cli import COMMANDS, main
from bootstrap.redaction import MASK
from tests.e2e.conftest import DEMO_CONFIG

PAT = "Lk-pat-9f3b1c7e5d2a+/="
BAD_PAT = "Rj-bad-pat-4c8e0a6b"
ACR_1 = 'Acr"pw/ü+Lk-4711=='
ACR_2 = "Rot@ted%2Fsecret&Lk-0815"
SP_KEY = "Sp-kéy\\with/slash-Lk-5555"
SECRETS = (PAT, BAD_PAT, ACR_1, ACR_2, SP_KEY)
LOGGERS = ("bootstrap", "msrest", "azure", "requests", "urllib3")
LIFECYCLE = ("login", "logout", "vars", "up", "plan", "status", "down")
FAST_RETRY = {"BOOTSTRAP_RETRY_MAX_ATTEMPTS": "2", "BOOTSTRAP_RETRY_MAX_DELAY": "0.05"}


def forms(secret: str) -> set[str]:
    """The secret in clear and every encoding it could be written in (8+ characters)."""
    raw = secret.encode()
    out = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote(secret),
    }
    for prefix in (b"", b":", b"user:", b"ab:"):
        out.add(base64.b64encode(prefix + raw).decode())
        out.add(base64.urlsafe_b64encode(prefix + raw).decode())
    for k in range(3):  # the characters fixed by the secret alone, at each alignment
        encoded = base64.b64encode(b"\0" * k + raw).decode()
        core = encoded[-(-8 * k // 6) : 8 * (k + len(raw)) // 6]
        out.update({core, core.replace("+", "-").replace("/", "_")})
    return {f for f in out if len(f) >= 8}


@pytest.fixture
def captured_logs(tmp_path):
    """A plain (non-redacting) file handler on every logger that could carry a secret."""
    path = tmp_path / "debug.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    for name in LOGGERS:
        logging.getLogger(name).addHandler(handler)
    yield path
    for name in LOGGERS:
        logging.getLogger(name).removeHandler(handler)
    handler.close()
    root.handlers[:], root.level = saved[0], saved[1]


@pytest.fixture
def leak_config(tmp_path, emu_for_leaks):
    """The demo config with a service-principal connection (so `up` sends a secret)."""
    doc = yaml.safe_load(DEMO_CONFIG.read_text())
    doc["organization"] = emu_for_leaks.url
    doc["service_connection"]["authentication"] = "service-principal"
    doc["service_connection"]["client_secret"] = "AZURE_CLIENT_SECRET"
    path = tmp_path / "leaks.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


@pytest.fixture
def emu_for_leaks(make_emulator, tmp_path):
    return make_emulator(pats=(PAT,), request_log_file=str(tmp_path / "requests.jsonl"))


class Recorder:
    """Runs commands in-process, checks their exit codes, and keeps everything they printed."""

    def __init__(self, config: str) -> None:
        self.config = config
        self.texts: list[tuple[str, str]] = []

    def __call__(self, label, *args, expect=0, input=None, env=None):
        argv = [*args, "--debug", "--config", self.config]
        env = {**FAST_RETRY, **(env or {})}
        result = CliRunner().invoke(main, argv, input=input, env=env)
        self.texts.append((f"{label} stdout", result.stdout))
        self.texts.append((f"{label} stderr", result.stderr))
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            text = "".join(traceback.format_exception(result.exception))
            self.texts.append((f"{label} exception", text))
        assert result.exit_code == expect, f"{label}: {result.output[-3000:]}"
        return result


def test_leaks_no_secret_or_pat_in_any_output_log_or_file(
    emu_for_leaks, leak_config, captured_logs
):
    missing = [name for name in LIFECYCLE if name not in COMMANDS]
    assert not missing, f"commands not registered: {missing}"
    emu = emu_for_leaks
    run = Recorder(leak_config)

    # credentials: a rejected PAT, then the real one (kept in the keyring from here on)
    run("login rejected", "login", "--pat-stdin", input=BAD_PAT + "\n", expect=1)
    run("login", "login", "--pat-stdin", input=PAT + "\n")

    # secret values into the keyring
    run("vars set acr", "vars", "set", "ACR_PASSWORD", "--stdin", input=ACR_1 + "\n")
    run("vars set sp", "vars", "set", "AZURE_CLIENT_SECRET", "--stdin", input=SP_KEY + "\n")

    # provisioning, the service principal key travelling in the service connection body
    run("plan", "plan", "--detailed-exitcode", expect=2)
    run("up", "up", "--yes")
    run("status", "status")
    run("status json", "status", "--output", "json")
    run("plan json", "plan", "--output", "json")

    # secret values into the group
    run("vars list", "vars", "list")
    run("vars sync", "vars", "sync", "--yes")
    run("vars list json", "vars", "list", "--output", "json")
    run("vars set rotate", "vars", "set", "ACR_PASSWORD", "--stdin", input=ACR_2 + "\n")
    run("sync dry run", "vars", "sync", "--dry-run", "--output", "json")
    run(
        "sync env", "vars", "sync", "--yes", "--force", env={"BOOTSTRAP_SECRET_ACR_PASSWORD": ACR_1}
    )

    # error paths: a PAT from the environment that is rejected, a write that fails
    run("sync bad pat", "vars", "sync", "--yes", env={"AZURE_DEVOPS_EXT_PAT": BAD_PAT}, expect=1)
    run("up bad pat", "up", "--yes", env={"AZURE_DEVOPS_EXT_PAT": BAD_PAT}, expect=1)
    arm_write_failure(emu)
    failed = run("sync failed write", "vars", "sync", "--yes", "--force", expect=1)
    emu.set_faults(0.0)
    assert "updating variable group shared-variables failed" in failed.stderr

    # tear down
    run("vars unset", "vars", "unset", "ACR_PASSWORD")
    run("down", "down", "--yes")
    run("logout", "logout")

    texts = list(run.texts)
    texts.append(("debug log", captured_logs.read_text(encoding="utf-8")))
    texts.append(("emulator request log", Path(emu.request_log_file).read_text(encoding="utf-8")))
    home = Path(os.environ["HOME"])
    for path in sorted(p for p in home.rglob("*") if p.is_file()):
        texts.append((f"file {path.relative_to(home)}", path.read_text("utf-8", errors="replace")))

    debug_text = "\n".join(t for label, t in texts if label.endswith("stderr"))
    # --debug traces every request and response body (msrest.http_logger), so real bodies
    # carrying the secrets went through the redaction
    assert "DEBUG msrest.http_logger: Request body:" in debug_text
    assert f'serviceprincipalkey": "{MASK}' in debug_text  # and masked
    assert any(label.endswith("pushed-secrets.json") for label, _ in texts)

    leaks = [
        (label, secret[:3] + "...", form)
        for label, text in texts
        for secret in SECRETS
        for form in forms(secret)
        if form in text
    ]
    assert leaks == []


def arm_write_failure(emu) -> None:
    """Fail every request from the variable group's PUT on (HTTP 500, the emulator's faults).

    `vars sync` re-reads the group by id just before its PUT; the observer (which the
    emulator calls before it answers) switches the faults on once that read has been
    answered, so the reads before succeed and the write (with all its retries) fails.
    """
    previous = emu.observer

    def observer(exchange):
        if previous is not None:
            previous(exchange)
        by_id = exchange.path.rstrip("/").rsplit("/", 1)[-1].isdigit()
        if exchange.route == "distributedtask.variablegroups.get" and by_id:
            emu.set_faults(1.0, ("500",))
            emu.observer = previous

    emu.observer = observer
