"""The managed resource kinds, one module each, in dependency order.

Each module declares ``KIND``, ``keys(cfg)`` (taken from config, never a server id), pure
``view``/``desired``/``to_body`` conversions, and ``read``/``create``/``update``/``delete``
acting through :class:`bootstrap.ado.client.AdoClient` (a write's answer is the server's state
after it, used as the re-read). :mod:`bootstrap.plan` orders and runs them.
"""

from __future__ import annotations

from bootstrap.resources import permissions, pipeline, project, service_connection, variable_group

KINDS = (project, service_connection, variable_group, pipeline, permissions)

__all__ = ["KINDS"]
