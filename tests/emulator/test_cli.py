"""``bootstrap emulator`` as a subprocess: the one start-up line, serving, clean SIGTERM."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bootstrap.cli import main
from tests.emulator.helpers import auth_headers

LINE = re.compile(
    r"^emulator: (http://127\.0\.0\.1:\d+/demo) \(project batcomputer, PAT demo-pat\)$"
)


def _start(*args: str) -> tuple[subprocess.Popen, str]:
    script = Path(sys.executable).with_name("bootstrap")  # the installed console script
    command = [str(script)] if script.exists() else [sys.executable, "-m", "bootstrap.cli"]
    process = subprocess.Popen(
        [*command, "emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline().rstrip("\n")
    match = LINE.match(line)
    assert match, (line, process.stderr.read() if process.poll() is not None else "")
    return process, match.group(1)


def _stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> tuple[int, str]:
    process.send_signal(sig)
    out, _ = process.communicate(timeout=10)
    return process.returncode, out


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_one_line_serves_and_exits_0_on_signal(tmp_path, sig):
    import requests

    process, url = _start("--repo-dir", str(tmp_path))
    try:
        answer = requests.get(f"{url}/_apis/projects", headers=auth_headers(), timeout=5)
        assert [p["name"] for p in answer.json()["value"]] == ["batcomputer"]
    finally:
        code, rest = _stop(process, sig)
    assert (code, rest) == (0, "")


def test_cli_state_round_trip_and_request_log(tmp_path):
    import requests

    state, log = tmp_path / "state.json", tmp_path / "log.jsonl"
    process, url = _start("--state", str(state), "--request-log", str(log))
    try:
        requests.put(
            f"{url}/batcomputer/_apis/build/folders/kept",
            json={},
            headers=auth_headers(api_version="7.1-preview.2"),
            timeout=5,
        ).raise_for_status()
    finally:
        assert _stop(process)[0] == 0
    process, url = _start("--state", str(state))
    try:
        folders = requests.get(
            f"{url}/batcomputer/_apis/build/folders",
            headers=auth_headers(api_version="7.1-preview.2"),
            timeout=5,
        ).json()
        assert [f["path"] for f in folders["value"]] == ["\\", "\\kept"]
    finally:
        assert _stop(process)[0] == 0
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["method"], e["status"]) for e in entries] == [("PUT", 200)]
    assert "Authorization" not in log.read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--faults", "429,teapot"], "Invalid value for '--faults'"),
        (["--fault-rate", "2"], "Invalid value for '--fault-rate'"),
    ],
)
def test_cli_bad_options_exit_2_with_one_line(args, message):
    result = CliRunner().invoke(main, ["emulator", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_cli_unreadable_state_file_exits_2(tmp_path):
    state = tmp_path / "state.json"
    state.write_text("{not json")
    result = CliRunner().invoke(main, ["emulator", "--state", str(state)])
    assert result.exit_code == 2
    assert "not a readable JSON state file" in result.output


def test_cli_port_in_use_exits_2_with_a_hint(emulator):
    result = CliRunner().invoke(main, ["emulator", "--port", str(emulator.port)])
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{emulator.port}" in result.output
    assert "Traceback" not in result.output


def test_cli_client_gone_mid_answer_leaves_no_traceback():
    import socket
    import struct
    import time
    from urllib.parse import urlsplit

    process, url = _start("--latency-ms", "200")
    try:
        parts = urlsplit(url)
        for _ in range(3):
            client = socket.create_connection((parts.hostname, parts.port))
            client.sendall(f"GET {parts.path}/_apis/projects HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()
        time.sleep(0.5)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "Traceback" not in err
