"""Replay the real dev.azure.com recordings against the emulator: same status, same keys.

Each cassette in ``../shared/reference/ado-recordings`` runs once, in recorded order, on a
fresh emulator whose organisation stands in for the recorded one. Projects the cassette
creates are created by replaying it; projects it only uses are passed to the emulator at
start; build definitions it reads before creating any (the recording organisation's
existing state) are created first through the API from their recorded bodies. Each
interaction is then one test: the status must be the recorded one and the JSON keys the
same at every level (values such as ids, dates and URLs may differ), and the emulator's
answer must validate against the reference schema (``tests.reference_schemas``).
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

import pytest

from bootstrap.emulator import Emulator
from tests.conformance.reference import GUID, Interaction, load_cassette
from tests.conformance.replay import (
    DEFAULT_QUEUE,
    PAT,
    RECORDING_ARTEFACTS,
    REPORT,
    Outcome,
    Replayer,
    not_served_reason,
)
from tests.conftest import REPO_ROOT, SHARED
from tests.reference_schemas import RECORDER

RECORDINGS = SHARED / "reference" / "ado-recordings"

# Keys an emulator answer may have beyond the recorded ones because the recording caught a
# state the emulator cannot be in: (cassette, index) -> (path, keys, why).
STATE_DEPENDENT_KEYS: dict[tuple[str, int], tuple[tuple[str, ...], set[str], str]] = {
    ("test_pipeline_create_and_variables_test.yaml", 7): (
        ("value", "[]"),
        {"defaultBranch"},
        "the recorded repository was still empty (its first commits arrive with the import "
        "request of #8), and an empty repository has no default branch; the emulator's "
        "repository always serves --repo-dir's content on main",
    ),
}


def _interactions() -> list[Interaction]:
    return [i for path in sorted(RECORDINGS.glob("*.yaml")) for i in load_cassette(path)]


def _definitions_in(body) -> list[dict]:
    items = body.get("value", [body]) if isinstance(body, dict) else []
    return [
        d
        for d in items
        if isinstance(d, dict) and str(d.get("uri", "")).startswith("vstfs:///Build/Definition/")
    ]


def preexisting_definitions(interactions: list[Interaction]) -> list[tuple[str, dict]]:
    """(project, fullest recorded body) of definitions read before the cassette creates one."""
    found: dict[int, tuple[str, dict]] = {}
    for it in interactions:
        if it.method == "POST" and it.segments[-2:] == ["build", "Definitions"]:
            break
        for definition in _definitions_in(it.response_json):
            known = found.get(definition["id"], ("", {}))[1]
            if len(definition) > len(known):
                found[definition["id"]] = (it.segments[0], definition)
    return [found[key] for key in sorted(found)]


def referenced_projects(interactions: list[Interaction]) -> list[str]:
    """Project names the cassette uses in paths but never creates (they existed already)."""
    created = {
        it.request_json.get("name")
        for it in interactions
        if it.method == "POST" and it.segments == ["_apis", "projects"]
    }
    used = []
    for it in interactions:
        first = it.segments[0] if it.segments else "_apis"
        if first == "_apis" or GUID.match(first) or first in created or first in used:
            continue
        used.append(first)
    return used


def seed_definitions(replayer: Replayer, interactions: list[Interaction]) -> None:
    """Create the definitions the recording organisation already had, mapping their ids."""
    seeds = preexisting_definitions(interactions)
    if not seeds:
        return
    template = max((body for _, body in seeds), key=len)
    for project, recorded in seeds:
        status, repo, _ = replayer.send("GET", [project, "_apis", "git", "repositories", project])
        assert status == 200, f"seeding: the project repository of {project} answered {status}"
        status, queues, _ = replayer.send(
            "GET", [project, "_apis", "distributedtask", "queues"], [("queueNames", DEFAULT_QUEUE)]
        )
        assert status == 200 and queues["value"], f"seeding: no {DEFAULT_QUEUE} queue"
        repository = {"id": repo["id"], "name": repo["name"], "type": "TfsGit"}
        recorded_repository = template.get("repository") or {}
        if "properties" in recorded_repository:  # set by the web UI that made these
            repository["properties"] = {
                **recorded_repository["properties"],
                "fullName": repo["name"],
                "safeRepository": repo["id"],
            }
        body = {key: copy.deepcopy(template.get(key)) for key in template if key in recorded}
        body.update(
            {
                "name": recorded["name"],
                "path": recorded.get("path", "\\"),
                "process": template.get("process", {"type": 2, "yamlFilename": "azure.yml"}),
                "repository": repository,
                "queue": {"id": queues["value"][0]["id"]},
            }
        )
        for server_field in ("id", "url", "uri", "_links", "revision", "createdDate", "project"):
            body.pop(server_field, None)
        status, created, sent = replayer.send(
            "POST", [project, "_apis", "build", "definitions"], body=body
        )
        assert status == 200, f"seeding {sent}: {status} {created}"
        replayer.ids.values[str(recorded["id"])] = created["id"]


@cache
def replay_cassette(name: str) -> dict[int, Outcome]:
    """Run one cassette on a fresh emulator; outcomes by interaction index."""
    interactions = load_cassette(RECORDINGS / name)
    projects = tuple(referenced_projects(interactions)) or ("batcomputer",)
    outcomes: dict[int, Outcome] = {}
    with Emulator(
        org="demo",
        projects=projects,
        pats=(PAT,),
        repo_dir=REPO_ROOT,
        observer=RECORDER.observe,
    ) as emu:
        replayer = Replayer(emu.url, interactions[0].org)
        seed_definitions(replayer, interactions)
        for it in interactions:
            reason = RECORDING_ARTEFACTS.get((it.cassette, it.index)) or not_served_reason(
                it.method, it.segments
            )
            if reason:
                outcome = Outcome(it.label, f"ado-recordings/{it.cassette}:{it.line}")
                outcome.skipped = reason
            elif (it.cassette, it.index) in STATE_DEPENDENT_KEYS:
                where, keys, why = STATE_DEPENDENT_KEYS[it.cassette, it.index]
                outcome = replayer.replay_interaction(
                    it, lambda path, where=where, keys=keys: keys if path == where else set()
                )
                outcome.notes.append(f"extra {sorted(keys)} at {'.'.join(where)}: {why}")
            else:
                outcome = replayer.replay_interaction(it)
            outcomes[it.index] = outcome
            REPORT.interactions[it.label] = outcome
    return outcomes


def _params():
    if not RECORDINGS.is_dir():
        return [pytest.param(None, id="recordings-absent")]
    return [pytest.param(i, id=i.label) for i in _interactions()]


@pytest.mark.parametrize("interaction", _params())
def test_recorded_interaction_replays_with_same_status_and_keys(interaction: Interaction | None):
    if interaction is None:
        pytest.skip(f"{RECORDINGS} is absent: these tests need the shared reference material")
    outcome = replay_cassette(interaction.cassette)[interaction.index]
    if outcome.skipped:
        pytest.skip(outcome.skipped)
    assert outcome.ok and not outcome.schema_failures, outcome.explain()


def test_recorded_projects_referenced_but_not_created_are_found():
    interactions = load_cassette(_cassette("test_build_definition_listShow.yaml"))
    assert referenced_projects(interactions) == ["buildtests"]
    seeds = preexisting_definitions(interactions)
    assert [(project, body["id"]) for project, body in seeds] == [
        ("buildtests", 20),
        ("buildtests", 22),
    ]
    assert "process" in seeds[0][1]  # the full GET answer wins over the list's shallow one


def test_recorded_cassettes_that_create_their_project_need_no_seed():
    interactions = load_cassette(_cassette("test_variable_group.yaml"))
    assert referenced_projects(interactions) == []
    assert preexisting_definitions(interactions) == []


def _cassette(name: str) -> Path:
    path = RECORDINGS / name
    if not path.exists():
        pytest.skip(f"{path} is absent: these tests need the shared reference material")
    return path
