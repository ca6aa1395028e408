"""Plan and apply: read everything, diff it against config, order the changes, run them.

Reads go out concurrently in two rounds (the project, the service connection, the variable
group and one listing of the pipelines; then what needs their ids: the pipeline permissions,
and the repository, its YAML files and the agent queue when a pipeline must be written). So a
project that is already converged costs six requests and no write.

Apply runs in dependency order, independent steps concurrently:

    project -> service connection | variable group | pipelines without a completion trigger
            -> pipelines with one (they need the upstream's id)
            -> pipeline permissions of the group and the connection (one PATCH)

Rendering: text like Terraform's (``+`` create, ``~`` update with ``field: old -> new``,
``-`` delete, a count of unchanged resources; secrets always ``(sensitive)``), or one JSON
object with the changes and a summary.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bootstrap.errors import ApplyError, BootstrapError, UsageError
from bootstrap.resources import permissions, pipeline, project, service_connection, variable_group
from bootstrap.resources.base import (
    CREATE,
    DELETE,
    NOOP,
    SENSITIVE,
    UPDATE,
    Change,
    Context,
    FieldChange,
    diff_views,
)

_POOL_SIZE = 8


@dataclass
class Plan:
    ctx: Context
    changes: list[Change] = field(default_factory=list)  # every managed resource, in order
    mode: str = "up"  # "up" or "down"

    @property
    def pending(self) -> list[Change]:
        return [c for c in self.changes if c.action != NOOP]

    def summary(self) -> dict[str, int]:
        counts = {CREATE: 0, UPDATE: 0, DELETE: 0, "unchanged": 0}
        for change in self.changes:
            counts["unchanged" if change.action == NOOP else change.action] += 1
        return counts

    def as_dict(self) -> dict:
        return {
            "organization": self.ctx.cfg.organization,
            "project": self.ctx.project_name,
            "changes": [c.as_dict() for c in self.pending],
            "unchanged": [
                {"kind": c.kind, "name": c.name, "url": c.url}
                for c in self.changes
                if c.action == NOOP
            ],
            "warnings": list(self.ctx.warnings),
            "summary": self.summary(),
        }


def _concurrently(calls: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Run independent calls in threads; results (or the exception raised) by name."""
    if not calls:
        return {}
    out: dict[str, Any] = {}
    with ThreadPoolExecutor(max_workers=min(_POOL_SIZE, len(calls))) as pool:
        futures = {name: pool.submit(fn) for name, fn in calls.items()}
        for name, future in futures.items():
            try:
                out[name] = future.result()
            except BaseException as exc:
                out[name] = exc
    return out


def _raise_first(results: dict[str, Any]) -> None:
    errors = [r for r in results.values() if isinstance(r, BaseException)]
    bootstrap_errors = [e for e in errors if isinstance(e, BootstrapError)]
    if bootstrap_errors or errors:
        raise (bootstrap_errors or errors)[0]


def _fields_of_new(view: dict, sensitive: frozenset[str] = frozenset()) -> list[FieldChange]:
    out = []
    for key, value in view.items():
        if isinstance(value, dict):
            out += [FieldChange(f"{key}.{k}", None, v) for k, v in sorted(value.items())]
        elif value is not None:
            out.append(FieldChange(key, None, value, key in sensitive))
    return out


