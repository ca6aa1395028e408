"""The one redaction registry: every secret value is registered the moment it is read.

Everything the tool prints or logs passes through :func:`redact`: CLI output, log records
and error messages. Log records are covered twice: the first :func:`register` installs a
log-record factory that redacts every record's message as it is created (so any handler,
including one a library or a test adds, only ever sees masked text), and
:class:`RedactingFormatter` redacts the fully formatted record, traceback included.

A secret is also registered in the encodings it travels in, so an SDK debug log of a request
(msrest logs whole request bodies at DEBUG) cannot carry it either: JSON escaping (ASCII and
not), URL quoting, Python ``repr`` escaping, and base64 at every byte alignment (the part of
the encoding that depends only on the secret, whatever precedes it: ``Basic base64(user:pat)``
is caught for any user name).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from urllib.parse import quote

MASK = "***"
# Shorter values would mask ordinary words; bootstrap.credentials refuses them as secrets.
MIN_LENGTH = 4

_lock = threading.Lock()
_needles: set[str] = set()
_ordered: tuple[str, ...] = ()
_factory_installed = False


def _base64_cores(raw: bytes) -> set[str]:
    """The base64 characters fixed by ``raw`` alone, for each of the three byte alignments.

    Character ``i`` of an encoding covers bits ``6i..6i+6``; with ``k`` bytes before the
    secret, the characters wholly inside its bits are ``ceil(8k/6) .. floor(8(k+n)/6)``.
    Standard and URL-safe alphabets both.
    """
    cores = set()
    for k in range(3):
        encoded = base64.b64encode(b"\0" * k + raw).decode()
        core = encoded[-(-8 * k // 6) : 8 * (k + len(raw)) // 6]
        cores.update({core, core.replace("+", "-").replace("/", "_")})
    return cores


def _variants(secret: str) -> set[str]:
    raw = secret.encode()
    json_ascii = json.dumps(secret)[1:-1]
    out = {
        secret,
        json_ascii,
        json.dumps(secret, ensure_ascii=False)[1:-1],
        json.dumps(json_ascii)[1:-1],  # a JSON body embedded in another JSON string
        quote(secret, safe=""),
        quote(secret),
        quote(secret, safe="").replace("%20", "+"),
        repr(secret)[1:-1],
        repr(raw)[2:-1],
        repr(json_ascii.encode())[2:-1],
    }
    out.update(_base64_cores(raw))
    return {v for v in out if len(v) >= MIN_LENGTH}


def _install_record_factory() -> None:
    """Wrap the log-record factory once so every record's message is redacted at creation."""
    global _factory_installed
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error report
            return record
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True


def register(secret: str | None) -> None:
    """Register a secret value (and its encodings) for redaction from now on."""
    if not secret or len(secret) < MIN_LENGTH:
        return
    global _ordered
    with _lock:
        _needles.update(_variants(secret))
        _ordered = tuple(sorted(_needles, key=len, reverse=True))
        _install_record_factory()


def redact(text: str) -> str:
    """Return ``text`` with every registered secret (in any registered encoding) masked."""
    needles = _ordered  # longest first, so a secret containing another is masked whole
    if not text or not needles:
        return text
    for needle in needles:
        if needle in text:
            text = text.replace(needle, MASK)
    return text


def clear() -> None:
    """Forget every registered secret (tests only: a process never needs to)."""
    global _ordered
    with _lock:
        _needles.clear()
        _ordered = ()


class RedactingFormatter(logging.Formatter):
    """Formats a record as usual, then masks registered secrets in the whole text."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
