"""The retry policy: what to do after a failed attempt, decided in one pure place.

Every remote call is classified by what repeating it could do:

- ``read``, ``update`` and ``delete`` are idempotent: 429 waits for ``Retry-After`` (capped),
  5xx and dropped connections back off exponentially (with jitter) and try again.
- ``create`` is not: a 429 means the service did not act, so it is retried like a read; but
  after a 5xx or a dropped connection the object may or may not exist, so the caller must look
  it up by name before trying again (:class:`UnknownOutcome`). A create is never blindly
  repeated.

All waiting is bounded by ``max_attempts`` and a total ``deadline``; the final error says how
many attempts were made, over how long, and what the last failure was.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

READ, UPDATE, DELETE, CREATE = "read", "update", "delete", "create"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    deadline: float = 120.0  # seconds for one call, all attempts and waits included
    base_delay: float = 0.25
    max_delay: float = 8.0
    max_retry_after: float = 30.0  # never wait longer than this for one Retry-After

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Full-jitter exponential backoff for attempt 1, 2, ... (seconds)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return (rng or random).uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class Failure:
    """One failed attempt: an HTTP status (None for a dropped connection) and Retry-After."""

    status: int | None
    retry_after: float | None = None
    detail: str = ""

    @property
    def transient(self) -> bool:
        return self.status is None or self.status == 429 or self.status >= 500

    def describe(self) -> str:
        what = "connection dropped" if self.status is None else f"HTTP {self.status}"
        return f"{what}{': ' + self.detail if self.detail else ''}"


@dataclass(frozen=True)
class Decision:
    action: str  # "retry", "reread" (create in unknown state: look up by name first), "fail"
    wait: float = 0.0


def decide(
    policy: RetryPolicy,
    kind: str,
    failure: Failure,
    attempt: int,
    elapsed: float,
    rng: random.Random | None = None,
) -> Decision:
    """What to do after ``attempt`` (1-based) failed with ``failure``, ``elapsed`` s in."""
    if not failure.transient or attempt >= policy.max_attempts:
        return Decision("fail")
    if failure.status == 429:
        wait = failure.retry_after if failure.retry_after is not None else policy.backoff(attempt)
        wait = min(max(wait, 0.0), policy.max_retry_after)
    else:
        wait = policy.backoff(attempt, rng)
    if elapsed + wait > policy.deadline:
        return Decision("fail")
    if kind == CREATE and failure.status != 429:
        return Decision("reread", wait)
    return Decision("retry", wait)
