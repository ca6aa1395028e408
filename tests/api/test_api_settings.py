"""Settings come from the environment the image (and serve) pass; bad values are named."""

from __future__ import annotations

import pytest
from modelapi.settings import Settings, SettingsError

from .conftest import MODEL_API


def test_settings_defaults_serve_model_api_model_on_loopback():
    settings = Settings.from_env({})
    assert settings.model_dir == MODEL_API / "model"
    assert (settings.host, settings.port, settings.workers) == ("127.0.0.1", 8000, 1)
    assert settings.cors_origins == ()
    assert settings.max_batch == 1000
    assert settings.model_version == "unregistered"


def test_settings_read_every_variable():
    settings = Settings.from_env(
        {
            "MODEL_DIR": "/app/model",
            "HOST": "0.0.0.0",
            "PORT": "9000",
            "WORKERS": "4",
            "MAX_BATCH": "200",
            "CORS_ORIGINS": " https://a.example, https://b.example ,",
            "LOG_LEVEL": "WARNING",
            "MODEL_VERSION": "12",
        }
    )
    assert str(settings.model_dir) == "/app/model"
    assert (settings.host, settings.port, settings.workers) == ("0.0.0.0", 9000, 4)
    assert settings.max_batch == 200
    assert settings.cors_origins == ("https://a.example", "https://b.example")
    assert settings.log_level == "warning"
    assert settings.model_version == "12"


@pytest.mark.parametrize(
    ("name", "value"),
    [("PORT", "http"), ("WORKERS", "0"), ("MAX_BATCH", "-1"), ("LOG_LEVEL", "verbose")],
)
def test_settings_unusable_value_is_named(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})