def read_state(cfg, client) -> Context:
    """Everything bootstrap manages, read concurrently; raises for a missing project."""
    ctx = Context(cfg=cfg, client=client)
    first = _concurrently(
        {
            "project": lambda: project.read(ctx),
            "service_connection": lambda: service_connection.read(ctx),
            "variable_group": lambda: variable_group.read(ctx),
            "pipelines": lambda: pipeline.read(ctx),
            "keyring": variable_group.prepare_secret_states,
        }
    )
    if isinstance(first["project"], BaseException):
        raise first["project"]
    ctx.project = first["project"]
    if ctx.project is None:
        if not cfg.project.create_if_missing:
            raise project.missing_error(ctx)
        ctx.put(service_connection.KIND, cfg.service_connection.name, None)
        ctx.put(variable_group.KIND, cfg.variable_group.name, None)
        for name in pipeline.keys(cfg):
            ctx.put(pipeline.KIND, name, None)
        for key in permissions.keys(cfg):
            ctx.put(permissions.KIND, key, None)
        ctx.lookups["definitions"] = []
        return ctx
    _raise_first(first)
    ctx.put(project.KIND, cfg.project.name, ctx.project)
    ctx.put(service_connection.KIND, cfg.service_connection.name, first["service_connection"])
    ctx.put(variable_group.KIND, cfg.variable_group.name, first["variable_group"])
    definitions = first["pipelines"]
    ctx.lookups["definitions"] = definitions
    for pipe in cfg.pipelines:
        ctx.put(pipeline.KIND, pipe.name, pipeline.match(definitions, pipe.name, pipe.folder))
    second: dict[str, Callable[[], Any]] = {
        key: (lambda k=key: permissions.read(ctx, k)) for key in permissions.keys(cfg)
    }
    # Local work (keyring, fingerprints) overlaps the permission reads' network wait.
    second["secrets"] = lambda: variable_group.secret_states(ctx, first["variable_group"])
    results = _concurrently(second)
    _raise_first(results)
    ctx.lookups["secret_states"] = results.pop("secrets")
    for key, value in results.items():
        ctx.put(permissions.KIND, key, value)
    return ctx


def _names_by_id(ctx: Context) -> dict[int, str]:
    return {d["id"]: d["name"] for d in ctx.lookups.get("definitions", [])}


def make_plan(cfg, client) -> Plan:
    """Read, diff, and check the inputs writes will need (repository, YAML files, queue), so
    that a plan that would fail half-way fails here instead, before anything is written."""
    ctx = read_state(cfg, client)
    plan = Plan(ctx)
    web = client.web_url
    name_of = _names_by_id(ctx)

    if ctx.project is None:
        plan.changes.append(
            Change(project.KIND, cfg.project.name, CREATE, _fields_of_new(project.desired(cfg)))
        )
    else:
        plan.changes.append(
            Change(project.KIND, cfg.project.name, NOOP, url=web(ctx.project_name, "project", 0))
        )

    # service connection
    sc_actual = ctx.get(service_connection.KIND, cfg.service_connection.name)
    sc_name = cfg.service_connection.name
    if not service_connection.managed(cfg):
        if ctx.project is None:
            raise UsageError(
                f"service connection {sc_name} (mode: existing) cannot exist in project "
                f"{cfg.project.name}, which does not exist yet",
                hint="use service_connection.mode: create, or create the project first",
            )
        if sc_actual is None:
            raise service_connection.missing_error(ctx)
        plan.changes.append(
            Change(
                service_connection.KIND,
                sc_name,
                NOOP,
                url=sc_actual and web(ctx.project_name, "service_connection", sc_actual["id"]),
                notes=["not managed (mode: existing)"],
            )
        )
    elif sc_actual is None:
        service_connection.check_secret(ctx)
        plan.changes.append(
            Change(
                service_connection.KIND,
                sc_name,
                CREATE,
                _fields_of_new(service_connection.desired(cfg)),
            )
        )
    else:
        fields = diff_views(service_connection.desired(cfg), service_connection.view(sc_actual))
        if fields:
            service_connection.check_secret(ctx)
        plan.changes.append(
            Change(
                service_connection.KIND,
                sc_name,
                UPDATE if fields else NOOP,
                fields,
                url=web(ctx.project_name, "service_connection", sc_actual["id"]),
            )
        )

    # variable group
    vg_actual = ctx.get(variable_group.KIND, cfg.variable_group.name)
    want = variable_group.desired(cfg)
    fields = variable_group.diff(want, vg_actual and variable_group.view(vg_actual))
    action = CREATE if vg_actual is None else (UPDATE if fields else NOOP)
    vg_change = Change(
        variable_group.KIND,
        cfg.variable_group.name,
        action,
        fields,
        url=vg_actual and web(ctx.project_name, "variable_group", vg_actual["id"]),
    )
    states = ctx.lookups.get("secret_states")
    if states is None:
        states = variable_group.secret_states(ctx, vg_actual)
    for secret, state in states.items():
        hint = "" if state == "set remotely" else " (set it with `bootstrap vars sync`)"
        vg_change.notes.append(f"secret {secret}: {state}{hint}")
    plan.changes.append(vg_change)

    # pipelines
    to_write: list[str] = []
    for pipe in cfg.pipelines:
        actual = ctx.get(pipeline.KIND, pipe.name)
        want = pipeline.desired(cfg, pipe.name)
        if actual is None:
            change = Change(pipeline.KIND, pipe.name, CREATE, _fields_of_new(want))
        else:
            fields = diff_views(want, pipeline.view(actual, name_of))
            change = Change(
                pipeline.KIND,
                pipe.name,
                UPDATE if fields else NOOP,
                fields,
                url=web(ctx.project_name, "pipeline", actual["id"]),
            )
        if change.action != NOOP:
            to_write.append(pipe.name)
        plan.changes.append(change)

    # pipeline permissions
    for key in permissions.keys(cfg):
        want = permissions.desired(cfg, key)
        actual = ctx.get(permissions.KIND, key)
        owner_missing = permissions.resource_id(ctx, key) is None
        if owner_missing:
            fields = _fields_of_new(want)
        else:
            fields = diff_views(want, permissions.view(actual, name_of))
        plan.changes.append(
            Change(
                permissions.KIND,
                permissions.label(cfg, key),
                (CREATE if owner_missing else UPDATE) if fields else NOOP,
                fields,
            )
        )

    if to_write and ctx.project is not None:
        _check_inputs(ctx, to_write)
    return plan


