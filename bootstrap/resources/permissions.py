"""Pipeline permissions (``pipelines/pipelinePermissions``) of the variable group and the
service connection: which pipelines may use them.

Keys: ``variablegroup`` and ``endpoint`` (the resource types). The variable group is open to
all pipelines ("Allow access to all pipelines") unless config says otherwise; the service
connection is authorised for exactly the managed pipelines, or for all with
``authorize_all_pipelines: true``. All changes go out in one batch PATCH, whose answer (the
resulting permissions) is checked against what was asked.
"""

from __future__ import annotations

from bootstrap.errors import ApplyError
from bootstrap.resources import pipeline
from bootstrap.resources.base import Context

KIND = "permissions"
VARIABLE_GROUP, ENDPOINT = "variablegroup", "endpoint"


def keys(cfg) -> list[str]:
    return [VARIABLE_GROUP, ENDPOINT]


def label(cfg, key: str) -> str:
    owner = cfg.variable_group.name if key == VARIABLE_GROUP else cfg.service_connection.name
    return f"{owner} ({'variable group' if key == VARIABLE_GROUP else 'service connection'})"


def view(permissions: dict, names_by_id: dict[int, str]) -> dict:
    """Who may use the resource (pure): all pipelines, or the authorised ones by name."""
    everyone = bool(((permissions or {}).get("allPipelines") or {}).get("authorized"))
    if everyone:
        return {"all_pipelines": True}
    return {
        "all_pipelines": False,
        "pipelines": sorted(
            names_by_id.get(p.get("id"), f"#{p.get('id')}")
            for p in (permissions or {}).get("pipelines") or []
            if p.get("authorized")
        ),
    }


def desired(cfg, key: str) -> dict:
    everyone = (
        cfg.variable_group.allow_all_pipelines
        if key == VARIABLE_GROUP
        else cfg.service_connection.authorize_all_pipelines
    )
    if everyone:
        return {"all_pipelines": True}
    return {"all_pipelines": False, "pipelines": sorted(p.name for p in cfg.pipelines)}


def to_body(
    want: dict, resource_type: str, resource_id, actual: dict | None, ids_by_name: dict[str, int]
) -> dict:
    """One entry of the batch PATCH (pure): authorise the wanted, revoke the others."""
    body = {
        "resource": {"type": resource_type, "id": str(resource_id)},
        "allPipelines": {"authorized": want["all_pipelines"]},
        "pipelines": [],
    }
    if not want["all_pipelines"]:
        wanted_ids = {ids_by_name[name] for name in want["pipelines"]}
        authorised = {
            p.get("id") for p in (actual or {}).get("pipelines") or [] if p.get("authorized")
        }
        body["pipelines"] = [{"id": i, "authorized": True} for i in sorted(wanted_ids)] + [
            {"id": i, "authorized": False} for i in sorted(authorised - wanted_ids)
        ]
    return body


def resource_id(ctx: Context, key: str):
    from bootstrap.resources import service_connection, variable_group

    kind = variable_group.KIND if key == VARIABLE_GROUP else service_connection.KIND
    owner = ctx.get(kind, keys_of(ctx, kind))
    return None if owner is None else owner["id"]


def keys_of(ctx: Context, kind: str) -> str:
    return (
        ctx.cfg.variable_group.name
        if kind == "variable_group"
        else (ctx.cfg.service_connection.name)
    )


def read(ctx: Context, key: str) -> dict | None:
    ident = resource_id(ctx, key)
    if ident is None:
        return None
    return ctx.client.get_pipeline_permissions(ctx.project_name, key, ident)


def apply(ctx: Context, keys_to_change: list[str]) -> None:
    """One PATCH for every resource in ``keys_to_change``; verify the answer."""
    ids = pipeline.ids_by_name(ctx)
    names_by_id = {v: k for k, v in ids.items()}
    entries = []
    for key in keys_to_change:
        want = desired(ctx.cfg, key)
        entries.append(to_body(want, key, resource_id(ctx, key), ctx.get(KIND, key), ids))
    results = ctx.client.update_pipeline_permissions(ctx.project_name, entries)
    by_key = {(r.get("resource") or {}).get("type", "").lower(): r for r in results}
    for key in keys_to_change:
        got = by_key.get(key)
        if got is None:
            got = ctx.client.get_pipeline_permissions(ctx.project_name, key, resource_id(ctx, key))
        ctx.put(KIND, key, got)
        if view(got, names_by_id) != desired(ctx.cfg, key):
            raise ApplyError(
                f"pipeline permissions of {label(ctx.cfg, key)} did not take effect "
                f"(read back: {view(got, names_by_id)})"
            )
