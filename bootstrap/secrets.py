"""Secret values and `vars sync`: what to push to the variable group, and pushing it safely.

The variable group API is write-only for secrets (they read back as ``{"isSecret": true,
"value": null}``) and a PUT replaces the whole variable set. So:

- A secret is pushed only when the remote group lacks it (or holds it as a plain variable),
  when this machine never pushed it, or when its local value changed since this machine last
  pushed it (``force`` pushes every secret that has a local value). Every other secret is sent
  as ``{"isSecret": true}`` with no ``value`` key, which keeps the stored value: a value someone
  rotated by hand is never overwritten by a machine whose own value did not change.
- "Changed" is decided without storing the secret: an HMAC-SHA256 of the value under a random
  key kept in the keyring (``hmac-key``), kept per group in a small JSON state file in the
  user's config directory (:func:`state_path`). The HMAC is keyed and covers the
  organisation/project/group/name, so the file reveals nothing about the values and equal
  values in two groups do not look equal.
- The fingerprints are tied to the group's server id: a group deleted and re-created (so its
  secrets are empty) counts as never pushed.
- Apply is one read-modify-write: the group is re-read just before the PUT, the changes the
  user confirmed are recomputed against that fresh copy, and every variable and secret not
  being changed is carried over as it is now (not as it was at plan time). Azure DevOps has no
  revision check on variable groups, so the window left is the one between that re-read and
  the PUT.

Local values come from, first wins: ``BOOTSTRAP_SECRET_<NAME>``, the keyring entry written by
``bootstrap vars set``, a hidden prompt (only when asked and on a TTY). Each is registered
for redaction as it is read. Secrets with no local value are never touched remotely.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets as _random
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bootstrap import credentials
from bootstrap.config import RESERVED_VARIABLE
from bootstrap.errors import ApplyError, BootstrapError, ConfigError, CredentialError, NotFound

STATE_FILE = "pushed-secrets.json"
HMAC_KEY_USERNAME = "hmac-key"
SENSITIVE = "(sensitive)"

# Sources of a local value, as `vars list` shows them.
SOURCE_CONFIG = "config"
SOURCE_ENV = "env"
SOURCE_KEYRING = "keyring"
SOURCE_PROMPT = "prompt"
SOURCE_MISSING = "missing"
SOURCE_NO_KEYRING = "missing (no usable keyring)"

# Remote states of a secret, as `plan`, `status` and `vars list` show them.
SET_REMOTELY = "set remotely"
MISSING_REMOTELY = "missing remotely"
WILL_BE_PUSHED = "will be pushed"
CANNOT_VERIFY = "cannot verify"


@dataclass(frozen=True)
class LocalValue:
    """A secret's local value and where it came from; the value never appears in a repr."""

    name: str
    source: str
    value: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class VariableChange:
    """One change to the group. ``old``/``new`` are None for secrets (never shown)."""

    name: str
    action: str  # "create" | "update" | "delete"
    secret: bool
    reason: str
    old: str | None = None
    new: str | None = None

    def to_json(self) -> dict[str, Any]:
        changed: dict[str, Any]
        if self.action == "delete":
            changed = {}
        elif self.secret:
            changed = {"value": SENSITIVE}
        else:
            changed = {"value": {"old": self.old, "new": self.new}}
        return {
            "kind": "variable",
            "name": self.name,
            "action": self.action,
            "secret": self.secret,
            "changed": changed,
            "reason": self.reason,
        }


@dataclass
class SyncPlan:
    """What `vars sync` would do to one group, computed against one read of it."""

    group: str
    group_id: int | None
    changes: list[VariableChange]
    unchanged: int
    skipped: dict[str, str]  # secret name -> why it is left alone (no local value, ...)

    @property
    def pushes(self) -> list[str]:
        """Names of the secrets whose value this plan sends."""
        return [c.name for c in self.changes if c.secret and c.action != "delete"]

    def summary(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "delete": 0}
        for change in self.changes:
            counts[change.action] += 1
        return {**counts, "unchanged": self.unchanged, "skipped": len(self.skipped)}

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "changes": [c.to_json() for c in self.changes],
            "skipped": [{"name": n, "reason": r} for n, r in sorted(self.skipped.items())],
            "summary": self.summary(),
        }


