"""Build: definitions, folders, authorizedresources and queued builds.

Definitions follow the service's rules: names are unique per folder (400
``DefinitionExistsException``), an update must carry the id of the URL (400
``DefinitionNotMatchedException``) and the current ``revision`` (otherwise 404
``DefinitionNotFoundException``, as the service answers a revision that is not the current
one), delete is soft (``deletedFilter`` lists them, ``PATCH ?deleted=false`` restores) and
secret variables are never returned. Trigger types sent as numbers are stored as the names the
service answers with.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from bootstrap.emulator import errors
from bootstrap.emulator.routes import Ctx, Reply, collection, no_content, require_project, route
from bootstrap.emulator.routes import permissions as perms
from bootstrap.emulator.routes.common import identity, page, project_ref, split_list, wildcard
from bootstrap.emulator.routes.distributedtask import queue_for_project, variable_group_body
from bootstrap.emulator.store import now

DEFINITIONS = "dbeaf647-6167-421a-bda9-c9327b25e2e6"
FOLDERS = "a906531b-d2da-4f55-bda7-f3e676cc50d9"
AUTHORIZED = "398c85bc-81aa-4822-947c-a194a05f0fef"
BUILDS = "0cd358e1-9217-4d94-8269-1c1ee6f93dcf"

TRIGGER_TYPES = {
    1: "none",
    2: "continuousIntegration",
    4: "batchedContinuousIntegration",
    8: "schedule",
    16: "gatedCheckIn",
    32: "batchedGatedCheckIn",
    64: "pullRequest",
    128: "buildCompletion",
    255: "all",
}
REPOSITORY_TYPES = {
    t.lower(): t
    for t in (
        "TfsGit",
        "GitHub",
        "Git",
        "Bitbucket",
        "GitHubEnterprise",
        "TfsVersionControl",
        "Svn",
    )
}
PASSTHROUGH = (
    "options",
    "retentionRules",
    "badgeEnabled",
    "jobTimeoutInMinutes",
    "jobCancelTimeoutInMinutes",
    "buildNumberFormat",
    "comment",
    "demands",
)


# -- shapes -----------------------------------------------------------------------------------


def normalise_path(path: str | None) -> str:
    parts = [p for p in (path or "").replace("/", "\\").split("\\") if p]
    return "\\" + "\\".join(parts)


def _definition_url(ctx: Ctx, definition: dict) -> str:
    base = f"{ctx.url}/{definition['projectId']}/_apis/build/Definitions/{definition['id']}"
    return f"{base}?revision={definition['revision']}"


def _queue_ref(ctx: Ctx, queue_id: int | None) -> dict[str, Any] | None:
    queue = ctx.store.state["queues"].get(str(queue_id)) if queue_id is not None else None
    if queue is None:
        return None
    pool = ctx.store.state["pools"][queue["poolId"]]
    url = f"{ctx.url}/_apis/build/Queues/{queue['id']}"
    return {
        "_links": {"self": {"href": url}},
        "id": queue["id"],
        "name": queue["name"],
        "url": url,
        "pool": {"id": pool["id"], "name": pool["name"], "isHosted": pool["isHosted"]},
    }


def _project(ctx: Ctx, project_id: str) -> dict:
    return ctx.store.state["projects"][project_id]


def definition_reference(ctx: Ctx, definition: dict, *, minimal: bool = False) -> dict[str, Any]:
    """``DefinitionReference``: the shape embedded in builds and triggers (``minimal``) and,
    with the links, author and queue, the ``BuildDefinitionReference`` of lists."""
    project = _project(ctx, definition["projectId"])
    base = f"{ctx.url}/{project['id']}"
    body: dict[str, Any] = {}
    if not minimal:
        body["_links"] = {
            "self": {"href": _definition_url(ctx, definition)},
            "web": {"href": f"{base}/_build/definition?definitionId={definition['id']}"},
            "editor": {
                "href": f"{base}/_build/designer?id={definition['id']}&_a=edit-build-definition"
            },
            "badge": {"href": f"{base}/_apis/build/status/{definition['id']}"},
        }
        body["quality"] = "definition"
        body["authoredBy"] = identity(ctx)
    body["drafts"] = []
    if not minimal:
        queue = _queue_ref(ctx, definition.get("queueId"))
        if queue:
            body["queue"] = queue
    body.update(
        {
            "id": definition["id"],
            "name": definition["name"],
            "url": _definition_url(ctx, definition),
            "uri": f"vstfs:///Build/Definition/{definition['id']}",
            "path": definition["path"],
            "type": "build",
            "queueStatus": definition.get("queueStatus", "enabled"),
            "revision": definition["revision"],
        }
    )
    if not minimal:
        body["createdDate"] = definition["createdDate"]
    body["project"] = project_ref(ctx, project)
    return body


def _variables_body(variables: dict[str, dict]) -> dict[str, Any]:
    out = {}
    for name, variable in variables.items():
        item: dict[str, Any] = {
            "value": None if variable.get("isSecret") else variable.get("value")
        }
        if variable.get("allowOverride"):
            item["allowOverride"] = True
        if variable.get("isSecret"):
            item["isSecret"] = True
        out[name] = item
    return out


def _trigger_body(ctx: Ctx, trigger: dict) -> dict[str, Any]:
    """A stored trigger as answered; a build completion names its source definition."""
    if trigger["triggerType"] != "buildCompletion":
        return dict(trigger)
    source = ctx.store.state["definitions"].get(str(trigger["definitionId"]))
    reference = (
        definition_reference(ctx, source, minimal=True)
        if source
        else {"id": trigger["definitionId"]}
    )
    rest = {key: value for key, value in trigger.items() if key != "definitionId"}
    return {"definition": reference, **rest}


def _embedded_group(ctx: Ctx, group: dict) -> dict[str, Any]:
    """A linked variable group as a definition carries it (the build ``VariableGroup``)."""
    full = variable_group_body(ctx, group, list_shape=True)
    return {
        key: full[key] for key in ("variables", "type", "name", "description", "id") if key in full
    }


def definition_body(ctx: Ctx, definition: dict) -> dict[str, Any]:
    """The full ``BuildDefinition`` as GET/POST/PUT answer it (secrets as ``null``)."""
    body: dict[str, Any] = {}
    if definition["triggers"]:
        body["triggers"] = [_trigger_body(ctx, t) for t in definition["triggers"]]
    if definition["variables"]:
        body["variables"] = _variables_body(definition["variables"])
    if definition["variableGroupIds"]:
        groups = [
            ctx.store.state["variableGroups"].get(str(g)) for g in definition["variableGroupIds"]
        ]
        body["variableGroups"] = [_embedded_group(ctx, g) for g in groups if g]
    body["properties"] = definition.get("properties") or {}
    body["tags"] = definition.get("tags") or []
    reference = definition_reference(ctx, definition)
    body["_links"] = reference.pop("_links")
    if definition.get("description"):
        body["description"] = definition["description"]
    body["jobAuthorizationScope"] = definition.get("jobAuthorizationScope", "projectCollection")
    for key in PASSTHROUGH:
        if key in definition:
            body[key] = definition[key]
    body["process"] = definition["process"]
    body["repository"] = definition["repository"]
    body.update(reference)
    return body


# -- validation -------------------------------------------------------------------------------


def _visible(ctx: Ctx, project: dict, definition_id: Any, *, deleted: bool = False) -> dict:
    definition = ctx.store.state["definitions"].get(str(definition_id))
    if (
        definition is None
        or definition["projectId"] != project["id"]
        or definition["deleted"] != deleted
    ):
        raise errors.definition_not_found(definition_id)
    return definition


def _check_name(ctx: Ctx, project: dict, name: str, path: str, own_id: int | None = None) -> None:
    for other in ctx.store.state["definitions"].values():
        if (
            other["projectId"] == project["id"]
            and not other["deleted"]
            and other["id"] != own_id
            and other["name"].lower() == name.lower()
            and other["path"].lower() == path.lower()
        ):
            raise errors.definition_exists(name, path)


def _repository(ctx: Ctx, project: dict, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise errors.build_failure(
            400, "MissingRepositoryException", "A repository is required for the pipeline."
        )
    kind = REPOSITORY_TYPES.get(str(body.get("type") or "").lower())
    if kind is None:
        raise errors.build_failure(
            400,
            "BuildRepositoryTypeNotSupportedException",
            f"Repository type '{body.get('type')}' is not supported.",
        )
    if kind == "TfsGit":
        key = str(body.get("id") or body.get("name") or "")
        repo = next(
            (
                r
                for r in ctx.store.state["repositories"].values()
                if r["projectId"] == project["id"] and key.lower() in (r["id"], r["name"].lower())
            ),
            None,
        )
        if repo is None:
            raise errors.build_failure(
                400,
                "RepositoryInformationInvalidException",
                f"The repository {key or '(none)'} in project {project['name']} "
                "could not be found.",
            )
        kept = {"properties": dict(body["properties"])} if body.get("properties") else {}
        return {
            **kept,
            "id": repo["id"],
            "type": "TfsGit",
            "name": repo["name"],
            "url": f"{ctx.url}/{quote(project['name'])}/_git/{quote(repo['name'])}",
            "defaultBranch": body.get("defaultBranch") or repo["defaultBranch"],
            "clean": body.get("clean"),
            "checkoutSubmodules": bool(body.get("checkoutSubmodules", False)),
        }
    properties = dict(body.get("properties") or {})
    if kind in ("GitHub", "GitHubEnterprise", "Bitbucket"):
        endpoint_id = str(properties.get("connectedServiceId") or "").lower()
        endpoint = ctx.store.state["serviceEndpoints"].get(endpoint_id)
        if endpoint is None or project["id"] not in [
            r["projectId"] for r in endpoint["projectReferences"]
        ]:
            raise errors.build_failure(
                400,
                "MissingEndpointInformationException",
                "The repository requires a service connection (properties.connectedServiceId) that "
                "exists in the project.",
            )
        full_name = str(body.get("id") or body.get("name") or "")
        if "/" not in full_name:
            raise errors.build_failure(
                400,
                "RepositoryInformationInvalidException",
                f"The repository name '{full_name}' is not valid; expected owner/name.",
            )
        properties.setdefault("connectedServiceId", endpoint_id)
        properties.setdefault("fullName", full_name)
        properties.setdefault("cloneUrl", f"https://github.com/{full_name}.git")
        properties.setdefault("apiUrl", f"https://api.github.com/repos/{full_name}")
        properties.setdefault("manageUrl", f"https://github.com/{full_name}")
        properties.setdefault("defaultBranch", body.get("defaultBranch") or "main")
    full_name = str(body.get("id") or body.get("name") or "")
    return {
        "properties": properties,
        "id": full_name,
        "type": kind,
        "name": body.get("name") or full_name,
        "url": body.get("url") or f"https://github.com/{full_name}.git",
        "defaultBranch": body.get("defaultBranch") or "refs/heads/main",
        "clean": body.get("clean"),
        "checkoutSubmodules": bool(body.get("checkoutSubmodules", False)),
    }


def _triggers(ctx: Ctx, project: dict, triggers: Any, own_id: int | None) -> list[dict[str, Any]]:
    out = []
    for trigger in triggers or []:
        raw_type = trigger.get("triggerType")
        kind = TRIGGER_TYPES.get(raw_type) if isinstance(raw_type, int) else raw_type
        names = {v.lower(): v for v in TRIGGER_TYPES.values()}
        if not isinstance(kind, str) or kind.lower() not in names:
            raise errors.argument(f"The trigger type {raw_type!r} is not valid.", "triggerType")
        kind = names[kind.lower()]
        item = {k: v for k, v in trigger.items() if k not in ("triggerType", "definition")}
        if kind == "continuousIntegration":
            item = {
                "branchFilters": [],
                "pathFilters": [],
                "settingsSourceType": 1,
                "batchChanges": False,
                "maxConcurrentBuildsPerBranch": 1,
                **item,
            }
        elif kind == "buildCompletion":
            source = (trigger.get("definition") or {}).get("id")
            if source is None:
                raise errors.argument_null("trigger.definition")
            found = ctx.store.state["definitions"].get(str(source))
            if (
                found is None
                or found["deleted"]
                or found["projectId"] != project["id"]
                or found["id"] == own_id
            ):
                raise errors.build_failure(
                    400,
                    "InvalidDefinitionInTriggerSourceException",
                    f"The pipeline {source} referenced by the build completion trigger "
                    "is not valid.",
                )
            item = {
                "branchFilters": [],
                "requiresSuccessfulBuild": False,
                **item,
                "definitionId": int(source),
            }
        item["triggerType"] = kind
        out.append(item)
    return out


def _variables(body: Any, previous: dict[str, dict]) -> dict[str, dict]:
    out = {}
    for name, variable in (body or {}).items():
        variable = variable or {}
        item = {
            "value": variable.get("value"),
            "isSecret": bool(variable.get("isSecret")),
            "allowOverride": bool(variable.get("allowOverride")),
        }
        old = previous.get(name)
        if item["isSecret"] and variable.get("value") is None and old and old.get("isSecret"):
            item["value"] = old["value"]
        out[name] = item
    return out


def _ensure_folder(ctx: Ctx, project: dict, path: str) -> None:
    folders = ctx.store.state["folders"].setdefault(project["id"], {})
    parts = [p for p in path.split("\\") if p]
    for i in range(1, len(parts) + 1):
        sub = "\\" + "\\".join(parts[:i])
        if sub.lower() not in {k.lower() for k in folders}:
            folders[sub] = {"path": sub, "createdOn": now(), "createdBy": True}


def _apply_body(ctx: Ctx, project: dict, body: dict, definition: dict) -> None:
    name = body.get("name")
    if not name or not str(name).strip():
        raise errors.argument_null("definition.Name")
    path = normalise_path(body.get("path"))
    _check_name(ctx, project, name, path, definition.get("id"))
    process = body.get("process") or {"type": 1}
    if process.get("type") == 2 and not process.get("yamlFilename"):
        raise errors.build_failure(
            400, "InvalidDefinitionException", "A YAML pipeline requires process.yamlFilename."
        )
    repository = _repository(ctx, project, body.get("repository"))
    queue_id = (body.get("queue") or {}).get("id")
    if queue_id is not None:
        if queue_for_project(ctx, project, queue_id) is None:
            raise errors.task_failure(
                400, "TaskAgentQueueNotFoundException", f"Could not find queue with id {queue_id}."
            )
    else:
        hosted = queue_for_project(ctx, project, name="Azure Pipelines")
        queue_id = hosted["id"] if hosted else None
    group_ids = []
    for group in body.get("variableGroups") or []:
        group_id = int((group or {}).get("id", 0))
        found = ctx.store.state["variableGroups"].get(str(group_id))
        if found is None or project["id"] not in [
            r["projectId"] for r in found["projectReferences"]
        ]:
            raise errors.task_failure(
                400,
                "VariableGroupNotFoundException",
                f"Variable group with id {group_id} does not exist.",
            )
        group_ids.append(group_id)
    definition.update(
        {
            "name": name,
            "path": path,
            "description": body.get("description"),
            "process": {"yamlFilename": process["yamlFilename"], "type": 2}
            if process.get("type") == 2
            else process,
            "repository": repository,
            "queueId": queue_id,
            "triggers": _triggers(ctx, project, body.get("triggers"), definition.get("id")),
            "variables": _variables(body.get("variables"), definition.get("variables") or {}),
            "variableGroupIds": group_ids,
            "properties": body.get("properties") or {},
            "tags": body.get("tags") or [],
            "queueStatus": body.get("queueStatus") or "enabled",
            "jobAuthorizationScope": body.get("jobAuthorizationScope") or "projectCollection",
            "createdDate": now(),
        }
    )
    for key in PASSTHROUGH:
        if key in body:
            definition[key] = body[key]
    _ensure_folder(ctx, project, path)


# -- definitions ------------------------------------------------------------------------------


@route(
    "GET", "{project}/_apis/build/definitions/{definitionId?}", "build.definitions.get", DEFINITIONS
)
def get_definitions(ctx: Ctx) -> Reply:
    project = require_project(ctx)
    if "definitionId" in ctx.params:
        return Reply(definition_body(ctx, _visible(ctx, project, ctx.params["definitionId"])))
    deleted_filter = (ctx.q("deletedFilter") or "excludeDeleted").lower()
    ids = {int(i) for i in split_list(ctx.q("definitionIds"))}
    path = ctx.q("path")
    items = []
    for definition in ctx.store.state["definitions"].values():
        if definition["projectId"] != project["id"]:
            continue
        if (deleted_filter == "excludedeleted" and definition["deleted"]) or (
            deleted_filter == "onlydeleted" and not definition["deleted"]
        ):
            continue
        if not wildcard(ctx.q("name"), definition["name"]):
            continue
        if path and normalise_path(path).lower() != definition["path"].lower():
            continue
        if ids and definition["id"] not in ids:
            continue
        if (
            ctx.q("repositoryId")
            and definition["repository"]["id"].lower() != ctx.q("repositoryId").lower()
        ):
            continue
        if (
            ctx.q("repositoryType")
            and definition["repository"]["type"].lower() != ctx.q("repositoryType").lower()
        ):
            continue
        if ctx.q("yamlFilename") and definition["process"].get("yamlFilename") != ctx.q(
            "yamlFilename"
        ):
            continue
        if ctx.q("processType") and str(definition["process"].get("type")) != ctx.q("processType"):
            continue
        items.append(definition)
    order = (ctx.q("queryOrder") or "none").lower()
    if order.startswith("definitionname"):
        items.sort(key=lambda d: d["name"].lower(), reverse=order.endswith("descending"))
    elif order.startswith("lastmodified"):
        items.sort(key=lambda d: d["createdDate"], reverse=order.endswith("descending"))
    else:
        items.sort(key=lambda d: d["id"])
    items, headers = page(ctx, items)
    full = ctx.flag("includeAllProperties")
    return collection(
        [definition_body(ctx, d) if full else definition_reference(ctx, d) for d in items], headers
    )


@route("POST", "{project}/_apis/build/definitions", "build.definitions.create", DEFINITIONS)
def create_definition(ctx: Ctx) -> Reply:
    project = require_project(ctx)
    if not isinstance(ctx.body, dict):
        raise errors.argument_null("definition")
    definition: dict[str, Any] = {"projectId": project["id"], "revision": 1, "deleted": False}
    _apply_body(ctx, project, ctx.body, definition)
    definition["id"] = ctx.store.next_id("definition")
    ctx.store.state["definitions"][str(definition["id"])] = definition
    return Reply(definition_body(ctx, definition))


@route(
    "PUT",
    "{project}/_apis/build/definitions/{definitionId}",
    "build.definitions.update",
    DEFINITIONS,
)
def update_definition(ctx: Ctx) -> Reply:
    project = require_project(ctx)
    body = ctx.body
    if not isinstance(body, dict):
        raise errors.argument_null("definition")
    url_id = int(ctx.params["definitionId"])
    if int(body.get("id") or 0) != url_id:
        raise errors.build_failure(
            400,
            "DefinitionNotMatchedException",
            f"The request specifies pipeline ID {url_id} but the supplied pipeline has "
            f"ID {int(body.get('id') or 0)}.",
        )
    definition = _visible(ctx, project, url_id)
    if body.get("revision") != definition["revision"]:
        raise errors.definition_not_found(url_id)
    updated = dict(definition)
    _apply_body(ctx, project, body, updated)
    updated["revision"] = definition["revision"] + 1
    ctx.store.state["definitions"][str(url_id)] = updated
    return Reply(definition_body(ctx, updated))


@route(
    "DELETE",
    "{project}/_apis/build/definitions/{definitionId}",
    "build.definitions.delete",
    DEFINITIONS,
)
def delete_definition(ctx: Ctx) -> Reply:
    project = require_project(ctx)
    definition = _visible(ctx, project, int(ctx.params["definitionId"]))
    definition["deleted"] = True
    return no_content()


@route(
    "PATCH",
    "{project}/_apis/build/definitions/{definitionId}",
    "build.definitions.restore",
    DEFINITIONS,
)
def restore_definition(ctx: Ctx) -> Reply:
    project = require_project(ctx)
    deleted = ctx.q("deleted")
    if deleted is None:
        raise errors.argument_null("deleted")
    definition_id = int(ctx.params["definitionId"])
    if deleted.lower() == "false":
        definition = _visible(ctx, project, definition_id, deleted=True)
        _check_name(ctx, project, definition["name"], definition["path"], definition_id)
        definition["deleted"] = False
        definition["revision"] += 1
    else:
        definition = _visible(ctx, project, definition_id)
        definition["deleted"] = True
    return Reply(definition_body(ctx, definition))


# -- folders ----------------------------------------------------------------------------------


def _folder_body(ctx: Ctx, project: dict, folder: dict) -> dict[str, Any]:
    body: dict[str, Any] = {"path": folder["path"]}
    if folder.get("description"):
        body["description"] = folder["description"]
    body["createdOn"] = folder["createdOn"]
    if not folder.get("root"):
        body["createdBy"] = identity(ctx)
    if folder.get("lastChangedDate"):
        body["lastChangedDate"] = folder["lastChangedDate"]
        body["lastChangedBy"] = identity(ctx)
    body["project"] = project_ref(ctx, project)
    return body


def _folder_path(ctx: Ctx) -> str:
    return normalise_path(ctx.params.get("path") or ctx.q("path"))


def _find_folder(folders: dict[str, dict], path: str) -> str | None:
    return next((key for key in folders if key.lower() == path.lower()), None)


def _under(path: str, root: str) -> bool:
    return (
        root == "\\" or path.lower() == root.lower() or path.lower().startswith(root.lower() + "\\")
    )


@route("GET", "{project}/_apis/build/folders/{*path}", "build.folders.get", FOLDERS)
def get_folders(ctx: Ctx) -> Reply:
    project = require_project(ctx)
    root = _folder_path(ctx)
    folders = [
        f
        for key, f in ctx.store.state["folders"].get(project["id"], {}).items()
        if _under(key, root)
    ]
    folders.sort(
        key=lambda f: f["path"].lower(),
        reverse=(ctx.q("queryOrder") or "").lower() == "folderdescending",
    )
    return collection([_folder_body(ctx, project, f) for f in folders])


@route("PUT", "{project}/_apis/build/folders/{*path}", "build.folders.create", FOLDERS)
def create_folder(ctx: Ctx) -> Reply:
    project = require_project(ctx)
    if not isinstance(ctx.body, dict):
        raise errors.argument_null("folder")
    path = _folder_path(ctx)
    folders = ctx.store.state["folders"].setdefault(project["id"], {})
    if path == "\\" or _find_folder(folders, path):
        raise errors.build_failure(
            400, "FolderExistsException", f"A folder with path {path} already exists."
        )
    _ensure_folder(ctx, project, path)
    folder = folders[_find_folder(folders, path)]
    folder["description"] = ctx.body.get("description")
    return Reply(_folder_body(ctx, project, folder))


@route("POST", "{project}/_apis/build/folders/{*path}", "build.folders.update", FOLDERS)
def update_folder(ctx: Ctx) -> Reply:
    project = require_project(ctx)
    if not isinstance(ctx.body, dict):
        raise errors.argument_null("folder")
    old = _folder_path(ctx)
    folders = ctx.store.state["folders"].setdefault(project["id"], {})
    key = _find_folder(folders, old)
    if key is None or key == "\\":
        raise errors.build_failure(404, "FolderNotFoundException", f"Folder {old} does not exist.")
    new = normalise_path(ctx.body.get("path") or key)
    if new.lower() != key.lower() and _find_folder(folders, new):
        raise errors.build_failure(
            400, "FolderExistsException", f"A folder with path {new} already exists."
        )
    folder = folders.pop(key)
    for sub in [k for k in folders if _under(k, key)]:
        moved = folders.pop(sub)
        moved["path"] = new + sub[len(key) :]
        folders[moved["path"]] = moved
    for definition in ctx.store.state["definitions"].values():
        if definition["projectId"] == project["id"] and _under(definition["path"], key):
            definition["path"] = new + definition["path"][len(key) :]
    folder.update(
        {
            "path": new,
            "description": ctx.body.get("description", folder.get("description")),
            "lastChangedDate": now(),
        }
    )
    folders[new] = folder
    _ensure_folder(ctx, project, new)
    return Reply(_folder_body(ctx, project, folder))


@route("DELETE", "{project}/_apis/build/folders/{*path}", "build.folders.delete", FOLDERS)
def delete_folder(ctx: Ctx) -> Reply:
    project = require_project(ctx)
    path = _folder_path(ctx)
    folders = ctx.store.state["folders"].setdefault(project["id"], {})
    key = _find_folder(folders, path)
    if key is None or key == "\\":
        raise errors.build_failure(404, "FolderNotFoundException", f"Folder {path} does not exist.")
    for sub in [k for k in folders if _under(k, key)]:
        del folders[sub]
    for definition in ctx.store.state["definitions"].values():
        if definition["projectId"] == project["id"] and _under(definition["path"], key):
            definition["deleted"] = True
    return no_content()


# -- authorizedresources ----------------------------------------------------------------------


@route(
    "GET", "{project}/_apis/build/authorizedresources", "build.authorizedresources.get", AUTHORIZED
)
def get_authorized(ctx: Ctx) -> Reply:
    project = require_project(ctx)
    items = [
        item
        for item in perms.authorized_resources(ctx.store, project["id"])
        if (not ctx.q("type") or item["type"] == ctx.q("type").lower())
        and (not ctx.q("id") or item["id"].lower() == ctx.q("id").lower())
    ]
    return collection(items)


@route(
    "PATCH",
    "{project}/_apis/build/authorizedresources",
    "build.authorizedresources.update",
    AUTHORIZED,
)
def authorize(ctx: Ctx) -> Reply:
    project = require_project(ctx)
    if not isinstance(ctx.body, list):
        raise errors.argument_null("resources")
    for item in ctx.body:
        if not item or not item.get("type") or item.get("id") is None:
            raise errors.argument_null("resource")
        perms.set_all_pipelines(
            ctx, project["id"], item["type"], str(item["id"]), bool(item.get("authorized"))
        )
    return collection(perms.authorized_resources(ctx.store, project["id"]))


# -- builds -----------------------------------------------------------------------------------


def queue_run(
    ctx: Ctx, project: dict, definition: dict, source_branch: str | None, **extra: Any
) -> dict:
    """Record a queued build (a pipeline run is one too) and return it."""
    build_id = ctx.store.next_id("build")
    branch = source_branch or definition["repository"].get("defaultBranch") or "refs/heads/main"
    if not branch.startswith("refs/"):
        branch = f"refs/heads/{branch}"
    today = datetime.now(UTC).strftime("%Y%m%d")
    same_day = [
        b
        for b in ctx.store.state["builds"].values()
        if b["definitionId"] == definition["id"] and b["buildNumber"].startswith(today)
    ]
    build = {
        "id": build_id,
        "projectId": project["id"],
        "definitionId": definition["id"],
        "definitionRevision": definition["revision"],
        "buildNumber": f"{today}.{len(same_day) + 1}",
        "status": "notStarted",
        "result": None,
        "queueTime": now(),
        "sourceBranch": branch,
        "sourceVersion": "0" * 40,
        "reason": "manual",
        **extra,
    }
    ctx.store.state["builds"][str(build_id)] = build
    return build


def build_body(ctx: Ctx, build: dict) -> dict[str, Any]:
    project = _project(ctx, build["projectId"])
    definition = ctx.store.state["definitions"][str(build["definitionId"])]
    base = f"{ctx.url}/{project['id']}/_apis/build"
    plan = {"planId": build.get("planId") or f"00000000-0000-0000-0000-{build['id']:012d}"}
    body = {
        "_links": {
            "self": {"href": f"{base}/Builds/{build['id']}"},
            "web": {"href": f"{ctx.url}/{project['id']}/_build/results?buildId={build['id']}"},
            "sourceVersionDisplayUri": {"href": f"{base}/builds/{build['id']}/sources"},
            "timeline": {"href": f"{base}/builds/{build['id']}/Timeline"},
            "badge": {"href": f"{base}/status/{definition['id']}"},
        },
        "properties": {},
        "tags": [],
        "validationResults": [],
        "plans": [plan],
        "triggerInfo": {},
        "id": build["id"],
        "buildNumber": build["buildNumber"],
        "status": build["status"],
        "queueTime": build["queueTime"],
        "url": f"{base}/Builds/{build['id']}",
        "definition": definition_reference(ctx, definition, minimal=True),
        "buildNumberRevision": 1,
        "project": project_ref(ctx, project),
        "uri": f"vstfs:///Build/Build/{build['id']}",
        "sourceBranch": build["sourceBranch"],
        "sourceVersion": build["sourceVersion"],
        "priority": "normal",
        "reason": build["reason"],
        "requestedFor": identity(ctx),
        "requestedBy": identity(ctx),
        "lastChangedDate": build["queueTime"],
        "lastChangedBy": identity(ctx),
        "orchestrationPlan": plan,
        "logs": {"id": 0, "type": "Container", "url": f"{base}/builds/{build['id']}/logs"},
        "repository": {k: v for k, v in definition["repository"].items() if k != "defaultBranch"},
        "keepForever": False,
        "retainedByRelease": False,
        "triggeredByBuild": None,
        "appendCommitMessageToRunName": True,
    }
    if build.get("result"):
        body["result"] = build["result"]
    queue = _queue_ref(ctx, definition.get("queueId"))
    if queue:
        queue.pop("_links")
        queue.pop("url")
        body["queue"] = queue
    if build.get("templateParameters"):
        body["templateParameters"] = build["templateParameters"]
    return body


@route("POST", "{project}/_apis/build/builds", "build.builds.queue", BUILDS)
def queue_build(ctx: Ctx) -> Reply:
    project = require_project(ctx)
    if not isinstance(ctx.body, dict):
        raise errors.argument_null("build")
    definition_id = (ctx.body.get("definition") or {}).get("id") or ctx.q("definitionId")
    if definition_id is None:
        raise errors.argument_null("build.Definition")
    definition = _visible(ctx, project, int(definition_id))
    if definition.get("queueStatus") == "disabled":
        raise errors.build_failure(
            400, "DefinitionDisabledException", f"The pipeline {definition['name']} is disabled."
        )
    build = queue_run(
        ctx,
        project,
        definition,
        ctx.body.get("sourceBranch"),
        templateParameters=ctx.body.get("templateParameters") or {},
    )
    return Reply(build_body(ctx, build))


@route("GET", "{project}/_apis/build/builds/{buildId?}", "build.builds.get", BUILDS)
def get_builds(ctx: Ctx) -> Reply:
    project = require_project(ctx)
    builds = [b for b in ctx.store.state["builds"].values() if b["projectId"] == project["id"]]
    if "buildId" in ctx.params:
        build = next((b for b in builds if str(b["id"]) == ctx.params["buildId"]), None)
        if build is None:
            raise errors.build_failure(
                404, "BuildNotFoundException", f"Build {ctx.params['buildId']} does not exist."
            )
        return Reply(build_body(ctx, build))
    wanted = {int(i) for i in split_list(ctx.q("definitions"))}
    builds = [b for b in builds if not wanted or b["definitionId"] in wanted]
    builds.sort(key=lambda b: b["id"], reverse=True)
    items, headers = page(ctx, builds)
    return collection([build_body(ctx, b) for b in items], headers)
