"""Validate every emulator response against the official Azure DevOps REST 7.1 swagger specs.

:data:`RECORDER` is the session-wide :class:`SchemaRecorder`. The ``emulator`` fixtures pass
``observer=RECORDER.observe``, so the emulator hands over one exchange per answered request
(method, percent-decoded path, query, status, request/response JSON, route id) and the
response is validated at once, in the emulator's own thread, against the response schema of
the matching operation in ``../shared/reference/ado-rest-7.1/*/7.1/*.json``.

How a request finds its operation (:class:`SpecIndex`):

- the path is matched segment by segment (case-insensitive, as the service routes) against
  every path template of the six specs, ``paths`` and ``x-ms-paths`` (whose ``?a={a}`` suffix
  names query keys that select the operation); an operation whose *required* query
  parameters are missing from the request does not match;
- among several matches the most specific wins: more selecting query keys first, then a
  literal segment over a ``{variable}`` at the first position where they differ (so
  ``pipelines/pipelinepermissions/...`` beats ``pipelines/{pipelineId}/runs/...``);
- fallbacks for routes the real service still answers but 7.1 documents elsewhere: a
  GET template whose last segment is a variable also matches without it (ADO's optional
  trailing route values, e.g. ``GET _apis/build/folders``); a required query parameter
  may come as one more path segment instead (``PUT _apis/build/folders/{path}``, the
  pre-5.0 form the recordings use); and a project-scoped request
  matches the organisation-level operation of the same resource (the pre-7.0
  ``{project}/_apis/distributedtask/variablegroups`` POST/PUT/DELETE routes), where the
  project in the path stands for a required ``projectIds`` query.

How a body is validated: swagger 2.0 schemas are JSON Schema draft 4 with ``#/definitions``
refs, validated with ``jsonschema`` against the spec document's own definitions. Two wire
facts the specs do not model are applied, both documented by the official examples and the
recordings in ``../shared/reference``: a ``null`` value is accepted wherever a type or enum
is declared (swagger 2.0 cannot say "nullable", and the service sends ``null`` for, e.g., a
secret's value), and a collection answer ``{"count": N, "value": [...]}`` for an operation
whose schema is an array is validated item by item (and ``count`` must equal the length).
Successes are documented as ``200`` only; a ``2xx`` with a body uses that schema (e.g. 202
from a project create). Responses without a body or without a reference schema (errors,
discovery, Git, operations) are counted, not validated.

``observe`` never raises (it runs inside the emulator's request handler); failures are
collected and :meth:`SchemaRecorder.assert_clean` raises for the ones not yet reported, so
the ``emulator`` fixture's teardown fails the test that produced an invalid body.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema import Draft4Validator

SPEC_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "reference" / "ado-rest-7.1"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "options", "head")


def _nullable(name: str):
    """Wrap a draft-4 keyword so that ``null`` satisfies it (see the module docstring)."""
    original = Draft4Validator.VALIDATORS[name]

    def keyword(validator, value, instance, schema):
        if instance is None:
            return
        yield from original(validator, value, instance, schema)

    return keyword


WireValidator = jsonschema.validators.extend(
    Draft4Validator, {"type": _nullable("type"), "enum": _nullable("enum")}
)


@dataclass(frozen=True)
class Operation:
    """One swagger operation: where it lives and what it answers."""

    spec: str  # spec file relative to SPEC_DIR, e.g. "build/7.1/build.json"
    area: str  # x-ms-vss-area
    method: str  # upper case
    template: str  # path template without the x-ms-paths query suffix
    operation_id: str
    selecting_query: frozenset[str]  # lower-cased keys from an x-ms-paths "?a={a}" suffix
    required_query: frozenset[str]  # lower-cased required query parameters
    resource: str  # x-ms-vss-resource
    line: int  # line of the path template in the spec file (for findings)

    @cached_property
    def segments(self) -> tuple[str, ...]:
        return tuple(s for s in self.template.split("/") if s)

    @property
    def name(self) -> str:
        return f"{self.area} {self.operation_id}"


@dataclass(frozen=True)
class Match:
    """A request matched to an operation; ``via`` names the fallback used, if any."""

    operation: Operation
    via: str = ""


def _is_variable(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def _segments_match(template: tuple[str, ...], path: list[str]) -> bool:
    if len(template) != len(path):
        return False
    return all(
        _is_variable(t) or t.lower() == p.lower() for t, p in zip(template, path, strict=True)
    )


def _specificity(op: Operation) -> tuple:
    """Sort key: more selecting query keys, then literals before variables, left to right."""
    return (-len(op.selecting_query), tuple(1 if _is_variable(s) else 0 for s in op.segments))


class SpecIndex:
    """All operations of the reference specs, and the schemas of their 200 responses."""

    def __init__(self, spec_dir: Path = SPEC_DIR) -> None:
        self.spec_dir = spec_dir
        self.documents: dict[str, dict] = {}
        self.operations: list[Operation] = []
        self._validators: dict[tuple[str, str, str], Draft4Validator | None] = {}
        self._documented: dict[tuple[Operation, tuple[str, ...]], set[str] | None] = {}
        self._derived: dict[tuple[str, str], list[str]] = {}
        for path in sorted(spec_dir.glob("*/7.1/*.json")):
            self._load(path)

    def _load(self, path: Path) -> None:
        text = path.read_text(encoding="utf-8-sig")
        doc = json.loads(text)
        rel = path.relative_to(self.spec_dir).as_posix()
        self.documents[rel] = doc
        lines = text.splitlines()
        area = doc.get("x-ms-vss-area", path.parent.parent.name)
        for section in ("paths", "x-ms-paths"):
            for raw_template, item in doc.get(section, {}).items():
                template, _, query = raw_template.partition("?")
                selecting = frozenset(
                    part.split("=", 1)[0].lower() for part in query.split("&") if part
                )
                needle = json.dumps(raw_template)
                line = next((n for n, text in enumerate(lines, 1) if needle in text), 0)
                for method, op in item.items():
                    if method not in HTTP_METHODS:
                        continue
                    required = frozenset(
                        p["name"].lower()
                        for p in op.get("parameters", [])
                        if p.get("in") == "query" and p.get("required")
                    )
                    self.operations.append(
                        Operation(
                            spec=rel,
                            area=area,
                            method=method.upper(),
                            template=template,
                            operation_id=op.get("operationId", f"{method} {template}"),
                            selecting_query=selecting,
                            required_query=required | selecting,
                            resource=op.get("x-ms-vss-resource", ""),
                            line=line,
                        )
                    )

    def match(self, method: str, path: str, query: dict[str, str] | None = None) -> Match | None:
        """The operation answering ``method path?query``, or None when no spec covers it."""
        method = method.upper()
        keys = {k.lower() for k in (query or {})}
        segments = [s for s in path.split("/") if s]
        candidates = [
            op for op in self.operations if op.method == method and op.required_query <= keys
        ]
        exact = [op for op in candidates if _segments_match(op.segments, segments)]
        if exact:
            return Match(min(exact, key=_specificity))
        trailing = [
            op
            for op in candidates
            if method == "GET"
            and op.segments
            and _is_variable(op.segments[-1])
            and _segments_match(op.segments[:-1], segments)
        ]
        if trailing:
            return Match(min(trailing, key=_specificity), via="optional trailing route value")
        as_route_value = [
            op
            for op in self.operations
            if op.method == method
            and len(op.required_query - keys) == 1
            and _segments_match(op.segments, segments[:-1])
        ]
        if as_route_value:
            return Match(
                min(as_route_value, key=_specificity), via="required query as a route value"
            )
        if len(segments) > 2 and segments[2].lower() == "_apis":
            org_level = [segments[0], *segments[2:]]
            lifted = [
                op
                for op in self.operations
                if op.method == method
                and op.required_query - {"projectids"} <= keys
                and op.segments[:2] == ("{organization}", "_apis")
                and _segments_match(op.segments, org_level)
            ]
            if lifted:
                return Match(min(lifted, key=_specificity), via="project-scoped route")
        return None

    def validator(self, op: Operation, kind: str = "body") -> Draft4Validator | None:
        """A validator for the operation's 200 schema (``kind="item"``: its array items)."""
        key = (op.spec, op.template + op.operation_id + op.method, kind)
        if key not in self._validators:
            self._validators[key] = self._build_validator(op, kind)
        return self._validators[key]

    def response_schema(self, op: Operation) -> dict | None:
        doc = self.documents[op.spec]
        paths = {**doc.get("paths", {}), **doc.get("x-ms-paths", {})}
        for raw_template, item in paths.items():
            if raw_template.partition("?")[0] != op.template:
                continue
            spec_op = item.get(op.method.lower())
            if spec_op and spec_op.get("operationId") == op.operation_id:
                return spec_op.get("responses", {}).get("200", {}).get("schema")
        return None

    def resolve(self, op: Operation, schema: dict) -> dict:
        """Follow a top-level ``$ref`` of ``schema`` within the operation's document."""
        doc = self.documents[op.spec]
        while isinstance(schema, dict) and "$ref" in schema:
            name = schema["$ref"].removeprefix("#/definitions/")
            schema = doc["definitions"][name]
        return schema

    def _build_validator(self, op: Operation, kind: str) -> Draft4Validator | None:
        schema = self.response_schema(op)
        if schema is None:
            return None
        if kind == "item":
            schema = self.resolve(op, schema).get("items")
            if schema is None:
                return None
        wrapped = {"definitions": self.documents[op.spec].get("definitions", {}), **schema}
        return WireValidator(wrapped)

    def item_definition(self, op: Operation) -> str | None:
        """Name of the definition the operation answers (of its items, for an array)."""
        schema = self.response_schema(op) or {}
        if "$ref" not in schema:
            schema = self.resolve(op, schema).get("items") or {}
        ref = schema.get("$ref", "")
        return ref.removeprefix("#/definitions/") or None

    def is_array(self, op: Operation) -> bool:
        schema = self.response_schema(op)
        return schema is not None and self.resolve(op, schema).get("type") == "array"

    def _subtypes(self, op: Operation, name: str) -> list[str]:
        """Definitions deriving from ``name`` (``allOf`` naming it): the wire carries theirs."""
        key = (op.spec, name)
        if key not in self._derived:
            ref = f"#/definitions/{name}"
            self._derived[key] = [
                sub
                for sub, schema in self.documents[op.spec].get("definitions", {}).items()
                if any(part.get("$ref") == ref for part in schema.get("allOf", []))
            ]
        return self._derived[key]

    def _properties(self, op: Operation, schema: dict, subtypes: bool = True) -> dict[str, Any]:
        """Declared properties of an object schema: its ``allOf`` parts and, for a named
        definition, those of the definitions derived from it (swagger 2.0 models the
        service's polymorphic types, e.g. ``YamlProcess`` for a ``BuildProcess``, that way).
        """
        name = schema.get("$ref", "").removeprefix("#/definitions/")
        resolved = self.resolve(op, schema)
        properties = dict(resolved.get("properties", {}))
        for part in resolved.get("allOf", []):
            properties.update(self._properties(op, part, subtypes=False))
        if subtypes and name:
            for sub in self._subtypes(op, name):
                properties.update(self._properties(op, {"$ref": f"#/definitions/{sub}"}, False))
        return properties

    def documented_keys(self, op: Operation, path: tuple[str, ...]) -> set[str] | None:
        """Keys the 200 schema documents for the object at ``path`` (None: any key).

        ``path`` is a tuple of keys with ``"[]"`` for a list element; a collection answer's
        ``value`` steps into the items of an array schema. ``ReferenceLinks`` (``_links``)
        is a dictionary of named links on the wire, whatever its swagger model says.
        """
        schema = self.response_schema(op)
        if schema is None:
            return set()
        steps = list(path)
        if self.resolve(op, schema).get("type") == "array":
            if not steps:
                return {"count", "value"}
            if steps[0] == "value":
                steps = steps[1:]
        for step in steps:
            if schema.get("$ref") == "#/definitions/ReferenceLinks":
                return None
            if step == "[]":
                schema = self.resolve(op, schema).get("items", {})
                continue
            properties = self._properties(op, schema)
            extra = self.resolve(op, schema).get("additionalProperties")
            if step in properties:
                schema = properties[step]
            elif isinstance(extra, dict):
                schema = extra
            else:
                return set()
        if schema.get("$ref") == "#/definitions/ReferenceLinks":
            return None
        properties = self._properties(op, schema)
        if not properties and self.resolve(op, schema).get("additionalProperties") not in (
            None,
            False,
        ):
            return None
        return set(properties)

    def undocumented_keys(self, op: Operation, body: Any) -> set[str]:
        """Key paths in ``body`` that the operation's schema does not document."""
        found: set[str] = set()

        def walk(value: Any, path: tuple[str, ...]) -> None:
            if isinstance(value, list):
                for item in value:
                    walk(item, (*path, "[]"))
                return
            if not isinstance(value, dict):
                return
            allowed = self._documented_cache(op, path)
            for key, item in value.items():
                if allowed is not None and key not in allowed:
                    found.add(".".join((*path, key)).replace(".[]", "[]"))
                elif allowed is not None:
                    walk(item, (*path, key))

        walk(body, ())
        return found

    def _documented_cache(self, op: Operation, path: tuple[str, ...]) -> set[str] | None:
        key = (op, path)
        if key not in self._documented:
            self._documented[key] = self.documented_keys(op, path)
        return self._documented[key]

    def validate(self, op: Operation, body: Any) -> list[str]:
        """Error messages (empty when valid) for ``body`` as the answer of ``op``."""
        if self.is_array(op) and isinstance(body, dict) and set(body) == {"count", "value"}:
            items = body["value"]
            if not isinstance(items, list):
                return [f"value: {type(items).__name__} where a collection array was expected"]
            errors = []
            if body["count"] != len(items):
                errors.append(f"count: {body['count']!r} but value has {len(items)} items")
            item_validator = self.validator(op, "item")
            for index, item in enumerate(items):
                errors += [
                    f"value[{index}]{_where(e)}: {e.message}"
                    for e in item_validator.iter_errors(item)
                ]
            return errors
        return [
            f"{_where(e) or '(body)'}: {e.message}" for e in self.validator(op).iter_errors(body)
        ]


