"""How the three scripts start and fail: argparse, `--debug`, one-line errors, exit codes.

Every script is `run(parser, action)`: the parser gets `--debug`; `action(args, settings)`
does the work. An `AmlError` prints `error: <what is wrong>; <how to fix it>` on one line (and,
inside Azure Pipelines, also as a `##vso[task.logissue]` so it shows on the run's summary) and
exits with its code (2 for configuration, 1 otherwise). Anything unexpected prints one line
too; `--debug` adds the traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable

from .errors import AmlError
from .settings import Settings


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _report(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    if os.environ.get("TF_BUILD"):
        print(f"##vso[task.logissue type=error]{message}", file=sys.stderr)


def run(parser: argparse.ArgumentParser, action: Callable[[argparse.Namespace, Settings], None]):
    parser.add_argument("--debug", action="store_true", help="show tracebacks on failure")
    args = parser.parse_args()
    try:
        action(args, Settings())
    except AmlError as exc:
        if args.debug:
            traceback.print_exc()
        _report(f"{exc.message}; {exc.hint}" if exc.hint else exc.message)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _report("interrupted")
        sys.exit(130)
    except Exception as exc:
        if args.debug:
            traceback.print_exc()
        _report(
            f"unexpected {type(exc).__name__}: {exc} (run again with --debug for the traceback)"
        )
        sys.exit(1)
