"""`bootstrap login`, `logout` and `vars set/unset/list/sync`: credentials and secret values.

Thin commands: parse, call :mod:`bootstrap.credentials` / :mod:`bootstrap.secrets`, render.
Every line printed passes through :func:`bootstrap.redaction.redact`, and values of secrets
are never printed at all (they show as ``(sensitive)``).
"""

from __future__ import annotations

import json
import os

import click

from bootstrap import credentials
from bootstrap.commands import (
    EXIT_CHANGES,
    config_option,
    debug_option,
    echo,
    org_option,
    output_option,
    project_option,
)
from bootstrap.errors import EXIT_OK, UsageError
from bootstrap.redaction import redact


def _load(config_path: str, org_url: str | None, project: str | None = None):
    from bootstrap.config import load_config

    return load_config(config_path, org=org_url, project=project)


def _connect(cfg):
    from bootstrap.ado import connect

    return connect(cfg.organization, credentials.resolve_pat(cfg.organization))


def _where(cfg) -> str:
    return f"{cfg.variable_group.name} (project {cfg.project.name})"


# --- login / logout ------------------------------------------------------------------------


@click.command("login")
@org_option
@config_option
@click.option("--pat-stdin", is_flag=True, help="Read the PAT from standard input.")
@debug_option
def login(org_url: str | None, config_path: str, pat_stdin: bool) -> None:
    """Check a personal access token and keep it in the system keyring.

    The PAT is read from a hidden prompt (or stdin with --pat-stdin), checked with one
    authenticated call, then stored under the organisation URL. AZURE_DEVOPS_EXT_PAT, when
    set, is still used before the stored PAT.
    """
    from bootstrap.ado import connect

    org = org_url or _load(config_path, None).organization
    credentials.require_keyring()
    if pat_stdin:
        pat = credentials.read_stdin()
    elif credentials.stdin_is_tty():
        pat = credentials.read_hidden(f"Personal access token for {org}")
    else:
        raise UsageError("no terminal to prompt for the PAT", hint="pipe it in with --pat-stdin")
    connect(org, pat).list_projects()  # one authenticated call: AuthError if rejected
    credentials.store_pat(org, pat)
    key = credentials.normalise_org_url(org)
    echo(f"logged in to {key}: PAT checked and stored in the system keyring")
    if os.environ.get(credentials.PAT_ENV):
        echo(f"note: {credentials.PAT_ENV} is set and is used before the stored PAT", err=True)


@click.command("logout")
@org_option
@config_option
@debug_option
def logout(org_url: str | None, config_path: str) -> None:
    """Remove the organisation's PAT from the system keyring."""
    org = org_url or _load(config_path, None).organization
    key = credentials.normalise_org_url(org)
    if credentials.delete_pat(org):
        echo(f"logged out of {key}: stored PAT removed")
    else:
        echo(f"no stored PAT for {key}")


# --- vars ----------------------------------------------------------------------------------


@click.group("vars")
def vars_group() -> None:
    """Variables and secret values of the variable group.

    Secret values come from, first wins: BOOTSTRAP_SECRET_<NAME>, the keyring (`vars set`),
    a hidden prompt (`vars sync --prompt` on a terminal).
    """


@vars_group.command("set")
@click.argument("name")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the value from standard input.")
@config_option
@org_option
@project_option
@debug_option
def vars_set(
    name: str, from_stdin: bool, config_path: str, org_url: str | None, project: str | None
) -> None:
    """Store the value of secret NAME in the system keyring (push it with `vars sync`)."""
    from bootstrap import secrets

    cfg = _load(config_path, org_url, project)
    secrets.require_declared_secret(cfg, name)
    credentials.require_keyring()
    if from_stdin:
        value = credentials.read_stdin()
    elif credentials.stdin_is_tty():
        value = credentials.read_hidden(f"Value of {name}", confirm=True)
    else:
        raise UsageError("no terminal to prompt for the value", hint="pipe it in with --stdin")
    secrets.store_value(cfg, name, value)
    echo(f"stored {name} for {_where(cfg)} in the keyring; push it with `bootstrap vars sync`")
    env = credentials.secret_env_name(name)
    if os.environ.get(env):
        echo(f"note: {env} is set and is used before the stored value", err=True)


@vars_group.command("unset")
@click.argument("name")
@config_option
@org_option
@project_option
@debug_option
def vars_unset(name: str, config_path: str, org_url: str | None, project: str | None) -> None:
    """Remove the stored value of secret NAME from the keyring (the remote one stays)."""
    from bootstrap import secrets

    cfg = _load(config_path, org_url, project)
    if secrets.delete_value(cfg, name):
        echo(f"removed the stored value of {name} for {_where(cfg)}")
    else:
        echo(f"no stored value of {name} for {_where(cfg)}")


