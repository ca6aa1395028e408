"""The variable group (``distributedtask/variablegroups``), ``shared-variables`` by default.

Key: the group's name. Managed: the description, the plain variables (config's plus
``AZURE_SVC_CONNECTION``) and which names are secrets. Secret *values* are never read (the API
returns ``null``) and never written by ``up``: a secret is sent as ``{"isSecret": true}`` with
no ``value`` key, which keeps whatever is stored; values come from ``vars sync``.
"""

from __future__ import annotations

from bootstrap.config import RESERVED_VARIABLE
from bootstrap.resources.base import SENSITIVE, Context, FieldChange

KIND = "variable_group"


def keys(cfg) -> list[str]:
    return [cfg.variable_group.name]


def view(group: dict) -> dict:
    """Managed fields of a group as the API returns it (pure). Secrets: names only."""
    variables = group.get("variables") or {}
    return {
        "description": group.get("description") or "",
        "variables": {
            name: str(var.get("value") if var.get("value") is not None else "")
            for name, var in variables.items()
            if not var.get("isSecret")
        },
        "secrets": sorted(name for name, var in variables.items() if var.get("isSecret")),
    }


def desired(cfg) -> dict:
    vg = cfg.variable_group
    return {
        "description": vg.description,
        "variables": {**vg.variables, RESERVED_VARIABLE: cfg.service_connection.name},
        "secrets": sorted(vg.secrets),
    }


def diff(want: dict, have: dict | None) -> list[FieldChange]:
    """Field changes; a secret shows as ``(sensitive)``, never with a value."""
    have = have or {"description": None, "variables": {}, "secrets": []}
    out: list[FieldChange] = []
    if want["description"] != have["description"]:
        out.append(FieldChange("description", have["description"], want["description"]))
    hv, wv = have["variables"], want["variables"]
    for name in sorted(set(wv) | set(hv)):
        if name in want["secrets"]:
            continue
        if wv.get(name) != hv.get(name):
            out.append(FieldChange(f"variables.{name}", hv.get(name), wv.get(name)))
    for name in sorted(set(want["secrets"]) | set(have["secrets"])):
        declared, present = name in want["secrets"], name in have["secrets"]
        if declared != present:
            out.append(
                FieldChange(
                    f"secrets.{name}",
                    SENSITIVE if present else None,
                    SENSITIVE if declared else None,
                    sensitive=True,
                )
            )
    return out


def to_body(want: dict, *, name: str, project: dict) -> dict:
    """The create/update body for view ``want`` (pure): secrets carry no ``value`` key."""
    variables = {n: {"value": v, "isSecret": False} for n, v in want["variables"].items()}
    variables.update({n: {"isSecret": True} for n in want["secrets"]})
    return {
        "name": name,
        "description": want["description"],
        "type": "Vsts",
        "variables": variables,
        "variableGroupProjectReferences": [
            {
                "projectReference": {"id": project["id"], "name": project["name"]},
                "name": name,
                "description": want["description"],
            }
        ],
    }


def secret_states(ctx: Context, group: dict | None) -> dict[str, str]:
    """Each configured secret's remote state ("set remotely", "missing remotely", ...).

    The one place plan/status learn about secrets; the reasoning (local values, push
    fingerprints; the API never returns values) lives with ``vars sync`` in bootstrap.secrets.
    """
    from bootstrap.secrets import secret_states as states

    return states(ctx.cfg, group)


def prepare_secret_states() -> None:
    """Load the keyring backend :func:`secret_states` consults. Its discovery costs 0.1-0.2 s
    of start-up; done in a thread while the first reads are on the network, it costs none.
    A keyring that cannot be loaded is not an error here: secret_states reports it."""
    import keyring

    try:
        keyring.get_keyring()
    except Exception:  # reported where it matters, by secret_states
        return


def read(ctx: Context) -> dict | None:
    return ctx.client.get_variable_group(ctx.project_name, ctx.cfg.variable_group.name)


def create(ctx: Context) -> dict:
    body = to_body(desired(ctx.cfg), name=ctx.cfg.variable_group.name, project=ctx.project)
    return ctx.client.create_variable_group(ctx.project_name, body)


def update(ctx: Context, actual: dict) -> dict:
    """PUT the group with config's variables; stored secrets are kept (sent without value)."""
    body = to_body(desired(ctx.cfg), name=ctx.cfg.variable_group.name, project=ctx.project)
    references = actual.get("variableGroupProjectReferences")
    if not references:  # read by name: fetch them, so projects it is shared with keep it
        full = ctx.client.get_variable_group_by_id(ctx.project_name, actual["id"]) or {}
        references = full.get("variableGroupProjectReferences")
    body["variableGroupProjectReferences"] = references or body["variableGroupProjectReferences"]
    return ctx.client.update_variable_group(actual["id"], body)


def delete(ctx: Context, actual: dict) -> None:
    ctx.client.delete_variable_group(actual["id"], [ctx.project["id"]])
