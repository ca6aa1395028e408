"""The pure parts of `vars sync`: local values, fingerprints, the plan and the PUT body."""

import json
import os
import stat
import tempfile
from pathlib import Path

import keyring
import pytest
import yaml
from keyring.backends import fail

from bootstrap import credentials, redaction, secrets
from bootstrap.config import load_config
from bootstrap.errors import ConfigError
from tests.conftest import REPO_ROOT

ORG = "http://127.0.0.1:9/demo"


def make_cfg(variables=None, secret_names=("ACR_PASSWORD", "SP_KEY"), *, tmp=None):
    """A real config loaded from YAML with the given variables and secrets."""
    path = Path(tmp or tempfile.mkdtemp()) / "bootstrap.yaml"
    doc = yaml.safe_load((REPO_ROOT / "config" / "demo.yaml").read_text())
    doc["organization"] = ORG
    doc["variable_group"]["variables"] = dict(
        variables if variables is not None else {"ACR_NAME": "myacr", "AZML_WORKSPACE": "ws"}
    )
    doc["variable_group"]["secrets"] = list(secret_names)
    path.write_text(yaml.safe_dump(doc))
    return load_config(path)


def remote(variables, group_id=7):
    return {
        "id": group_id,
        "name": "shared-variables",
        "type": "Vsts",
        "description": "managed by bootstrap",
        "variables": variables,
        "createdBy": {"id": "x"},
        "modifiedOn": "2026-01-01T00:00:00Z",
        "variableGroupProjectReferences": [
            {"name": "shared-variables", "projectReference": {"name": "batcomputer"}}
        ],
    }


def in_sync_remote():
    return remote(
        {
            "ACR_NAME": {"value": "myacr"},
            "AZML_WORKSPACE": {"value": "ws"},
            "AZURE_SVC_CONNECTION": {"value": "azure-mlops"},
            "ACR_PASSWORD": {"isSecret": True, "value": None},
            "SP_KEY": {"isSecret": True, "value": None},
        }
    )


def test_secrets_local_value_env_wins_over_keyring(monkeypatch):
    cfg = make_cfg()
    secrets.store_value(cfg, "ACR_PASSWORD", "from-keyring-1")
    monkeypatch.setenv("BOOTSTRAP_SECRET_ACR_PASSWORD", "from-env-1")
    values = secrets.local_values(cfg)
    assert values["ACR_PASSWORD"].source == "env"
    assert values["ACR_PASSWORD"].value == "from-env-1"
    assert values["SP_KEY"].source == "missing"
    assert "from-env-1" not in repr(values)
    assert redaction.redact("from-env-1 from-keyring-1") == f"{redaction.MASK} {redaction.MASK}"


def test_secrets_local_value_keyring_unusable_is_reported_not_raised():
    keyring.set_keyring(fail.Keyring())
    values = secrets.local_values(make_cfg())
    assert values["ACR_PASSWORD"].source == secrets.SOURCE_NO_KEYRING


def test_secrets_store_value_rejects_undeclared_name():
    with pytest.raises(ConfigError) as info:
        secrets.store_value(make_cfg(), "NOPE", "value-123")
    assert "ACR_PASSWORD, SP_KEY" in str(info.value)


def test_secrets_plan_first_sync_pushes_every_secret_with_a_value(monkeypatch):
    monkeypatch.setenv("BOOTSTRAP_SECRET_ACR_PASSWORD", "acr-pw-1")
    cfg = make_cfg()
    plan = secrets.compute_plan(
        cfg, in_sync_remote(), secrets.local_values(cfg), secrets.PushState(), b"k" * 32
    )
    assert plan.pushes == ["ACR_PASSWORD"]
    assert plan.changes[0].reason == "never pushed from this machine"
    assert plan.skipped == {"SP_KEY": "no local value"}
    assert plan.summary() == {"create": 0, "update": 1, "delete": 0, "unchanged": 3, "skipped": 1}


