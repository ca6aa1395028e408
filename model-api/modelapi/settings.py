"""Run-time settings, all from the environment (as the image and ``serve`` pass them).

MODEL_DIR     model directory (default: ``model/`` beside this package, i.e. model-api/model)
HOST, PORT    where ``serve`` listens (default 127.0.0.1:8000; the image sets HOST=0.0.0.0)
WORKERS       server processes (default 1)
MAX_BATCH     most rows in one POST /api/predict (default 1000)
CORS_ORIGINS  comma-separated allowed origins; empty (the default) allows none, ``*`` all
LOG_LEVEL     debug, info (default), warning, error
MODEL_VERSION the version to report when the directory has no metadata.json (the image's
              build argument)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "model"
MAX_BODY_BYTES = 1024 * 1024
LOG_LEVELS = ("debug", "info", "warning", "error")


class SettingsError(ValueError):
    """An environment variable has a value the API cannot use; the message names it."""


@dataclass(frozen=True)
class Settings:
    model_dir: Path = DEFAULT_MODEL_DIR
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    max_batch: int = 1000
    cors_origins: tuple[str, ...] = ()
    log_level: str = "info"
    model_version: str = "unregistered"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the variables above; an unusable value raises :class:`SettingsError`."""
        env = os.environ if env is None else env
        origins = tuple(o.strip() for o in env.get("CORS_ORIGINS", "").split(",") if o.strip())
        log_level = env.get("LOG_LEVEL", "info").strip().lower()
        if log_level not in LOG_LEVELS:
            raise SettingsError(f"LOG_LEVEL={log_level!r}: use one of {', '.join(LOG_LEVELS)}")
        return cls(
            model_dir=Path(env.get("MODEL_DIR") or DEFAULT_MODEL_DIR),
            host=env.get("HOST") or "127.0.0.1",
            port=_int(env, "PORT", 8000, 0, 65535),
            workers=_int(env, "WORKERS", 1, 1, 64),
            max_batch=_int(env, "MAX_BATCH", 1000, 1, 100_000),
            cors_origins=origins,
            log_level=log_level,
            model_version=env.get("MODEL_VERSION") or "unregistered",
        )


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={value} is out of range: use {low} to {high}")
    return value
