"""The production server as ``serve`` (and so the image) starts it: uvicorn, uvloop, httptools.

The model directory is loaded and verified in this process before any socket opens, so a bad
directory stops the start with one line on stderr and exit status 2, never a traceback loop of
crashing workers. With ``WORKERS=1`` the verified app is served directly; with more, uvicorn's
supervisor starts that many processes, each loading the (already verified) directory itself.
"""

from __future__ import annotations

import logging
import logging.config
import sys

import uvicorn

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
        uvicorn.run(app, **options)
    else:
        uvicorn.run("modelapi.app:app_from_env", factory=True, workers=settings.workers, **options)
    return 0
