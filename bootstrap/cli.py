"""The ``bootstrap`` command line: a thin root group that maps errors to exit codes.

Each command lives in a module under ``bootstrap.commands`` and is imported only when it is
listed or invoked, so ``bootstrap --help`` never pays for the SDK, pydantic or the emulator.
Commands parse options, call one plain function and render its result; the one handler here
turns a :class:`~bootstrap.errors.BootstrapError` into a one-line message and an exit code.
"""

from __future__ import annotations

import importlib
import sys
import traceback

import click

from bootstrap import __version__
from bootstrap.errors import EXIT_FAILURE, BootstrapError
from bootstrap.redaction import redact

# name -> "module:attribute" of a click command; imported on first use.
COMMANDS: dict[str, str] = {
    "login": "bootstrap.commands.secrets:login",
    "logout": "bootstrap.commands.secrets:logout",
    "vars": "bootstrap.commands.secrets:vars_group",
    "up": "bootstrap.commands.provision:up",
    "plan": "bootstrap.commands.provision:plan_command",
    "status": "bootstrap.commands.provision:status",
    "down": "bootstrap.commands.provision:down",
    "config": "bootstrap.commands.provision:config_group",
    "emulator": "bootstrap.commands.emulator:emulator",
}

DEBUG_KEY = "bootstrap.debug"


class RootGroup(click.Group):
    """Loads commands lazily and renders every error as one redacted line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attr = target.partition(":")
        return getattr(importlib.import_module(module_name), attr)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except BootstrapError as exc:
            _report(ctx, exc, f"error: {exc}")
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:  # a bug: say so in one line, details under --debug
            _report(ctx, exc, f"internal error: {type(exc).__name__}: {exc} (rerun with --debug)")
            ctx.exit(EXIT_FAILURE)


def _report(ctx: click.Context, exc: BaseException, line: str) -> None:
    if ctx.meta.get(DEBUG_KEY):
        click.echo(redact("".join(traceback.format_exception(exc))), err=True)
    click.echo(redact(line), err=True)


@click.group(cls=RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bootstrap")
def main() -> None:
    """Stand up and keep in sync an MLOps project in Azure DevOps.

    Start with `bootstrap emulator` for a local Azure DevOps, then `bootstrap up`.
    """


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
