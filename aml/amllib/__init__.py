"""Azure ML orchestration for the pipelines: one interface, three backends.

    from amllib import Settings, get_backend
    backend = get_backend(Settings())      # local, Azure ML SDK v2, or SDK v1 (settings.py)
    backend.upload_data(...); backend.train(...); backend.fetch_model(...)   (backend.py)

The SDKs are imported only by the backend that needs them, so the local backend runs with
nothing but the training requirements installed.
"""

from __future__ import annotations

from collections.abc import Callable

from .backend import Backend, DataRef, ModelVersion, Selector, TrainingJob
from .errors import AmlError, AuthError, ConfigError, JobFailed, MissingSdk, NotFound, RemoteError
from .settings import REPO_ROOT, Settings

__all__ = [
    "REPO_ROOT",
    "AmlError",
    "AuthError",
    "Backend",
    "ConfigError",
    "DataRef",
    "JobFailed",
    "MissingSdk",
    "ModelVersion",
    "NotFound",
    "RemoteError",
    "Selector",
    "Settings",
    "TrainingJob",
    "get_backend",
]


def get_backend(settings: Settings, echo: Callable[[str], None] = print) -> Backend:
    """The backend the settings select (see settings.py for the rules)."""
    if settings.backend == "local":
        from .local import LocalBackend

        return LocalBackend(settings.local_root, echo=echo)
    subscription, resource_group, workspace = settings.workspace()
    if settings.sdk == "v1":
        from .azureml_v1 import AzureMLv1Backend

        return AzureMLv1Backend.connect(subscription, resource_group, workspace, echo=echo)
    from .azureml_v2 import AzureMLv2Backend

    return AzureMLv2Backend.connect(subscription, resource_group, workspace, echo=echo)
