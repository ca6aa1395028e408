"""Distributed task: agent queues and pools, variable groups.

Variable groups follow the recorded behaviour: secrets read back as
``{"value": null, "isSecret": true}``; a secret sent without a value keeps the stored one; a
PUT replaces the whole variable set; names are unique per project (409
``VariableGroupExistsException``); the organisation-level create/update need
``variableGroupProjectReferences``; lists carry ``variableGroupProjectReferences: null``
while a single GET carries them; answers to writes carry ``createdBy``/``modifiedBy`` with a
null ``displayName``. The pre-7.0 project-scoped POST/PUT/DELETE routes (used by the
recordings) work on the project of the URL.
"""

from __future__ import annotations

from typing import Any

from bootstrap.emulator import errors
from bootstrap.emulator.routes import Ctx, Reply, collection, no_content, require_project, route
from bootstrap.emulator.routes import permissions as perms
from bootstrap.emulator.routes.common import DISPLAY_NAME, UNIQUE_NAME, page, split_list, wildcard
from bootstrap.emulator.store import USER_ID, now

QUEUES = "900fa995-c559-4923-aae7-f8424fe4fbea"
POOLS = "a8c47e17-4d56-4a56-92bb-de7ea7dc65be"
GROUPS_ORG = "ef5b7057-ffc3-4c77-bbad-c10b4a4abcc7"
GROUPS_PROJECT = "f5b09dd5-9d54-45a1-8b5a-1c8287d634cc"


# -- queues and pools -------------------------------------------------------------------------


def queue_for_project(
    ctx: Ctx, project: dict, queue_id: Any = None, name: str | None = None
) -> dict | None:
    for queue in ctx.store.state["queues"].values():
        if queue["projectId"] != project["id"]:
            continue
        if (queue_id is not None and str(queue["id"]) == str(queue_id)) or (
            name is not None and queue["name"].lower() == name.lower()
        ):
            return queue
    return None


def _queue_body(ctx: Ctx, queue: dict) -> dict[str, Any]:
    return {
        "id": queue["id"],
        "projectId": queue["projectId"],
        "name": queue["name"],
        "pool": dict(ctx.store.state["pools"][queue["poolId"]]),
    }


@route(
    "GET", "{project}/_apis/distributedtask/queues/{queueId?}", "distributedtask.queues.get", QUEUES
)
def get_queues(ctx: Ctx) -> Reply:
    project = require_project(ctx)
    if "queueId" in ctx.params:
        queue = queue_for_project(ctx, project, queue_id=ctx.params["queueId"])
        if queue is None:
            raise errors.task_failure(
                404,
                "TaskAgentQueueNotFoundException",
                f"Could not find queue with id {ctx.params['queueId']}.",
            )
        return Reply(_queue_body(ctx, queue))
    names = split_list(ctx.q("queueNames"))
    queues = [q for q in ctx.store.state["queues"].values() if q["projectId"] == project["id"]]
    queues = [
        q
        for q in sorted(queues, key=lambda q: q["id"])
        if wildcard(ctx.q("queueName"), q["name"])
        and (not names or q["name"].lower() in [n.lower() for n in names])
    ]
    return collection([_queue_body(ctx, q) for q in queues])


@route("GET", "_apis/distributedtask/pools/{poolId?}", "distributedtask.pools.get", POOLS)
def get_pools(ctx: Ctx) -> Reply:
    pools = sorted(ctx.store.state["pools"].values(), key=lambda p: p["id"])
    if "poolId" in ctx.params:
        pool = next((p for p in pools if str(p["id"]) == ctx.params["poolId"]), None)
        if pool is None:
            raise errors.task_failure(
                404,
                "TaskAgentPoolNotFoundException",
                f"Agent pool {ctx.params['poolId']} could not be found.",
            )
        return Reply(pool)
    return collection([p for p in pools if wildcard(ctx.q("poolName"), p["name"])])


# -- variable groups --------------------------------------------------------------------------


def _person(ctx: Ctx, *, write: bool) -> dict[str, Any]:
    if write:
        return {"displayName": None, "id": USER_ID}
    return {"displayName": DISPLAY_NAME, "id": USER_ID, "uniqueName": UNIQUE_NAME}


