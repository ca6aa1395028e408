"""Service endpoints (service connections): get by names or id, create, update, share, delete.

Secret authorization parameters (keys, passwords, tokens) are stored and never answered: they
come back as ``null``, as the official examples show. A workload identity federation
connection gets ``workloadIdentityFederationIssuer`` and ``workloadIdentityFederationSubject``
filled in by the service. A name already used in one of the projects fails with 500
``DuplicateServiceConnectionException`` (see ``errors.duplicate_service_endpoint``).
"""

from __future__ import annotations

import copy
from typing import Any

from bootstrap.emulator import errors
from bootstrap.emulator.routes import Ctx, Reply, collection, no_content, require_project, route
from bootstrap.emulator.routes import permissions as perms
from bootstrap.emulator.routes.common import identity, split_list
from bootstrap.emulator.store import new_id

ENDPOINTS_PROJECT = "e85f1c62-adfc-4b74-b618-11a150fb195e"
ENDPOINTS_ORG = "14e48fdc-2c8b-41ce-a0c3-e26f6cc55bd0"
SECRET_PARAMETERS = {
    "serviceprincipalkey",
    "serviceprincipalcertificate",
    "password",
    "accesstoken",
    "apitoken",
    "token",
    "certificate",
    "clientsecret",
    "secretkey",
    "privatekey",
}
DEFAULT_URLS = {
    "azurerm": "https://management.azure.com/",
    "azure": "https://management.core.windows.net/",
    "github": "https://github.com",
}
GITHUB_SCHEMES = {
    "Token": "AccessToken",
    "PersonalAccessToken": "accessToken",
    "InstallationToken": "IdToken",
    "OAuth": "AccessToken",
}


def _is_secret(name: str) -> bool:
    return name.lower() in SECRET_PARAMETERS


def endpoint_body(ctx: Ctx, endpoint: dict) -> dict[str, Any]:
    parameters = {
        k: (None if _is_secret(k) else v)
        for k, v in endpoint["authorization"]["parameters"].items()
    }
    refs = []
    for ref in endpoint["projectReferences"]:
        project = ctx.store.state["projects"].get(ref["projectId"])
        item: dict[str, Any] = {
            "projectReference": {
                "id": ref["projectId"],
                "name": project["name"] if project else None,
            },
            "name": ref["name"],
        }
        if ref.get("description"):
            item["description"] = ref["description"]
        refs.append(item)
    return {
        "data": endpoint["data"],
        "id": endpoint["id"],
        "name": endpoint["name"],
        "type": endpoint["type"],
        "url": endpoint["url"],
        "createdBy": identity(ctx),
        "description": endpoint.get("description") or "",
        "authorization": {"parameters": parameters, "scheme": endpoint["authorization"]["scheme"]},
        "isShared": len(endpoint["projectReferences"]) > 1,
        "isReady": True,
        "owner": "library",
        "serviceEndpointProjectReferences": refs,
    }


def _refs(ctx: Ctx, refs: Any, default_name: str) -> list[dict[str, Any]]:
    if not refs:
        raise errors.argument_null("endpoint.ServiceEndpointProjectReferences")
    out = []
    for ref in refs:
        key = ((ref or {}).get("projectReference") or {}).get("id") or (
            (ref or {}).get("projectReference") or {}
        ).get("name")
        if not key:
            raise errors.argument_null("serviceEndpointProjectReference.ProjectReference")
        project = ctx.store.project_by_name_or_id(str(key))
        if project is None:
            raise errors.project_not_found(str(key))
        out.append(
            {
                "projectId": project["id"],
                "name": ref.get("name") or default_name,
                "description": ref.get("description"),
            }
        )
    return out


def _check_unique(ctx: Ctx, refs: list[dict], own_id: str | None) -> None:
    for ref in refs:
        for endpoint in ctx.store.state["serviceEndpoints"].values():
            if endpoint["id"] == own_id:
                continue
            for other in endpoint["projectReferences"]:
                if (
                    other["projectId"] == ref["projectId"]
                    and other["name"].lower() == ref["name"].lower()
                ):
                    raise errors.duplicate_service_endpoint(ref["name"])


