"""`vars sync` / `vars list` / `login` against the emulator, through the CLI and the SDK.

The group is created the way `up` creates it (the variable group resource's own body: plain
variables, secrets declared without a value), so these tests do not depend on the rest of
`up` (pipelines, service connection).
"""

from __future__ import annotations

import json

import keyring
import pytest
import yaml
from click.testing import CliRunner
from keyring.backends import fail

from bootstrap import secrets
from bootstrap.ado import connect
from bootstrap.cli import main
from bootstrap.config import load_config
from bootstrap.resources import variable_group
from tests.conftest import REPO_ROOT
from tests.e2e.conftest import settled_writes

PAT = "demo-pat"
GROUP = "shared-variables"


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("AZURE_DEVOPS_EXT_PAT", PAT)
    monkeypatch.setenv("BOOTSTRAP_RETRY_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("BOOTSTRAP_RETRY_MAX_DELAY", "0.05")


@pytest.fixture
def cfg_path(emulator, tmp_path):
    doc = yaml.safe_load((REPO_ROOT / "config" / "demo.yaml").read_text())
    doc["organization"] = emulator.url
    doc["variable_group"]["secrets"] = ["ACR_PASSWORD", "SP_KEY"]
    path = tmp_path / "bootstrap.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


@pytest.fixture
def cfg(cfg_path):
    return load_config(cfg_path)


@pytest.fixture
def client(emulator):
    return connect(emulator.url, PAT)


@pytest.fixture
def group(emulator, cfg, client, env):
    """The group as `up` leaves it: config's variables, secrets declared with no value."""
    project = client.get_project(cfg.project.name)
    body = variable_group.to_body(variable_group.desired(cfg), name=GROUP, project=project)
    return client.create_variable_group(cfg.project.name, body)


def stored(emulator, name=None):
    """The emulator's server-side variables of the group (secret values included)."""
    (group,) = [g for g in emulator.store.state["variableGroups"].values() if g["name"] == GROUP]
    return group["variables"] if name is None else group["variables"].get(name)


def cli(*args, input=None, env=None):
    return CliRunner().invoke(main, list(args), input=input, env=env)


def sync(cfg_path, *extra, env=None):
    return cli("vars", "sync", "--config", cfg_path, *extra, env=env)


def set_secret(cfg_path, name, value):
    result = cli("vars", "set", name, "--stdin", "--config", cfg_path, input=value + "\n")
    assert result.exit_code == 0, result.output


def put_by_someone_else(client, cfg, **values):
    """Another user edits the group (web UI style): full PUT of what they see plus changes."""
    current = client.get_variable_group(cfg.project.name, GROUP)
    project = client.get_project(cfg.project.name)
    current["variableGroupProjectReferences"] = [
        {"projectReference": {"id": project["id"], "name": project["name"]}, "name": GROUP}
    ]
    body = secrets.build_body(current, [], {})
    for name, value in values.items():
        if value is None:
            body["variables"].pop(name, None)
        else:
            body["variables"][name] = value
    client.update_variable_group(current["id"], body)


def test_vars_sync_first_sync_sets_all_secrets_in_one_write(emulator, cfg_path, group):
    set_secret(cfg_path, "ACR_PASSWORD", "acr-first-1")
    set_secret(cfg_path, "SP_KEY", "sp-first-1")
    before = len(settled_writes(emulator))
    result = sync(cfg_path, "--yes")
    assert result.exit_code == 0, result.output
    assert stored(emulator, "ACR_PASSWORD") == {
        "value": "acr-first-1",
        "isSecret": True,
        "isReadOnly": False,
    }
    assert stored(emulator, "SP_KEY")["value"] == "sp-first-1"
    assert len(settled_writes(emulator)) == before + 1
    assert emulator.writes()[-1]["method"] == "PUT"
    assert "acr-first-1" not in result.output and "sp-first-1" not in result.output
    assert "ACR_PASSWORD = (sensitive)" in result.output


def test_vars_sync_second_sync_writes_nothing(emulator, cfg_path, group):
    set_secret(cfg_path, "ACR_PASSWORD", "acr-second-1")
    set_secret(cfg_path, "SP_KEY", "sp-second-1")
    assert sync(cfg_path, "--yes").exit_code == 0
    before = len(settled_writes(emulator))
    again = sync(cfg_path, "--yes", "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert "No changes" in again.output
    assert len(settled_writes(emulator)) == before


def test_vars_sync_rotated_keyring_value_is_pushed_alone(emulator, cfg_path, group):
    set_secret(cfg_path, "ACR_PASSWORD", "acr-rot-1")
    set_secret(cfg_path, "SP_KEY", "sp-rot-1")
    assert sync(cfg_path, "--yes").exit_code == 0
    set_secret(cfg_path, "SP_KEY", "sp-rot-2")
    bodies = []
    emulator.observer = lambda ex: bodies.append(ex.request_json) if ex.method == "PUT" else None
    result = sync(cfg_path, "--yes", "--output", "json")
    assert result.exit_code == 0, result.output
    settled_writes(emulator)  # the observer has seen the PUT
    doc = json.loads(result.stdout)
    assert [(c["name"], c["reason"]) for c in doc["changes"]] == [("SP_KEY", "changed locally")]
    (body,) = bodies
    assert body["variables"]["ACR_PASSWORD"] == {"isSecret": True}
    assert body["variables"]["SP_KEY"] == {"value": "sp-rot-2", "isSecret": True}
    assert stored(emulator, "SP_KEY")["value"] == "sp-rot-2"
    assert stored(emulator, "ACR_PASSWORD")["value"] == "acr-rot-1"


def test_vars_sync_remote_rotation_by_someone_else_is_not_overwritten(
    emulator, cfg_path, cfg, client, group
):
    set_secret(cfg_path, "ACR_PASSWORD", "acr-mine-1")
    set_secret(cfg_path, "SP_KEY", "sp-mine-1")
    assert sync(cfg_path, "--yes").exit_code == 0
    put_by_someone_else(client, cfg, ACR_PASSWORD={"value": "rotated-by-hand", "isSecret": True})
    before = len(settled_writes(emulator))
    result = sync(cfg_path, "--yes")
    assert result.exit_code == 0, result.output
    assert len(settled_writes(emulator)) == before
    assert stored(emulator, "ACR_PASSWORD")["value"] == "rotated-by-hand"
    forced = sync(cfg_path, "--yes", "--force")
    assert forced.exit_code == 0, forced.output
    assert stored(emulator, "ACR_PASSWORD")["value"] == "acr-mine-1"


def test_vars_sync_secret_without_local_value_is_never_touched(emulator, cfg_path, group):
    set_secret(cfg_path, "ACR_PASSWORD", "acr-only-1")
    emulator.store.state["variableGroups"][str(group["id"])]["variables"]["SP_KEY"]["value"] = (
        "set-elsewhere"
    )
    result = sync(cfg_path, "--yes", "--force")
    assert result.exit_code == 0, result.output
    assert "SP_KEY: not pushed (no local value" in result.output
    assert stored(emulator, "SP_KEY")["value"] == "set-elsewhere"


def test_vars_sync_prune_lists_confirms_and_deletes(emulator, cfg_path, cfg, client, group):
    put_by_someone_else(
        client,
        cfg,
        EXTRA_PLAIN={"value": "x", "isSecret": False},
        EXTRA_SECRET={"value": "y-secret", "isSecret": True},
    )
    plain = sync(cfg_path, "--yes")
    assert "EXTRA" not in plain.output
    assert stored(emulator, "EXTRA_PLAIN") is not None
    unconfirmed = sync(cfg_path, "--prune")
    assert unconfirmed.exit_code == 2
    assert "- EXTRA_PLAIN = 'x'  (not declared in config)" in unconfirmed.output
    assert "- EXTRA_SECRET = (sensitive)" in unconfirmed.output
    assert "--yes" in unconfirmed.output
    assert stored(emulator, "EXTRA_PLAIN") is not None
    pruned = sync(cfg_path, "--prune", "--yes")
    assert pruned.exit_code == 0, pruned.output
    assert stored(emulator, "EXTRA_PLAIN") is None and stored(emulator, "EXTRA_SECRET") is None
    assert stored(emulator, "ACR_NAME")["value"] == "demoregistry"


def test_vars_sync_concurrent_edit_between_read_and_write_is_kept(
    emulator, cfg, client, group, monkeypatch
):
    monkeypatch.setenv("BOOTSTRAP_SECRET_ACR_PASSWORD", "acr-race-1")
    put_by_someone_else(client, cfg, ACR_NAME={"value": "drifted", "isSecret": False})
    plan, local = secrets.plan_sync(client, cfg)
    assert {c.name for c in plan.changes} == {"ACR_NAME", "ACR_PASSWORD"}

    def someone_edits():
        put_by_someone_else(
            client,
            cfg,
            ADDED_MEANWHILE={"value": "keep-me", "isSecret": False},
            SP_KEY={"value": "their-sp-key", "isSecret": True},
        )

    result = secrets.apply_sync(client, cfg, plan, local, before_write=someone_edits)
    assert {c.name for c in result.applied} == {"ACR_NAME", "ACR_PASSWORD"}
    assert stored(emulator, "ADDED_MEANWHILE")["value"] == "keep-me"
    assert stored(emulator, "SP_KEY")["value"] == "their-sp-key"
    assert stored(emulator, "ACR_NAME")["value"] == "demoregistry"
    assert stored(emulator, "ACR_PASSWORD")["value"] == "acr-race-1"


def test_vars_sync_change_already_made_meanwhile_is_dropped(emulator, cfg, client, group):
    put_by_someone_else(client, cfg, ACR_NAME={"value": "drifted", "isSecret": False})
    plan, local = secrets.plan_sync(client, cfg)
    before = len(settled_writes(emulator))

    def someone_fixes_it():
        put_by_someone_else(client, cfg, ACR_NAME={"value": "demoregistry", "isSecret": False})

    result = secrets.apply_sync(client, cfg, plan, local, before_write=someone_fixes_it)
    assert result.applied == [] and result.dropped == ["ACR_NAME"]
    assert len(settled_writes(emulator)) == before + 1  # only the other user's PUT


def test_vars_sync_keyring_unavailable_is_one_clear_line(cfg_path, group):
    keyring.set_keyring(fail.Keyring())
    result = sync(cfg_path, "--yes")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines == [
        "error: no usable system keyring to read ACR_PASSWORD, SP_KEY from: set "
        "BOOTSTRAP_SECRET_ACR_PASSWORD, BOOTSTRAP_SECRET_SP_KEY instead"
    ]


def test_vars_sync_keyring_unavailable_env_values_still_push(emulator, cfg_path, group):
    keyring.set_keyring(fail.Keyring())
    env = {"BOOTSTRAP_SECRET_ACR_PASSWORD": "acr-env-only", "BOOTSTRAP_SECRET_SP_KEY": "sp-env"}
    result = sync(cfg_path, "--yes", env=env)
    assert result.exit_code == 0, result.output
    assert stored(emulator, "ACR_PASSWORD")["value"] == "acr-env-only"


def test_vars_sync_env_source_wins_over_keyring(emulator, cfg_path, group):
    set_secret(cfg_path, "ACR_PASSWORD", "acr-from-keyring")
    result = sync(cfg_path, "--yes", env={"BOOTSTRAP_SECRET_ACR_PASSWORD": "acr-from-env"})
    assert result.exit_code == 0, result.output
    assert stored(emulator, "ACR_PASSWORD")["value"] == "acr-from-env"


def test_vars_sync_dry_run_and_detailed_exitcode(emulator, cfg_path, group):
    set_secret(cfg_path, "ACR_PASSWORD", "acr-dry-1")
    before = len(settled_writes(emulator))
    dry = sync(cfg_path, "--dry-run", "--detailed-exitcode", "--output", "json")
    assert dry.exit_code == 2, dry.output
    doc = json.loads(dry.stdout)
    assert doc["dry_run"] is True and doc["applied"] == []
    assert doc["summary"]["update"] == 1
    assert len(settled_writes(emulator)) == before
    assert stored(emulator, "ACR_PASSWORD")["value"] is None


def test_vars_sync_missing_group_says_run_up(cfg_path, env):
    result = sync(cfg_path, "--yes")
    assert result.exit_code == 1
    assert "variable group shared-variables not found" in result.output
    assert "bootstrap up" in result.output


def test_vars_list_shows_sources_and_remote_states_never_values(
    emulator, cfg_path, group, monkeypatch
):
    set_secret(cfg_path, "ACR_PASSWORD", "acr-list-1")
    assert sync(cfg_path, "--yes").exit_code == 0
    monkeypatch.setenv("BOOTSTRAP_SECRET_SP_KEY", "sp-list-env")
    result = cli("vars", "list", "--config", cfg_path, "--output", "json")
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)["variables"]}
    assert rows["ACR_PASSWORD"] == {
        "name": "ACR_PASSWORD",
        "secret": True,
        "source": "keyring",
        "remote": "set remotely",
    }
    assert rows["SP_KEY"]["source"] == "env" and rows["SP_KEY"]["remote"] == "will be pushed"
    assert rows["ACR_NAME"] == {
        "name": "ACR_NAME",
        "secret": False,
        "source": "config",
        "remote": "set remotely",
    }
    text = cli("vars", "list", "--config", cfg_path)
    assert "acr-list-1" not in text.output and "sp-list-env" not in text.output
    assert "ACR_PASSWORD" in text.output and "keyring" in text.output


