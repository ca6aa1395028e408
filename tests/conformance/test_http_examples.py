"""Replay the official ``httpExamples`` of the REST specs against the emulator.

Each example runs on a fresh emulator. The state the example assumes is created first
through the API, from the example's own data: its projects (by name, from the URL and from
every ``projectReference``), the variable groups and service endpoints its request or answer
shows (so ``GET .../variablegroups/1`` reads a group created from that answer, with id 1
mapped to the emulator's id), and build definitions for the pipeline ids it authorizes.
Then the example's request is sent with the example's ``Accept``/api-version and must get
the documented status and keys.

The examples were generated against the service of their day (api-versions 1.0 to 7.1,
2017-2023): every key an example shows must be in the emulator's answer, and a key the
emulator adds is accepted when the 7.1 response schema of that operation documents it at
that place (the recordings are held to the exact key set instead).
"""

from __future__ import annotations

import copy
import time
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from bootstrap.emulator import Emulator
from tests.conformance.reference import (
    GUID,
    HttpExample,
    load_cassette,
    load_http_example,
    merge_shapes,
)
from tests.conformance.replay import (
    DEFAULT_QUEUE,
    PAT,
    REPORT,
    Outcome,
    Replayer,
    not_served_reason,
)
from tests.conftest import REPO_ROOT, SHARED
from tests.reference_schemas import RECORDER, Operation

SPECS = SHARED / "reference" / "ado-rest-7.1"
RECORDINGS = SHARED / "reference" / "ado-recordings"
SEEDED_SECRET = "seeded-secret-value"
DEFAULT_PROJECT = "batcomputer"
BASIC_PROCESS = "b8a3a935-7e91-48b8-a94c-606d37c3e9f2"  # the Basic process in the recordings


def _walk(value: Any):
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def _project_references(example: HttpExample) -> dict[str, str]:
    """Project id -> name, from every ``projectReference`` in the example."""
    refs = {}
    for node in _walk([example.request_json, example.response_json]):
        if isinstance(node, dict) and isinstance(node.get("projectReference"), dict):
            ref = node["projectReference"]
            if ref.get("id") and ref.get("name"):
                refs[ref["id"]] = ref["name"]
    return refs


def _path_project(example: HttpExample) -> str | None:
    segments = [s for s in example.path.split("/")[2:] if s]
    return segments[0] if segments and segments[0] != "_apis" else None


def example_projects(example: HttpExample) -> tuple[str, ...]:
    """Project names the emulator must have for this example (the default one first)."""
    names = [DEFAULT_PROJECT, *_project_references(example).values()]
    project = _path_project(example)
    if project and not GUID.match(project):
        names.append(project)
    if example.method == "POST" and example.path.lower().endswith("/_apis/projects"):
        names = [n for n in names if n != (example.request_json or {}).get("name")]
    return tuple(dict.fromkeys(names))


def _items(body: Any) -> list[dict]:
    if isinstance(body, dict) and isinstance(body.get("value"), list):
        return [v for v in body["value"] if isinstance(v, dict)]
    if isinstance(body, list):
        return [v for v in body if isinstance(v, dict)]
    return [body] if isinstance(body, dict) else []


