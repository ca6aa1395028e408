"""Readers for the reference traffic, and the key-shape comparison the replays assert.

- :func:`load_cassette` parses a VCR cassette from ``../shared/reference/ado-recordings``
  (real dev.azure.com traffic) into :class:`Interaction` records.
- :func:`load_http_example` parses an official ``httpExamples`` file of the REST specs.
- :func:`key_differences` compares two JSON values by their *keys*, not their values:
  dict keys must be the same sets at every level; a list is compared by the union of the
  keys of its dict elements (so a list of nine recorded queues and one emulated queue match
  when the queues have the same fields), and an empty list where the reference has objects
  is a difference (nothing would be compared); ``null`` on either side constrains nothing below it
  (the service sends ``null`` for absent structure, e.g. ``variableGroupProjectReferences``
  in a list answer); otherwise the JSON types must agree (an id sent as a string where the
  service sends a number is a difference, though the values themselves may differ).
- :class:`IdMap` carries ids and names from recorded answers to the emulator's answers, so
  later recorded requests can be rewritten to address what the emulator created.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import yaml

GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class Interaction:
    """One recorded request and the real service's answer."""

    cassette: str
    index: int
    method: str
    org: str
    path: str  # percent-encoded, as sent, starting with "/{org}"
    query: tuple[tuple[str, str], ...]
    accept: str
    request_json: Any
    status: int
    response_json: Any  # None for an empty body
    line: int  # line of this interaction's "- request:" in the cassette

    @property
    def segments(self) -> list[str]:
        """Percent-decoded path segments after the organisation."""
        return [unquote(s) for s in self.path.split("/")[2:] if s]

    @property
    def label(self) -> str:
        """A short id: ``test_variable_group.yaml#12 POST distributedtask/variablegroups``."""
        segments = self.segments
        start = segments.index("_apis") + 1 if "_apis" in segments else 0
        resource = "/".join(
            "{id}" if s.isdigit() or GUID.match(s) else s for s in segments[start : start + 3]
        )
        return f"{self.cassette}#{self.index} {self.method} {resource}"


def _json_or_none(text: str | None) -> Any:
    if text is None or not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def load_cassette(path: Path) -> list[Interaction]:
    """All interactions of one cassette, in recorded order."""
    text = path.read_text(encoding="utf-8")
    request_lines = [n for n, line in enumerate(text.splitlines(), 1) if line == "- request:"]
    interactions = []
    for index, entry in enumerate(yaml.safe_load(text)["interactions"]):
        request, response = entry["request"], entry["response"]
        url = urlsplit(request["uri"])
        body = response.get("body") or {}
        accept = request.get("headers", {}).get("Accept") or ["application/json"]
        interactions.append(
            Interaction(
                cassette=path.name,
                index=index,
                method=request["method"].upper(),
                org=url.path.split("/")[1],
                path=url.path,
                query=tuple(parse_qsl(url.query, keep_blank_values=True)),
                accept=accept[0],
                request_json=_json_or_none(request.get("body")),
                status=int(response["status"]["code"]),
                response_json=_json_or_none(body.get("string")),
                line=request_lines[index] if index < len(request_lines) else 0,
            )
        )
    return interactions


@dataclass(frozen=True)
class HttpExample:
    """One official example: the request and its documented answer."""

    file: str  # relative to ado-rest-7.1
    method: str
    org: str
    project: str | None
    path: str  # "/{org}/..." with the example's own names
    query: tuple[tuple[str, str], ...]
    accept: str
    request_json: Any
    status: int
    response_json: Any
    area: str
    resource: str


def load_http_example(path: Path, root: Path) -> HttpExample:
    """Parse one ``httpExamples/*.json`` file (``root`` is the ado-rest-7.1 folder).

    Two formats exist: generated ones name the method and put the api-version in
    ``parameters``; migrated ones (``x-ms-vss-format: 2``) carry it in the URL's query and
    name the method only in the file name (``GET__projects.json``).
    """
    doc = json.loads(path.read_text(encoding="utf-8-sig"))
    url = urlsplit(doc["x-ms-vss-request-url"])
    params = doc.get("parameters", {})
    status, response = next(iter(doc["responses"].items()))
    accept = params.get("accept") or "application/json"
    if "api-version" in params:
        accept = f"application/json; api-version={params['api-version']}"
    return HttpExample(
        file=path.relative_to(root).as_posix(),
        method=(doc.get("x-ms-vss-request-method") or path.name.split("_", 1)[0]).upper(),
        org=url.path.split("/")[1],
        project=params.get("project"),
        path=url.path,
        query=tuple(parse_qsl(url.query, keep_blank_values=True)),
        accept=accept,
        request_json=params.get("body"),
        status=int(status),
        response_json=response.get("body"),
        area=doc.get("x-ms-vss-area", ""),
        resource=doc.get("x-ms-vss-resource", ""),
    )


