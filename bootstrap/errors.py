"""The project's own exceptions.

Errors a user can cause carry a one-line message, an optional hint and an exit code; the CLI
prints them without a traceback (unless ``--debug``). Programmer errors stay built-in
exceptions. SDK exceptions are translated in ``bootstrap.ado`` only, chained with ``from``::

    BootstrapError (exit 1)
    ├── UsageError (exit 2)
    │   ├── ConfigError          invalid or missing configuration (file, line, key)
    │   └── CredentialError      no PAT / secret available, keyring unusable
    ├── ApiError (exit 1)        Azure DevOps answered with an error
    │   ├── AuthError            PAT rejected, sign-in page instead of JSON
    │   ├── NotFound             organisation, project, YAML file, resource
    │   ├── Conflict             name already taken
    │   └── RateLimited          429 beyond the retry budget
    └── ApplyError (exit 1)      a change failed part-way; carries what was done
"""

from __future__ import annotations

from collections.abc import Sequence

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class BootstrapError(Exception):
    """Base of every error a user can cause or meet; ``message`` is one line."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}; {self.hint}"


class UsageError(BootstrapError):
    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """The configuration is invalid; the message names file, line and key."""


class CredentialError(UsageError):
    """A credential or secret value is missing or cannot be stored."""


class ApiError(BootstrapError):
    """Azure DevOps answered with an error (or not at all)."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        status: int | None = None,
        type_key: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.type_key = type_key


class AuthError(ApiError):
    pass


class NotFound(ApiError):
    pass


class Conflict(ApiError):
    pass


class RateLimited(ApiError):
    pass


class ApplyError(BootstrapError):
    """A change failed part-way; ``done`` lists what was applied before it."""

    def __init__(self, message: str, *, done: Sequence[str] = (), hint: str | None = None):
        super().__init__(message, hint=hint)
        self.done = list(done)
