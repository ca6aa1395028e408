"""The emulator's discovery answers against the real ones, and its routes against the real
route table (``ado-recordings/route-table.json`` and ``resource-areas.json``).

The SDK finds every call through ``OPTIONS {org}/_apis``: a location id, a route template
and a version range. An entry that differs from the real one, or a route the emulator serves
under a template the real location does not have, is a call the real service would route
differently.
"""

from __future__ import annotations

import json

import pytest
import requests

from bootstrap.emulator.routes import Route, all_routes
from tests.conformance.replay import PAT
from tests.conftest import shared_path

DISCOVERY = {"_apis"}  # OPTIONS {org}/_apis answers for every location; it has none itself


def _reference(name: str) -> dict[str, dict]:
    path = shared_path("reference", "ado-recordings", name)
    return {entry["id"]: entry for entry in json.loads(path.read_text("utf-8-sig"))["value"]}


def _answer(emulator, method: str, path: str):
    response = requests.request(
        method,
        f"{emulator.url}/{path}",
        auth=("", PAT),
        headers={"Accept": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def _segments(template: str, entry: dict | None = None) -> list[str]:
    """Lower-cased segments, every route value as ``{}``; area/resource filled in."""
    if entry:
        template = template.replace("{area}", entry["area"])
        template = template.replace("{resource}", entry["resourceName"])
    return ["{}" if p.startswith("{") else p.lower() for p in template.split("/") if p]


def _forms(segments: list[str], leading_project: bool) -> set[tuple[str, ...]]:
    """The concrete shapes of a template: trailing route values and {project} optional."""
    heads = [segments, segments[1:]] if leading_project else [segments]
    forms = set()
    for head in heads:
        end = len(head)
        forms.add(tuple(head))
        while end and head[end - 1] == "{}":
            end -= 1
            forms.add(tuple(head[:end]))
    return forms


def route_fits_location(route: Route, entry: dict) -> bool:
    """Whether every path the route serves is one the real location's template produces.

    ADO route templates leave ``{project}`` out for organisation-level calls, and trailing
    route values out (``.../definitions`` and ``.../definitions/{definitionId}`` are one
    location); a route's own optional (``{x?}``) or catch-all (``{*x}``) last value may be
    absent too.
    """
    served = _segments(route.template)
    optional_last = route.template.rstrip("/").split("/")[-1]
    served_forms = {tuple(served)}
    if optional_last.endswith("?}") or optional_last.startswith("{*"):
        served_forms.add(tuple(served[:-1]))
    real_forms = _forms(
        _segments(entry["routeTemplate"], entry), entry["routeTemplate"].startswith("{project}/")
    )
    return served_forms <= real_forms


def test_discovery_options_entries_equal_the_real_route_table(emulator):
    reference = _reference("route-table.json")
    answer = _answer(emulator, "OPTIONS", "_apis")
    assert answer["count"] == len(answer["value"])
    for entry in answer["value"]:
        assert entry == reference.get(entry["id"]), f"location {entry['id']} differs"


def test_discovery_resource_areas_equal_the_real_ones_but_for_the_url(emulator):
    reference = _reference("resource-areas.json")
    answer = _answer(emulator, "GET", "_apis/ResourceAreas")
    assert answer["value"]
    for area in answer["value"]:
        real = reference.get(area["id"])
        assert real is not None, f"resource area {area} is not a real one"
        assert area["name"] == real["name"]
        assert area["locationUrl"] == f"{emulator.url}/"


def test_discovery_every_served_route_sits_at_a_real_location_the_options_answer_lists(emulator):
    reference = _reference("route-table.json")
    listed = {entry["id"] for entry in _answer(emulator, "OPTIONS", "_apis")["value"]}
    for route in all_routes():
        if route.template in DISCOVERY:
            continue
        entry = reference.get(route.location_id or "")
        assert entry is not None, f"{route.method} {route.template}: no real location"
        assert route.location_id in listed, f"{route.method} {route.template}: not in OPTIONS"
        assert route_fits_location(route, entry), (
            f"{route.method} {route.template} does not fit {entry['routeTemplate']} "
            f"({entry['area']}/{entry['resourceName']})"
        )


@pytest.mark.parametrize(
    ("template", "real", "area", "resource", "fits"),
    [
        (
            "{project}/_apis/build/definitions/{definitionId?}",
            "{project}/_apis/build/{resource}/{definitionId}",
            "Build",
            "Definitions",
            True,
        ),
        (
            "_apis/git/repositories/{repositoryId?}",
            "{project}/_apis/{area}/{resource}/{repositoryId}",
            "git",
            "repositories",
            True,
        ),
        (
            "{project}/_apis/build/folders/{*path}",
            "{project}/_apis/{area}/{resource}/{*path}",
            "build",
            "folders",
            True,
        ),
        (
            "{project}/_apis/build/definitions/{definitionId}/x",
            "{project}/_apis/build/{resource}/{definitionId}",
            "Build",
            "Definitions",
            False,
        ),
        (
            "{project}/_apis/build/builds",
            "{project}/_apis/build/{resource}/{definitionId}",
            "Build",
            "Definitions",
            False,
        ),
        (
            "_apis/projects/{projectId}/teams",
            "_apis/{resource}/{*projectId}",
            "core",
            "projects",
            False,
        ),
    ],
)
def test_route_fits_location_accepts_only_forms_of_the_real_template(
    template, real, area, resource, fits
):
    entry = {"routeTemplate": real, "area": area, "resourceName": resource}
    assert route_fits_location(Route("GET", template, lambda ctx: None, "x"), entry) is fits
