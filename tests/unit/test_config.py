import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bootstrap.cli import main
from bootstrap.config import json_schema, load_config
from bootstrap.errors import ConfigError
from tests.conftest import REPO_ROOT

DEMO = REPO_ROOT / "config" / "demo.yaml"
TEMPLATE = REPO_ROOT / "config" / "bootstrap.yaml"

MINIMAL = """\
organization: https://dev.azure.com/contoso
project:
  name: mlops
repository:
  name: mlops
service_connection:
  name: azure-mlops
pipelines:
  - name: titanic-training
    folder: titanic
    yaml: pipelines/titanic-training.yml
  - name: titanic-build-api
    folder: /titanic/
    yaml: pipelines/titanic-build-api.yml
triggers:
  - pipeline: titanic-build-api
    after: titanic-training
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bootstrap.yaml"
    path.write_text(text)
    return path


def test_config_load_demo_gives_interface_fields():
    cfg = load_config(DEMO)
    assert cfg.project.name == "batcomputer"
    assert cfg.variable_group.name == "shared-variables"
    assert cfg.variable_group.secrets == ["ACR_PASSWORD"]
    assert cfg.variable_group.variables["AZML_COMPUTE_MIN_NODES"] == "0"
    assert {p.name for p in cfg.pipelines} == {
        f"{m}-{k}"
        for m in ("batcomputer", "titanic")
        for k in ("data-load", "training", "build-api")
    }
    assert all((REPO_ROOT / p.yaml).parent.name == "pipelines" for p in cfg.pipelines)


def test_config_load_template_with_env_interpolation(monkeypatch):
    for name in ("ADO_ORGANIZATION", "AZURE_SUBSCRIPTION_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_ID"):
        monkeypatch.setenv(name, f"value-{name.lower()}")
    cfg = load_config(TEMPLATE)
    assert cfg.organization == "https://dev.azure.com/value-ado_organization"
    assert cfg.variable_group.variables["AZML_SUBID"] == "value-azure_subscription_id"
    assert cfg.service_connection.tenant_id == "value-azure_tenant_id"


def test_config_missing_env_var_names_it_and_the_line(tmp_path):
    path = write(tmp_path, MINIMAL.replace("name: mlops\nrepo", "name: ${NO_SUCH_VAR}\nrepo"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert f"{path}:3: environment variable NO_SUCH_VAR is not set" in str(info.value)


def test_config_folders_normalised_and_defaults_applied(tmp_path):
    cfg = load_config(write(tmp_path, MINIMAL))
    assert [p.folder for p in cfg.pipelines] == ["\\titanic", "\\titanic"]
    assert cfg.repository.branch == "main"
    assert cfg.triggers[0].branches == ["main"]
    assert cfg.service_connection.mode == "existing"
    assert cfg.variable_group.allow_all_pipelines is True


def test_config_override_org_and_project(tmp_path):
    cfg = load_config(write(tmp_path, MINIMAL), org="http://127.0.0.1:9/demo/", project="other")
    assert cfg.organization == "http://127.0.0.1:9/demo"
    assert cfg.project.name == "other"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "  - name: titanic-training\n    folder",
            "  - nam: titanic-training\n    folder",
            ":9: pipelines[0].nam: unknown key",
        ),
        (
            "    yaml: pipelines/titanic-build-api.yml\n",
            "",
            ":12: pipelines[1].yaml: required key is missing",
        ),
        (
            "  name: azure-mlops\n",
            "  name: azure-mlops\n  mode: create\n",
            ":6: service_connection: mode create needs subscription_id",
        ),
        (
            "    after: titanic-training",
            "    after: nope",
            ":1: (top level): trigger refers to unknown pipeline 'nope'",
        ),
        (
            "https://dev.azure.com/contoso",
            "dev.azure.com/contoso",
            ":1: organization: String should match pattern",
        ),
        (
            "  name: mlops\nservice",
            "  name: mlops\n  type: gitlab\nservice",
            ":6: repository.type: Input should be 'azure-repos' or 'github'",
        ),
    ],
)
def test_config_invalid_names_file_line_and_key(tmp_path, old, new, expected):
    assert old in MINIMAL
    path = write(tmp_path, MINIMAL.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert f"{path}{expected}" in str(info.value)


def test_config_secret_also_a_variable_is_rejected(tmp_path):
    text = MINIMAL + "variable_group:\n  variables: {ACR_PASSWORD: x}\n  secrets: [ACR_PASSWORD]\n"
    with pytest.raises(ConfigError, match="declared both as variable and secret: ACR_PASSWORD"):
        load_config(write(tmp_path, text))


def test_config_invalid_yaml_names_line(tmp_path):
    with pytest.raises(ConfigError, match=r"bootstrap.yaml:4: invalid YAML"):
        load_config(write(tmp_path, "organization: x\nproject:\n  name: [unclosed\n"))


def test_config_missing_file_is_usage_error(tmp_path):
    with pytest.raises(ConfigError, match="no such configuration file") as info:
        load_config(tmp_path / "nope.yaml")
    assert info.value.exit_code == 2


def test_config_schema_command_prints_json_schema_that_accepts_demo():
    import jsonschema
    import yaml

    result = CliRunner().invoke(main, ["config", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema == json_schema()
    jsonschema.validate(yaml.safe_load(DEMO.read_text()), schema)
    assert "pipelines" in schema["required"]


def test_config_check_command_ok_and_error_exit_codes(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(main, ["config", "check", "--config", str(DEMO)])
    assert ok.exit_code == 0, ok.output
    assert "OK" in ok.output
    bad = runner.invoke(main, ["config", "check", "--config", str(write(tmp_path, "project: 1\n"))])
    assert bad.exit_code == 2
    assert "bootstrap.yaml:1: " in bad.output
    assert "Traceback" not in bad.output