def variable_group_body(
    ctx: Ctx, group: dict, *, list_shape: bool = False, write: bool = False
) -> dict[str, Any]:
    variables = {}
    for name, variable in group["variables"].items():
        if variable.get("isSecret"):
            variables[name] = {"value": None, "isSecret": True}
        else:
            variables[name] = {"value": variable.get("value")}
        if variable.get("isReadOnly"):
            variables[name]["isReadOnly"] = True
    body: dict[str, Any] = {
        "variables": variables,
        "id": group["id"],
        "type": group["type"],
        "name": group["name"],
    }
    if group.get("description") is not None:
        body["description"] = group["description"]
    if group.get("providerData") is not None:
        body["providerData"] = group["providerData"]
    body.update(
        {
            "createdBy": _person(ctx, write=write),
            "createdOn": group["createdOn"],
            "modifiedBy": _person(ctx, write=write),
            "modifiedOn": group["modifiedOn"],
            "isShared": group.get("isShared", False),
        }
    )
    if list_shape:
        body["variableGroupProjectReferences"] = None
    else:
        refs = []
        for ref in group["projectReferences"]:
            project = ctx.store.state["projects"].get(ref["projectId"])
            item: dict[str, Any] = {
                "projectReference": {
                    "id": ref["projectId"],
                    "name": project["name"] if project else None,
                },
                "name": ref["name"],
            }
            if ref.get("description") is not None:
                item["description"] = ref["description"]
            refs.append(item)
        body["variableGroupProjectReferences"] = refs
    return body


def _project_refs(ctx: Ctx, body: dict) -> list[dict[str, Any]]:
    refs = body.get("variableGroupProjectReferences")
    if not refs:
        raise errors.argument_null("variableGroupParameters.VariableGroupProjectReferences")
    out = []
    for ref in refs:
        project_ref = (ref or {}).get("projectReference") or {}
        key = project_ref.get("id") or project_ref.get("name")
        if not key:
            raise errors.argument_null("variableGroupProjectReference.ProjectReference")
        project = ctx.store.project_by_name_or_id(str(key))
        if project is None:
            raise errors.project_not_found(str(key))
        out.append(
            {
                "projectId": project["id"],
                "name": ref.get("name") or body.get("name"),
                "description": ref.get("description", body.get("description")),
            }
        )
    return out


def _variables(body: dict, previous: dict[str, dict]) -> dict[str, dict]:
    variables = body.get("variables")
    if variables is None:
        raise errors.argument_null("variableGroupParameters.Variables")
    out = {}
    for name, variable in variables.items():
        if not name or not name.strip():
            raise errors.argument("Variable name cannot be empty.", "variables")
        variable = variable or {}
        item = {
            "value": variable.get("value"),
            "isSecret": bool(variable.get("isSecret")),
            "isReadOnly": bool(variable.get("isReadOnly")),
        }
        old = previous.get(name)
        if (
            item["isSecret"]
            and variable.get("value") is None
            and old is not None
            and old.get("isSecret")
        ):
            item["value"] = old.get("value")
        out[name] = item
    return out


def _check_unique(ctx: Ctx, refs: list[dict], own_id: int | None) -> None:
    for ref in refs:
        for group in ctx.store.state["variableGroups"].values():
            if group["id"] == own_id:
                continue
            for other in group["projectReferences"]:
                if (
                    other["projectId"] == ref["projectId"]
                    and other["name"].lower() == ref["name"].lower()
                ):
                    raise errors.variable_group_exists(ref["name"])


def _find_group(ctx: Ctx, group_id: Any) -> dict:
    group = ctx.store.state["variableGroups"].get(str(int(group_id)))
    if group is None:
        raise errors.variable_group_not_found(group_id)
    return group


def _save(ctx: Ctx, body: Any, refs_from: Any, group: dict | None) -> dict:
    if not isinstance(body, dict):
        raise errors.argument_null("variableGroupParameters")
    if not body.get("name") or not str(body["name"]).strip():
        raise errors.argument_null("variableGroupParameters.Name")
    refs = refs_from(body)
    own_id = group["id"] if group else None
    _check_unique(ctx, refs, own_id)
    previous = group["variables"] if group else {}
    stamp = now()
    saved = {
        "id": own_id if own_id is not None else ctx.store.next_id("variableGroup"),
        "name": body["name"],
        "description": body.get("description"),
        "type": body.get("type") or "Vsts",
        "providerData": body.get("providerData"),
        "variables": _variables(body, previous),
        "createdOn": group["createdOn"] if group else stamp,
        "modifiedOn": stamp,
        "isShared": False,
        "projectReferences": refs,
    }
    ctx.store.state["variableGroups"][str(saved["id"])] = saved
    return saved


@route(
    "POST", "_apis/distributedtask/variablegroups", "distributedtask.variablegroups.add", GROUPS_ORG
)
def add_group(ctx: Ctx) -> Reply:
    group = _save(ctx, ctx.body, lambda body: _project_refs(ctx, body), None)
    return Reply(variable_group_body(ctx, group, write=True))


@route(
    "PUT",
    "_apis/distributedtask/variablegroups/{groupId}",
    "distributedtask.variablegroups.update",
    GROUPS_ORG,
)
def update_group(ctx: Ctx) -> Reply:
    group = _find_group(ctx, ctx.params["groupId"])
    saved = _save(ctx, ctx.body, lambda body: _project_refs(ctx, body), group)
    return Reply(variable_group_body(ctx, saved, write=True))