# --- where things live ---------------------------------------------------------------------


def group_key(org_url: str, project: str, group: str) -> str:
    return f"{credentials.normalise_org_url(org_url)}/{project}/{group}"


def state_path() -> Path:
    """The state file: ``$XDG_CONFIG_HOME/bootstrap`` (or the platform's config dir)."""
    import click

    return Path(click.get_app_dir("bootstrap")) / STATE_FILE


# --- local values --------------------------------------------------------------------------


def local_value(
    org_url: str, project: str, group: str, name: str, *, prompt: bool = False
) -> LocalValue:
    """The local value of secret ``name``: env, keyring, then (when asked, on a TTY) a prompt.

    Never raises for an unusable keyring: the source says so, and callers that need the value
    turn that into a CredentialError.
    """
    env_name = credentials.secret_env_name(name)
    env = os.environ.get(env_name, "")
    if env:
        return LocalValue(name, SOURCE_ENV, credentials.checked(env, env_name))
    source = SOURCE_MISSING
    try:
        stored = credentials.keyring_get(credentials.secret_username(org_url, project, group, name))
    except CredentialError:
        stored, source = None, SOURCE_NO_KEYRING
    if stored:
        return LocalValue(name, SOURCE_KEYRING, stored)
    if prompt and credentials.stdin_is_tty():
        return LocalValue(name, SOURCE_PROMPT, credentials.read_hidden(f"Value of {name}"))
    return LocalValue(name, source)


def local_values(cfg, *, prompt: bool = False) -> dict[str, LocalValue]:
    org, project, group = _ids(cfg)
    return {
        name: local_value(org, project, group, name, prompt=prompt)
        for name in cfg.variable_group.secrets
    }


def store_value(cfg, name: str, value: str) -> None:
    """Keep ``value`` for secret ``name`` of the configured group in the keyring."""
    require_declared_secret(cfg, name)
    credentials.keyring_set(credentials.secret_username(*_ids(cfg), name), value)


def delete_value(cfg, name: str) -> bool:
    require_declared_secret(cfg, name)
    return credentials.keyring_delete(credentials.secret_username(*_ids(cfg), name))


def require_declared_secret(cfg, name: str) -> None:
    declared = storable_secrets(cfg)
    if name not in declared:
        listed = ", ".join(declared) or "none"
        raise ConfigError(
            f"{name} is not a secret of variable group {cfg.variable_group.name} "
            f"(declared secrets: {listed})",
            hint="add it under variable_group.secrets in the config first",
        )


def _ids(cfg) -> tuple[str, str, str]:
    return cfg.organization, cfg.project.name, cfg.variable_group.name