def test_secrets_plan_after_push_is_empty_and_rotation_pushes_alone(monkeypatch, tmp_path):
    cfg = make_cfg(secret_names=("ACR_PASSWORD", "SP_KEY"))
    monkeypatch.setenv("BOOTSTRAP_SECRET_ACR_PASSWORD", "acr-pw-1")
    monkeypatch.setenv("BOOTSTRAP_SECRET_SP_KEY", "sp-key-1")
    key = b"k" * 32
    state = secrets.PushState(tmp_path / "state.json")
    gkey = secrets.group_key(ORG, "batcomputer", "shared-variables")
    state.record(
        gkey,
        7,
        {
            "ACR_PASSWORD": secrets.fingerprint(key, gkey, "ACR_PASSWORD", "acr-pw-1"),
            "SP_KEY": secrets.fingerprint(key, gkey, "SP_KEY", "sp-key-1"),
        },
    )
    plan = secrets.compute_plan(cfg, in_sync_remote(), secrets.local_values(cfg), state, key)
    assert plan.changes == []
    monkeypatch.setenv("BOOTSTRAP_SECRET_SP_KEY", "sp-key-2")
    plan = secrets.compute_plan(cfg, in_sync_remote(), secrets.local_values(cfg), state, key)
    assert [(c.name, c.reason) for c in plan.changes] == [("SP_KEY", "changed locally")]


def test_secrets_plan_group_recreated_counts_as_never_pushed(monkeypatch, tmp_path):
    cfg = make_cfg(secret_names=("ACR_PASSWORD",))
    monkeypatch.setenv("BOOTSTRAP_SECRET_ACR_PASSWORD", "acr-pw-1")
    key = b"k" * 32
    state = secrets.PushState(tmp_path / "state.json")
    gkey = secrets.group_key(ORG, "batcomputer", "shared-variables")
    state.record(
        gkey, 7, {"ACR_PASSWORD": secrets.fingerprint(key, gkey, "ACR_PASSWORD", "acr-pw-1")}
    )
    fresh = in_sync_remote()
    fresh["id"] = 8
    plan = secrets.compute_plan(cfg, fresh, secrets.local_values(cfg), state, key)
    assert plan.pushes == ["ACR_PASSWORD"]


def test_secrets_plan_plain_variables_and_prune():
    cfg = make_cfg(secret_names=())
    group = remote(
        {
            "ACR_NAME": {"value": "old"},
            "EXTRA": {"value": "x"},
            "OLD_SECRET": {"isSecret": True, "value": None},
        }
    )
    plan = secrets.compute_plan(cfg, group, {}, secrets.PushState(), None, prune=True)
    got = {(c.name, c.action, c.old, c.new) for c in plan.changes}
    assert got == {
        ("ACR_NAME", "update", "old", "myacr"),
        ("AZML_WORKSPACE", "create", None, "ws"),
        ("AZURE_SVC_CONNECTION", "create", None, "azure-mlops"),
        ("EXTRA", "delete", "x", None),
        ("OLD_SECRET", "delete", None, None),
    }
    without_prune = secrets.compute_plan(cfg, group, {}, secrets.PushState(), None)
    assert {c.action for c in without_prune.changes} == {"update", "create"}


def test_secrets_plan_json_never_carries_secret_values(monkeypatch):
    monkeypatch.setenv("BOOTSTRAP_SECRET_ACR_PASSWORD", "acr-pw-json")
    cfg = make_cfg()
    plan = secrets.compute_plan(
        cfg, remote({}), secrets.local_values(cfg), secrets.PushState(), None
    )
    text = json.dumps(plan.to_json())
    assert "acr-pw-json" not in text
    change = next(c for c in plan.to_json()["changes"] if c["name"] == "ACR_PASSWORD")
    assert change == {
        "kind": "variable",
        "name": "ACR_PASSWORD",
        "action": "create",
        "secret": True,
        "changed": {"value": "(sensitive)"},
        "reason": "missing remotely",
    }


def test_secrets_build_body_keeps_others_and_sends_kept_secrets_without_value():
    group = remote(
        {
            "ACR_NAME": {"value": "old"},
            "SOMEONE_ELSES": {"value": "theirs"},
            "ACR_PASSWORD": {"isSecret": True, "value": None},
            "SP_KEY": {"isSecret": True, "value": None},
        }
    )
    changes = [
        secrets.VariableChange("ACR_NAME", "update", False, "differs", "old", "new"),
        secrets.VariableChange("SP_KEY", "update", True, "changed locally"),
    ]
    body = secrets.build_body(group, changes, {"ACR_NAME": "new", "SP_KEY": "sp-2"})
    assert body["variables"] == {
        "ACR_NAME": {"value": "new", "isSecret": False},
        "SOMEONE_ELSES": {"value": "theirs", "isSecret": False},
        "ACR_PASSWORD": {"isSecret": True},
        "SP_KEY": {"value": "sp-2", "isSecret": True},
    }
    assert body["name"] == "shared-variables"
    assert body["variableGroupProjectReferences"] == group["variableGroupProjectReferences"]
    assert "createdBy" not in body and "id" not in body


