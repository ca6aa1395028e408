"""Errors the AML scripts report as one line (and a hint), never as a traceback.

    AmlError (exit code 1 unless a subclass says otherwise)
     +-- ConfigError        exit 2: a missing or bad variable or argument; the user fixes it
     |    +-- MissingSdk    exit 2: the backend's SDK is not installed
     +-- AuthError          exit 1: no usable Azure login (az login / the service connection)
     +-- NotFound           exit 1: no such model, version, data or compute in the workspace
     +-- JobFailed          exit 1: the training job ended in any state but success
     +-- RemoteError        exit 1: the workspace answered with an error

Backends translate their SDK's exceptions into these, chained with ``from``, so the scripts
and `amllib.cli` never see an SDK type.
"""

from __future__ import annotations


class AmlError(Exception):
    """A failure the user can act on: `message` says what is wrong, `hint` how to fix it."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ConfigError(AmlError):
    exit_code = 2


class MissingSdk(ConfigError):
    pass


class AuthError(AmlError):
    pass


class NotFound(AmlError):
    pass


class JobFailed(AmlError):
    pass


class RemoteError(AmlError):
    pass
