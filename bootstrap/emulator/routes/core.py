"""Core: projects (async create/delete through operations), processes, teams.

A project create answers ``202`` with an operation reference (status ``notSet``); polling
``_apis/operations/{id}`` shows ``inProgress`` and then ``succeeded`` (on the second poll or
after one second, whichever comes first), and only then is the project ``wellFormed`` and
visible, with what a new project has: the default team, a Git repository named like the
project (default branch ``refs/heads/main``), the ``Default`` and ``Azure Pipelines`` agent
queues and the root pipeline folder. Delete works the same way backwards.
"""

from __future__ import annotations

import time
from typing import Any

from bootstrap.emulator import errors
from bootstrap.emulator.routes import Ctx, Reply, collection, route
from bootstrap.emulator.routes.common import page, project_ref
from bootstrap.emulator.store import Store, new_id, now

PROJECTS = "603fe2ac-9723-48b9-88ad-09305aa6c6e1"
OPERATIONS = "9a1b74b4-2ca8-4a9f-8470-c2f2e6fdc949"
PROCESSES_LOCATION = "93878975-88c5-4e6a-8abb-7ddd77a8a7d8"
TEAMS = "d30a3dd1-f8ba-442a-b86a-bd0c0c383e59"
OPERATION_SECONDS = 1.0

PROCESSES = [
    (
        "6b724908-ef14-45cf-84f8-768b5384da45",
        "Scrum",
        False,
        "This template is for teams who follow the Scrum framework.",
    ),
    (
        "b8a3a935-7e91-48b8-a94c-606d37c3e9f2",
        "Basic",
        True,
        "This template is flexible for any process and great for teams getting started with "
        "Azure DevOps.",
    ),
    (
        "adcc42ab-9882-485e-a3ed-7678f01f66bc",
        "Agile",
        False,
        "This template is flexible and will work great for most teams using Agile planning "
        "methods, including those practicing Scrum.",
    ),
    (
        "27450541-8e31-4150-9947-dc59f998fc01",
        "CMMI",
        False,
        "This template is for more formal projects requiring a framework for process "
        "improvement and an auditable record of decisions.",
    ),
]
POOLS = (("1", "Default", False, 0), ("9", "Azure Pipelines", True, 1))


def seed_pools(store: Store) -> None:
    """The organisation's agent pools, as a new organisation has them."""
    with store.lock:
        for pool_id, name, hosted, size in POOLS:
            store.state["pools"].setdefault(
                pool_id,
                {
                    "id": int(pool_id),
                    "scope": store.org["id"],
                    "name": name,
                    "isHosted": hosted,
                    "poolType": "automation",
                    "size": size,
                    "isLegacy": False,
                    "options": "none",
                },
            )
        store.state["counters"]["pool"] = max(store.state["counters"].get("pool", 0), 9)


def new_project(
    store: Store,
    name: str,
    description: str | None = None,
    visibility: str = "private",
    process_id: str = PROCESSES[1][0],
    state: str = "createPending",
) -> dict[str, Any]:
    """Record a project (pending until its create operation completes)."""
    project_id = new_id()
    process_name = next((p[1] for p in PROCESSES if p[0] == process_id), "Basic")
    project = {
        "id": project_id,
        "name": name,
        "description": description,
        "visibility": visibility,
        "state": state,
        "revision": 1,
        "lastUpdateTime": now(),
        "capabilities": {
            "processTemplate": {"templateName": process_name, "templateTypeId": process_id},
            "versioncontrol": {
                "sourceControlType": "Git",
                "gitEnabled": "True",
                "tfvcEnabled": "False",
            },
        },
        "defaultTeam": {"id": new_id(), "name": f"{name} Team"},
        "repositoryId": new_id(),
    }
    with store.lock:
        store.state["projects"][project_id] = project
    if state == "wellFormed":
        _seed_contents(store, project)
    return project


def _seed_contents(store: Store, project: dict) -> None:
    """What the service creates with a project: repository, queues, root folder."""
    seed_pools(store)
    with store.lock:
        store.state["repositories"][project["repositoryId"]] = {
            "id": project["repositoryId"],
            "name": project["name"],
            "projectId": project["id"],
            "defaultBranch": "refs/heads/main",
        }
        for pool_id in ("1", "9"):
            queue_id = str(store.next_id("queue"))
            store.state["queues"][queue_id] = {
                "id": int(queue_id),
                "projectId": project["id"],
                "name": store.state["pools"][pool_id]["name"],
                "poolId": pool_id,
            }
        store.state["folders"][project["id"]] = {
            "\\": {"path": "\\", "createdOn": now(), "root": True}
        }


