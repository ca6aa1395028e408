"""A local Azure DevOps organisation for tests, demos and benchmarks (stdlib only).

    from bootstrap.emulator import Emulator
    with Emulator(org="demo", projects=("batcomputer",), pats=("demo-pat",)) as emu:
        emu.url  # http://127.0.0.1:PORT/demo

It serves the subset of the REST API the product uses, exactly as the real service answers
it (see ``server.py`` for the request path and ``routes/`` per area). It imports nothing from
the client side of the project.
"""

from bootstrap.emulator.server import FAULT_KINDS, Emulator, Exchange

__all__ = ["FAULT_KINDS", "Emulator", "Exchange"]