def merge_shapes(values: list[Any]) -> Any:
    """One value with the union of keys of all dict elements (recursively), else the first."""
    dicts = [v for v in values if isinstance(v, dict)]
    if dicts:
        merged: dict[str, list[Any]] = {}
        for d in dicts:
            for key, value in d.items():
                merged.setdefault(key, []).append(value)
        return {key: merge_shapes(vals) for key, vals in merged.items()}
    lists = [v for v in values if isinstance(v, list)]
    if lists:
        return [item for lst in lists for item in lst]
    return next((v for v in values if v is not None), None)


def _kind(value: Any) -> str:
    """The JSON type of a value (``null`` is handled before this is asked)."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"


def key_differences(
    expected: Any,
    actual: Any,
    documented: Callable[[tuple[str, ...]], set[str] | None] | None = None,
    retired: Callable[[tuple[str, ...], str], bool] | None = None,
    path: tuple[str, ...] = (),
) -> list[str]:
    """How the key structure of ``actual`` differs from ``expected`` (empty: the same).

    ``documented(path)``, when given, names the keys the reference schema documents at
    ``path`` (None: any key); an extra key it documents is not a difference.
    ``retired(path, key)``, when given, is true for a key of ``expected`` that newer
    reference traffic shows the service no longer returns; its absence is not a difference.
    Paths are tuples of keys with ``"[]"`` for "an element of this list".
    """
    where = "".join("[]" if p == "[]" else f".{p}" for p in path) or "(body)"
    if expected is None or actual is None:
        return []
    if _kind(expected) != _kind(actual):
        return [f"{where}: {_kind(actual)} where the reference has {_kind(expected)}"]
    if isinstance(expected, list):
        exp_items = [v for v in expected if isinstance(v, dict | list)]
        act_items = [v for v in actual if isinstance(v, dict | list)]
        if exp_items and not actual:
            return [f"{where}: empty where the reference has {len(expected)} items"]
        if not exp_items or not act_items:
            return []
        return key_differences(
            merge_shapes(exp_items), merge_shapes(act_items), documented, retired, (*path, "[]")
        )
    if not isinstance(expected, dict):
        return []
    problems = []
    missing = sorted(k for k in set(expected) - set(actual) if not (retired and retired(path, k)))
    extra = set(actual) - set(expected)
    if extra and documented is not None:
        allowed = documented(path)
        extra = set() if allowed is None else extra - allowed
    if missing:
        problems.append(f"{where}: missing keys {missing}")
    if extra:
        problems.append(f"{where}: extra keys {sorted(extra)}")
    for key in expected.keys() & actual.keys():
        problems += key_differences(expected[key], actual[key], documented, retired, (*path, key))
    return problems


def _is_id_key(key: str) -> bool:
    return key == "id" or (key.endswith("Id") and key != "templateTypeId")


@dataclass
class IdMap:
    """Recorded ids/names -> the emulator's, learned by walking answers side by side."""

    values: dict[str, Any] = field(default_factory=dict)

    def learn(self, recorded: Any, actual: Any) -> None:
        """Pair ids found at the same place in a recorded and an emulated answer."""
        if isinstance(recorded, dict) and isinstance(actual, dict):
            for key, rec_value in recorded.items():
                if key not in actual:
                    continue
                act_value = actual[key]
                if _is_id_key(key) and _scalar(rec_value) and _scalar(act_value):
                    if str(rec_value) != str(act_value):
                        self.values[str(rec_value)] = act_value
                else:
                    self.learn(rec_value, act_value)
        elif isinstance(recorded, list) and isinstance(actual, list):
            for rec_item, act_item in _align(recorded, actual):
                self.learn(rec_item, act_item)

    def segment(self, raw: str) -> str:
        """A path segment or query value with a recorded id replaced."""
        decoded = unquote(raw)
        return str(self.values[decoded]) if decoded in self.values else raw

    def query_value(self, key: str, value: str) -> str:
        """A query value with recorded ids replaced, for id parameters only (``id``,
        ``groupIds=1,2``, ``continuationToken``); ``$top=2`` stays 2."""
        lowered = key.lower()
        if lowered in ("id", "continuationtoken") or lowered.endswith(("id", "ids")):
            return ",".join(self.segment(part) for part in value.split(","))
        return value

    def body(self, value: Any, key: str = "") -> Any:
        """A recorded request body with the ids under id keys replaced."""
        if isinstance(value, dict):
            return {k: self.body(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.body(v, key) for v in value]
        if _is_id_key(key) and _scalar(value) and str(value) in self.values:
            mapped = self.values[str(value)]
            return str(mapped) if isinstance(value, str) else mapped
        return value


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool)


def _align(recorded: list, actual: list) -> list[tuple[Any, Any]]:
    """Pair list items by ``name`` when they have one, else by position if lengths agree."""
    named = all(isinstance(v, dict) and "name" in v for v in recorded + actual)
    if named:
        by_name = {v["name"].lower(): v for v in actual if isinstance(v["name"], str)}
        return [
            (v, by_name[v["name"].lower()])
            for v in recorded
            if isinstance(v["name"], str) and v["name"].lower() in by_name
        ]
    if len(recorded) == len(actual):
        return list(zip(recorded, actual, strict=True))
    return []
