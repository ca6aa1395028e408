"""The one redaction registry: every secret value is registered the moment it is read.

Everything the tool prints or logs passes through :func:`redact`: CLI output, log records
(through :class:`RedactingFormatter`, which redacts the fully formatted record, traceback
included) and error messages. A secret is also registered in the encodings it travels in
(HTTP basic auth base64, JSON escaping, URL quoting), so an SDK debug log of a request cannot
carry it either.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from urllib.parse import quote

MASK = "***"
_MIN_LENGTH = 4  # shorter values would mask ordinary words; they are refused as secrets elsewhere

_lock = threading.Lock()
_needles: set[str] = set()


def _variants(secret: str) -> set[str]:
    out = {secret, json.dumps(secret)[1:-1], quote(secret, safe="")}
    for prefix in ("", ":"):
        raw = (prefix + secret).encode()
        out.add(base64.b64encode(raw).decode())
        out.add(base64.b64encode(raw).decode().rstrip("="))
    return {v for v in out if len(v) >= _MIN_LENGTH}


def register(secret: str | None) -> None:
    """Register a secret value (and its encodings) for redaction from now on."""
    if not secret or len(secret) < _MIN_LENGTH:
        return
    with _lock:
        _needles.update(_variants(secret))


def redact(text: str) -> str:
    """Return ``text`` with every registered secret (in any registered encoding) masked."""
    if not text or not _needles:
        return text
    with _lock:
        needles = sorted(_needles, key=len, reverse=True)
    for needle in needles:
        if needle in text:
            text = text.replace(needle, MASK)
    return text


def clear() -> None:
    """Forget every registered secret (tests only: a process never needs to)."""
    with _lock:
        _needles.clear()


class RedactingFormatter(logging.Formatter):
    """Formats a record as usual, then masks registered secrets in the whole text."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