def test_secrets_push_state_round_trips_privately(tmp_path):
    path = tmp_path / "cfg" / "pushed.json"
    state = secrets.PushState(path)
    state.record("org/p/g", 3, {"A": "ab" * 32})
    state.save()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = secrets.PushState(path)
    assert again.fingerprint("org/p/g", 3, "A") == "ab" * 32
    assert again.fingerprint("org/p/g", 4, "A") is None
    path.write_text("{not json")
    assert secrets.PushState(path).fingerprint("org/p/g", 3, "A") is None


def test_secrets_state_path_follows_xdg_config_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert secrets.state_path() == tmp_path / "bootstrap" / "pushed-secrets.json"


def test_secrets_hmac_key_created_once_in_keyring(isolated_environment):
    assert secrets.hmac_key(create=False) is None
    key = secrets.hmac_key(create=True)
    assert len(key) == 32
    assert secrets.hmac_key(create=True) == key
    assert ("bootstrap", "hmac-key") in isolated_environment.entries


def test_secrets_states_cover_all_four_cases(monkeypatch):
    cfg = make_cfg(secret_names=("PUSHED", "NEW", "ABSENT", "UNKNOWN"))
    monkeypatch.setenv("BOOTSTRAP_SECRET_PUSHED", "pushed-v1")
    monkeypatch.setenv("BOOTSTRAP_SECRET_NEW", "new-v1")
    key = secrets.hmac_key(create=True)
    gkey = secrets.group_key(ORG, "batcomputer", "shared-variables")
    state = secrets.PushState()
    state.record(gkey, 7, {"PUSHED": secrets.fingerprint(key, gkey, "PUSHED", "pushed-v1")})
    state.save()
    group = remote(
        {
            "PUSHED": {"isSecret": True, "value": None},
            "UNKNOWN": {"isSecret": True, "value": None},
        }
    )
    assert secrets.secret_states(cfg, group) == {
        "PUSHED": "set remotely",
        "NEW": "will be pushed",
        "ABSENT": "missing remotely",
        "UNKNOWN": "cannot verify",
    }
    assert secrets.secret_states(cfg, None)["PUSHED"] == "will be pushed"


def test_secrets_fingerprint_depends_on_key_group_name_and_value():
    base = secrets.fingerprint(b"a" * 32, "g", "N", "v1")
    assert base != secrets.fingerprint(b"b" * 32, "g", "N", "v1")
    assert base != secrets.fingerprint(b"a" * 32, "h", "N", "v1")
    assert base != secrets.fingerprint(b"a" * 32, "g", "M", "v1")
    assert base != secrets.fingerprint(b"a" * 32, "g", "N", "v2")
    assert "v1" not in base


def test_secrets_delete_value_reports_absence():
    cfg = make_cfg()
    assert secrets.delete_value(cfg, "ACR_PASSWORD") is False
    secrets.store_value(cfg, "ACR_PASSWORD", "to-delete-1")
    assert credentials.keyring_get(
        credentials.secret_username(ORG, "batcomputer", "shared-variables", "ACR_PASSWORD")
    )
    assert secrets.delete_value(cfg, "ACR_PASSWORD") is True


def test_secrets_store_value_accepts_service_principal_key(tmp_path):
    path = tmp_path / "sp.yaml"
    doc = yaml.safe_load((REPO_ROOT / "config" / "demo.yaml").read_text())
    doc["organization"] = ORG
    doc["service_connection"]["authentication"] = "service-principal"
    path.write_text(yaml.safe_dump(doc))
    cfg = load_config(path)
    secrets.store_value(cfg, "AZURE_CLIENT_SECRET", "sp-client-secret-1")
    local = secrets.local_value(ORG, "batcomputer", "shared-variables", "AZURE_CLIENT_SECRET")
    assert (local.source, local.value) == ("keyring", "sp-client-secret-1")
