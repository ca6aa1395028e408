"""The only package that talks to Azure DevOps (and the only one importing azure.devops/msrest).

    from bootstrap.ado import connect
    client = connect(org_url, pat)     # AdoClient: REST JSON dicts in and out

The SDK is imported when :func:`connect` is called, never at import time of this package.

The retry budget can be tightened (or widened) without code, for CI and tests that inject
faults on purpose: ``BOOTSTRAP_RETRY_MAX_ATTEMPTS`` (attempts per call),
``BOOTSTRAP_RETRY_DEADLINE`` (seconds per call, waits included) and
``BOOTSTRAP_RETRY_MAX_DELAY`` (the longest single wait, Retry-After included).
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING

from bootstrap.ado.retry import RetryPolicy
from bootstrap.errors import UsageError

if TYPE_CHECKING:
    from bootstrap.ado.client import AdoClient

__all__ = ["RetryPolicy", "connect", "policy_from_env"]

_ENV = {
    "BOOTSTRAP_RETRY_MAX_ATTEMPTS": ("max_attempts", int),
    "BOOTSTRAP_RETRY_DEADLINE": ("deadline", float),
    "BOOTSTRAP_RETRY_MAX_DELAY": ("max_delay", float),
}


def policy_from_env(base: RetryPolicy | None = None) -> RetryPolicy:
    """``base`` (default policy) with the ``BOOTSTRAP_RETRY_*`` overrides applied."""
    policy = base or RetryPolicy()
    for name, (attr, kind) in _ENV.items():
        raw = os.environ.get(name)
        if raw is None or raw == "":
            continue
        try:
            value = kind(raw)
        except ValueError:
            raise UsageError(f"{name}={raw!r} is not a number") from None
        if value <= 0:
            raise UsageError(f"{name} must be positive, not {raw}")
        policy = replace(policy, **{attr: value})
        if attr == "max_delay":
            policy = replace(policy, max_retry_after=value)
    return policy


def connect(org_url: str, pat: str, *, policy: RetryPolicy | None = None) -> AdoClient:
    """An :class:`~bootstrap.ado.client.AdoClient` for ``org_url``; no request is made yet."""
    from bootstrap.ado.client import AdoClient

    return AdoClient(org_url, pat, policy=policy or policy_from_env())