def _remove_contents(store: Store, project_id: str) -> None:
    state = store.state
    for key in ("repositories", "queues", "builds"):
        for item_id in [k for k, v in state[key].items() if v.get("projectId") == project_id]:
            del state[key][item_id]
    for def_id in [k for k, v in state["definitions"].items() if v["projectId"] == project_id]:
        del state["definitions"][def_id]
    state["folders"].pop(project_id, None)
    for key in [k for k in state["permissions"] if k.startswith(project_id + "/")]:
        del state["permissions"][key]
    for group_id, group in list(state["variableGroups"].items()):
        group["projectReferences"] = [
            r for r in group["projectReferences"] if r["projectId"] != project_id
        ]
        if not group["projectReferences"]:
            del state["variableGroups"][group_id]
    for endpoint_id, endpoint in list(state["serviceEndpoints"].items()):
        endpoint["projectReferences"] = [
            r for r in endpoint["projectReferences"] if r["projectId"] != project_id
        ]
        if not endpoint["projectReferences"]:
            del state["serviceEndpoints"][endpoint_id]
    del state["projects"][project_id]


def advance_operations(store: Store) -> None:
    """Complete operations whose time is up, so a project appears even without polling."""
    with store.lock:
        for operation in store.state["operations"].values():
            if (
                operation["status"] != "succeeded"
                and time.time() - operation["created"] >= OPERATION_SECONDS
            ):
                _complete(store, operation)


def _complete(store: Store, operation: dict) -> None:
    operation["status"] = "succeeded"
    project = store.state["projects"].get(operation["projectId"])
    if project is None:
        return
    if operation["kind"] == "create":
        project["state"] = "wellFormed"
        project["lastUpdateTime"] = now()
        _seed_contents(store, project)
    else:
        _remove_contents(store, project["id"])


def _operation_reference(ctx: Ctx, operation: dict, *, links: bool) -> dict[str, Any]:
    url = f"{ctx.url}/_apis/operations/{operation['id']}"
    body = {"id": operation["id"], "status": operation["status"], "url": url}
    if links:
        body["_links"] = {"self": {"href": url}}
    return body


def _start_operation(ctx: Ctx, project: dict, kind: str) -> Reply:
    operation = {
        "id": new_id(),
        "status": "notSet",
        "kind": kind,
        "projectId": project["id"],
        "created": time.time(),
        "polls": 0,
    }
    ctx.store.state["operations"][operation["id"]] = operation
    return Reply(_operation_reference(ctx, operation, links=False), status=202)


def project_body(ctx: Ctx, project: dict, *, capabilities: bool) -> dict[str, Any]:
    team_id = project["defaultTeam"]["id"]
    body: dict[str, Any] = {"id": project["id"], "name": project["name"]}
    if project.get("description"):
        body["description"] = project["description"]
    body.update({"url": f"{ctx.url}/_apis/projects/{project['id']}", "state": project["state"]})
    if capabilities:
        body["capabilities"] = project["capabilities"]
    body.update(
        {
            "revision": project["revision"],
            "_links": {
                "self": {"href": f"{ctx.url}/_apis/projects/{project['id']}"},
                "collection": {"href": f"{ctx.url}/_apis/projectCollections/{ctx.store.org['id']}"},
                "web": {"href": f"{ctx.url}/{project['name']}"},
            },
            "visibility": project["visibility"],
            "defaultTeam": {
                "id": project["defaultTeam"]["id"],
                "name": project["defaultTeam"]["name"],
                "url": f"{ctx.url}/_apis/projects/{project['id']}/teams/{team_id}",
            },
            "lastUpdateTime": project["lastUpdateTime"],
        }
    )
    return body


