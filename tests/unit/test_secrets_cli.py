"""`login`/`logout`/`vars set`/`vars unset` paths that need no Azure DevOps."""

import keyring
import yaml
from click.testing import CliRunner
from keyring.backends import fail

from bootstrap.cli import main
from tests.conftest import REPO_ROOT

ORG = "http://127.0.0.1:9/demo"
SECRET_KEY = ("bootstrap", f"secret:{ORG}/batcomputer/shared-variables/ACR_PASSWORD")


def config(tmp_path):
    doc = yaml.safe_load((REPO_ROOT / "config" / "demo.yaml").read_text())
    doc["organization"] = ORG
    path = tmp_path / "bootstrap.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input)


def test_secrets_cli_vars_set_stdin_stores_in_keyring_without_echo(tmp_path, isolated_environment):
    result = run(
        "vars",
        "set",
        "ACR_PASSWORD",
        "--stdin",
        "--config",
        config(tmp_path),
        input="acr-value-1234\n",
    )
    assert result.exit_code == 0, result.output
    assert isolated_environment.entries[SECRET_KEY] == "acr-value-1234"
    assert "acr-value-1234" not in result.output
    assert "stored ACR_PASSWORD" in result.output


def test_secrets_cli_vars_set_env_override_is_noted(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOTSTRAP_SECRET_ACR_PASSWORD", "env-value-5678")
    result = run(
        "vars",
        "set",
        "ACR_PASSWORD",
        "--stdin",
        "--config",
        config(tmp_path),
        input="kr-value-5678\n",
    )
    assert result.exit_code == 0
    assert "BOOTSTRAP_SECRET_ACR_PASSWORD is set" in result.output


def test_secrets_cli_vars_set_undeclared_name_is_usage_error(tmp_path):
    result = run(
        "vars", "set", "NOT_DECLARED", "--stdin", "--config", config(tmp_path), input="x-value-1\n"
    )
    assert result.exit_code == 2
    assert "NOT_DECLARED is not a secret" in result.output
    assert "Traceback" not in result.output


def test_secrets_cli_vars_set_without_terminal_or_stdin_flag_fails(tmp_path):
    result = run("vars", "set", "ACR_PASSWORD", "--config", config(tmp_path))
    assert result.exit_code == 2
    assert "--stdin" in result.output


def test_secrets_cli_vars_set_empty_stdin_fails(tmp_path, isolated_environment):
    result = run("vars", "set", "ACR_PASSWORD", "--stdin", "--config", config(tmp_path), input="\n")
    assert result.exit_code == 2
    assert "nothing was read" in result.output
    assert SECRET_KEY not in isolated_environment.entries


def test_secrets_cli_keyring_unavailable_is_one_line_naming_env(tmp_path):
    keyring.set_keyring(fail.Keyring())
    result = run(
        "vars",
        "set",
        "ACR_PASSWORD",
        "--stdin",
        "--config",
        config(tmp_path),
        input="never-stored-1\n",
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert "no usable system keyring" in lines[0]
    assert "BOOTSTRAP_SECRET_<NAME>" in lines[0]
    login = run("login", "--org", ORG, "--pat-stdin", input="never-stored-2\n")
    assert login.exit_code == 2
    assert "AZURE_DEVOPS_EXT_PAT" in login.output


def test_secrets_cli_vars_unset_removes_and_reports_absence(tmp_path, isolated_environment):
    cfg = config(tmp_path)
    isolated_environment.entries[SECRET_KEY] = "to-remove-1"
    first = run("vars", "unset", "ACR_PASSWORD", "--config", cfg)
    assert first.exit_code == 0 and "removed" in first.output
    assert SECRET_KEY not in isolated_environment.entries
    second = run("vars", "unset", "ACR_PASSWORD", "--config", cfg)
    assert second.exit_code == 0 and "no stored value" in second.output


def test_secrets_cli_logout_removes_pat_org_from_config(tmp_path, isolated_environment):
    isolated_environment.entries[("bootstrap", f"pat:{ORG}")] = "stored-pat-99"
    result = run("logout", "--config", config(tmp_path))
    assert result.exit_code == 0, result.output
    assert ("bootstrap", f"pat:{ORG}") not in isolated_environment.entries
    assert "no stored PAT" in run("logout", "--org", ORG + "/").output


def test_secrets_cli_login_without_terminal_needs_pat_stdin():
    result = run("login", "--org", ORG)
    assert result.exit_code == 2
    assert "--pat-stdin" in result.output


def test_secrets_cli_missing_config_is_usage_error(tmp_path):
    result = run("logout", "--config", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert "no such configuration file" in result.output


def test_secrets_cli_vars_set_too_short_value_is_refused(tmp_path, isolated_environment):
    result = run(
        "vars", "set", "ACR_PASSWORD", "--stdin", "--config", config(tmp_path), input="xy1\n"
    )
    assert result.exit_code == 2
    assert "too short" in result.output
    assert SECRET_KEY not in isolated_environment.entries


def test_secrets_cli_vars_set_stdin_keeps_a_multi_line_value(tmp_path, isolated_environment):
    value = "-----BEGIN KEY-----\nabc123\n-----END KEY-----"
    result = run(
        "vars", "set", "ACR_PASSWORD", "--stdin", "--config", config(tmp_path), input=value + "\n"
    )
    assert result.exit_code == 0, result.output
    assert isolated_environment.entries[SECRET_KEY] == value
