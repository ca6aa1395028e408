"""Pipelines: list/get pipelines (the YAML build definitions) and run them.

A run is recorded as a queued build of the definition (the service keeps them as one thing),
so ``bootstrap up --run`` and the build API see the same id and state.
"""

from __future__ import annotations

from typing import Any

from bootstrap.emulator import errors
from bootstrap.emulator.routes import Ctx, Reply, collection, require_project, route
from bootstrap.emulator.routes.build import queue_run

PIPELINES = "28e1305e-2afe-47bf-abaf-cbb0e6a91988"
RUNS = "7859261e-d2e9-4a68-b820-a5d84cc5bb3d"
STATES = {
    "notStarted": "inProgress",
    "inProgress": "inProgress",
    "completed": "completed",
    "cancelling": "canceling",
}


def _pipeline(ctx: Ctx, project: dict, pipeline_id: Any) -> dict:
    definition = ctx.store.state["definitions"].get(str(pipeline_id))
    if definition is None or definition["deleted"] or definition["projectId"] != project["id"]:
        raise errors.ApiFailure(
            404,
            "PipelineNotFoundException",
            f"Pipeline with id {pipeline_id} not found.",
            namespace="Microsoft.Azure.Pipelines.WebApi",
        )
    return definition


def _pipeline_body(ctx: Ctx, definition: dict) -> dict[str, Any]:
    project_url = f"{ctx.url}/{definition['projectId']}"
    url = f"{project_url}/_apis/pipelines/{definition['id']}?revision={definition['revision']}"
    return {
        "_links": {
            "self": {"href": url},
            "web": {"href": f"{project_url}/_build/definition?definitionId={definition['id']}"},
        },
        "url": url,
        "id": definition["id"],
        "revision": definition["revision"],
        "name": definition["name"],
        "folder": definition["path"],
    }


def _run_body(ctx: Ctx, definition: dict, build: dict) -> dict[str, Any]:
    base = (
        f"{ctx.url}/{definition['projectId']}/_apis/pipelines/{definition['id']}/runs/{build['id']}"
    )
    pipeline = _pipeline_body(ctx, definition)
    pipeline.pop("_links")
    body: dict[str, Any] = {
        "_links": {
            "self": {"href": base},
            "web": {
                "href": f"{ctx.url}/{definition['projectId']}/_build/results?buildId={build['id']}"
            },
            "pipeline": {"href": pipeline["url"]},
        },
        "templateParameters": build.get("templateParameters") or {},
        "pipeline": pipeline,
        "state": STATES.get(build["status"], "inProgress"),
        "createdDate": build["queueTime"],
        "url": base,
        "resources": {
            "repositories": {
                "self": {
                    "repository": {"id": definition["repository"]["id"], "type": "azureReposGit"},
                    "refName": build["sourceBranch"],
                    "version": build["sourceVersion"],
                }
            }
        },
        "id": build["id"],
        "name": build["buildNumber"],
    }
    if build.get("result"):
        body["result"] = build["result"]
    return body


@route("GET", "{project}/_apis/pipelines/{pipelineId?}", "pipelines.pipelines.get", PIPELINES)
def get_pipelines(ctx: Ctx) -> Reply:
    project = require_project(ctx)
    if "pipelineId" in ctx.params:
        return Reply(_pipeline_body(ctx, _pipeline(ctx, project, ctx.params["pipelineId"])))
    found = [
        d
        for d in ctx.store.state["definitions"].values()
        if d["projectId"] == project["id"] and not d["deleted"]
    ]
    return collection([_pipeline_body(ctx, d) for d in sorted(found, key=lambda d: d["id"])])


@route("POST", "{project}/_apis/pipelines/{pipelineId}/runs", "pipelines.runs.run", RUNS)
def run_pipeline(ctx: Ctx) -> Reply:
    project = require_project(ctx)
    definition = _pipeline(ctx, project, ctx.params["pipelineId"])
    body = ctx.body if isinstance(ctx.body, dict) else {}
    self_repo = ((body.get("resources") or {}).get("repositories") or {}).get("self") or {}
    build = queue_run(
        ctx,
        project,
        definition,
        self_repo.get("refName"),
        templateParameters=body.get("templateParameters") or {},
    )
    return Reply(_run_body(ctx, definition, build))


@route("GET", "{project}/_apis/pipelines/{pipelineId}/runs/{runId?}", "pipelines.runs.get", RUNS)
def get_runs(ctx: Ctx) -> Reply:
    project = require_project(ctx)
    definition = _pipeline(ctx, project, ctx.params["pipelineId"])
    builds = [
        b for b in ctx.store.state["builds"].values() if b["definitionId"] == definition["id"]
    ]
    if "runId" in ctx.params:
        build = next((b for b in builds if str(b["id"]) == ctx.params["runId"]), None)
        if build is None:
            raise errors.ApiFailure(
                404,
                "PipelineRunNotFoundException",
                f"Run with id {ctx.params['runId']} not found.",
                namespace="Microsoft.Azure.Pipelines.WebApi",
            )
        return Reply(_run_body(ctx, definition, build))
    return collection(
        [_run_body(ctx, definition, b) for b in sorted(builds, key=lambda b: b["id"], reverse=True)]
    )
