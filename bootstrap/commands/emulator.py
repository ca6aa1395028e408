"""``bootstrap emulator``: serve a local Azure DevOps organisation until SIGINT/SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import threading

import click

from bootstrap.commands import debug_option
from bootstrap.errors import UsageError


def _default_repo_dir() -> str | None:
    """The current directory when it is a git checkout (what ``--repo-dir`` defaults to)."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def _fault_kinds(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[str, ...]:
    from bootstrap.emulator import FAULT_KINDS

    kinds = tuple(part.strip().lower() for part in value.split(",") if part.strip())
    unknown = [kind for kind in kinds if kind not in FAULT_KINDS]
    if unknown or not kinds:
        raise click.BadParameter(f"use a comma-separated subset of {','.join(FAULT_KINDS)}")
    return kinds


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=0,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="0 picks a free port.",
)
@click.option("--org", default="demo", show_default=True, help="Organisation name in the URL.")
@click.option(
    "--project",
    "projects",
    multiple=True,
    help="Project created at start (repeatable; default batcomputer).",
)
@click.option(
    "--pat",
    "pats",
    multiple=True,
    help="Accepted personal access token (repeatable; default demo-pat).",
)
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False),
    help="Load and save the whole state here (JSON).",
)
@click.option(
    "--repo-dir",
    type=click.Path(exists=True, file_okay=False),
    help="Directory served as each project's Git repository (default: this git checkout).",
)
@click.option(
    "--latency-ms", default=0.0, type=click.FloatRange(min=0), help="Added to every response."
)
@click.option(
    "--fault-rate", default=0.0, type=click.FloatRange(0, 1), help="Fraction of requests that fail."
)
@click.option("--fault-seed", type=int, help="Seed for a repeatable fault sequence.")
@click.option(
    "--faults",
    default="429,500,503,reset",
    show_default=True,
    callback=_fault_kinds,
    help="Fault kinds to inject.",
)
@click.option(
    "--request-log",
    "request_log",
    type=click.Path(dir_okay=False),
    help="Append one JSON line per request.",
)
@debug_option
def emulator(
    host: str,
    port: int,
    org: str,
    projects: tuple[str, ...],
    pats: tuple[str, ...],
    state_file: str | None,
    repo_dir: str | None,
    latency_ms: float,
    fault_rate: float,
    fault_seed: int | None,
    faults: tuple[str, ...],
    request_log: str | None,
) -> None:
    """Serve a local Azure DevOps organisation (the REST subset bootstrap uses).

    Prints one line with the organisation URL, then serves until Ctrl-C or SIGTERM.
    """
    from bootstrap.emulator import Emulator

    projects = projects or ("batcomputer",)
    pats = pats or ("demo-pat",)
    try:
        emu = Emulator(
            org=org,
            projects=projects,
            pats=pats,
            repo_dir=repo_dir or _default_repo_dir(),
            state_file=state_file,
            latency_ms=latency_ms,
            fault_rate=fault_rate,
            faults=faults,
            fault_seed=fault_seed,
            request_log_file=request_log,
            host=host,
            port=port,
        )
    except (OSError, ValueError) as exc:  # the --state file (json errors are ValueErrors)
        raise UsageError(
            f"--state {state_file}: not a readable JSON state file ({exc})",
            hint="delete it or pass another path",
        ) from exc
    stop = threading.Event()

    def _stop(_signum, _frame) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            emu.start()
        except OSError as exc:
            raise UsageError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                hint="choose another --port",
            ) from exc
        click.echo(f"emulator: {emu.url} (project {', '.join(projects)}, PAT {', '.join(pats)})")
        while not stop.wait(0.5):
            pass
    finally:
        emu.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
