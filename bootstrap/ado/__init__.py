"""The only package that talks to Azure DevOps (and the only one importing azure.devops/msrest).

    from bootstrap.ado import connect
    client = connect(org_url, pat)     # AdoClient: REST JSON dicts in and out

The SDK is imported when :func:`connect` is called, never at import time of this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bootstrap.ado.retry import RetryPolicy

if TYPE_CHECKING:
    from bootstrap.ado.client import AdoClient

__all__ = ["RetryPolicy", "connect"]


def connect(org_url: str, pat: str, *, policy: RetryPolicy | None = None) -> AdoClient:
    """An :class:`~bootstrap.ado.client.AdoClient` for ``org_url``; no request is made yet."""
    from bootstrap.ado.client import AdoClient

    return AdoClient(org_url, pat, policy=policy)
