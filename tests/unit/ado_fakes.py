"""A fake organisation for ``responses``-based tests of the ado layer: discovery answers only.

Each call of :func:`fake_org` registers a fresh (random) organisation URL, so the SDK's
per-process and on-disk discovery caches never carry one test's answers into another, even
when this module is imported afresh.
"""

from __future__ import annotations

import uuid

_ROUTES = [
    ("603fe2ac-9723-48b9-88ad-09305aa6c6e1", "core", "projects", "_apis/{resource}/{*projectId}"),
    (
        "9a1b74b4-2ca8-4a9f-8470-c2f2e6fdc949",
        "operations",
        "operations",
        "_apis/{resource}/{operationId}",
    ),
    (
        "225f7195-f9c7-4d14-ab28-a83f7ff77e1f",
        "git",
        "repositories",
        "{project}/_apis/{area}/{resource}/{repositoryId}",
    ),
    (
        "fb93c0db-47ed-4a31-8c20-47552878fb44",
        "git",
        "items",
        "{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{*path}",
    ),
    (
        "dbeaf647-6167-421a-bda9-c9327b25e2e6",
        "build",
        "definitions",
        "{project}/_apis/{area}/{resource}/{definitionId}",
    ),
    (
        "900fa995-c559-4923-aae7-f8424fe4fbea",
        "distributedtask",
        "queues",
        "{project}/_apis/{area}/{resource}/{queueId}",
    ),
    (
        "f5b09dd5-9d54-45a1-8b5a-1c8287d634cc",
        "distributedtask",
        "variablegroups",
        "{project}/_apis/{area}/{resource}/{groupId}",
    ),
    (
        "ef5b7057-ffc3-4c77-bbad-c10b4a4abcc7",
        "distributedtask",
        "variablegroups",
        "_apis/{area}/{resource}/{groupId}",
    ),
    (
        "e85f1c62-adfc-4b74-b618-11a150fb195e",
        "serviceendpoint",
        "endpoints",
        "{project}/_apis/{area}/{resource}/{endpointId}",
    ),
    (
        "14e48fdc-2c8b-41ce-a0c3-e26f6cc55bd0",
        "serviceendpoint",
        "endpoints",
        "_apis/{area}/{resource}/{endpointId}",
    ),
    (
        "b5b9a4a4-e6cd-4096-853c-ab7d8b0c4eb2",
        "pipelinePermissions",
        "pipelinePermissions",
        "{project}/_apis/pipelines/{resource}/{resourceType}/{resourceId}",
    ),
    (
        "e81700f7-3be2-46de-8624-2eb35882fcaa",
        "Location",
        "ResourceAreas",
        "_apis/{resource}/{areaId}",
    ),
]


def location_table() -> dict:
    value = [
        {
            "id": ident,
            "area": area,
            "resourceName": resource,
            "routeTemplate": template,
            "resourceVersion": 1,
            "minVersion": "1.0",
            "maxVersion": "7.2",
            "releasedVersion": "7.1",
        }
        for ident, area, resource, template in _ROUTES
    ]
    return {"count": len(value), "value": value}


def fake_org(rsps) -> str:
    """Register discovery for a new organisation URL on ``rsps``; return the URL."""
    org = f"https://dev.azure.com/contoso-{uuid.uuid4().hex[:12]}"
    rsps.add("OPTIONS", f"{org}/_apis", json=location_table())
    rsps.add("GET", f"{org}/_apis/ResourceAreas", json={"count": 0, "value": []})
    return org
