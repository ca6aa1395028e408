"""The production server as ``serve`` (and so the image) starts it: uvicorn, uvloop, httptools.

The model directory is loaded and verified in this process before any socket opens, so a bad
directory stops the start with one line on stderr and exit status 2, never a traceback loop of
crashing workers. With ``WORKERS=1`` the verified app is served directly; with more, uvicorn's
supervisor starts that many processes, each loading the (already verified) directory itself.

Once the app is built, ``gc.freeze()`` moves everything allocated at start (modules, the ONNX
session, the schema, about 30,000 objects) out of the cyclic collector's sight: a full
collection that lands during a request then scans only that request's garbage instead of
costing about 8 ms, which would show as latency spikes.
"""

from __future__ import annotations

import gc
import logging
import logging.config
import sys

import uvicorn
from starlette.applications import Starlette

from .app import create_app
from .logs import log_config
from .model import ModelLoadError
from .settings import Settings, SettingsError

EXIT_CONFIG = 2
logger = logging.getLogger("modelapi")


def main() -> int:
    try:
        settings = Settings.from_env()
        logging.config.dictConfig(log_config(settings.log_level))
        app = create_app(settings)
    except (SettingsError, ModelLoadError) as exc:
        print(f"model-api: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    model = app.state.model
    logger.info(
        {
            "event": "start",
            "model": model.name,
            "version": model.version,
            "model_dir": str(model.directory),
            "url": f"http://{settings.host}:{settings.port}",
            "workers": settings.workers,
        }
    )
    options = {
        "host": settings.host,
        "port": settings.port,
        "loop": "uvloop",
        "http": "httptools",
        "lifespan": "off",
        "access_log": False,
        "server_header": False,
        "log_config": log_config(settings.log_level),
        "log_level": settings.log_level,
    }
    if settings.workers == 1:
        gc.freeze()
        uvicorn.run(app, **options)
    else:
        uvicorn.run("modelapi.server:worker_app", factory=True, workers=settings.workers, **options)
    return 0


def worker_app() -> Starlette:
    """uvicorn's factory in each worker process: the app for the settings in the environment."""
    app = create_app(Settings.from_env())
    gc.freeze()
    return app