def _remove_from(ctx: Ctx, group: dict, project_ids: list[str]) -> None:
    group["projectReferences"] = [
        r for r in group["projectReferences"] if r["projectId"] not in project_ids
    ]
    perms.forget(ctx.store, "variablegroup", str(group["id"]), project_ids)
    if not group["projectReferences"]:
        del ctx.store.state["variableGroups"][str(group["id"])]


@route(
    "DELETE",
    "_apis/distributedtask/variablegroups/{groupId}",
    "distributedtask.variablegroups.delete",
    GROUPS_ORG,
)
def delete_group(ctx: Ctx) -> Reply:
    project_ids = [p.lower() for p in split_list(ctx.q("projectIds"))]
    if not project_ids:
        raise errors.argument_null("projectIds")
    _remove_from(ctx, _find_group(ctx, ctx.params["groupId"]), project_ids)
    return no_content()


@route(
    "PATCH",
    "_apis/distributedtask/variablegroups/{groupId}",
    "distributedtask.variablegroups.share",
    GROUPS_ORG,
)
def share_group(ctx: Ctx) -> Reply:
    group = _find_group(ctx, ctx.params["groupId"])
    if not isinstance(ctx.body, list):
        raise errors.argument_null("variableGroupProjectReferences")
    refs = _project_refs(ctx, {"variableGroupProjectReferences": ctx.body, "name": group["name"]})
    _check_unique(ctx, refs, group["id"])
    known = {r["projectId"] for r in group["projectReferences"]}
    group["projectReferences"].extend(r for r in refs if r["projectId"] not in known)
    return no_content()


def _this_project(ctx: Ctx, project: dict, group: dict | None):
    def refs(body: dict) -> list[dict]:
        keep = [
            r for r in (group or {}).get("projectReferences", []) if r["projectId"] != project["id"]
        ]
        return [
            *keep,
            {
                "projectId": project["id"],
                "name": body["name"],
                "description": body.get("description"),
            },
        ]

    return refs


@route(
    "POST",
    "{project}/_apis/distributedtask/variablegroups",
    "distributedtask.variablegroups.add",
    GROUPS_PROJECT,
)
def add_group_in_project(ctx: Ctx) -> Reply:
    project = require_project(ctx)
    group = _save(ctx, ctx.body, _this_project(ctx, project, None), None)
    return Reply(variable_group_body(ctx, group, write=True))


def _group_in_project(ctx: Ctx, project: dict, group_id: Any) -> dict:
    group = _find_group(ctx, group_id)
    if project["id"] not in [r["projectId"] for r in group["projectReferences"]]:
        raise errors.variable_group_not_found(group_id)
    return group


@route(
    "PUT",
    "{project}/_apis/distributedtask/variablegroups/{groupId}",
    "distributedtask.variablegroups.update",
    GROUPS_PROJECT,
)
def update_group_in_project(ctx: Ctx) -> Reply:
    project = require_project(ctx)
    group = _group_in_project(ctx, project, ctx.params["groupId"])
    saved = _save(ctx, ctx.body, _this_project(ctx, project, group), group)
    return Reply(variable_group_body(ctx, saved, write=True))


@route(
    "DELETE",
    "{project}/_apis/distributedtask/variablegroups/{groupId}",
    "distributedtask.variablegroups.delete",
    GROUPS_PROJECT,
)
def delete_group_in_project(ctx: Ctx) -> Reply:
    project = require_project(ctx)
    _remove_from(ctx, _group_in_project(ctx, project, ctx.params["groupId"]), [project["id"]])
    return no_content()


@route(
    "GET",
    "{project}/_apis/distributedtask/variablegroups/{groupId?}",
    "distributedtask.variablegroups.get",
    GROUPS_PROJECT,
)
def get_groups(ctx: Ctx) -> Reply:
    project = require_project(ctx)
    in_project = [
        g
        for g in ctx.store.state["variableGroups"].values()
        if project["id"] in [r["projectId"] for r in g["projectReferences"]]
    ]
    if "groupId" in ctx.params:
        group = next((g for g in in_project if str(g["id"]) == ctx.params["groupId"]), None)
        return Reply(variable_group_body(ctx, group) if group else None)
    ids = {int(i) for i in split_list(ctx.q("groupIds"))}
    groups = [
        g
        for g in in_project
        if wildcard(ctx.q("groupName"), g["name"]) and (not ids or g["id"] in ids)
    ]
    groups.sort(
        key=lambda g: g["id"],
        reverse=(ctx.q("queryOrder") or "idDescending").lower() != "idascending",
    )
    items, headers = page(ctx, groups)
    return collection([variable_group_body(ctx, g, list_shape=True) for g in items], headers)
