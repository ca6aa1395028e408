"""Discovery: the route table (``OPTIONS {org}/_apis``), ResourceAreas and ConnectionData.

The SDK resolves every call through these: a location id from the route table gives the route
template and the api-versions the resource accepts, a resource area gives the host. The data
are trimmed copies of the real answers (``data/NOTICE.md``), packaged so the emulator needs
nothing outside the wheel; URLs are filled in with the emulator's own at run time.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

from bootstrap.emulator import errors
from bootstrap.emulator.routes import Ctx, Reply, collection, route
from bootstrap.emulator.routes.common import DESCRIPTOR, DISPLAY_NAME, UNIQUE_NAME
from bootstrap.emulator.store import USER_ID

LATEST_VERSION = "7.2"
_VERSION = re.compile(r"^(\d+)\.(\d+)(-preview(\.\d+)?)?$", re.IGNORECASE)


def _data(name: str) -> dict[str, Any]:
    return json.loads(
        resources.files("bootstrap.emulator").joinpath("data", name).read_text("utf-8")
    )


@cache
def route_table() -> list[dict[str, Any]]:
    return _data("route-table.json")["value"]


@cache
def locations() -> dict[str, dict[str, Any]]:
    return {entry["id"].lower(): entry for entry in route_table()}


@cache
def resource_areas() -> list[dict[str, str]]:
    return _data("resource-areas.json")["value"]


def _number(text: str) -> tuple[int, int]:
    major, minor = text.split(".")[:2]
    return int(major), int(minor)


def check_api_version(version: str | None, method: str, location_id: str | None) -> None:
    """Refuse what the service refuses: no version on a write, too new, or preview unflagged."""
    if version is None:
        if method not in ("GET", "OPTIONS"):
            raise errors.version_not_specified(method)
        return
    match = _VERSION.match(version.strip())
    if not match:
        raise errors.argument(f"The api-version '{version}' is not valid.", "api-version")
    requested = (int(match.group(1)), int(match.group(2)))
    if requested > _number(LATEST_VERSION):
        raise errors.version_out_of_range(version, LATEST_VERSION)
    entry = locations().get((location_id or "").lower())
    if entry is None:
        return
    if requested < _number(entry["minVersion"]):
        raise errors.version_out_of_range(version, entry["maxVersion"])
    if match.group(3) is None and requested > _number(entry["releasedVersion"]):
        raise errors.preview_required(version)


@route("OPTIONS", "_apis", "location.options")
def options(ctx: Ctx) -> Reply:
    return collection(route_table())


@route(
    "GET",
    "_apis/ResourceAreas/{areaId?}",
    "location.resourceareas",
    "e81700f7-3be2-46de-8624-2eb35882fcaa",
)
def get_resource_areas(ctx: Ctx) -> Reply:
    areas = [
        {"id": area["id"], "name": area["name"], "locationUrl": f"{ctx.url}/"}
        for area in resource_areas()
    ]
    area_id = ctx.params.get("areaId")
    if area_id is None:
        return collection(areas)
    for area in areas:
        if area["id"] == area_id.lower():
            return Reply(area)
    return Reply(None)


@route(
    "GET", "_apis/ConnectionData", "location.connectiondata", "00d9565f-ed9c-4a06-9a50-00e7896ccab4"
)
def get_connection_data(ctx: Ctx) -> Reply:
    user = {
        "id": USER_ID,
        "descriptor": f"Microsoft.IdentityModel.Claims.ClaimsIdentity;emulator\\{UNIQUE_NAME}",
        "subjectDescriptor": DESCRIPTOR,
        "providerDisplayName": DISPLAY_NAME,
        "isActive": True,
        "properties": {"Account": {"$type": "System.String", "$value": UNIQUE_NAME}},
        "resourceVersion": 2,
        "metaTypeId": 0,
    }
    return Reply(
        {
            "authenticatedUser": user,
            "authorizedUser": user,
            "instanceId": ctx.store.org["id"],
            "deploymentId": ctx.store.org["id"],
            "deploymentType": "hosted",
            "locationServiceData": {
                "serviceOwner": "00025394-6065-48ca-87d9-7f5672854ef7",
                "defaultAccessMappingMoniker": "PublicAccessMapping",
                "lastChangeId": 1,
                "lastChangeId64": 1,
            },
        }
    )