@vars_group.command("list")
@config_option
@org_option
@project_option
@output_option
@debug_option
def vars_list(config_path: str, org_url: str | None, project: str | None, output: str) -> None:
    """Show where each variable's value comes from and its remote state (never values)."""
    from bootstrap import secrets

    cfg = _load(config_path, org_url, project)
    remote_group = _connect(cfg).get_variable_group(cfg.project.name, cfg.variable_group.name)
    rows = secrets.list_variables(cfg, remote_group)
    if output == "json":
        echo(json.dumps({"group": cfg.variable_group.name, "variables": rows}, indent=2))
        return
    if remote_group is None:
        echo(f"variable group {_where(cfg)} does not exist yet (`bootstrap up` creates it)")
    header = ("NAME", "SECRET", "SOURCE", "REMOTE")
    table = [header] + [
        (r["name"], "yes" if r["secret"] else "no", r["source"], r["remote"]) for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@vars_group.command("sync")
@config_option
@org_option
@project_option
@click.option("--yes", "-y", is_flag=True, help="Apply without asking.")
@click.option("--dry-run", is_flag=True, help="Only show what would change.")
@click.option("--force", is_flag=True, help="Push every secret that has a local value.")
@click.option("--prune", is_flag=True, help="Delete remote variables config does not declare.")
@click.option(
    "--prompt", "prompt", is_flag=True, help="Ask for secrets with no value (on a terminal)."
)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 2 when there were changes, 0 when none."
)
@output_option
@debug_option
def vars_sync(
    config_path: str,
    org_url: str | None,
    project: str | None,
    yes: bool,
    dry_run: bool,
    force: bool,
    prune: bool,
    prompt: bool,
    detailed_exitcode: bool,
    output: str,
) -> None:
    """Push variable and secret changes to the group in one update.

    Plain variables are set to config's values. A secret is pushed only when the group lacks
    it, this machine never pushed it, or its local value changed since this machine last
    pushed it (--force: always); other secrets keep their stored value.
    """
    from bootstrap import secrets

    cfg = _load(config_path, org_url, project)
    client = _connect(cfg)
    plan, local = secrets.plan_sync(client, cfg, force=force, prune=prune, prompt=prompt)
    if output == "text":
        _render_plan(cfg, plan)
    applied = None
    if plan.changes and not dry_run:
        if not yes:
            _confirm(cfg, plan)
        applied = secrets.apply_sync(client, cfg, plan, local, force=force, prune=prune)
    if output == "json":
        doc = plan.to_json()
        doc["applied"] = [c.name for c in applied.applied] if applied else []
        doc["dry_run"] = dry_run
        echo(json.dumps(doc, indent=2))
    elif applied is not None:
        _render_applied(cfg, applied)
    changed = bool(applied.applied) if applied is not None else bool(plan.changes)
    click.get_current_context().exit(EXIT_CHANGES if detailed_exitcode and changed else EXIT_OK)


def _confirm(cfg, plan) -> None:
    if not credentials.stdin_is_tty():
        raise UsageError(
            "vars sync needs confirmation and there is no terminal to ask on",
            hint="rerun with --yes to apply, or --dry-run to only show the plan",
        )
    deletions = [c.name for c in plan.changes if c.action == "delete"]
    question = f"Apply these changes to {_where(cfg)}?"
    if deletions:
        question = f"Apply these changes, deleting {', '.join(deletions)}, to {_where(cfg)}?"
    if not click.confirm(redact(question), default=False, err=True):
        raise UsageError("cancelled: nothing was changed")


_SYMBOL = {"create": "+", "update": "~", "delete": "-"}


def _render_plan(cfg, plan) -> None:
    from bootstrap.secrets import SENSITIVE

    echo(f"variable group {_where(cfg)}:")
    for change in plan.changes:
        symbol = _SYMBOL[change.action]
        if change.action == "delete":
            detail = SENSITIVE if change.secret else repr(change.old)
            echo(f"  {symbol} {change.name} = {detail}  (not declared in config)")
        elif change.secret:
            echo(f"  {symbol} {change.name} = {SENSITIVE}  ({change.reason})")
        elif change.action == "create":
            echo(f"  {symbol} {change.name} = {change.new!r}")
        else:
            echo(f"  {symbol} {change.name}: {change.old!r} -> {change.new!r}")
    for name, reason in sorted(plan.skipped.items()):
        env = credentials.secret_env_name(name)
        echo(f"  ! {name}: not pushed ({reason}; `bootstrap vars set {name}` or set {env})")
    summary = plan.summary()
    if not plan.changes:
        echo(f"No changes. {summary['unchanged']} unchanged.")
    else:
        echo(
            f"Plan: {summary['create']} to add, {summary['update']} to change, "
            f"{summary['delete']} to delete, {summary['unchanged']} unchanged."
        )


def _render_applied(cfg, result) -> None:
    if result.dropped:
        echo(
            "no longer needed after re-reading the group (changed meanwhile): "
            + ", ".join(result.dropped)
        )
    pushed = [c.name for c in result.applied if c.secret and c.action != "delete"]
    echo(
        f"updated {_where(cfg)}: {len(result.applied)} change(s) in one update"
        + (f"; secrets pushed: {', '.join(pushed)}" if pushed else "")
    )