def _where(error: jsonschema.ValidationError) -> str:
    return "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)


@dataclass
class Failure:
    """A response that did not validate against its operation's schema."""

    method: str
    path: str
    status: int
    route: str
    operation: str
    reference: str  # spec file and line of the operation's path template
    errors: list[str]
    reported: bool = False  # a test has failed because of it

    def __str__(self) -> str:
        shown = "; ".join(self.errors[:5]) + (" ..." if len(self.errors) > 5 else "")
        return (
            f"{self.method} {self.path} -> {self.status} (route {self.route}) does not match "
            f"{self.operation} [{self.reference}]: {shown}"
        )


@dataclass
class SchemaRecorder:
    """Counts and failures of response-schema validation over a whole test session."""

    spec_dir: Path = SPEC_DIR
    validated: Counter = field(default_factory=Counter)  # operation name -> responses
    unmatched: Counter = field(default_factory=Counter)  # "METHOD route" -> responses
    without_schema: Counter = field(default_factory=Counter)  # reason -> responses
    failures: list[Failure] = field(default_factory=list)
    # operation name -> key paths the emulator sent that the schema does not document
    undocumented: dict[str, set[str]] = field(default_factory=dict)
    _index: SpecIndex | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def available(self) -> bool:
        return self.spec_dir.is_dir()

    @property
    def index(self) -> SpecIndex:
        if self._index is None:
            self._index = SpecIndex(self.spec_dir)
        return self._index

    def observe(self, exchange: Any) -> None:
        """Validate one answered request now; never raises (it runs in the emulator)."""
        try:
            self._observe(exchange)
        except Exception as exc:  # a bug here must surface as a failure, not kill a request
            with self._lock:
                self.failures.append(
                    Failure(
                        getattr(exchange, "method", "?"),
                        getattr(exchange, "path", "?"),
                        getattr(exchange, "status", 0),
                        getattr(exchange, "route", "?"),
                        "(recorder)",
                        "tests/reference_schemas.py",
                        [f"{type(exc).__name__}: {exc}"],
                    )
                )

    def _observe(self, exchange: Any) -> None:
        if not self.available:
            return
        with self._lock:
            index = self.index
            match = index.match(exchange.method, exchange.path, exchange.query)
            if match is None:
                self.unmatched[f"{exchange.method} {exchange.route}"] += 1
                return
            op = match.operation
            body = exchange.response_json
            if not 200 <= exchange.status < 300:
                self.without_schema[f"{exchange.status} error bodies (no schema in spec)"] += 1
                return
            if body is None:
                self.without_schema[f"{exchange.status} without a body"] += 1
                return
            if index.response_schema(op) is None:
                self.without_schema[f"{op.name}: no 200 schema in spec"] += 1
                return
            errors = index.validate(op, body)
            if errors:
                self.failures.append(
                    Failure(
                        exchange.method,
                        exchange.path,
                        exchange.status,
                        exchange.route,
                        op.name + (f" (via {match.via})" if match.via else ""),
                        f"ado-rest-7.1/{op.spec}:{op.line}",
                        errors,
                    )
                )
            else:
                self.validated[op.name] += 1
                found = index.undocumented_keys(op, body)
                if found:
                    self.undocumented.setdefault(op.name, set()).update(found)

    def claim(self, failures: list[Failure]) -> None:
        """Mark failures as reported by the caller (the replays fail the interaction)."""
        with self._lock:
            for failure in failures:
                failure.reported = True

    def assert_clean(self) -> None:
        """Raise AssertionError for the failures no test has reported yet."""
        new = self.unreported
        self.claim(new)
        if new:
            raise AssertionError(
                f"{len(new)} emulator response(s) do not match the reference schemas:\n"
                + "\n".join(f"  {f}" for f in new)
            )

    @property
    def unreported(self) -> list[Failure]:
        with self._lock:
            return [f for f in self.failures if not f.reported]

    def summary_lines(self) -> list[str]:
        """Human-readable counts for the terminal summary."""
        with self._lock:
            if not self.available:
                return [f"schema validation off: {self.spec_dir} is absent"]
            total = sum(self.validated.values())
            lines = [
                f"responses schema-validated: {total} over {len(self.validated)} operations, "
                f"{len(self.failures)} failed"
            ]
            lines += [f"  {n:5d}  {name}" for name, n in sorted(self.validated.items())]
            if self.without_schema:
                lines.append("answered without a schema to validate against:")
                lines += [f"  {n:5d}  {why}" for why, n in sorted(self.without_schema.items())]
            if self.undocumented:
                lines.append(
                    "keys answered but not documented by the 7.1 schema (information; the "
                    "recording and example replays judge them):"
                )
                lines += [
                    f"  {name}: {', '.join(sorted(paths))}"
                    for name, paths in sorted(self.undocumented.items())
                ]
            if self.unmatched:
                lines.append("answered by routes outside the reference specs (not validated):")
                lines += [f"  {n:5d}  {route}" for route, n in sorted(self.unmatched.items())]
            if self.failures:
                lines.append("schema failures:")
                lines += [f"  {f}" for f in self.failures]
            return lines


RECORDER = SchemaRecorder()
