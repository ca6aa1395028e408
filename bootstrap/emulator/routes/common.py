"""Shapes shared by several areas: identities, project references, wildcards, paging."""

from __future__ import annotations

import fnmatch
from typing import Any

from bootstrap.emulator.routes import Ctx
from bootstrap.emulator.store import USER_ID

DESCRIPTOR = "aad.OGIzYjhhNWUtNmYwYy03YTU1LTlkNDMtMWYzYzdjMmY1ZTEw"
DISPLAY_NAME = "Emulator User"
UNIQUE_NAME = "user@emulator.invalid"


def identity(ctx: Ctx) -> dict[str, Any]:
    """The full ``IdentityRef`` of the one user every PAT belongs to."""
    avatar = f"{ctx.url}/_apis/GraphProfile/MemberAvatars/{DESCRIPTOR}"
    return {
        "displayName": DISPLAY_NAME,
        "url": f"{ctx.url}/_apis/Identities/{USER_ID}",
        "_links": {"avatar": {"href": avatar}},
        "id": USER_ID,
        "uniqueName": UNIQUE_NAME,
        "imageUrl": avatar,
        "descriptor": DESCRIPTOR,
    }


def project_ref(ctx: Ctx, project: dict) -> dict[str, Any]:
    """``TeamProjectReference`` as lists and embedded references carry it."""
    ref = {"id": project["id"], "name": project["name"]}
    if project.get("description"):
        ref["description"] = project["description"]
    ref.update(
        {
            "url": f"{ctx.url}/_apis/projects/{project['id']}",
            "state": project["state"],
            "revision": project["revision"],
            "visibility": project["visibility"],
            "lastUpdateTime": project["lastUpdateTime"],
        }
    )
    return ref


def wildcard(pattern: str | None, value: str) -> bool:
    """The service's name filters: case-insensitive, ``*`` matches any run of characters."""
    if not pattern:
        return True
    return fnmatch.fnmatchcase(
        value.lower(), pattern.lower().replace("[", "[[]").replace("?", "[?]")
    )


def page(ctx: Ctx, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
    """Apply ``$top`` and ``continuationToken`` (an opaque offset) to an ordered list.

    When more items remain, the token for the next page travels in the
    ``x-ms-continuationtoken`` response header, as the service sends it.
    """
    start = int(ctx.q("continuationToken") or 0)
    top = ctx.q("$top")
    items = items[start:]
    headers: dict[str, str] = {}
    if top is not None and int(top) < len(items):
        items = items[: int(top)]
        headers["x-ms-continuationtoken"] = str(start + int(top))
    return items, headers


def split_list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]