def _lookup(parameters: dict[str, Any], name: str) -> Any:
    return next((v for k, v in parameters.items() if k.lower() == name.lower()), None)


def _validate(ctx: Ctx, body: dict, parameters: dict[str, Any], refs: list[dict]) -> dict[str, Any]:
    """Check the fields a type/scheme requires; fill in what the service fills in."""
    kind = body["type"]
    scheme = (body.get("authorization") or {}).get("scheme")
    data = dict(body.get("data") or {})
    if not scheme:
        raise errors.argument_null("endpoint.Authorization.Scheme")
    if kind.lower() in ("azure", "azurerm"):
        data.setdefault("environment", "AzureCloud")
    if kind.lower() == "azurerm":
        if scheme not in (
            "ServicePrincipal",
            "WorkloadIdentityFederation",
            "ManagedServiceIdentity",
            "PublishProfile",
        ):
            raise errors.argument(
                f"The authorization scheme {scheme} is not supported for AzureRM.", "scheme"
            )
        if scheme in ("ServicePrincipal", "WorkloadIdentityFederation"):
            for name in ("tenantid", "serviceprincipalid"):
                if not _lookup(parameters, name):
                    raise errors.argument(f"The authorization parameter {name} is required.", name)
        if scheme == "ServicePrincipal":
            auth_type = _lookup(parameters, "authenticationType") or "spnKey"
            needed = (
                "servicePrincipalCertificate"
                if auth_type == "spnCertificate"
                else "serviceprincipalkey"
            )
            if not _lookup(parameters, needed):
                raise errors.argument(f"The authorization parameter {needed} is required.", needed)
        if scheme == "WorkloadIdentityFederation":
            project = ctx.store.state["projects"][refs[0]["projectId"]]
            parameters["workloadIdentityFederationIssuer"] = (
                f"https://vstoken.dev.azure.com/{ctx.store.org['id']}"
            )
            parameters["workloadIdentityFederationSubject"] = (
                f"sc://{ctx.org}/{project['name']}/{refs[0]['name']}"
            )
        if (data.get("scopeLevel") or "Subscription") == "Subscription" and not data.get(
            "subscriptionId"
        ):
            raise errors.argument(
                "The data parameter subscriptionId is required.", "subscriptionId"
            )
    elif kind.lower() == "github":
        if scheme not in GITHUB_SCHEMES:
            raise errors.argument(
                f"The authorization scheme {scheme} is not supported for GitHub.", "scheme"
            )
        if scheme in ("Token", "PersonalAccessToken") and not _lookup(
            parameters, GITHUB_SCHEMES[scheme]
        ):
            raise errors.argument(
                f"The authorization parameter {GITHUB_SCHEMES[scheme]} is required.",
                GITHUB_SCHEMES[scheme],
            )
    return data


def _save(ctx: Ctx, body: Any, existing: dict | None) -> dict:
    if not isinstance(body, dict):
        raise errors.argument_null("endpoint")
    for field in ("name", "type"):
        if not body.get(field):
            raise errors.argument_null(f"endpoint.{field.capitalize()}")
    if body.get("serviceEndpointProjectReferences") or existing is None:
        refs = _refs(ctx, body.get("serviceEndpointProjectReferences"), body["name"])
    else:
        refs = [dict(r) for r in existing["projectReferences"]]
    if existing is not None and body["name"] != existing["name"]:
        # a rename renames the endpoint wherever it still carries its old name
        for ref in refs:
            if ref["name"] == existing["name"]:
                ref["name"] = body["name"]
    endpoint_id = existing["id"] if existing else new_id()
    _check_unique(ctx, refs, endpoint_id)
    parameters = dict((body.get("authorization") or {}).get("parameters") or {})
    if existing:
        for name, value in existing["authorization"]["parameters"].items():
            if _is_secret(name) and parameters.get(name) is None:
                parameters[name] = value
    data = _validate(ctx, body, parameters, refs)
    url = body.get("url") or DEFAULT_URLS.get(body["type"].lower())
    if not url:
        raise errors.argument_null("endpoint.Url")
    endpoint = {
        "id": endpoint_id,
        "name": body["name"],
        "type": body["type"],
        "url": url,
        "description": body.get("description"),
        "data": data,
        "authorization": {"scheme": body["authorization"]["scheme"], "parameters": parameters},
        "projectReferences": refs,
    }
    ctx.store.state["serviceEndpoints"][endpoint_id] = endpoint
    return endpoint


