"""The Azure Resource Manager service connection (``serviceendpoint/endpoints``).

Key: the connection's name from config. ``mode: existing`` only looks it up (missing: an error
listing similar names); ``mode: create`` manages it: type, authentication scheme, tenant,
client, subscription and description. Bootstrap marks what it created with :data:`MARK` in the
description, and ``down`` deletes a connection only when config says ``mode: create`` *and*
the mark is there, so a connection someone made by hand is never deleted.

Write-only values (a service principal's key) never enter a view: they are sent on create and
on update only.
"""

from __future__ import annotations

import difflib
from urllib.parse import urlsplit

from bootstrap.errors import CredentialError, NotFound
from bootstrap.resources.base import Context, wait_until

KIND = "service_connection"
MARK = "(created by bootstrap)"
SCHEMES = {
    "workload-identity-federation": "WorkloadIdentityFederation",
    "service-principal": "ServicePrincipal",
}


def keys(cfg) -> list[str]:
    return [cfg.service_connection.name]


def managed(cfg) -> bool:
    return cfg.service_connection.mode == "create"


def view(endpoint: dict) -> dict:
    """The managed fields of an endpoint as the API returns it (pure)."""
    auth = endpoint.get("authorization") or {}
    params = auth.get("parameters") or {}
    data = endpoint.get("data") or {}
    return {
        "type": (endpoint.get("type") or "").lower(),
        "scheme": auth.get("scheme"),
        "tenant_id": params.get("tenantid"),
        "client_id": params.get("serviceprincipalid"),
        "subscription_id": data.get("subscriptionId"),
        "subscription_name": data.get("subscriptionName"),
        "description": endpoint.get("description") or "",
    }


def desired(cfg) -> dict:
    sc = cfg.service_connection
    return {
        "type": "azurerm",
        "scheme": SCHEMES[sc.authentication],
        "tenant_id": sc.tenant_id,
        "client_id": sc.client_id,
        "subscription_id": sc.subscription_id,
        "subscription_name": sc.subscription_name,
        "description": f"{sc.description} {MARK}",
    }


def to_body(want: dict, *, name: str, project: dict, secret: str | None = None) -> dict:
    """The create/update body for view ``want`` (pure; ``secret``: the service principal key)."""
    params = {"tenantid": want["tenant_id"], "serviceprincipalid": want["client_id"]}
    if want["scheme"] == "ServicePrincipal":
        params["authenticationType"] = "spnKey"
        if secret is not None:
            params["serviceprincipalkey"] = secret
    return {
        "name": name,
        "type": want["type"],
        "url": "https://management.azure.com/",
        "description": want["description"],
        "authorization": {"scheme": want["scheme"], "parameters": params},
        "data": {
            "subscriptionId": want["subscription_id"],
            "subscriptionName": want["subscription_name"],
            "environment": "AzureCloud",
            "scopeLevel": "Subscription",
            "creationMode": "Manual",
        },
        "isShared": False,
        "owner": "library",
        "serviceEndpointProjectReferences": [
            {
                "projectReference": {"id": project["id"], "name": project["name"]},
                "name": name,
                "description": want["description"],
            }
        ],
    }


def read(ctx: Context) -> dict | None:
    return ctx.client.get_service_endpoint(ctx.project_name, ctx.cfg.service_connection.name)


def missing_error(ctx: Context) -> NotFound:
    """``mode: existing`` and no such connection: name the similar ones."""
    name = ctx.cfg.service_connection.name
    names = [e.get("name", "") for e in ctx.client.list_service_endpoints(ctx.project_name)]
    similar = difflib.get_close_matches(name, names, n=5, cutoff=0.4) or sorted(names)[:5]
    seen = f"similar: {', '.join(similar)}" if similar else "the project has none"
    return NotFound(
        f"service connection {name} not found in project {ctx.project_name} ({seen})",
        hint="fix service_connection.name, or set mode: create to let bootstrap create it",
    )


def _secret(ctx: Context) -> str | None:
    """The service principal key from the secret store (env, then keyring); None for WIF.

    Called by the plan before anything is written, so a missing key fails early."""
    sc = ctx.cfg.service_connection
    if sc.authentication != "service-principal":
        return None
    if "service_principal_key" in ctx.lookups:
        return ctx.lookups["service_principal_key"]
    from bootstrap import credentials
    from bootstrap.secrets import local_value

    found = local_value(
        ctx.cfg.organization, ctx.project_name, ctx.cfg.variable_group.name, sc.client_secret
    )
    if found.value is None:
        raise CredentialError(
            f"no value for the service principal key {sc.client_secret}",
            hint=f"set {credentials.secret_env_name(sc.client_secret)} or run "
            f"`bootstrap vars set {sc.client_secret}`",
        )
    ctx.lookups["service_principal_key"] = found.value
    return found.value


def check_secret(ctx: Context) -> None:
    """Fail now (CredentialError) if a create or update would need a key that is missing."""
    _secret(ctx)


def create(ctx: Context) -> dict:
    """Create the connection and wait until Azure DevOps reports it ready (``isReady``)."""
    body = to_body(
        desired(ctx.cfg),
        name=ctx.cfg.service_connection.name,
        project=ctx.project,
        secret=_secret(ctx),
    )
    created = ctx.client.create_service_endpoint(ctx.project_name, body)
    if created.get("isReady", True):
        return created

    def ready():
        found = read(ctx)
        return found if found and found.get("isReady") else None

    return wait_until(ready, what=f"service connection {ctx.cfg.service_connection.name} is ready")


def update(ctx: Context, actual: dict) -> dict:
    body = to_body(
        desired(ctx.cfg),
        name=ctx.cfg.service_connection.name,
        project=ctx.project,
        secret=_secret(ctx),
    )
    body["id"] = actual["id"]
    body["serviceEndpointProjectReferences"] = (
        actual.get("serviceEndpointProjectReferences") or body["serviceEndpointProjectReferences"]
    )
    return ctx.client.update_service_endpoint(actual["id"], body)


def deletable(cfg, actual: dict | None) -> bool:
    return actual is not None and managed(cfg) and MARK in (actual.get("description") or "")


def delete(ctx: Context, actual: dict) -> None:
    ctx.client.delete_service_endpoint(actual["id"], [ctx.project["id"]])


def federation(ctx: Context, endpoint: dict) -> tuple[str, str] | None:
    """(issuer, subject) to add as a federated credential, for workload identity federation.

    Azure DevOps returns both on the endpoint; when it does not, the subject follows the
    documented ``sc://{organisation}/{project}/{connection}`` form and the issuer is the
    organisation's token service.
    """
    params = (endpoint.get("authorization") or {}).get("parameters") or {}
    if (endpoint.get("authorization") or {}).get("scheme") != "WorkloadIdentityFederation":
        return None
    org_name = urlsplit(ctx.cfg.organization).path.strip("/").split("/")[-1]
    issuer = params.get("workloadIdentityFederationIssuer") or (
        "https://vstoken.dev.azure.com/<organisation id> (shown on the connection's page)"
    )
    subject = params.get("workloadIdentityFederationSubject") or (
        f"sc://{org_name}/{ctx.project_name}/{endpoint.get('name')}"
    )
    return issuer, subject
