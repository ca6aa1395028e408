"""The Starlette application: routes, error answers, CORS and the access log.

Routes keep the original API's paths so existing clients work::

    POST /api/predict          one row (object) or a batch (array) -> label probabilities
    GET  /api/predict/params   the features: type, nullability, allowed values
    GET  /api/info             status and model metadata (name, version, tags, metrics)
    GET  /openapi.json         OpenAPI 3.0, generated from schema.json
    GET  /api/docs             Swagger UI, its assets served from the swagger-ui-bundle package
    GET  /healthz, /readyz     liveness; readiness (the model scores its example row)

Every refusal is JSON ``{"message": ..., "errors": [{"field", "code", "message", ...}]}``.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import orjson
import swagger_ui_bundle
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import __version__
from .logs import AccessLog
from .model import Model, load_model
from .openapi import build_openapi
from .settings import MAX_BODY_BYTES, Settings
from .validation import InputError, RowValidator, body_error

logger = logging.getLogger("modelapi")
Endpoint = Callable[[Request], Awaitable[Response]]

DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="docs/static/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({{url: "../openapi.json", dom_id: "#swagger-ui", validatorUrl: null}});
</script></body></html>
"""


class JSONResponse(Response):
    """A JSON response rendered with orjson (several times faster than the standard library)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def create_app(settings: Settings, model: Model | None = None) -> Starlette:
    """The application for ``settings``; loads ``settings.model_dir`` unless given ``model``.

    Loading raises :class:`~modelapi.model.ModelLoadError` (one line) before anything serves.
    """
    if model is None:
        model = load_model(settings.model_dir, fallback_version=settings.model_version)
    validator = RowValidator(model.features, settings.max_batch)
    labels = model.labels
    openapi = orjson.dumps(build_openapi(model, settings.max_batch, __version__))
    params = {
        "model": model.name,
        "target": model.target,
        "labels": list(labels),
        "max_batch": settings.max_batch,
        "features": [
            {key: value for key, value in vars(f).items() if value is not None}
            for f in model.features
        ],
    }
    info = {
        "status": "ok",
        "api_version": __version__,
        "model": {
            "name": model.name,
            "version": model.version,
            "tags": model.metadata.get("tags") or {},
            "metrics": (model.metadata.get("metrics") or {}) | model.metrics,
        },
    }
    example = validator.columns(model.example_row())[0]
    docs_page = DOCS_PAGE.format(title=f"{model.name} model API")

    async def predict(request: Request) -> Response:
        payload = parse_json_body(await read_body(request), request.headers.get("content-type"))
        columns, batch = validator.columns(payload)
        probabilities = model.predict(columns)
        best = probabilities.argmax(axis=1).tolist()
        rounded = np.round(probabilities.astype(np.float64), 6).tolist()
        scored = [
            {"label": labels[b], "probabilities": dict(zip(labels, p, strict=True))}
            for b, p in zip(best, rounded, strict=True)
        ]
        if batch:
            return JSONResponse(
                {"model": model.name, "version": model.version, "predictions": scored}
            )
        return JSONResponse({"model": model.name, "version": model.version, **scored[0]})

    async def readyz(request: Request) -> Response:
        try:
            ready = all(map(math.isfinite, model.predict(example).ravel()))
        except Exception:  # any failure of the runtime means "not ready", never a crash
            logger.exception("the model failed to score its example row")
            ready = False
        return JSONResponse({"status": "ready" if ready else "not ready"}, 200 if ready else 503)

    def fixed(content: bytes, media_type: str = "application/json") -> Endpoint:
        """An endpoint answering a body rendered once, in a fresh Response each time (no
        response object is shared between requests). Async: no thread-pool hop."""

        async def endpoint(request: Request) -> Response:
            return Response(content, media_type=media_type)

        return endpoint

    routes = [
        Route("/api/predict", predict, methods=["POST"]),
        Route("/api/predict/params", fixed(orjson.dumps(params))),
        Route("/api/info", fixed(orjson.dumps(info))),
        Route("/openapi.json", fixed(openapi)),
        Route("/api/docs", fixed(docs_page.encode(), "text/html")),
        Mount("/api/docs/static", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path)),
        Route("/healthz", fixed(orjson.dumps({"status": "ok"}))),
        Route("/readyz", readyz),
    ]
    middleware = [Middleware(AccessLog)]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Content-Type"],
            )
        )
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={
            InputError: input_error,
            HTTPException: http_error,
            Exception: server_error,
        },
    )
    app.state.model = model
    return app


async def read_body(request: Request) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed 1 MiB."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise _too_large()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json_body(body: bytes, content_type: str | None) -> Any:
    """The parsed body, or an :class:`InputError` (400 empty, 415 not JSON).

    orjson parses the common case; the standard library is the fallback so that ``NaN`` and
    ``Infinity`` (which it accepts) reach validation and get an error naming their field.
    """
    if content_type:
        media = content_type.split(";", 1)[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise body_error(
                415,
                "unsupported_media_type",
                f"Content-Type {media!r} is not JSON: send the rows as application/json",
            )
    if not body.strip():
        raise body_error(400, "empty_body", "the body is empty: send one row or a batch as JSON")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as first:
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            raise body_error(415, "not_json", f"the body is not valid JSON: {first}") from None


def _too_large() -> InputError:
    return body_error(
        413, "body_too_large", f"the body is over {MAX_BODY_BYTES} bytes: send smaller batches"
    )


async def input_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InputError)
    return JSONResponse({"message": str(exc), "errors": exc.errors}, exc.status)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"message": exc.detail, "errors": []}, exc.status_code, headers=exc.headers)


async def server_error(request: Request, exc: Exception) -> Response:
    logger.error("unhandled error", exc_info=exc)
    return JSONResponse({"message": "internal error", "errors": []}, 500)