class ExampleSetup:
    """Creates, through the API, what one example assumes exists; maps its ids."""

    def __init__(self, replayer: Replayer, example: HttpExample) -> None:
        self.replayer = replayer
        self.example = example
        self.projects: dict[str, str] = {}  # name -> emulator id

    def run(self) -> None:
        self._map_projects()
        resource = self.example.resource.lower()
        area = self.example.area.lower()
        if area == "distributedtask" and resource == "variablegroups":
            self._seed(self._variable_group_body, "variablegroups", "variables")
        elif area == "serviceendpoint" and resource == "endpoints":
            self._seed(self._service_endpoint_body, "endpoints", "authorization")
        elif area == "pipelinepermissions":
            self._map_protected_resources()
        elif self.example.method == "GET" and self.example.path.lower().endswith("/_apis/projects"):
            self._seed_projects()

    def _send(self, method: str, segments: list[str], body: Any = None, query=()) -> Any:
        status, answer, sent = self.replayer.send(
            method, segments, query, body, "application/json; api-version=7.1"
        )
        assert 200 <= status < 300, f"setup {sent} answered {status}: {answer}"
        return answer

    def _map_projects(self) -> None:
        listing = self._send("GET", ["_apis", "projects"])
        self.projects = {p["name"]: p["id"] for p in listing["value"]}
        for ref_id, name in _project_references(self.example).items():
            if name in self.projects:
                self.replayer.ids.values[ref_id] = self.projects[name]
        default = self.projects[DEFAULT_PROJECT]
        project = _path_project(self.example)
        if project and GUID.match(project) and project not in self.replayer.ids.values:
            self.replayer.ids.values[project] = default
        for key, value in self.example.query:
            if key == "projectIds" and value not in self.replayer.ids.values:
                self.replayer.ids.values[value] = default

    def _target_project(self, recorded: dict | None = None) -> tuple[str, str]:
        """(id, name) of the project a seeded resource belongs to.

        The resource's own recorded project reference if it has one, else the project in
        the example's URL, else the default project.
        """
        refs = (recorded or {}).get("serviceEndpointProjectReferences") or (recorded or {}).get(
            "variableGroupProjectReferences"
        )
        candidates = [r.get("projectReference", {}).get("name") for r in refs or []]
        path_project = _path_project(self.example)
        if path_project and GUID.match(path_project):
            mapped = self.replayer.ids.values.get(path_project)
            path_project = next((n for n, i in self.projects.items() if i == mapped), None)
        candidates += [path_project, DEFAULT_PROJECT]
        name = next(n for n in candidates if n in self.projects)
        return self.projects[name], name

    def _resources_to_seed(self, marker: str) -> list[dict]:
        """Resources (dicts with ``marker``) the example reads or changes but does not create."""
        method, example = self.example.method, self.example
        if method == "POST":
            return []
        sources = [example.request_json] if method == "PUT" else []
        sources.append(example.response_json)
        found = {}
        for source in sources:
            for item in _items(source):
                if marker in item and "id" in item:
                    found.setdefault(str(item["id"]), item)
        segments = [s for s in example.path.split("/") if s]
        last = segments[-1]
        if not found and (last.isdigit() or GUID.match(last)):
            found[last] = {"id": last, "name": f"example-{last[:8]}"}
        return list(found.values())

    def _seed(self, make_body, collection: str, marker: str) -> None:
        area = "distributedtask" if collection == "variablegroups" else "serviceendpoint"
        for recorded in self._resources_to_seed(marker):
            created = self._send("POST", ["_apis", area, collection], make_body(recorded))
            self.replayer.ids.values[str(recorded["id"])] = created["id"]

    def _project_reference(self, recorded: dict) -> dict:
        project_id, project = self._target_project(recorded)
        return {"projectReference": {"id": project_id, "name": project}, "name": recorded["name"]}

    def _variable_group_body(self, recorded: dict) -> dict:
        variables = {
            key: {
                "value": SEEDED_SECRET if value.get("value") is None else value["value"],
                "isSecret": bool(value.get("isSecret")),
            }
            for key, value in (recorded.get("variables") or {"var": {"value": "v"}}).items()
        }
        return {
            "name": recorded["name"],
            "description": recorded.get("description", ""),
            "type": recorded.get("type", "Vsts"),
            "variables": variables,
            "variableGroupProjectReferences": [self._project_reference(recorded)],
        }

    def _service_endpoint_body(self, recorded: dict) -> dict:
        authorization = copy.deepcopy(
            recorded.get("authorization")
            or {"scheme": "UsernamePassword", "parameters": {"username": "u"}}
        )
        parameters = authorization.setdefault("parameters", {})
        for key, value in list(parameters.items()):
            if value is None:
                parameters[key] = SEEDED_SECRET
        if authorization.get("scheme") == "UsernamePassword":
            parameters.setdefault("password", SEEDED_SECRET)
        return {
            "name": recorded["name"],
            "type": recorded.get("type", "Generic"),
            "url": recorded.get("url", "https://example.invalid"),
            "data": recorded.get("data", {}),
            "description": recorded.get("description", ""),
            "authorization": authorization,
            "isShared": False,
            "serviceEndpointProjectReferences": [self._project_reference(recorded)],
        }

    def _seed_projects(self) -> None:
        """Create the listed projects (with their descriptions) and wait for each."""
        for project in _items(self.example.response_json):
            if project["name"] in self.projects:
                continue
            body = {
                "name": project["name"],
                "capabilities": {
                    "versioncontrol": {"sourceControlType": "Git"},
                    "processTemplate": {"templateTypeId": BASIC_PROCESS},
                },
            }
            if "description" in project:
                body["description"] = project["description"]
            operation = self._send("POST", ["_apis", "projects"], body)
            for _ in range(100):
                status = self._send("GET", ["_apis", "operations", operation["id"]])["status"]
                if status in ("succeeded", "failed", "cancelled"):
                    break
                time.sleep(0.05)
            assert status == "succeeded", f"setup: creating project {project['name']}: {status}"

    def _map_protected_resources(self) -> None:
        """Queue ids to the project's hosted queue; pipeline ids to definitions made here.

        The pipelines the example's answer lists as authorized were authorized before the
        example's request, so they are authorized here first.
        """
        _, project = self._target_project()
        queues = self._send(
            "GET",
            [project, "_apis", "distributedtask", "queues"],
            query=[("queueNames", DEFAULT_QUEUE)],
        )
        pipelines = set()
        for node in _walk([self.example.request_json, self.example.response_json]):
            if not isinstance(node, dict):
                continue
            resource = node.get("resource")
            if isinstance(resource, dict) and resource.get("type") == "queue":
                self.replayer.ids.values[str(resource["id"])] = str(queues["value"][0]["id"])
            for pipeline in node.get("pipelines") or []:
                pipelines.add(pipeline["id"])
        repo = self._send("GET", [project, "_apis", "git", "repositories", project])
        for pipeline_id in sorted(pipelines):
            created = self._send(
                "POST",
                [project, "_apis", "build", "definitions"],
                {
                    "name": f"example-pipeline-{pipeline_id}",
                    "path": "\\",
                    "process": {"type": 2, "yamlFilename": "azure-pipelines.yml"},
                    "repository": {"id": repo["id"], "name": repo["name"], "type": "TfsGit"},
                    "queue": {"id": queues["value"][0]["id"]},
                },
            )
            self.replayer.ids.values[str(pipeline_id)] = created["id"]
        for permissions in _items(self.example.response_json):
            resource = permissions.get("resource") or {}
            authorized = [p for p in permissions.get("pipelines") or [] if p.get("authorized")]
            if not authorized:
                continue
            status, answer, sent = self.replayer.send(
                "PATCH",
                [
                    project,
                    "_apis",
                    "pipelines",
                    "pipelinePermissions",
                    resource["type"],
                    resource["id"],
                ],
                body={"pipelines": [{"id": p["id"], "authorized": True} for p in authorized]},
                accept=self.example.accept,
            )
            assert status == 200, f"setup {sent} answered {status}: {answer}"