def _check_inputs(ctx: Context, names: list[str]) -> None:
    """Look up the repository, queue and YAML files pipeline writes need (concurrently)."""
    cfg = ctx.cfg
    calls: dict[str, Callable[[], Any]] = {}
    if cfg.repository.type == "github":
        calls["github"] = lambda: pipeline.github_connection(ctx)
    else:
        calls["repository"] = lambda: pipeline.repository(ctx)
    calls["queue"] = lambda: pipeline.queue(ctx)
    calls["yaml"] = lambda: pipeline.check_yaml(ctx, names)
    _raise_first(_concurrently(calls))
    triggered = {t.pipeline for t in cfg.triggers}
    _raise_first(
        _concurrently(
            {
                name: (lambda n=name: pipeline.warn_double_trigger(ctx, n))
                for name in names
                if name in triggered
            }
        )
    )


def make_down_plan(cfg, client) -> Plan:
    """What ``down`` deletes: the pipelines, the variable group, and the service connection
    when bootstrap created it. The project is never deleted."""
    ctx = read_state(cfg, client)
    plan = Plan(ctx, mode="down")
    web = client.web_url
    for pipe in cfg.pipelines:
        actual = ctx.get(pipeline.KIND, pipe.name)
        plan.changes.append(
            Change(
                pipeline.KIND,
                pipe.name,
                DELETE if actual else NOOP,
                url=actual and web(ctx.project_name, "pipeline", actual["id"]),
            )
        )
    vg = ctx.get(variable_group.KIND, cfg.variable_group.name)
    plan.changes.append(
        Change(
            variable_group.KIND,
            cfg.variable_group.name,
            DELETE if vg else NOOP,
            url=vg and web(ctx.project_name, "variable_group", vg["id"]),
        )
    )
    sc = ctx.get(service_connection.KIND, cfg.service_connection.name)
    keep = sc is not None and not service_connection.deletable(cfg, sc)
    plan.changes.append(
        Change(
            service_connection.KIND,
            cfg.service_connection.name,
            DELETE if service_connection.deletable(cfg, sc) else NOOP,
            url=sc and web(ctx.project_name, "service_connection", sc["id"]),
            notes=["kept: not created by bootstrap"] if keep else [],
        )
    )
    return plan


# ---- apply ------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What apply did: the changes made (with web URLs), and notes for the user."""

    done: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"applied": [c.as_dict() for c in self.done], "notes": list(self.notes)}


def apply(plan: Plan) -> Outcome:
    """Carry out ``plan``; raises ApplyError listing what was done when a step fails."""
    outcome = Outcome()
    try:
        if plan.mode == "down":
            _apply_down(plan, outcome)
        else:
            _apply_up(plan, outcome)
    except BootstrapError as exc:
        if not outcome.done:
            raise
        done = [f"{c.action} {c.kind} {c.name}" for c in outcome.done]
        raise ApplyError(
            f"{exc} (after {len(done)} change{'s' if len(done) > 1 else ''}: {'; '.join(done)})",
            done=done,
            hint="fix the cause and run the command again: it continues from where it stopped",
        ) from exc
    # Steps finish in any order when run concurrently; report them in plan order.
    rank = {(c.kind, c.name): i for i, c in enumerate(plan.changes)}
    outcome.done.sort(key=lambda c: rank.get((c.kind, c.name), len(rank)))
    return outcome


