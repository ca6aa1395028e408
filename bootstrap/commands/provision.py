"""`bootstrap up`, `plan`, `status`, `down` and `config schema|check`.

Thin commands: load config, resolve the PAT, call one function of :mod:`bootstrap.plan`,
render. Heavy modules (pydantic, the SDK) are imported inside the commands.
"""

from __future__ import annotations

import sys

import click

from bootstrap.commands import (
    EXIT_CHANGES,
    config_option,
    debug_option,
    echo,
    org_option,
    output_option,
    project_option,
)
from bootstrap.errors import EXIT_FAILURE, EXIT_OK, BootstrapError, UsageError


def _session(config_path: str, org_url: str | None, project: str | None):
    """(config, client): the config validated first, so a bad file never costs a request."""
    from bootstrap.ado import connect
    from bootstrap.config import load_config
    from bootstrap.credentials import resolve_pat

    cfg = load_config(config_path, org=org_url, project=project)
    return cfg, connect(cfg.organization, resolve_pat(cfg.organization))


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _confirm(question: str, yes: bool) -> None:
    """Go on only with --yes or a "yes" typed on a terminal; never guess on a pipe."""
    if yes:
        return
    if not _stdin_is_tty():
        raise UsageError(
            "refusing to change Azure DevOps without confirmation: stdin is not a terminal",
            hint="review `bootstrap plan`, then pass --yes",
        )
    if not click.confirm(question, default=False, err=True):
        raise UsageError("cancelled: nothing was changed")


def _show_plan(plan, output: str) -> None:
    from bootstrap.plan import render_plan, to_json

    if output == "json":
        echo(to_json(plan.as_dict()))
    else:
        echo(render_plan(plan))


def _converge(config_path, org_url, project, output, *, dry_run, yes, detailed) -> int:
    """Plan, show, confirm, apply. With ``detailed`` every error exits 1, since 2 then means
    "there were changes" (as Terraform's -detailed-exitcode)."""
    try:
        return _converge_once(
            config_path, org_url, project, output, dry_run=dry_run, yes=yes, detailed=detailed
        )
    except BootstrapError as exc:
        if detailed:
            exc.exit_code = EXIT_FAILURE
        raise


def _converge_once(config_path, org_url, project, output, *, dry_run, yes, detailed) -> int:
    from bootstrap.plan import apply, make_plan, render_outcome, to_json

    cfg, client = _session(config_path, org_url, project)
    plan = make_plan(cfg, client)
    if dry_run or not plan.pending:
        _show_plan(plan, output)
        return EXIT_CHANGES if detailed and plan.pending else EXIT_OK
    if output == "text":
        _show_plan(plan, output)
    _confirm("Apply these changes?", yes)
    outcome = apply(plan)
    if output == "json":
        echo(to_json({**plan.as_dict(), **outcome.as_dict(), "writes": client.writes}))
    else:
        echo(render_outcome(outcome))
        echo(f"Done: {len(outcome.done)} change(s), {client.writes} write request(s).")
    return EXIT_CHANGES if detailed else EXIT_OK


def _common(fn):
    for option in reversed(
        [config_option, org_option, project_option, output_option, debug_option]
    ):
        fn = option(fn)
    return fn


@click.command("up")
@_common
@click.option("--dry-run", is_flag=True, help="Only show the plan (same as `bootstrap plan`).")
@click.option("--yes", "-y", is_flag=True, help="Apply without asking.")
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when there were changes, 0 when none, 1 on any error.",
)
def up(config_path, org_url, project, output, dry_run, yes, detailed_exitcode) -> None:
    """Converge the Azure DevOps project to the config: show the plan, ask, apply.

    Creates or repairs the service connection, the variable group (with "allow access to all
    pipelines"), the pipelines and the completion triggers. Safe to run any number of times:
    with nothing to change it writes nothing.
    """
    code = _converge(
        config_path,
        org_url,
        project,
        output,
        dry_run=dry_run,
        yes=yes,
        detailed=detailed_exitcode,
    )
    sys.exit(code)


@click.command("plan")
@_common
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 with no changes, 2 with changes, 1 on any error.",
)
def plan_command(config_path, org_url, project, output, detailed_exitcode) -> None:
    """Show what `bootstrap up` would change (same as `up --dry-run`); writes nothing."""
    code = _converge(
        config_path,
        org_url,
        project,
        output,
        dry_run=True,
        yes=False,
        detailed=detailed_exitcode,
    )
    sys.exit(code)


@click.command("status")
@_common
def status(config_path, org_url, project, output) -> None:
    """Each managed resource: present, missing or drifted (and what drifted), with its URL."""
    from bootstrap.plan import render_status, to_json
    from bootstrap.plan import status as read_status

    cfg, client = _session(config_path, org_url, project)
    rows = read_status(cfg, client)
    if output == "json":
        echo(
            to_json(
                {"organization": cfg.organization, "project": cfg.project.name, "resources": rows}
            )
        )
    else:
        echo(render_status(rows))


@click.command("down")
@_common
@click.option("--dry-run", is_flag=True, help="Only show what would be deleted.")
@click.option("--yes", "-y", is_flag=True, help="Delete without asking.")
def down(config_path, org_url, project, output, dry_run, yes) -> None:
    """Delete what bootstrap manages: the pipelines, the variable group, and the service
    connection when bootstrap created it. The project and the repository stay."""
    from bootstrap.plan import apply, make_down_plan, render_outcome, to_json

    cfg, client = _session(config_path, org_url, project)
    plan = make_down_plan(cfg, client)
    if output == "text" or dry_run or not plan.pending:
        _show_plan(plan, output)
    if dry_run or not plan.pending:
        return
    _confirm("Delete these resources?", yes)
    outcome = apply(plan)
    if output == "json":
        echo(to_json({**plan.as_dict(), **outcome.as_dict(), "writes": client.writes}))
    else:
        echo(render_outcome(outcome))


@click.group("config")
def config_group() -> None:
    """Inspect and validate the configuration file (no network)."""


@config_group.command("schema")
def config_schema() -> None:
    """Print the configuration's JSON Schema (for editor completion and validation)."""
    from bootstrap.config import dump_schema

    click.echo(dump_schema())


@config_group.command("check")
@config_option
@org_option
@project_option
@debug_option
def config_check(config_path, org_url, project) -> None:
    """Validate the configuration file offline; exit 2 with file:line: key: problem."""
    from bootstrap.config import load_config

    cfg = load_config(config_path, org=org_url, project=project)
    click.echo(
        f"{config_path}: OK ({cfg.organization}, project {cfg.project.name}, "
        f"{len(cfg.pipelines)} pipelines)"
    )