@cache
def recorded_shapes() -> dict[str, Any]:
    """Definition name -> the union of keys of every recorded answer of that definition.

    The recordings are the real service of 2025; where an older example shows a key that
    the recorded answers of the same definition never have at the same place, the service
    has stopped returning it.
    """
    shapes: dict[str, list[Any]] = {}
    for cassette in sorted(RECORDINGS.glob("*.yaml")):
        for it in load_cassette(cassette):
            if not 200 <= it.status < 300 or not isinstance(it.response_json, dict):
                continue
            match = RECORDER.index.match(it.method, "/".join(["", it.org, *it.segments]))
            name = match and RECORDER.index.item_definition(match.operation)
            if name:
                shapes.setdefault(name, []).extend(_items(it.response_json))
    return {name: merge_shapes(items) for name, items in shapes.items()}


def retired_by_recordings(op: Operation, notes: list[str]):
    """A ``retired`` check (see ``key_differences``) for the answers of ``op``."""
    shape = recorded_shapes().get(RECORDER.index.item_definition(op) or "")
    array = RECORDER.index.is_array(op)

    def retired(path: tuple[str, ...], key: str) -> bool:
        steps = list(path[2:] if array and path[:2] == ("value", "[]") else path)
        node = shape
        for step in steps:
            if step == "[]" and isinstance(node, list):
                node = merge_shapes(node)
            elif step != "[]" and isinstance(node, dict):
                node = node.get(step)
            else:
                return False
        if isinstance(node, dict) and node and key not in node:
            notes.append(".".join((*path, key)).replace(".[]", "[]"))
            return True
        return False

    return retired


