"""What every resource kind shares: the change records, the run context, the generic diff.

A kind compares *views*: plain dicts of exactly the fields bootstrap manages, computed by pure
functions from the API's JSON (``view``) and from config (``desired``). Server-generated
fields never enter a view, so they never show up as drift. Secret values never enter a view
either: a secret is a name in a set.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bootstrap.errors import ApiError

SENSITIVE = "(sensitive)"
KNOWN_AFTER_APPLY = "(known after apply)"
ABSENT = None

CREATE, UPDATE, DELETE, NOOP = "create", "update", "delete", "no-op"


@dataclass(frozen=True)
class FieldChange:
    """One field's change; ``old``/``new`` are None when the field is absent on that side."""

    field: str
    old: Any = None
    new: Any = None
    sensitive: bool = False

    def as_dict(self) -> dict:
        if self.sensitive:
            return {
                "field": self.field,
                "old": SENSITIVE if self.old is not None else None,
                "new": SENSITIVE if self.new is not None else None,
                "sensitive": True,
            }
        return {"field": self.field, "old": self.old, "new": self.new}


@dataclass
class Change:
    """What one managed resource needs: create, update (with fields), delete, or nothing."""

    kind: str
    name: str
    action: str
    fields: list[FieldChange] = field(default_factory=list)
    url: str | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        out = {
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "changed_fields": [f.as_dict() for f in self.fields],
        }
        if self.url:
            out["url"] = self.url
        if self.notes:
            out["notes"] = list(self.notes)
        return out


@dataclass
class Context:
    """One run: config, client, and what has been learned about the remote side so far.

    ``actual[kind][key]`` holds each resource's current API JSON (None: absent), updated by
    every create/update (whose answer is the server's state after the write) so later steps
    see the ids of earlier ones. ``lookups`` holds read-only inputs (repository, queue).
    """

    cfg: Any
    client: Any
    project: dict | None = None
    actual: dict[str, dict[str, Any]] = field(default_factory=dict)
    lookups: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def project_name(self) -> str:
        return self.cfg.project.name

    def get(self, kind: str, key: str) -> Any:
        return self.actual.get(kind, {}).get(key)

    def put(self, kind: str, key: str, value: Any) -> None:
        with self.lock:
            self.actual.setdefault(kind, {})[key] = value

    def warn(self, message: str) -> None:
        with self.lock:
            if message not in self.warnings:
                self.warnings.append(message)


def diff_views(desired: dict, actual: dict, *, sensitive: frozenset[str] = frozenset()) -> list:
    """Field-level changes turning ``actual`` into ``desired`` (both views; dicts recurse one
    level as ``field.key``). Empty: nothing to do."""
    changes: list[FieldChange] = []
    for key in desired:
        want, have = desired[key], actual.get(key)
        if isinstance(want, dict) and isinstance(have, dict | None):
            have = have or {}
            for sub in sorted(set(want) | set(have)):
                if want.get(sub) != have.get(sub):
                    changes.append(
                        FieldChange(f"{key}.{sub}", have.get(sub), want.get(sub), key in sensitive)
                    )
        elif want != have:
            changes.append(FieldChange(key, have, want, key in sensitive))
    return changes


def wait_until(
    condition: Callable[[], Any],
    *,
    what: str,
    timeout: float = 120.0,
    interval: float = 0.25,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """Poll ``condition`` until it returns something truthy; ApiError naming ``what`` on timeout.

    The one helper for eventual consistency (project created, ...): no ad-hoc sleeps.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise ApiError(f"timed out after {timeout:.0f} s waiting until {what}")
        sleep(interval)
        interval = min(interval * 2, 5.0)