def _by_kind(plan: Plan, kind: str) -> dict[str, Change]:
    return {c.name: c for c in plan.changes if c.kind == kind and c.action != NOOP}


def _record(outcome: Outcome, ctx: Context, change: Change, kind_url: str, ident) -> None:
    change.url = ctx.client.web_url(ctx.project_name, kind_url, ident)
    with ctx.lock:
        outcome.done.append(change)


def _apply_up(plan: Plan, outcome: Outcome) -> None:
    ctx, cfg = plan.ctx, plan.ctx.cfg
    if ctx.project is None:
        ctx.project = project.create(ctx)
        ctx.put(project.KIND, cfg.project.name, ctx.project)
        change = next(c for c in plan.changes if c.kind == project.KIND)
        _record(outcome, ctx, change, "project", 0)
        pipeline_names = [c.name for c in plan.changes if c.kind == pipeline.KIND]
        _check_inputs(ctx, pipeline_names)

    def step_service_connection(change: Change) -> None:
        actual = ctx.get(service_connection.KIND, change.name)
        if change.action == CREATE:
            result = service_connection.create(ctx)
        else:
            result = service_connection.update(ctx, actual)
        ctx.put(service_connection.KIND, change.name, result)
        _record(outcome, ctx, change, "service_connection", result["id"])
        federation = service_connection.federation(ctx, result)
        if federation and change.action == CREATE:
            issuer, subject = federation
            outcome.notes.append(
                "add a federated credential to app registration "
                f"{cfg.service_connection.client_id}: issuer {issuer}, subject {subject}"
            )

    def step_variable_group(change: Change) -> None:
        actual = ctx.get(variable_group.KIND, change.name)
        if change.action == CREATE:
            result = variable_group.create(ctx)
        else:
            result = variable_group.update(ctx, actual)
        ctx.put(variable_group.KIND, change.name, result)
        _record(outcome, ctx, change, "variable_group", result["id"])

    def step_pipeline(change: Change) -> None:
        actual = ctx.get(pipeline.KIND, change.name)
        if change.action == CREATE:
            result = pipeline.create(ctx, change.name)
        else:
            result = pipeline.update(ctx, change.name, actual)
        ctx.put(pipeline.KIND, change.name, result)
        _record(outcome, ctx, change, "pipeline", result["id"])

    first: dict[str, Callable[[], Any]] = {}
    sc = _by_kind(plan, service_connection.KIND)
    for change in sc.values():
        first[f"sc:{change.name}"] = lambda c=change: step_service_connection(c)
    for change in _by_kind(plan, variable_group.KIND).values():
        first[f"vg:{change.name}"] = lambda c=change: step_variable_group(c)
    pipes = _by_kind(plan, pipeline.KIND)
    waiting = {t.pipeline for t in cfg.triggers if t.after in pipes}
    later: dict[str, Callable[[], Any]] = {}
    for name, change in pipes.items():
        target = later if name in waiting else first
        target[f"pipeline:{name}"] = lambda c=change: step_pipeline(c)
    _raise_first(_concurrently(first))
    _raise_first(_concurrently(later))

    perms = [
        key
        for key in permissions.keys(cfg)
        if permissions.label(cfg, key) in _by_kind(plan, permissions.KIND)
        or _permissions_stale(ctx, key)
    ]
    if perms:
        permissions.apply(ctx, perms)
        for key in perms:
            label = permissions.label(cfg, key)
            change = _by_kind(plan, permissions.KIND).get(label) or Change(
                permissions.KIND, label, UPDATE
            )
            outcome.done.append(change)


def _permissions_stale(ctx: Context, key: str) -> bool:
    """A permission planned as unchanged still needs writing when new pipelines appeared
    (they are not yet in an exactly-these-pipelines list)."""
    if permissions.resource_id(ctx, key) is None:
        return False
    names = {v: k for k, v in pipeline.ids_by_name(ctx).items()}
    actual = ctx.get(permissions.KIND, key)
    return permissions.view(actual, names) != permissions.desired(ctx.cfg, key)


