"""Replay reference traffic against a running emulator and record what differed.

One :class:`Replayer` drives one emulator over plain HTTP (``requests``, the same transport
msrest uses), rewriting each recorded request for the emulator: the organisation becomes the
emulator's, ids and names the real service handed out earlier are swapped for the ones the
emulator handed out (:class:`~tests.conformance.reference.IdMap`), and the recorded
``Accept`` header (with its api-version) is sent as recorded.

:data:`REPORT` collects, over the session, which interactions and examples were replayed
and which were skipped and why; ``tests/conformance/conftest.py`` prints it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import requests

from tests.conformance.reference import IdMap, Interaction, key_differences
from tests.reference_schemas import RECORDER

PAT = "demo-pat"
ORG = "demo"

# Endpoints issue 2 section 3 does not require, as "METHOD path-after-the-org" (path in lower
# case). A reference request to one of them is skipped only while the emulator has no route
# for it; everything else the recordings and examples touch must replay.
NOT_SERVED: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"^\w+ _apis/process/processes"),
        "process templates (_apis/process/processes) are not served: issue 2 section 3 "
        "does not list them",
    ),
    (
        re.compile(r"^\w+ [^/]+/_apis/git/repositories/[^/]+/importrequests"),
        "Git import requests are not served: issue 2 section 3 serves repositories "
        "(list, get by name) and items only",
    ),
    (
        re.compile(r"^\w+ [^/]+/_apis/build/definitions/[^/]+/properties"),
        "build definition properties are not served: issue 2 section 3 does not list them",
    ),
    (
        re.compile(r"^\w+ _apis/serviceendpoint/types"),
        "service endpoint types are not served: issue 2 section 3 does not list them",
    ),
    (
        re.compile(r"^PUT ([^/]+/)?_apis/serviceendpoint/endpoints$"),
        "bulk update of service endpoints (PUT .../endpoints without an id) is not served: "
        "issue 2 section 3 lists the update of one endpoint",
    ),
)

# Recorded answers that are artefacts of how the recording was made, not behaviour.
RECORDING_ARTEFACTS: dict[tuple[str, int], str] = {
    ("test_pipeline_create_and_variables_test.yaml", 28): (
        "recorded 401 carries a collection body ({'count': 0, 'value': []}), which no "
        "unauthenticated answer has (the real 401 body is empty), on credentials that "
        "succeed in the interactions just before and after: not reproducible behaviour"
    ),
}

# A new organisation today has only the "Azure Pipelines" hosted queue and pool; the
# recordings' organisation still had the legacy hosted queues. Requests naming one of
# those are pointed at this queue.
DEFAULT_QUEUE = "Azure Pipelines"


def emulator_serves(method: str, segments: list[str]) -> bool:
    """Whether the emulator's own route table has a route for this request."""
    from bootstrap.emulator.routes import all_routes

    return any(r.method == method.upper() and r.match(segments) is not None for r in all_routes())


def not_served_reason(method: str, segments: list[str]) -> str | None:
    """Why the emulator does not serve this request (segments after the org), or None."""
    request = f"{method.upper()} " + "/".join(segments).lower()
    reason = next((reason for pattern, reason in NOT_SERVED if pattern.search(request)), None)
    if reason and emulator_serves(method, segments):
        return None
    return reason


@dataclass
class Outcome:
    """What one replayed request got, compared with the reference."""

    label: str
    reference: str  # file:line of the reference request
    sent: str = ""  # METHOD path?query as sent to the emulator
    expected_status: int = 0
    status: int = 0
    differences: list[str] = field(default_factory=list)
    schema_failures: list[str] = field(default_factory=list)
    skipped: str = ""
    notes: list[str] = field(default_factory=list)  # differences accepted, and why

    @property
    def ok(self) -> bool:
        return self.status == self.expected_status and not self.differences

    def explain(self) -> str:
        lines = [f"{self.label} [{self.reference}] sent {self.sent}"]
        if self.status != self.expected_status:
            lines.append(f"  status {self.status}, reference {self.expected_status}")
        lines += [f"  {d}" for d in self.differences]
        lines += [f"  schema: {f}" for f in self.schema_failures]
        return "\n".join(lines)