def _in_project(ctx: Ctx, project: dict) -> list[tuple[dict, dict]]:
    found = []
    for endpoint in ctx.store.state["serviceEndpoints"].values():
        for ref in endpoint["projectReferences"]:
            if ref["projectId"] == project["id"]:
                found.append((endpoint, ref))
    return sorted(found, key=lambda pair: pair[1]["name"].lower())


@route(
    "GET",
    "{project}/_apis/serviceendpoint/endpoints/{endpointId?}",
    "serviceendpoint.endpoints.get",
    ENDPOINTS_PROJECT,
)
def get_endpoints(ctx: Ctx) -> Reply:
    project = require_project(ctx)
    pairs = _in_project(ctx, project)
    if "endpointId" in ctx.params:
        wanted = ctx.params["endpointId"].lower()
        endpoint = next((e for e, _ in pairs if e["id"] == wanted), None)
        return Reply(endpoint_body(ctx, endpoint) if endpoint else None)
    names = [n.lower() for n in split_list(ctx.q("endpointNames"))]
    ids = [i.lower() for i in split_list(ctx.q("endpointIds"))]
    schemes = [s.lower() for s in split_list(ctx.q("authSchemes"))]
    kind = (ctx.q("type") or "").lower()
    found = [
        e
        for e, ref in pairs
        if (not names or ref["name"].lower() in names)
        and (not ids or e["id"] in ids)
        and (not kind or e["type"].lower() == kind)
        and (not schemes or e["authorization"]["scheme"].lower() in schemes)
    ]
    return collection([endpoint_body(ctx, e) for e in found])


@route("POST", "_apis/serviceendpoint/endpoints", "serviceendpoint.endpoints.create", ENDPOINTS_ORG)
def create_endpoint(ctx: Ctx) -> Reply:
    return Reply(endpoint_body(ctx, _save(ctx, ctx.body, None)))


@route(
    "POST",
    "{project}/_apis/serviceendpoint/endpoints",
    "serviceendpoint.endpoints.create",
    ENDPOINTS_PROJECT,
)
def create_endpoint_in_project(ctx: Ctx) -> Reply:
    project = require_project(ctx)
    body = dict(ctx.body) if isinstance(ctx.body, dict) else ctx.body
    if isinstance(body, dict) and not body.get("serviceEndpointProjectReferences"):
        body["serviceEndpointProjectReferences"] = [
            {"projectReference": {"id": project["id"]}, "name": body.get("name")}
        ]
    return Reply(endpoint_body(ctx, _save(ctx, body, None)))


def _find(ctx: Ctx, endpoint_id: str) -> dict:
    endpoint = ctx.store.state["serviceEndpoints"].get(endpoint_id.lower())
    if endpoint is None:
        raise errors.endpoint_not_found(endpoint_id)
    return endpoint


@route(
    "PUT",
    "_apis/serviceendpoint/endpoints/{endpointId}",
    "serviceendpoint.endpoints.update",
    ENDPOINTS_ORG,
)
def update_endpoint(ctx: Ctx) -> Reply:
    existing = _find(ctx, ctx.params["endpointId"])
    return Reply(endpoint_body(ctx, _save(ctx, ctx.body, existing)))


@route(
    "PATCH",
    "_apis/serviceendpoint/endpoints/{endpointId}",
    "serviceendpoint.endpoints.share",
    ENDPOINTS_ORG,
)
def share_endpoint(ctx: Ctx) -> Reply:
    endpoint = _find(ctx, ctx.params["endpointId"])
    if not isinstance(ctx.body, list):
        raise errors.argument_null("endpointProjectReferences")
    refs = _refs(ctx, ctx.body, endpoint["name"])
    _check_unique(ctx, refs, endpoint["id"])
    known = {r["projectId"] for r in endpoint["projectReferences"]}
    endpoint["projectReferences"].extend(r for r in refs if r["projectId"] not in known)
    return no_content()