def _apply_down(plan: Plan, outcome: Outcome) -> None:
    """Delete pipelines, group and (owned) connection concurrently: none depends on another."""
    ctx = plan.ctx

    def remove(change: Change) -> None:
        if change.kind == pipeline.KIND:
            pipeline.delete(ctx, ctx.get(pipeline.KIND, change.name))
        elif change.kind == variable_group.KIND:
            variable_group.delete(ctx, ctx.get(variable_group.KIND, change.name))
        else:
            service_connection.delete(ctx, ctx.get(service_connection.KIND, change.name))
        with ctx.lock:
            outcome.done.append(change)

    _raise_first(
        _concurrently({f"{c.kind}:{c.name}": (lambda c=c: remove(c)) for c in plan.pending})
    )


# ---- rendering ----------------------------------------------------------------------------

_SYMBOL = {CREATE: "+", UPDATE: "~", DELETE: "-"}


def _fmt(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render_plan(plan: Plan) -> str:
    lines = []
    where = f"project {plan.ctx.project_name} in {plan.ctx.cfg.organization}"
    if plan.mode == "down":
        lines.append(f"bootstrap will delete these resources from {where}:")
    else:
        lines.append(f"bootstrap will converge {where}:")
    for change in plan.pending:
        lines.append(f"  {_SYMBOL[change.action]} {change.kind} {change.name}")
        for fc in change.fields:
            old = SENSITIVE if fc.sensitive and fc.old is not None else _fmt(fc.old)
            new = SENSITIVE if fc.sensitive and fc.new is not None else _fmt(fc.new)
            if change.action == CREATE:
                lines.append(f"      {fc.field}: {new}")
            else:
                lines.append(f"      {fc.field}: {old} -> {new}")
        lines += [f"      note: {note}" for note in change.notes]
    for change in plan.changes:
        if change.action == NOOP and change.notes:
            lines += [f"  {change.kind} {change.name}: {note}" for note in change.notes]
    lines += [f"  warning: {w}" for w in plan.ctx.warnings]
    s = plan.summary()
    if not plan.pending:
        lines.append(f"No changes: {s['unchanged']} resources up to date.")
    else:
        lines.append(
            f"Plan: {s[CREATE]} to create, {s[UPDATE]} to update, {s[DELETE]} to delete, "
            f"{s['unchanged']} unchanged."
        )
    return "\n".join(lines)


def render_outcome(outcome: Outcome) -> str:
    past = {CREATE: "created", UPDATE: "updated", DELETE: "deleted"}
    lines = []
    for change in outcome.done:
        url = f"  {change.url}" if change.url and change.action != DELETE else ""
        lines.append(f"{past[change.action]} {change.kind} {change.name}{url}")
    lines += [f"note: {n}" for n in outcome.notes]
    return "\n".join(lines)


def to_json(data: dict) -> str:
    return json.dumps(data, indent=2, default=str)


# ---- status -------------------------------------------------------------------------------

PRESENT, MISSING, DRIFTED = "present", "missing", "drifted"


def status(cfg, client) -> list[dict]:
    """Each managed resource: present, missing or drifted (with the drifted fields)."""
    plan = make_plan(cfg, client)
    rows = []
    for change in plan.changes:
        state = {CREATE: MISSING, UPDATE: DRIFTED, NOOP: PRESENT}[change.action]
        rows.append(
            {
                "kind": change.kind,
                "name": change.name,
                "state": state,
                "drift": [f.as_dict() for f in change.fields] if state == DRIFTED else [],
                "url": change.url,
                "notes": list(change.notes),
            }
        )
    return rows


def render_status(rows: list[dict]) -> str:
    lines = []
    width = max(len(f"{r['kind']} {r['name']}") for r in rows)
    for row in rows:
        head = f"{row['kind']} {row['name']}".ljust(width)
        lines.append(f"{head}  {row['state']:<8} {row['url'] or ''}".rstrip())
        for d in row["drift"]:
            lines.append(f"    {d['field']}: {_fmt(d['old'])} -> {_fmt(d['new'])}")
        lines += [f"    note: {n}" for n in row["notes"]]
    return "\n".join(lines)


__all__ = [
    "Outcome",
    "Plan",
    "apply",
    "make_down_plan",
    "make_plan",
    "render_outcome",
    "render_plan",
    "render_status",
    "status",
]
