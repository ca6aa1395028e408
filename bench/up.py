"""Benchmark `bootstrap up` against the emulator with 100 ms latency per request.

Starts `bootstrap emulator --latency-ms 100` serving a temporary Git repository with this
checkout's pipelines/, then runs as subprocesses, with a fresh AZURE_DEVOPS_CACHE_DIR:

1. cold up: empty project, discovery cache empty;
2. warm up: nothing to do, discovery cache warm (left by run 1);
3. warm up with a cold discovery cache (a fresh cache directory again);

and prints for each the requests and write requests the emulator saw (from --request-log)
and the wall time (min and median over ``--repeat`` fresh emulators: the machine may be
shared), then the wall time of `bootstrap --help`.
Targets (issue 3): cold <= 20 requests and <= 1.5 s; warm <= 8 requests, 0 writes, <= 0.8 s;
--help <= 0.25 s.

    .venv/bin/python bench/up.py [--latency-ms 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOTSTRAP = [sys.executable, "-m", "bootstrap.cli"]
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def make_repo(where: Path) -> Path:
    repo = where / "repo"
    shutil.copytree(ROOT / "pipelines", repo / "pipelines")
    git = ["git", "-C", str(repo), "-c", "user.name=bench", "-c", "user.email=bench@invalid"]
    for args in (["init", "-q", "-b", "main"], ["add", "pipelines"], ["commit", "-q", "-m", "p"]):
        subprocess.run(git + args, check=True, capture_output=True)
    return repo


def read_log(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def settle(path: Path) -> list[dict]:
    """The log once it stops growing (the emulator writes an entry just after answering)."""
    seen = -1
    for _ in range(40):
        entries = read_log(path)
        if len(entries) == seen:
            return entries
        seen = len(entries)
        time.sleep(0.05)
    return read_log(path)


def timed(args: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, cwd=ROOT)
    return time.perf_counter() - start, done


def one_round(repo: Path, tmp_path: Path, latency_ms: int, index: int) -> list[tuple]:
    """A fresh emulator; the three runs against it: (label, requests, writes, seconds, ok)."""
    log = tmp_path / f"requests-{index}.jsonl"
    emulator = subprocess.Popen(
        [
            *BOOTSTRAP,
            "emulator",
            "--port",
            "0",
            "--latency-ms",
            str(latency_ms),
            "--repo-dir",
            str(repo),
            "--request-log",
            str(log),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        url = emulator.stdout.readline().split()[1]
        base_env = {**os.environ, "AZURE_DEVOPS_EXT_PAT": "demo-pat"}
        cache = tmp_path / f"cache-{index}-a"
        runs = [
            ("cold up (empty project, cold discovery cache)", cache),
            ("warm up (nothing to do, warm discovery cache)", cache),
            ("warm up (nothing to do, cold discovery cache)", tmp_path / f"cache-{index}-b"),
        ]
        up = [*BOOTSTRAP, "up", "--yes", "--config", "config/demo.yaml", "--org", url]
        out = []
        for label, cache_dir in runs:
            before = len(settle(log))
            env = {**base_env, "AZURE_DEVOPS_CACHE_DIR": str(cache_dir)}
            seconds, done = timed(up, env)
            entries = settle(log)[before:]
            writes = sum(1 for e in entries if e["method"] in WRITES)
            if done.returncode:
                print(done.stdout[-2000:], done.stderr[-2000:], sep="\n")
            out.append((label, len(entries), writes, seconds, done.returncode == 0))
        return out
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument(
        "--repeat", type=int, default=3, help="Fresh emulators to run against (min/median)."
    )
    options = parser.parse_args()
    print(
        f"emulator latency {options.latency_ms} ms per request, {options.repeat} rounds, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    with tempfile.TemporaryDirectory(prefix="bench-up-") as tmp:
        tmp_path = Path(tmp)
        repo = make_repo(tmp_path)
        rounds = [one_round(repo, tmp_path, options.latency_ms, i) for i in range(options.repeat)]
    ok = True
    for index, (label, *_rest) in enumerate(rounds[0]):
        rows = [r[index] for r in rounds]
        seconds = sorted(r[3] for r in rows)
        requests = sorted({r[1] for r in rows})
        writes = sorted({r[2] for r in rows})
        passed = all(r[4] for r in rows)
        ok &= passed
        print(
            f"{label:<48} requests {'/'.join(map(str, requests)):>3}  "
            f"writes {'/'.join(map(str, writes)):>2}  wall min {seconds[0]:4.2f} s  "
            f"median {statistics.median(seconds):4.2f} s  {'ok' if passed else 'FAILED'}"
        )
    help_times = [timed([*BOOTSTRAP, "--help"], dict(os.environ))[0] for _ in range(5)]
    print(
        f"{'bootstrap --help':<48} wall min {min(help_times):4.2f} s  "
        f"median {statistics.median(help_times):4.2f} s"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
