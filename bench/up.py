"""Benchmark `bootstrap up` against the emulator with 100 ms latency per request.

Starts `bootstrap emulator --latency-ms 100` serving a temporary Git repository with this
checkout's pipelines/, then runs as subprocesses, with a fresh AZURE_DEVOPS_CACHE_DIR:

1. cold up: empty project, discovery cache empty;
2. warm up: nothing to do, discovery cache warm (left by run 1);
3. warm up with a cold discovery cache (a fresh cache directory again);

and prints for each the requests and write requests the emulator saw (from --request-log)
and the wall time, then the wall time of `bootstrap --help`.
Targets (issue 3): cold <= 20 requests and <= 1.5 s; warm <= 8 requests, 0 writes, <= 0.8 s;
--help <= 0.25 s.

    .venv/bin/python bench/up.py [--latency-ms 100]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=int, default=100)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-up-") as tmp:
        tmp_path = Path(tmp)
        repo = make_repo(tmp_path)
        log = tmp_path / "requests.jsonl"
        emulator = subprocess.Popen(
            [
                *BOOTSTRAP,
                "emulator",
                "--port",
                "0",
                "--latency-ms",
                str(options.latency_ms),
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
            line = emulator.stdout.readline().strip()
            url = line.split()[1]
            print(f"{line}  (latency {options.latency_ms} ms per request)")
            base_env = {**os.environ, "AZURE_DEVOPS_EXT_PAT": "demo-pat"}
            cache = tmp_path / "cache-1"
            runs = [
                ("cold up (empty project, cold discovery cache)", cache),
                ("warm up (nothing to do, warm discovery cache)", cache),
                ("warm up (nothing to do, cold discovery cache)", tmp_path / "cache-2"),
            ]
            up = [*BOOTSTRAP, "up", "--yes", "--config", "config/demo.yaml", "--org", url]
            ok = True
            for label, cache_dir in runs:
                before = len(settle(log))
                env = {**base_env, "AZURE_DEVOPS_CACHE_DIR": str(cache_dir)}
                seconds, done = timed(up, env)
                entries = settle(log)[before:]
                writes = sum(1 for e in entries if e["method"] in WRITES)
                status = "ok" if done.returncode == 0 else f"FAILED (exit {done.returncode})"
                ok &= done.returncode == 0
                print(
                    f"{label:<50} requests {len(entries):>3}  writes {writes:>2}  "
                    f"wall {seconds:5.2f} s  {status}"
                )
                if done.returncode:
                    print(done.stdout[-2000:], done.stderr[-2000:], sep="\n")
            help_times = [timed([*BOOTSTRAP, "--help"], base_env)[0] for _ in range(5)]
            print(f"{'bootstrap --help (best of 5)':<50} wall {min(help_times):5.2f} s")
            return 0 if ok else 1
        finally:
            emulator.terminate()
            emulator.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