def test_vars_login_checks_and_stores_pat(emulator, isolated_environment):
    result = cli("login", "--org", emulator.url, "--pat-stdin", input=PAT + "\n")
    assert result.exit_code == 0, result.output
    assert isolated_environment.entries[("bootstrap", f"pat:{emulator.url}")] == PAT
    listed = cli("vars", "list", "--config", "config/demo.yaml", "--org", emulator.url)
    assert listed.exit_code == 0, listed.output  # the stored PAT is used
    assert cli("logout", "--org", emulator.url).exit_code == 0
    assert ("bootstrap", f"pat:{emulator.url}") not in isolated_environment.entries


def test_vars_login_rejected_pat_is_not_stored(emulator, isolated_environment):
    result = cli("login", "--org", emulator.url, "--pat-stdin", input="wrong-pat-123\n")
    assert result.exit_code == 1
    assert "rejected the personal access token" in result.output
    assert "wrong-pat-123" not in result.output
    assert isolated_environment.entries == {}


def test_vars_login_unreachable_organisation_is_one_line(isolated_environment):
    result = cli("login", "--org", "http://127.0.0.1:9/nowhere", "--pat-stdin", input="pat-1234\n")
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith("error: cannot connect to")
    assert isolated_environment.entries == {}


def test_vars_sync_after_up_leaves_plan_empty(make_emulator, isolated_environment):
    from tests.e2e.conftest import run

    emu = make_emulator()
    assert run(emu, "up", "--yes").exit_code == 0
    pending = run(emu, "plan")
    assert "secret ACR_PASSWORD: cannot verify" in pending.output, pending.output
    synced = run(emu, "vars", "sync", "--yes", env={"BOOTSTRAP_SECRET_ACR_PASSWORD": "acr-up-1"})
    assert synced.exit_code == 0, synced.output
    assert stored(emu, "ACR_PASSWORD")["value"] == "acr-up-1"
    before = len(settled_writes(emu))
    env = {"BOOTSTRAP_SECRET_ACR_PASSWORD": "acr-up-1"}
    plan = run(emu, "plan", "--detailed-exitcode", env=env)
    assert plan.exit_code == 0, plan.output
    assert "secret ACR_PASSWORD: set remotely" in plan.output
    status = run(emu, "status", "--output", "json", env=env)
    (row,) = [r for r in json.loads(status.stdout)["resources"] if r["kind"] == "variable_group"]
    assert row["notes"] == ["secret ACR_PASSWORD: set remotely"]
    rotated = run(emu, "status", env={"BOOTSTRAP_SECRET_ACR_PASSWORD": "acr-up-2"})
    assert "secret ACR_PASSWORD: will be pushed" in rotated.output
    assert run(emu, "up", "--yes", env=env).exit_code == 0
    assert run(emu, "vars", "sync", "--yes", "--detailed-exitcode", env=env).exit_code == 0
    assert len(settled_writes(emu)) == before