def list_variables(cfg, remote_group: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """`vars list` rows: name, secret, source of the local value, remote state. No values."""
    remote = (remote_group or {}).get("variables") or {}
    rows = []
    for name, value in desired_variables(cfg).items():
        var = remote.get(name)
        if var is None:
            state = MISSING_REMOTELY
        elif var.get("isSecret"):
            state = "remote holds a secret"
        else:
            state = SET_REMOTELY if var.get("value") == value else "differs remotely"
        rows.append({"name": name, "secret": False, "source": SOURCE_CONFIG, "remote": state})
    states = secret_states(cfg, remote_group)
    for name, local in local_values(cfg).items():
        rows.append({"name": name, "secret": True, "source": local.source, "remote": states[name]})
    return rows


# --- fingerprints --------------------------------------------------------------------------


class PushState:
    """This machine's record of what it pushed: per group, the group id and one HMAC per secret.

    File shape: ``{"version": 1, "groups": {"<org>/<project>/<group>": {"id": 7,
    "secrets": {"NAME": "<hex hmac>"}}}}``. Written atomically, mode 0600.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or state_path()
        self.data: dict[str, Any] = {"version": 1, "groups": {}}
        if self.path.exists():
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                loaded = None  # unreadable: behave as if nothing was pushed (pushes again)
            if isinstance(loaded, dict) and isinstance(loaded.get("groups"), dict):
                self.data = loaded

    def fingerprint(self, key: str, group_id: int | None, name: str) -> str | None:
        entry = self.data["groups"].get(key)
        if not entry or entry.get("id") != group_id:
            return None
        return entry.get("secrets", {}).get(name)

    def record(self, key: str, group_id: int, fingerprints: Mapping[str, str]) -> None:
        entry = self.data["groups"].get(key)
        if not entry or entry.get("id") != group_id:
            entry = {"id": group_id, "secrets": {}}
            self.data["groups"][key] = entry
        entry["secrets"].update(fingerprints)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".pushed-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self.data, handle, indent=2, sort_keys=True)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def hmac_key(*, create: bool) -> bytes | None:
    """The fingerprint key from the keyring; created on first push. None when unavailable."""
    try:
        stored = credentials.keyring_get(HMAC_KEY_USERNAME)
    except CredentialError:
        return None
    if stored:
        return bytes.fromhex(stored)
    if not create:
        return None
    fresh = _random.token_hex(32)
    credentials.keyring_set(HMAC_KEY_USERNAME, fresh)
    return bytes.fromhex(fresh)


def fingerprint(key: bytes, group: str, name: str, value: str) -> str:
    message = f"{group}/{name}\0{value}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


# --- the plan ------------------------------------------------------------------------------


def desired_variables(cfg) -> dict[str, str]:
    """The plain variables of the group: config's, plus AZURE_SVC_CONNECTION as `up` sets it."""
    return {**cfg.variable_group.variables, RESERVED_VARIABLE: cfg.service_connection.name}


def storable_secrets(cfg) -> list[str]:
    """Names `vars set` accepts: the group's secrets, and the service principal's key when
    bootstrap creates the service connection with one (read by `up` from the same store)."""
    names = list(cfg.variable_group.secrets)
    connection = cfg.service_connection
    if connection.mode == "create" and connection.authentication == "service-principal":
        names.append(connection.client_secret)
    return names


def _secret_decision(
    remote_var: Mapping[str, Any] | None,
    local: LocalValue,
    known: str | None,
    current: str | None,
    *,
    force: bool,
) -> tuple[bool, str]:
    """(push?, reason) for one secret. ``known``: the recorded HMAC; ``current``: the local one."""
    if local.value is None:
        return False, "no local value" if local.source == SOURCE_MISSING else local.source
    if remote_var is None:
        return True, "missing remotely"
    if not remote_var.get("isSecret"):
        return True, "remote holds it as a plain variable"
    if force:
        return True, "forced"
    if known is None:
        return True, "never pushed from this machine"
    if not hmac.compare_digest(known, current or ""):
        return True, "changed locally"
    return False, "unchanged"


def compute_plan(
    cfg,
    remote_group: Mapping[str, Any],
    locals_: Mapping[str, LocalValue],
    state: PushState,
    key: bytes | None,
    *,
    force: bool = False,
    prune: bool = False,
) -> SyncPlan:
    """The changes that bring ``remote_group`` (REST JSON) to config plus local secret values."""
    org, project, group = _ids(cfg)
    gkey = group_key(org, project, group)
    group_id = remote_group.get("id")
    remote = remote_group.get("variables") or {}
    secrets = list(cfg.variable_group.secrets)
    plain = desired_variables(cfg)
    changes: list[VariableChange] = []
    skipped: dict[str, str] = {}
    unchanged = 0

    for name, value in plain.items():
        var = remote.get(name)
        if var is None:
            changes.append(VariableChange(name, "create", False, "missing remotely", None, value))
        elif var.get("isSecret"):
            changes.append(
                VariableChange(
                    name, "update", False, "remote holds it as a secret", SENSITIVE, value
                )
            )
        elif var.get("value") != value:
            changes.append(
                VariableChange(name, "update", False, "differs", var.get("value"), value)
            )
        else:
            unchanged += 1

    for name in secrets:
        local = locals_.get(name) or LocalValue(name, SOURCE_MISSING)
        current = (
            fingerprint(key, gkey, name, local.value) if key and local.value is not None else None
        )
        push, reason = _secret_decision(
            remote.get(name),
            local,
            state.fingerprint(gkey, group_id, name),
            current,
            force=force,
        )
        if push:
            action = "create" if remote.get(name) is None else "update"
            changes.append(VariableChange(name, action, True, reason))
        elif local.value is None:
            skipped[name] = reason
        else:
            unchanged += 1

    if prune:
        declared = set(plain) | set(secrets)
        for name, var in remote.items():
            if name not in declared:
                changes.append(
                    VariableChange(
                        name,
                        "delete",
                        bool(var.get("isSecret")),
                        "not declared in config",
                        None if var.get("isSecret") else var.get("value"),
                    )
                )
    return SyncPlan(group, group_id, changes, unchanged, skipped)


def secret_states(cfg, remote_group: Mapping[str, Any] | None) -> dict[str, str]:
    """Each configured secret's remote state for `plan`/`status`/`vars list`.

    ``set remotely`` (declared secret and this machine pushed its current local value, or
    pushed it and has no local value now), ``missing remotely`` (absent, or only a plain
    variable, and nothing local to push), ``will be pushed`` (the next `vars sync` pushes it),
    ``cannot verify`` (declared secret remotely, never pushed from here, no local value: the
    API never returns secret values, so whether it holds one is unknowable).
    Reads local values and fingerprints without prompting and without creating anything.
    """
    group = remote_group or {"id": None, "variables": {}}
    org, project, name = _ids(cfg)
    gkey = group_key(org, project, name)
    state = PushState()
    key = hmac_key(create=False)
    locals_ = local_values(cfg)
    plan = compute_plan(cfg, group, locals_, state, key)
    pushed = {c.name for c in plan.changes if c.secret}
    remote = group.get("variables") or {}
    out: dict[str, str] = {}
    for secret in cfg.variable_group.secrets:
        var = remote.get(secret)
        if secret in pushed:
            out[secret] = WILL_BE_PUSHED
        elif var is None or not var.get("isSecret"):
            out[secret] = MISSING_REMOTELY
        elif locals_[secret].value is not None or state.fingerprint(gkey, group.get("id"), secret):
            out[secret] = SET_REMOTELY
        else:
            out[secret] = CANNOT_VERIFY
    return out


# --- apply ---------------------------------------------------------------------------------


def _kept(var: Mapping[str, Any]) -> dict[str, Any]:
    """A remote variable as it must be sent back to stay as it is (secrets without value)."""
    if var.get("isSecret"):
        return {"isSecret": True}
    kept = {k: v for k, v in var.items() if k != "isSecret"}
    kept["isSecret"] = False
    return kept


def build_body(
    remote_group: Mapping[str, Any], changes: list[VariableChange], values: Mapping[str, str]
) -> dict[str, Any]:
    """The PUT body: the remote group as it is, with exactly ``changes`` applied.

    ``values`` maps plain and pushed-secret names to the values to send. Server-generated
    fields (createdBy, modifiedOn, ...) are left out; the project references are kept, so the
    group stays shared with the same projects.
    """
    variables = {name: _kept(var) for name, var in (remote_group.get("variables") or {}).items()}
    for change in changes:
        if change.action == "delete":
            variables.pop(change.name, None)
        else:
            variables[change.name] = {"value": values[change.name], "isSecret": change.secret}
    body = {
        key: remote_group[key]
        for key in ("name", "description", "type", "providerData")
        if remote_group.get(key) is not None
    }
    body["variables"] = variables
    references = remote_group.get("variableGroupProjectReferences")
    if references:
        body["variableGroupProjectReferences"] = references
    return body


@dataclass
class SyncResult:
    plan: SyncPlan
    applied: list[VariableChange]
    dropped: list[str]  # confirmed changes no longer needed against the fresh read


def read_group(client, cfg) -> dict[str, Any]:
    group = client.get_variable_group(cfg.project.name, cfg.variable_group.name)
    if group is None:
        raise NotFound(
            f"variable group {cfg.variable_group.name} not found in project {cfg.project.name}",
            hint="run `bootstrap up` first to create it",
        )
    return group


def plan_sync(
    client, cfg, *, force: bool = False, prune: bool = False, prompt: bool = False
) -> tuple[SyncPlan, dict[str, LocalValue]]:
    """Read the group and the local values; CredentialError when the keyring hides a secret."""
    locals_ = local_values(cfg, prompt=prompt)
    hidden = [n for n, v in locals_.items() if v.source == SOURCE_NO_KEYRING]
    if hidden:
        names = ", ".join(credentials.secret_env_name(n) for n in hidden)
        raise CredentialError(
            f"no usable system keyring to read {', '.join(hidden)} from: set {names} instead"
        )
    group = read_group(client, cfg)
    plan = compute_plan(
        cfg, group, locals_, PushState(), hmac_key(create=False), force=force, prune=prune
    )
    return plan, locals_


def apply_sync(
    client,
    cfg,
    plan: SyncPlan,
    locals_: Mapping[str, LocalValue],
    *,
    force: bool = False,
    prune: bool = False,
    before_write: Callable[[], None] | None = None,
) -> SyncResult:
    """Apply the confirmed ``plan``: re-read, recompute, keep only confirmed changes, one PUT.

    ``before_write`` runs after confirmation and before the re-read (a seam for tests that
    edit the group concurrently). Records the fingerprints of pushed secrets afterwards.
    """
    if before_write is not None:
        before_write()
    state = PushState()
    key = hmac_key(create=any(c.secret and c.action != "delete" for c in plan.changes))
    fresh = client.get_variable_group_by_id(cfg.project.name, plan.group_id)
    if fresh is None:
        raise NotFound(
            f"variable group {cfg.variable_group.name} was deleted since it was read",
            hint="run `bootstrap up`, then `bootstrap vars sync` again",
        )
    recomputed = compute_plan(cfg, fresh, locals_, state, key, force=force, prune=prune)
    confirmed = {(c.name, c.action) for c in plan.changes}
    changes = [c for c in recomputed.changes if (c.name, c.action) in confirmed]
    kept = {(c.name, c.action) for c in changes}
    dropped = sorted(n for n, a in confirmed if (n, a) not in kept)
    if not changes:
        return SyncResult(plan, [], dropped)

    values: dict[str, str] = dict(desired_variables(cfg))
    for change in changes:
        if change.secret and change.action != "delete":
            values[change.name] = locals_[change.name].value  # type: ignore[assignment]
    body = build_body(fresh, changes, values)
    try:
        written = client.update_variable_group(fresh["id"], body)
    except BootstrapError as exc:
        raise ApplyError(
            f"updating variable group {cfg.variable_group.name} failed: {exc.message}",
            hint="the update is all or nothing; run `bootstrap vars sync` again to converge",
        ) from exc
    _verify(cfg, written, changes, values)

    if key is not None:
        gkey = group_key(*_ids(cfg))
        state.record(
            gkey,
            written.get("id", fresh["id"]),
            {
                c.name: fingerprint(key, gkey, c.name, values[c.name])
                for c in changes
                if c.secret and c.action != "delete"
            },
        )
        state.save()
    return SyncResult(plan, changes, dropped)


def _verify(cfg, written, changes: list[VariableChange], values: Mapping[str, str]) -> None:
    """The server's answer to the PUT must show every change; ApplyError names what is off."""
    remote = (written or {}).get("variables") or {}
    wrong = []
    for change in changes:
        var = remote.get(change.name)
        if change.action == "delete":
            ok = var is None
        elif change.secret:
            ok = var is not None and bool(var.get("isSecret"))
        else:
            ok = var is not None and var.get("value") == values[change.name]
        if not ok:
            wrong.append(change.name)
    if wrong:
        raise ApplyError(
            f"variable group {cfg.variable_group.name} does not show the change to "
            f"{', '.join(wrong)} after the update",
            done=[c.name for c in changes if c.name not in wrong],
        )
