"""PATs and secret values: environment first, then the system keyring, then a hidden prompt.

Every value is registered with :mod:`bootstrap.redaction` the moment it is read, whichever
source it came from, so no later log line, exception or output can carry it.

The keyring is the only place a value is stored: when no usable backend exists (a headless
Linux server without Secret Service gives keyring's ``fail`` backend, or a chainer with nothing
to chain) every operation that needs it raises one :class:`CredentialError` saying so and naming
the environment variables to use instead. There is deliberately no plaintext-file fallback.

``keyring`` is imported inside functions: discovering backends costs tens of milliseconds and
``bootstrap --help`` must not pay for it.

Keyring entries (service :data:`SERVICE`):

- ``pat:{organisation url}``                              the PAT stored by ``bootstrap login``
- ``secret:{organisation url}/{project}/{group}/{name}``  a secret variable's value
- ``hmac-key``                                            the key of the pushed-value HMACs
"""

from __future__ import annotations

import os
import sys
from urllib.parse import urlsplit, urlunsplit

from bootstrap import redaction
from bootstrap.errors import CredentialError

SERVICE = "bootstrap"
PAT_ENV = "AZURE_DEVOPS_EXT_PAT"
SECRET_ENV_PREFIX = "BOOTSTRAP_SECRET_"

_NO_KEYRING = (
    "no usable system keyring (no Secret Service, Keychain or Windows Credential Locker found): "
    f"set {PAT_ENV} for the PAT and {SECRET_ENV_PREFIX}<NAME> for secret values instead"
)


def normalise_org_url(org_url: str) -> str:
    """The organisation URL as a stable key: scheme and host lower-cased, no trailing slash.

    Azure DevOps organisation names are case-insensitive, so the path is lower-cased too;
    ``https://dev.azure.com/Contoso/`` and ``https://dev.azure.com/contoso`` share one entry.
    """
    parts = urlsplit(org_url.strip())
    path = parts.path.rstrip("/").lower()
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, "", ""))


def pat_username(org_url: str) -> str:
    return f"pat:{normalise_org_url(org_url)}"


def secret_username(org_url: str, project: str, group: str, name: str) -> str:
    return f"secret:{normalise_org_url(org_url)}/{project}/{group}/{name}"


def secret_env_name(name: str) -> str:
    """``BOOTSTRAP_SECRET_<NAME>``: the variable name upper-cased, non-alphanumerics as ``_``."""
    return SECRET_ENV_PREFIX + "".join(c if c.isalnum() else "_" for c in name.upper())


def _backend():
    """The configured keyring backend, or CredentialError when none is usable."""
    import keyring
    from keyring.backends import chainer, fail, null

    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # backend discovery itself failed (broken D-Bus, bad config)
        raise CredentialError(_NO_KEYRING) from exc
    unusable = isinstance(backend, fail.Keyring | null.Keyring) or (
        isinstance(backend, chainer.ChainerBackend) and not backend.backends
    )
    if unusable:
        raise CredentialError(_NO_KEYRING)
    return backend


def _keyring_call(method: str, *args: str):
    """Call a backend method, turning every keyring failure into one CredentialError line."""
    from keyring.errors import KeyringError, PasswordDeleteError

    backend = _backend()
    try:
        return getattr(backend, method)(SERVICE, *args)
    except PasswordDeleteError:
        raise
    except KeyringError as exc:
        raise CredentialError(_NO_KEYRING) from exc


def keyring_get(username: str) -> str | None:
    """The stored value (registered for redaction), None when absent."""
    value = _keyring_call("get_password", username)
    redaction.register(value)
    return value


def keyring_set(username: str, value: str) -> None:
    redaction.register(value)
    _keyring_call("set_password", username, value)


def keyring_delete(username: str) -> bool:
    """Remove an entry; False when there was none."""
    from keyring.errors import PasswordDeleteError

    try:
        _keyring_call("delete_password", username)
    except PasswordDeleteError:
        return False
    return True


def require_keyring() -> None:
    """Raise the one-line CredentialError now when no keyring backend is usable.

    Commands that will store something call this before asking for the value, so nobody
    types a secret only to be told it cannot be kept.
    """
    _backend()


def stdin_is_tty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def read_hidden(prompt_text: str, *, confirm: bool = False) -> str:
    """A value typed at a hidden prompt (twice with ``confirm``), stripped and registered.

    Empty input is an error. The prompt goes to stderr so stdout stays clean for ``--output
    json``.
    """
    import click

    value = click.prompt(
        prompt_text,
        hide_input=True,
        default="",
        show_default=False,
        confirmation_prompt=confirm,
        err=True,
    )
    return _accept(value, "nothing was entered")


def read_stdin(stream=None) -> str:
    """A value piped on stdin (all of it, surrounding whitespace stripped, so a multi-line
    value such as a certificate survives), registered; empty input is an error."""
    stream = stream if stream is not None else sys.stdin
    return _accept(stream.read(), "nothing was read from stdin")


def _accept(value: str, empty_message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise CredentialError(empty_message)
    return checked(value, "the value entered")


def checked(value: str, what: str) -> str:
    """Register ``value`` for redaction; refuse one too short to be masked reliably."""
    if len(value) < redaction.MIN_LENGTH:
        raise CredentialError(
            f"{what} is shorter than {redaction.MIN_LENGTH} characters: too short to be kept "
            "out of logs, so it is refused"
        )
    redaction.register(value)
    return value


def resolve_pat(org_url: str, *, prompt: bool | None = None) -> str:
    """The PAT for ``org_url``: env ``AZURE_DEVOPS_EXT_PAT``, keyring, then a hidden prompt.

    ``prompt``: None prompts only when stdin is a TTY, True always, False never. Raises
    CredentialError naming the three ways when none gives a PAT (and saying the keyring is
    unusable when that is why it could not be consulted).
    """
    env = os.environ.get(PAT_ENV, "").strip()
    if env:
        return checked(env, PAT_ENV)
    keyring_error: CredentialError | None = None
    try:
        stored = keyring_get(pat_username(org_url))
    except CredentialError as exc:
        keyring_error, stored = exc, None
    if stored:
        return stored
    if prompt is None:
        prompt = stdin_is_tty()
    if prompt:
        return read_hidden(f"Personal access token for {normalise_org_url(org_url)}")
    if keyring_error is not None:
        raise keyring_error
    raise CredentialError(
        f"no personal access token for {normalise_org_url(org_url)}",
        hint=f"set {PAT_ENV}, run `bootstrap login --org {normalise_org_url(org_url)}`, "
        "or run on a terminal to be prompted",
    )


def store_pat(org_url: str, pat: str) -> None:
    keyring_set(pat_username(org_url), pat)


def delete_pat(org_url: str) -> bool:
    return keyring_delete(pat_username(org_url))
