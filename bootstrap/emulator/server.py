"""The HTTP side: threads, keep-alive, authentication, faults, latency and the request log.

One :class:`Emulator` is one organisation served at ``http://HOST:PORT/{org}`` by a
``ThreadingHTTPServer`` speaking HTTP/1.1 with keep-alive (daemon threads, so a stuck client
never blocks shutdown). Every request goes through, in order:

1. fault injection (``fault_rate``, ``faults``, ``fault_seed``): a faulted request fails
   *before* it has any effect - 429 with ``Retry-After`` and ``X-RateLimit-*`` headers, 500,
   503 - except ``reset`` on a write, which half of the time applies the change and then drops
   the connection (no response, TCP RST), as a real network does; a client must re-read by
   name before retrying a create;
2. authentication: Basic with any user name and one of the accepted PATs; otherwise 401 with
   an empty body and the service's ``WWW-Authenticate`` headers, or - for a request without
   credentials that did not send ``X-TFS-FedAuthRedirect: Suppress`` - 203 with an HTML
   sign-in page;
3. routing, api-version checks and the handler (under the store lock);
4. ``latency_ms`` of sleep, then the answer.

The request log (memory and ``--request-log`` file) has method, path, query, status and ms of
every request - never headers or bodies; a dropped connection is logged with status 0. An
entry (and the observer's exchange) is recorded before the answer is sent, so a client that
has its answer always finds its request in the log.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import random
import socket
import struct
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from bootstrap.emulator import discovery, errors
from bootstrap.emulator.routes import Ctx, Reply, Route, all_routes
from bootstrap.emulator.routes.core import advance_operations, new_project, seed_pools
from bootstrap.emulator.store import Store

logger = logging.getLogger("bootstrap.emulator")

FAULT_KINDS = ("429", "500", "503", "reset")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
RETRY_AFTER_SECONDS = 1
SIGN_IN_PAGE = (
    "<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head>"
    "<body><p>Sign in to your account to continue to Azure DevOps.</p>"
    '<a href="https://app.vssps.visualstudio.com/_signin">Sign in</a></body></html>'
)


@dataclass
class Exchange:
    """One answered request, handed to the in-process ``observer`` (never written anywhere).

    ``route`` is the id of the route that answered (``"build.definitions.create"``...), or
    ``"fault.429"``/``"fault.500"``/``"fault.503"`` for an injected fault, ``"auth"`` for a
    401/203, ``"unmatched"``/``"method"``/``"invalid"`` for 404/405/unparsable bodies.
    ``response_json`` is None for empty, binary and HTML answers.
    """

    method: str
    path: str
    query: dict[str, str]
    status: int
    request_json: Any
    response_json: Any
    route: str


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-answer is normal; anything else is logged, not printed."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        logger.exception("emulator: error while serving %s", client_address)


class _Drop(Exception):
    """Abort the exchange and reset the connection."""


class Emulator:
    """A local Azure DevOps organisation; a context manager that serves it in a thread."""

    def __init__(
        self,
        org: str = "demo",
        projects: Iterable[str] = ("batcomputer",),
        pats: Iterable[str] = ("demo-pat",),
        repo_dir: str | None = None,
        state_file: str | None = None,
        latency_ms: float = 0,
        fault_rate: float = 0.0,
        faults: Iterable[str] = FAULT_KINDS,
        fault_seed: int | None = None,
        request_log_file: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        observer: Callable[[Exchange], None] | None = None,
    ) -> None:
        self.org = org
        self.projects = tuple(projects)
        self.pats = frozenset(pats)
        if not self.pats:
            raise ValueError("at least one PAT is needed")
        self.repo_dir = str(repo_dir) if repo_dir else None
        self.latency_ms = latency_ms
        self.host = host
        self.port = port
        self.observer = observer
        self.request_log_file = request_log_file
        self.store = Store(org, state_file)
        self.routes: list[Route] = all_routes()
        self._log: list[dict[str, Any]] = []
        self._log_lock = threading.Lock()
        self._log_handle = None
        self._fault_lock = threading.Lock()
        self.set_faults(fault_rate, faults, fault_seed)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> Emulator:
        seed_pools(self.store)
        with self.store.lock:
            for name in self.projects:
                if self.store.project_by_name_or_id(name, include_pending=True) is None:
                    new_project(self.store, name, state="wellFormed")
        self.store.save()
        if self.request_log_file:
            self._log_handle = open(self.request_log_file, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
        handler = type("BoundHandler", (_Handler,), {"emulator": self})
        self._server = _Server((self.host, self.port), handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="ado-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The organisation URL, e.g. ``http://127.0.0.1:PORT/demo``."""
        return f"http://{self.host}:{self.port}/{self.org}"

    # -- faults and the request log ------------------------------------------------------------

    def set_faults(
        self, rate: float, faults: Iterable[str] | None = None, seed: int | None = None
    ) -> None:
        """Change fault injection at run time (a new ``seed`` restarts the sequence)."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault rate must be between 0 and 1, not {rate}")
        with self._fault_lock:
            if faults is not None:
                kinds = tuple(str(kind).strip().lower() for kind in faults if str(kind).strip())
                unknown = sorted(set(kinds) - set(FAULT_KINDS))
                if unknown or not kinds:
                    raise ValueError(
                        f"unknown fault kinds {unknown}; choose from {', '.join(FAULT_KINDS)}"
                    )
                self.faults = kinds
            self.fault_rate = rate
            if seed is not None or not hasattr(self, "_rng"):
                self._rng = random.Random(seed)

    def _decide_fault(self, method: str) -> tuple[str | None, bool]:
        """(fault kind or None, whether a dropped write is applied first)."""
        with self._fault_lock:
            if self.fault_rate <= 0 or self._rng.random() >= self.fault_rate:
                return None, False
            kind = self._rng.choice(self.faults)
            applied = kind == "reset" and method in WRITE_METHODS and self._rng.random() < 0.5
            return kind, applied

    @property
    def request_log(self) -> list[dict[str, Any]]:
        """A snapshot of ``{method, path, query, status, ms}`` per request, oldest first."""
        with self._log_lock:
            return [dict(entry) for entry in self._log]

    def writes(self) -> list[dict[str, Any]]:
        return [entry for entry in self.request_log if entry["method"] in WRITE_METHODS]

    def _record(self, entry: dict[str, Any]) -> None:
        with self._log_lock:
            self._log.append(entry)
            if self._log_handle is not None:
                self._log_handle.write(json.dumps(entry) + "\n")

    # -- dispatch ------------------------------------------------------------------------------

    def dispatch(
        self,
        method: str,
        raw_path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
    ) -> tuple[Reply, str, Any]:
        """Answer one authenticated request: (reply, route id, parsed request JSON)."""
        segments = [unquote(part) for part in raw_path.split("/")[1:]]
        if segments and segments[-1] == "":
            segments.pop()
        if not segments or segments[0].lower() != self.org.lower():
            return _failure(errors.controller_not_found(raw_path)), "unmatched", None
        segments = segments[1:]
        try:
            request_json = json.loads(body) if body.strip() else None
        except ValueError:
            return (
                _failure(errors.argument("The request body is not valid JSON.", "body")),
                "invalid",
                None,
            )
        matches = [(r, p) for r in self.routes if (p := r.match(segments)) is not None]
        if not matches:
            return _failure(errors.controller_not_found(raw_path)), "unmatched", request_json
        chosen = next(((r, p) for r, p in matches if r.method == method), None)
        if chosen is None:
            return _failure(errors.method_not_allowed(method)), "method", request_json
        route, params = chosen
        version = _api_version(headers, query)
        ctx = Ctx(
            self.store,
            self.url,
            method,
            params,
            query,
            request_json,
            {k.lower(): v for k, v in headers.items()},
            version,
            repo_dir=self.repo_dir,
        )
        try:
            if route.location_id:
                discovery.check_api_version(version, method, route.location_id)
            with self.store.lock:
                advance_operations(self.store)
                if "project" in params:
                    ctx.project = self.store.project_by_name_or_id(params["project"])
                    if ctx.project is None:
                        raise errors.project_not_found(params["project"])
                reply = route.handler(ctx)
                # answers may share dicts with the store: detach them before the lock is left
                reply.body = copy.deepcopy(reply.body)
        except errors.ApiFailure as failure:
            return _failure(failure), route.route_id, request_json
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            # what malformed input raises (a string where a number or object belongs...)
            logger.debug("bad input on %s %s", method, raw_path, exc_info=True)
            return (
                _failure(errors.argument(f"The request is not valid: {exc}")),
                route.route_id,
                request_json,
            )
        except Exception:  # an emulator bug: answer as the service does, say so in the log
            logger.exception("emulator failed on %s %s", method, raw_path)
            return _failure(errors.internal_error()), route.route_id, request_json
        if method in WRITE_METHODS and reply.status < 400:
            self.store.save()
        return reply, route.route_id, request_json

    def authenticated(self, headers: dict[str, str]) -> bool:
        value = headers.get("authorization", "")
        scheme, _, encoded = value.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return False
        return decoded.partition(":")[2] in self.pats


def _api_version(headers: dict[str, str], query: dict[str, str]) -> str | None:
    for key, value in query.items():
        if key.lower() == "api-version":
            return value
    for key, value in headers.items():
        if key.lower() == "accept":
            for part in value.split(";"):
                name, _, version = part.strip().partition("=")
                if name.strip().lower() == "api-version":
                    return version.strip()
    return None


def _failure(failure: errors.ApiFailure) -> Reply:
    return Reply(failure.body(), status=failure.status, headers=dict(failure.headers))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Buffered writes (flushed once per answer by the stdlib) and no Nagle delay: headers and
    # body leave together, without the ~40 ms stall of a small write waiting for an ACK.
    wbufsize = -1
    disable_nagle_algorithm = True
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""
    emulator: Emulator

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log replaces the stdlib access log."""

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        emu = self.emulator
        started = time.perf_counter()
        split = urlsplit(self.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        headers = {key.lower(): value for key, value in self.headers.items()}
        body = self._read_body()
        method = self.command
        entry = {"method": method, "path": split.path, "query": query, "status": 0, "ms": 0.0}
        route_id, request_json = "fault", None
        try:
            kind, apply_first = emu._decide_fault(method)
            if kind == "reset" and not apply_first:
                raise _Drop
            if kind in ("429", "500", "503"):
                reply, route_id = _fault_reply(kind), f"fault.{kind}"
            elif not emu.authenticated(headers):
                reply, route_id = _unauthenticated(emu, headers), "auth"
            else:
                reply, route_id, request_json = emu.dispatch(
                    method, split.path, query, headers, body
                )
            if kind == "reset":
                raise _Drop
        except _Drop:
            self._sleep_latency()
            entry["ms"] = round((time.perf_counter() - started) * 1000, 3)
            emu._record(entry)
            self._reset()
            return
        self._sleep_latency()
        entry["status"] = reply.status
        entry["ms"] = round((time.perf_counter() - started) * 1000, 3)
        emu._record(entry)
        if emu.observer is not None:
            self._observe(method, split.path, query, reply, request_json, route_id)
        self._send(reply, _api_version(headers, query))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _handle

    def _sleep_latency(self) -> None:
        if self.emulator.latency_ms:
            time.sleep(self.emulator.latency_ms / 1000)

    def _observe(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        reply: Reply,
        request_json: Any,
        route_id: str,
    ) -> None:
        exchange = Exchange(
            method=method,
            path="/".join(unquote(part) for part in path.split("/")),
            query=dict(query),
            status=reply.status,
            request_json=request_json,
            response_json=None
            if reply.empty or reply.raw is not None or reply.status in (401, 203)
            else reply.body,
            route=route_id,
        )
        try:
            self.emulator.observer(exchange)
        except Exception:  # the observer must never break an answer
            logger.exception("emulator observer failed")

    def _send(self, reply: Reply, version: str | None) -> None:
        if reply.raw is not None:
            payload, content_type = reply.raw, reply.content_type or "application/octet-stream"
        elif reply.empty:
            payload, content_type = b"", reply.content_type
        else:
            payload = json.dumps(reply.body, separators=(",", ":")).encode("utf-8")
            content_type = "application/json; charset=utf-8" + (
                f"; api-version={version}" if version else ""
            )
        self.send_response(reply.status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("ActivityId", str(uuid.uuid4()))
        self.send_header("X-VSS-E2EID", str(uuid.uuid4()))
        for key, value in reply.headers.items():
            for item in value if isinstance(value, list) else [value]:
                self.send_header(key, item)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _reset(self) -> None:
        """Drop the connection with a TCP RST and no response at all."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.rfile.close()
            self.wfile.close()
        except OSError:
            pass


def _fault_reply(kind: str) -> Reply:
    if kind == "429":
        failure = errors.rate_limited(RETRY_AFTER_SECONDS)
        reset_at = int(time.time()) + RETRY_AFTER_SECONDS
        headers = {
            "Retry-After": str(RETRY_AFTER_SECONDS),
            "X-RateLimit-Resource": "ATCPU",
            "X-RateLimit-Delay": "0.500",
            "X-RateLimit-Limit": "200",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(reset_at),
        }
        return Reply(failure.body(), status=429, headers=headers)
    failure = errors.internal_error() if kind == "500" else errors.service_unavailable()
    return _failure(failure)


def _unauthenticated(emu: Emulator, headers: dict[str, str]) -> Reply:
    """401 for rejected credentials; an anonymous browser-like request gets the sign-in page."""
    anonymous = not headers.get("authorization")
    if anonymous and headers.get("x-tfs-fedauthredirect", "").lower() != "suppress":
        return Reply(
            raw=SIGN_IN_PAGE.encode("utf-8"), status=203, content_type="text/html; charset=utf-8"
        )
    root = emu.url.rsplit("/", 1)[0]
    return Reply(
        status=401,
        empty=True,
        headers={
            "WWW-Authenticate": [
                "Bearer authorization_uri=https://login.microsoftonline.com/common",
                f'Basic realm="{root}/"',
                "TFS-Federated",
            ],
            "X-TFS-FedAuthRealm": f"{root}/",
            "X-TFS-FedAuthIssuer": f"{emu.url}/",
            "X-VSS-AuthorizationEndpoint": f"{emu.url}/",
        },
    )
