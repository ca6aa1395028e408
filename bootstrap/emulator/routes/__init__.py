"""Routing: templates like ``{project}/_apis/build/definitions/{definitionId?}`` to handlers.

Matching is per path segment, case-insensitive for literals (as the service routes), with each
segment percent-decoded on its own (so an encoded ``/`` or ``\\`` stays inside its segment).
``{name}`` takes one segment, ``{name?}`` an optional last one, ``{*name}`` the rest. A leading
``{project}`` is resolved to the project by name or id (404
``ProjectDoesNotExistWithNameException`` when there is none) before the handler runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bootstrap.emulator import errors
from bootstrap.emulator.store import Store


@dataclass
class Reply:
    """An answer: JSON ``body`` (``None`` is sent as ``null``) unless ``empty`` or ``raw``."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    empty: bool = False
    raw: bytes | None = None
    content_type: str | None = None


def collection(items: list[Any], headers: dict[str, str] | None = None) -> Reply:
    """The service's collection wrapper ``{"count": N, "value": [...]}``."""
    return Reply({"count": len(items), "value": items}, headers=headers or {})


def no_content() -> Reply:
    return Reply(status=204, empty=True)


@dataclass
class Ctx:
    """Everything a handler may use about one request."""

    store: Store
    url: str  # organisation URL, e.g. http://127.0.0.1:PORT/demo
    method: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    api_version: str | None
    project: dict | None = None
    repo_dir: str | None = None  # what backs every Git repository's default branch

    def q(self, name: str, default: str | None = None) -> str | None:
        """A query parameter by case-insensitive name (the service ignores case)."""
        lowered = name.lower()
        for key, value in self.query.items():
            if key.lower() == lowered:
                return value
        return default

    def flag(self, name: str) -> bool:
        return (self.q(name) or "").lower() == "true"

    @property
    def org(self) -> str:
        return self.store.org["name"]


Handler = Callable[[Ctx], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    route_id: str  # e.g. "build.definitions.create"
    location_id: str | None = None
    is_write: bool = False

    def match(self, segments: list[str]) -> dict[str, str] | None:
        parts = [p for p in self.template.split("/") if p]
        params: dict[str, str] = {}
        i = 0
        for part in parts:
            if part.startswith("{*"):
                params[part[2:-1]] = "/".join(segments[i:])
                return params
            if part.endswith("?}"):
                if i < len(segments):
                    params[part[1:-2]] = segments[i]
                    i += 1
                continue
            if i >= len(segments):
                return None
            if part.startswith("{"):
                params[part[1:-1]] = segments[i]
            elif part.lower() != segments[i].lower():
                return None
            i += 1
        return params if i == len(segments) else None


def route(method: str, template: str, route_id: str, location_id: str | None = None):
    """Decorator collecting routes in the module-level ``ROUTES`` of the caller."""

    def register(handler: Handler) -> Handler:
        handler.__dict__.setdefault("_routes", []).append(
            Route(method, template, handler, route_id, location_id, method != "GET")
        )
        return handler

    return register


def routes_of(module) -> list[Route]:
    found: list[Route] = []
    for value in vars(module).values():
        found.extend(getattr(value, "_routes", []))
    return found


def require_project(ctx: Ctx) -> dict:
    if ctx.project is None:
        raise errors.project_not_found(ctx.params.get("project", ""))
    return ctx.project


def all_routes() -> list[Route]:
    """Every route the emulator serves; literal-first order decides between overlaps."""
    from bootstrap.emulator import discovery
    from bootstrap.emulator.routes import (
        build,
        core,
        distributedtask,
        git,
        permissions,
        pipelines,
        serviceendpoint,
    )

    found: list[Route] = []
    for module in (
        discovery,
        core,
        git,
        serviceendpoint,
        build,
        distributedtask,
        permissions,
        pipelines,
    ):
        found.extend(routes_of(module))
    return found