def replay_example(example: HttpExample) -> Outcome:
    label = example.file.split("/httpExamples/")[-1]
    reference = f"ado-rest-7.1/{example.file}"
    segments = [s for s in example.path.split("/")[2:] if s]
    reason = not_served_reason(example.method, segments)
    if reason:
        outcome = Outcome(label, reference, skipped=reason)
        REPORT.examples[label] = outcome
        return outcome
    with Emulator(
        org="demo",
        projects=example_projects(example),
        pats=(PAT,),
        repo_dir=REPO_ROOT,
        observer=RECORDER.observe,
    ) as emu:
        replayer = Replayer(emu.url, example.org)
        ExampleSetup(replayer, example).run()
        match = RECORDER.index.match(example.method, example.path, dict(example.query))
        notes: list[str] = []
        documented = retired = None
        if match:
            op = match.operation
            documented = lambda path: RECORDER.index.documented_keys(op, path)  # noqa: E731
            retired = retired_by_recordings(op, notes)
        outcome = replayer.replay(
            label,
            reference,
            example.method,
            segments,
            example.query,
            example.request_json,
            example.accept,
            example.status,
            example.response_json,
            documented,
            retired,
        )
        if notes:
            outcome.notes.append(
                f"missing {', '.join(sorted(set(notes)))}: the recorded answers of the same "
                "definition (ado-recordings, the real service in 2025) never have them"
            )
    REPORT.examples[label] = outcome
    return outcome


def _examples() -> list[Path]:
    return sorted(SPECS.glob("*/7.1/httpExamples/*/*.json"))


def _params():
    if not SPECS.is_dir():
        return [pytest.param(None, id="specs-absent")]
    return [
        pytest.param(p, id=p.relative_to(SPECS).as_posix().split("/7.1/")[0] + "/" + p.name)
        for p in _examples()
    ]


@pytest.mark.parametrize("path", _params())
def test_http_example_replays_with_documented_status_and_keys(path: Path | None):
    if path is None:
        pytest.skip(f"{SPECS} is absent: these tests need the shared reference material")
    outcome = replay_example(load_http_example(path, SPECS))
    if outcome.skipped:
        pytest.skip(outcome.skipped)
    assert outcome.ok and not outcome.schema_failures, outcome.explain()


def test_example_projects_come_from_the_url_and_project_references():
    root = SPECS if SPECS.is_dir() else pytest.skip(f"{SPECS} is absent")
    share = load_http_example(
        root / "serviceEndpoint/7.1/httpExamples/endpoints/ShareServiceEndpoint.json", root
    )
    assert example_projects(share) == (DEFAULT_PROJECT, "TestProject2")
    create = load_http_example(root / "core/7.1/httpExamples/projects/POST__projects.json", root)
    assert example_projects(create) == (DEFAULT_PROJECT,)
    group = load_http_example(
        root / "distributedTask/7.1/httpExamples/variablegroups/GET_VariableGroup.json", root
    )
    assert example_projects(group) == (DEFAULT_PROJECT, "VGDemo")