@route(
    "DELETE",
    "_apis/serviceendpoint/endpoints/{endpointId}",
    "serviceendpoint.endpoints.delete",
    ENDPOINTS_ORG,
)
def delete_endpoint(ctx: Ctx) -> Reply:
    endpoint = _find(ctx, ctx.params["endpointId"])
    project_ids = [p.lower() for p in split_list(ctx.q("projectIds"))]
    if not project_ids:
        raise errors.argument_null("projectIds")
    endpoint["projectReferences"] = [
        r for r in endpoint["projectReferences"] if r["projectId"] not in project_ids
    ]
    perms.forget(ctx.store, "endpoint", endpoint["id"], project_ids)
    if not endpoint["projectReferences"]:
        del ctx.store.state["serviceEndpoints"][endpoint["id"]]
    return no_content()


def _find_in_project(ctx: Ctx, project: dict, endpoint_id: str) -> dict:
    endpoint = _find(ctx, endpoint_id)
    if project["id"] not in [r["projectId"] for r in endpoint["projectReferences"]]:
        raise errors.endpoint_not_found(endpoint_id)
    return endpoint


@route(
    "PUT",
    "{project}/_apis/serviceendpoint/endpoints/{endpointId}",
    "serviceendpoint.endpoints.update",
    ENDPOINTS_PROJECT,
)
def update_endpoint_in_project(ctx: Ctx) -> Reply:
    """The pre-5.2 project-scoped update (the only write route a 4.1 client has)."""
    project = require_project(ctx)
    existing = _find_in_project(ctx, project, ctx.params["endpointId"])
    return Reply(endpoint_body(ctx, _save(ctx, ctx.body, existing)))


@route(
    "DELETE",
    "{project}/_apis/serviceendpoint/endpoints/{endpointId}",
    "serviceendpoint.endpoints.delete",
    ENDPOINTS_PROJECT,
)
def delete_endpoint_in_project(ctx: Ctx) -> Reply:
    """The pre-5.2 project-scoped delete: removes the endpoint from the URL's project."""
    project = require_project(ctx)
    endpoint = _find_in_project(ctx, project, ctx.params["endpointId"])
    endpoint["projectReferences"] = [
        r for r in endpoint["projectReferences"] if r["projectId"] != project["id"]
    ]
    perms.forget(ctx.store, "endpoint", endpoint["id"], [project["id"]])
    if not endpoint["projectReferences"]:
        del ctx.store.state["serviceEndpoints"][endpoint["id"]]
    return no_content()


def _update_many(ctx: Ctx, project: dict | None) -> Reply:
    if not isinstance(ctx.body, list):
        raise errors.argument_null("endpoints")
    found = []
    for item in ctx.body:
        endpoint_id = str((item or {}).get("id") or "")
        existing = (
            _find_in_project(ctx, project, endpoint_id) if project else _find(ctx, endpoint_id)
        )
        found.append(existing)
    before = copy.deepcopy(ctx.store.state["serviceEndpoints"])
    try:
        saved = [_save(ctx, item, old) for item, old in zip(ctx.body, found, strict=True)]
    except errors.ApiFailure:
        ctx.store.state["serviceEndpoints"] = before
        raise
    return collection([endpoint_body(ctx, endpoint) for endpoint in saved])


@route(
    "PUT", "_apis/serviceendpoint/endpoints", "serviceendpoint.endpoints.updatemany", ENDPOINTS_ORG
)
def update_endpoints(ctx: Ctx) -> Reply:
    """Update several endpoints in one call (each must exist; the whole call fails otherwise)."""
    return _update_many(ctx, None)


@route(
    "PUT",
    "{project}/_apis/serviceendpoint/endpoints",
    "serviceendpoint.endpoints.updatemany",
    ENDPOINTS_PROJECT,
)
def update_endpoints_in_project(ctx: Ctx) -> Reply:
    return _update_many(ctx, require_project(ctx))
