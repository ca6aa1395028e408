"""Pipeline permissions of protected resources (variable groups, service connections, queues...).

One store serves both APIs that set the same flag: ``pipelines/pipelinePermissions``
(``allPipelines`` and per-pipeline entries) and the older ``build/authorizedresources`` (which
is ``allPipelines.authorized``). Deleting a variable group or a service connection removes its
entries, as the recordings show the service does.
"""

from __future__ import annotations

from typing import Any

from bootstrap.emulator import errors
from bootstrap.emulator.routes import Ctx, Reply, collection, require_project, route
from bootstrap.emulator.routes.common import identity
from bootstrap.emulator.store import Store, now

PIPELINE_PERMISSIONS = "b5b9a4a4-e6cd-4096-853c-ab7d8b0c4eb2"
RESOURCE_TYPES = ("variablegroup", "endpoint", "queue", "securefile", "environment", "repository")


def _key(project_id: str, resource_type: str, resource_id: str) -> str:
    return f"{project_id}/{resource_type.lower()}/{resource_id}".lower()


def entry(store: Store, project_id: str, resource_type: str, resource_id: str) -> dict[str, Any]:
    if resource_type.lower() not in RESOURCE_TYPES:
        raise errors.argument(
            f"The resource type {resource_type} is not supported.", "resourceType"
        )
    return store.state["permissions"].get(_key(project_id, resource_type, resource_id)) or {
        "resource": {"type": resource_type.lower(), "id": str(resource_id)},
        "allPipelines": None,
        "pipelines": {},
    }


def put_entry(store: Store, project_id: str, value: dict[str, Any]) -> None:
    resource = value["resource"]
    store.state["permissions"][_key(project_id, resource["type"], resource["id"])] = value


def forget(
    store: Store, resource_type: str, resource_id: str, project_ids: list[str] | None = None
) -> None:
    """Drop a resource's permissions (in the given projects, or everywhere)."""
    suffix = f"/{resource_type}/{resource_id}".lower()
    for key in [k for k in store.state["permissions"] if k.endswith(suffix)]:
        if project_ids is None or key.split("/", 1)[0] in project_ids:
            del store.state["permissions"][key]


def set_all_pipelines(
    ctx: Ctx, project_id: str, resource_type: str, resource_id: str, authorized: bool
) -> None:
    value = entry(ctx.store, project_id, resource_type, resource_id)
    value["allPipelines"] = (
        {"authorized": True, "authorizedBy": _who(ctx), "authorizedOn": now()}
        if authorized
        else None
    )
    put_entry(ctx.store, project_id, value)


def authorized_resources(store: Store, project_id: str) -> list[dict[str, Any]]:
    """Resources of a project authorised for all pipelines (the authorizedresources view)."""
    found = []
    for key, value in store.state["permissions"].items():
        if key.startswith(project_id + "/") and value.get("allPipelines"):
            found.append(
                {
                    "type": value["resource"]["type"],
                    "id": value["resource"]["id"],
                    "authorized": True,
                }
            )
    return found


def _who(ctx: Ctx) -> dict[str, Any]:
    person = identity(ctx)
    return {key: person[key] for key in ("displayName", "id", "uniqueName", "descriptor")}


def _body(value: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resource": dict(value["resource"]),
        "pipelines": list(value["pipelines"].values()),
    }
    if value.get("allPipelines"):
        body["allPipelines"] = value["allPipelines"]
    return body


def _apply(
    ctx: Ctx, project: dict, resource_type: str, resource_id: str, update: Any
) -> dict[str, Any]:
    if not isinstance(update, dict):
        raise errors.argument_null("resourceAuthorization")
    value = entry(ctx.store, project["id"], resource_type, str(resource_id))
    if "allPipelines" in update and update["allPipelines"] is not None:
        authorized = bool(update["allPipelines"].get("authorized"))
        value["allPipelines"] = (
            {"authorized": True, "authorizedBy": _who(ctx), "authorizedOn": now()}
            if authorized
            else None
        )
    for pipeline in update.get("pipelines") or []:
        if "id" not in pipeline:
            raise errors.argument_null("pipelines.id")
        pipeline_id = int(pipeline["id"])
        if pipeline.get("authorized", False):
            value["pipelines"][str(pipeline_id)] = {
                "id": pipeline_id,
                "authorized": True,
                "authorizedBy": _who(ctx),
                "authorizedOn": now(),
            }
        else:
            value["pipelines"].pop(str(pipeline_id), None)
    put_entry(ctx.store, project["id"], value)
    return _body(value)


@route(
    "GET",
    "{project}/_apis/pipelines/pipelinePermissions/{resourceType}/{resourceId}",
    "pipelinepermissions.get",
    PIPELINE_PERMISSIONS,
)
def get_permissions(ctx: Ctx) -> Reply:
    project = require_project(ctx)
    return Reply(
        _body(entry(ctx.store, project["id"], ctx.params["resourceType"], ctx.params["resourceId"]))
    )


@route(
    "PATCH",
    "{project}/_apis/pipelines/pipelinePermissions/{resourceType}/{resourceId}",
    "pipelinepermissions.update",
    PIPELINE_PERMISSIONS,
)
def update_permissions(ctx: Ctx) -> Reply:
    project = require_project(ctx)
    return Reply(
        _apply(ctx, project, ctx.params["resourceType"], ctx.params["resourceId"], ctx.body)
    )


@route(
    "PATCH",
    "{project}/_apis/pipelines/pipelinePermissions",
    "pipelinepermissions.updatemany",
    PIPELINE_PERMISSIONS,
)
def update_many(ctx: Ctx) -> Reply:
    project = require_project(ctx)
    if not isinstance(ctx.body, list):
        raise errors.argument_null("resourceAuthorizations")
    results = []
    for item in ctx.body:
        resource = (item or {}).get("resource") or {}
        if not resource.get("type") or resource.get("id") is None:
            raise errors.argument_null("resource")
        results.append(_apply(ctx, project, resource["type"], str(resource["id"]), item))
    return collection(results)