def test_vars_sync_failed_write_records_nothing_and_next_sync_pushes(emulator, cfg_path, group):
    from tests.e2e.test_leaks import arm_write_failure

    set_secret(cfg_path, "ACR_PASSWORD", "acr-fail-1")
    arm_write_failure(emulator)
    failed = sync(cfg_path, "--yes")
    emulator.set_faults(0.0)
    assert failed.exit_code == 1, failed.output
    last = failed.output.strip().splitlines()[-1]
    assert last.startswith("error: updating variable group shared-variables failed: ")
    assert "run `bootstrap vars sync` again" in last
    assert not secrets.state_path().exists()
    assert stored(emulator, "ACR_PASSWORD")["value"] is None
    retried = sync(cfg_path, "--yes")
    assert retried.exit_code == 0, retried.output
    assert "never pushed from this machine" in retried.output
    assert stored(emulator, "ACR_PASSWORD")["value"] == "acr-fail-1"


def _share_with(client, cfg, other_project: str) -> None:
    """Share the group with a second project (the web UI's "project permissions"), by id."""
    current = client.get_variable_group(cfg.project.name, GROUP)
    full = client.get_variable_group_by_id(cfg.project.name, current["id"])
    other = client.get_project(other_project)
    full["variableGroupProjectReferences"].append(
        {"projectReference": {"id": other["id"], "name": other["name"]}, "name": GROUP}
    )
    client.update_variable_group(full["id"], secrets.build_body(full, [], {}))


