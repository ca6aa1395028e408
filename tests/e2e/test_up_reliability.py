"""`bootstrap up` under injected faults, concurrency and a SIGKILL: it always converges, and
never leaves a duplicate resource behind."""

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from tests.e2e.conftest import (
    DEMO_CONFIG,
    FAST_RETRY_ENV,
    PAT,
    PIPELINES,
    assert_no_duplicates,
    definitions,
    run,
)

pytestmark = pytest.mark.slow
SEEDS = range(20)
KILL_POINTS = sorted(random.Random(2026).sample(range(1, 9), 4))  # 4 distinct points of 9


def assert_converged(emu) -> None:
    emu.set_faults(0.0)
    result = run(emu, "plan", "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    assert sorted(definitions(emu)) == sorted(PIPELINES)
    assert_no_duplicates(emu)


def test_up_fault_rate_converges_in_every_seeded_run_without_duplicates(make_emulator):
    failures = []
    faults_seen = 0
    for seed in SEEDS:
        emu = make_emulator(fault_rate=0.2, faults=("429", "500", "503", "reset"), fault_seed=seed)
        result = run(emu, "up", "--yes")
        if result.exit_code != 0:
            failures.append((seed, result.output[-300:]))
            continue
        faults_seen += sum(1 for e in emu.request_log if e["status"] in (0, 429, 500, 503))
        assert_converged(emu)
    assert failures == []
    assert faults_seen > 20  # the faults really happened


def _up_process(emu, **popen):
    env = {**os.environ, "AZURE_DEVOPS_EXT_PAT": PAT, **FAST_RETRY_ENV}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bootstrap.cli",
            "up",
            "--yes",
            "--config",
            str(DEMO_CONFIG),
            "--org",
            emu.url,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def test_up_two_processes_started_together_converge_without_duplicates(make_emulator):
    emu = make_emulator(latency_ms=20)
    first, second = _up_process(emu), _up_process(emu)
    outputs = [p.communicate(timeout=120) for p in (first, second)]
    for process, (out, err) in zip((first, second), outputs, strict=True):
        assert process.returncode == 0, out + err
    assert_converged(emu)


@pytest.mark.parametrize("kill_after", KILL_POINTS)
def test_up_killed_at_a_random_point_then_rerun_converges(make_emulator, kill_after):
    """SIGKILL once the emulator has seen a random number (1-8) of the 9 writes of a cold up,
    so the process dies in the middle of applying, then run `up` again."""
    emu = make_emulator(latency_ms=20)
    process = _up_process(emu)
    deadline = time.monotonic() + 60
    while len(emu.writes()) < kill_after and process.poll() is None:
        assert time.monotonic() < deadline, "up never reached its writes"
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL, "up finished before it could be killed"
    result = run(emu, "up", "--yes")
    assert result.exit_code == 0, f"killed after {kill_after} writes: {result.output}"
    assert_converged(emu)
