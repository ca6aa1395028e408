"""Click commands and the options they share. Modules here import only click at top level."""

from __future__ import annotations

import logging
import sys

import click

from bootstrap.cli import DEBUG_KEY
from bootstrap.config import DEFAULT_CONFIG
from bootstrap.redaction import RedactingFormatter, redact

EXIT_CHANGES = 2  # --detailed-exitcode: there were changes (planned or applied)


def enable_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    """Turn on tracebacks and DEBUG logging (HTTP traces included), always redacted."""
    if value:
        ctx.meta[DEBUG_KEY] = True
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.handlers[:] = [handler]
        root.setLevel(logging.DEBUG)
    return value


debug_option = click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=enable_debug,
    help="Show tracebacks and HTTP traces (secrets are always masked).",
)

output_option = click.option(
    "--output",
    "-o",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)

config_option = click.option(
    "--config",
    "config_path",
    default=str(DEFAULT_CONFIG),
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The bootstrap configuration file.",
)
org_option = click.option("--org", "org_url", help="Organisation URL (overrides the config).")
project_option = click.option("--project", help="Project name (overrides the config).")


def echo(text: str = "", *, err: bool = False) -> None:
    """Print one line (or block) of output, always through the redaction filter."""
    click.echo(redact(text), err=err)