def _shared_projects(emulator) -> set[str]:
    (group,) = [g for g in emulator.store.state["variableGroups"].values() if g["name"] == GROUP]
    return {r["projectId"] for r in group["projectReferences"]}


def test_vars_sync_keeps_the_group_shared_with_other_projects(emulator_factory, tmp_path, env):
    emulator = emulator_factory(projects=("batcomputer", "analytics"))
    doc = yaml.safe_load((REPO_ROOT / "config" / "demo.yaml").read_text())
    doc["organization"] = emulator.url
    path = tmp_path / "bootstrap.yaml"
    path.write_text(yaml.safe_dump(doc))
    cfg = load_config(str(path))
    client = connect(emulator.url, PAT)
    project = client.get_project(cfg.project.name)
    body = variable_group.to_body(variable_group.desired(cfg), name=GROUP, project=project)
    client.create_variable_group(cfg.project.name, body)
    _share_with(client, cfg, "analytics")
    shared = _shared_projects(emulator)
    assert len(shared) == 2

    set_secret(str(path), "ACR_PASSWORD", "acr-shared-1")
    result = sync(str(path), "--yes")
    assert result.exit_code == 0, result.output
    assert stored(emulator, "ACR_PASSWORD")["value"] == "acr-shared-1"
    assert _shared_projects(emulator) == shared
