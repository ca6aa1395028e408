"""The emulator's state: plain JSON-able dicts behind one lock, saved atomically on change.

Everything the emulator knows lives in :attr:`Store.state` so ``--state FILE`` can save and
restore it whole. Server-side secrets (service connection keys, secret variable values) are
kept here as the real service keeps them and are never put into an answer. Tests may read the
state; the documented top-level keys are:

``organization``   ``{"name", "id"}``
``projects``       id -> project (``name``, ``state``, ``repositoryId``, ``defaultTeam`` ...)
``operations``     id -> async operation of a project create/delete
``repositories``   id -> Git repository
``serviceEndpoints`` id -> service connection (with its secret parameters)
``definitions``    str(id) -> build definition (``deleted`` marks a soft delete)
``folders``        project id -> folder path -> folder
``variableGroups`` str(id) -> variable group (with its secret values)
``permissions``    "project/type/id" -> pipeline permissions of one protected resource
``builds``         str(id) -> queued build (pipeline runs are builds too)
``queues``         str(id) -> agent queue;  ``pools``: str(id) -> agent pool
``counters``       next ids
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

USER_ID = "8b3b8a5e-6f0c-4a55-9d43-1f3c7c2f5e10"


def now() -> str:
    """An ISO timestamp as the service writes them (UTC, 'Z', 7 fractional digits)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def new_id() -> str:
    return str(uuid.uuid4())


class Store:
    """Thread-safe holder of the emulator state; ``lock`` guards every read and write."""

    def __init__(self, org: str, state_file: str | os.PathLike | None = None) -> None:
        self.lock = threading.RLock()
        self.state_file = Path(state_file) if state_file else None
        loaded = self._load()
        self.state: dict[str, Any] = loaded or self._empty(org)
        self.state["organization"]["name"] = org

    @staticmethod
    def _empty(org: str) -> dict[str, Any]:
        return {
            "organization": {"name": org, "id": new_id()},
            "projects": {},
            "operations": {},
            "repositories": {},
            "serviceEndpoints": {},
            "definitions": {},
            "folders": {},
            "variableGroups": {},
            "permissions": {},
            "builds": {},
            "queues": {},
            "pools": {},
            "counters": {"definition": 0, "build": 0, "variableGroup": 0, "queue": 0, "pool": 0},
        }

    def _load(self) -> dict[str, Any] | None:
        if self.state_file is None or not self.state_file.exists():
            return None
        with self.state_file.open(encoding="utf-8") as handle:
            return json.load(handle)

    def save(self) -> None:
        """Write the whole state atomically (temp file + rename) when ``--state`` is set.

        The file holds what the service holds, secrets included, so it is created owner-only
        (``mkstemp`` mode 0600).
        """
        if self.state_file is None:
            return
        with self.lock:  # one writer at a time, so an older snapshot never replaces a newer
            text = json.dumps(self.state, indent=1, sort_keys=True)
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.state_file.parent, prefix=".emulator-state-")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                os.replace(tmp, self.state_file)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the state, for tests and debugging."""
        with self.lock:
            return copy.deepcopy(self.state)

    def next_id(self, counter: str) -> int:
        with self.lock:
            self.state["counters"][counter] = self.state["counters"].get(counter, 0) + 1
            return self.state["counters"][counter]

    @property
    def org(self) -> dict[str, Any]:
        return self.state["organization"]

    # -- lookups shared by the route modules -------------------------------------------------

    def project_by_name_or_id(self, key: str, *, include_pending: bool = False) -> dict | None:
        """A project by id or (case-insensitive) name; deleted/pending ones are invisible."""
        lowered = key.lower()
        for project in self.state["projects"].values():
            named = lowered in (project["id"], project["name"].lower())
            if named and (project["state"] == "wellFormed" or include_pending):
                return project
        return None