@route("GET", "_apis/projects/{projectId?}", "core.projects.get", PROJECTS)
def get_projects(ctx: Ctx) -> Reply:
    key = ctx.params.get("projectId")
    if key:
        project = ctx.store.project_by_name_or_id(key)
        if project is None:
            raise errors.project_not_found(key)
        return Reply(project_body(ctx, project, capabilities=ctx.flag("includeCapabilities")))
    state_filter = (ctx.q("stateFilter") or "wellFormed").lower()
    projects = sorted(ctx.store.state["projects"].values(), key=lambda p: p["name"].lower())
    if state_filter != "all":
        projects = [p for p in projects if p["state"].lower() == state_filter]
    skip = int(ctx.q("$skip") or 0)
    items, headers = page(ctx, projects[skip:])
    return collection([project_ref(ctx, p) for p in items], headers)


@route("POST", "_apis/projects", "core.projects.create", PROJECTS)
def create_project(ctx: Ctx) -> Reply:
    body = ctx.body
    if not isinstance(body, dict):
        raise errors.argument_null("projectToCreate")
    capabilities = body.get("capabilities") or {}
    source_control = (capabilities.get("versioncontrol") or {}).get("sourceControlType")
    process_id = (capabilities.get("processTemplate") or {}).get("templateTypeId")
    if not body.get("name") or not source_control or not process_id:
        raise errors.project_create_invalid()
    if process_id.lower() not in {p[0] for p in PROCESSES}:
        raise errors.argument(
            f"The process template {process_id} does not exist.", "templateTypeId"
        )
    if ctx.store.project_by_name_or_id(body["name"], include_pending=True):
        raise errors.project_exists(body["name"])
    visibility = (body.get("visibility") or "private").lower()
    project = new_project(
        ctx.store, body["name"], body.get("description"), visibility, process_id.lower()
    )
    return _start_operation(ctx, project, "create")


@route("DELETE", "_apis/projects/{projectId}", "core.projects.delete", PROJECTS)
def delete_project(ctx: Ctx) -> Reply:
    project = ctx.store.state["projects"].get(ctx.params["projectId"].lower())
    if project is None or project["state"] != "wellFormed":
        raise errors.project_not_found(ctx.params["projectId"])
    project["state"] = "deleting"
    return _start_operation(ctx, project, "delete")


@route("GET", "_apis/operations/{operationId}", "operations.get", OPERATIONS)
def get_operation(ctx: Ctx) -> Reply:
    operation = ctx.store.state["operations"].get(ctx.params["operationId"].lower())
    if operation is None:
        raise errors.operation_not_found(ctx.params["operationId"])
    if operation["status"] != "succeeded":
        operation["polls"] += 1
        if operation["polls"] >= 2:
            _complete(ctx.store, operation)
        else:
            operation["status"] = "inProgress"
    return Reply(_operation_reference(ctx, operation, links=True))


@route("GET", "_apis/process/processes/{*processId}", "core.processes.get", PROCESSES_LOCATION)
def get_processes(ctx: Ctx) -> Reply:
    items = [
        {
            "id": pid,
            "description": text,
            "isDefault": default,
            "type": "system",
            "url": f"{ctx.url}/_apis/process/processes/{pid}",
            "name": name,
        }
        for pid, name, default, text in PROCESSES
    ]
    wanted = ctx.params["processId"].lower()
    if wanted:
        for item in items:
            if item["id"] == wanted:
                return Reply(item)
        raise errors.argument(f"The process template {wanted} does not exist.", "processId")
    return collection(items)


@route("GET", "_apis/projects/{projectId}/teams/{*teamId}", "core.teams.get", TEAMS)
def get_teams(ctx: Ctx) -> Reply:
    project = ctx.store.project_by_name_or_id(ctx.params["projectId"])
    if project is None:
        raise errors.project_not_found(ctx.params["projectId"])
    team = project["defaultTeam"]
    url = f"{ctx.url}/_apis/projects/{project['id']}/teams/{team['id']}"
    body = {
        "id": team["id"],
        "name": team["name"],
        "url": url,
        "description": "The default project team.",
        "identityUrl": f"{ctx.url}/_apis/Identities/{team['id']}",
        "projectName": project["name"],
        "projectId": project["id"],
    }
    wanted = ctx.params["teamId"]
    if wanted:
        if wanted.lower() not in (team["id"], team["name"].lower()):
            raise errors.ApiFailure(
                404,
                "TeamNotFoundException",
                f"The team with id {wanted} does not exist.",
                namespace=errors.CORE,
            )
        return Reply(body)
    return collection([body])