@dataclass
class ConformanceReport:
    """Session-wide tallies for the terminal summary."""

    interactions: dict[str, Outcome] = field(default_factory=dict)
    examples: dict[str, Outcome] = field(default_factory=dict)

    @staticmethod
    def _lines(kind: str, outcomes: Iterable[Outcome]) -> list[str]:
        outcomes = list(outcomes)
        if not outcomes:
            return []
        replayed = [o for o in outcomes if not o.skipped]
        failed = [o for o in replayed if not o.ok or o.schema_failures]
        skipped = [o for o in outcomes if o.skipped]
        lines = [
            f"{kind}: {len(replayed)} replayed ({len(replayed) - len(failed)} matched, "
            f"{len(failed)} differed), {len(skipped)} skipped"
        ]
        lines += [f"  skipped {o.label}: {o.skipped}" for o in skipped]
        lines += [f"  accepted in {o.label}: {note}" for o in replayed for note in o.notes]
        lines += [f"  DIFFERED {o.explain()}" for o in failed]
        return lines

    def summary_lines(self) -> list[str]:
        return self._lines("recorded interactions", self.interactions.values()) + self._lines(
            "httpExamples", self.examples.values()
        )


REPORT = ConformanceReport()


class Replayer:
    """Sends rewritten reference requests to one emulator and compares the answers."""

    def __init__(self, emulator_url: str, recorded_org: str) -> None:
        self.base = emulator_url.rstrip("/")
        self.recorded_org = recorded_org
        self.ids = IdMap()
        self.http = requests.Session()
        self.http.auth = ("", PAT)

    def rewrite_path(self, segments: list[str]) -> str:
        """Percent-encoded path after the organisation, with recorded ids mapped."""
        mapped = [self.ids.segment(s) for s in segments]
        return "/".join(quote(s, safe="") for s in mapped)

    def send(
        self,
        method: str,
        segments: list[str],
        query: Iterable[tuple[str, str]] = (),
        body: Any = None,
        accept: str = "application/json; api-version=7.1",
    ) -> tuple[int, Any, str]:
        """Send one rewritten request; returns (status, JSON body or None, what was sent)."""
        path = self.rewrite_path(segments)
        pairs = [(k, self.ids.query_value(k, v)) for k, v in query]
        url = f"{self.base}/{path}" + (f"?{urlencode(pairs)}" if pairs else "")
        headers = {"Accept": accept}
        data = None
        if body is not None:
            data = json.dumps(self.ids.body(body))
            headers["Content-Type"] = "application/json; charset=utf-8"
        response = self.http.request(method, url, data=data, headers=headers, timeout=30)
        try:
            answer = response.json() if response.content else None
        except ValueError:
            answer = response.text
        sent = f"{method} /{ORG}/{path}" + (f"?{urlencode(pairs)}" if pairs else "")
        return response.status_code, answer, sent

    def replay(
        self,
        label: str,
        reference: str,
        method: str,
        segments: list[str],
        query: Iterable[tuple[str, str]],
        body: Any,
        accept: str,
        expected_status: int,
        expected_json: Any,
        documented: Callable[[tuple[str, ...]], set[str] | None] | None = None,
        retired: Callable[[tuple[str, ...], str], bool] | None = None,
    ) -> Outcome:
        """Send one reference request and compare status and keys with the reference.

        ``documented`` and ``retired`` (see :func:`key_differences`) let through extra keys
        the reference schema documents and missing keys newer traffic no longer shows.
        """
        outcome = Outcome(label=label, reference=reference, expected_status=expected_status)
        seen = len(RECORDER.failures)
        outcome.status, answer, outcome.sent = self.send(method, segments, query, body, accept)
        caused = RECORDER.failures[seen:]
        RECORDER.claim(caused)
        outcome.schema_failures = [str(f) for f in caused]
        if outcome.status == expected_status:
            outcome.differences = key_differences(expected_json, answer, documented, retired)
            self.ids.learn(expected_json, answer)
            self._alias_legacy_queues(expected_json, answer)
        return outcome

    def replay_interaction(
        self,
        interaction: Interaction,
        documented: Callable[[tuple[str, ...]], set[str] | None] | None = None,
    ) -> Outcome:
        return self.replay(
            interaction.label,
            f"ado-recordings/{interaction.cassette}:{interaction.line}",
            interaction.method,
            interaction.segments,
            interaction.query,
            interaction.request_json,
            interaction.accept,
            interaction.status,
            interaction.response_json,
            documented,
        )

    def _alias_legacy_queues(self, recorded: Any, actual: Any) -> None:
        """Point recorded queues a new organisation lacks at the default hosted queue."""
        if not (isinstance(recorded, dict) and isinstance(actual, dict)):
            return
        rec_items, act_items = recorded.get("value"), actual.get("value")
        if not (isinstance(rec_items, list) and isinstance(act_items, list)):
            return
        queues = [q for q in act_items if isinstance(q, dict) and "pool" in q and "name" in q]
        default = next((q for q in queues if q["name"] == DEFAULT_QUEUE), None)
        if default is None:
            return
        names = {q["name"] for q in queues}
        for queue in rec_items:
            if isinstance(queue, dict) and "pool" in queue and queue.get("name") not in names:
                self.ids.values.setdefault(str(queue["id"]), default["id"])
