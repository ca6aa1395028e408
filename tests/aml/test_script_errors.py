"""Every missing-variable and bad-argument path of the three scripts: one line saying what is
wrong (and what the variable is for), the right exit code, no traceback, nothing written."""

from __future__ import annotations

import importlib.util

import pytest

TITANIC = {
    "AZML_DATAPATH": "titanic-data",
    "AZML_SCRIPT": "scikit-titanic.py",
    "AZML_EXPERIMENT": "titanic-training",
    "AZML_MODEL": "titanic",
}
WORKSPACE = {"AZML_WORKSPACE": "ws", "AZML_SUBID": "0000-sub", "AZML_RESGRP": "rg"}
COMPUTE = {
    "AZML_COMPUTE_NAME": "cpu-cluster",
    "AZML_COMPUTE_VMSIZE": "Standard_D2_v3",
    "AZML_COMPUTE_MIN_NODES": "0",
    "AZML_COMPUTE_MAX_NODES": "2",
}


def one_line_error(result, code: int) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def without(variables: dict, name: str) -> dict:
    return {key: value for key, value in variables.items() if key != name}


@pytest.mark.parametrize(
    ("script", "args", "name", "purpose"),
    [
        ("upload-data.py", ("--data-dir", "."), "AZML_DATAPATH", "datastore"),
        ("run-training.py", (), "AZML_SCRIPT", "training script"),
        ("run-training.py", (), "AZML_DATAPATH", "datastore"),
        ("run-training.py", (), "AZML_EXPERIMENT", "experiment"),
        ("run-training.py", (), "AZML_MODEL", "registered"),
        ("fetch-model.py", (), "AZML_MODEL", "registered"),
    ],
)
def test_script_missing_variable_names_it_and_its_purpose(
    aml, workspace, script, args, name, purpose
):
    result = aml(script, *args, **without(TITANIC, name))
    line = one_line_error(result, 2)
    assert f"{name} is not set" in line
    assert purpose in line
    assert not workspace.exists()


@pytest.mark.parametrize("name", ["AZML_WORKSPACE", "AZML_SUBID", "AZML_RESGRP"])
@pytest.mark.parametrize("script", ["upload-data.py", "run-training.py", "fetch-model.py"])
def test_script_azureml_backend_missing_workspace_variable_exits_2(aml, script, name):
    args = ("--data-dir", ".") if script == "upload-data.py" else ()
    variables = {**TITANIC, **COMPUTE, **without(WORKSPACE, name), "AZML_BACKEND": "azureml"}
    line = one_line_error(aml(script, *args, **variables), 2)
    assert f"{name} is not set" in line


@pytest.mark.parametrize("name", list(COMPUTE))
def test_run_training_azureml_missing_compute_variable_exits_2(aml, name):
    result = aml("run-training.py", **TITANIC, **WORKSPACE, **without(COMPUTE, name))
    assert f"{name} is not set" in one_line_error(result, 2)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"AZML_COMPUTE_MIN_NODES": "two"}, "AZML_COMPUTE_MIN_NODES=two is not a whole number"),
        ({"AZML_COMPUTE_MAX_NODES": "-1"}, "must not be negative"),
        ({"AZML_COMPUTE_MIN_NODES": "3"}, "0 <= min <= max"),
        ({"AZML_COMPUTE_MAX_NODES": "0"}, "max >= 1"),
        ({"AZML_RUN_LOCAL": "maybe"}, "AZML_RUN_LOCAL=maybe is not true or false"),
        ({"AZML_RUN_LOCAL": "true"}, "AZML_RUN_LOCAL=true trains on this machine"),
        ({"AZML_SDK": "v3"}, "AZML_SDK=v3 is not an SDK version"),
    ],
)
def test_run_training_azureml_bad_setting_exits_2(aml, changes, expected):
    result = aml("run-training.py", **TITANIC, **WORKSPACE, **{**COMPUTE, **changes})
    assert expected in one_line_error(result, 2)


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"AZML_BACKEND": "cloud"}, "AZML_BACKEND=cloud is not a backend"),
        ({"AZML_SCRIPT": "nope.py"}, "AZML_SCRIPT=nope.py: no such training script"),
        ({"AZML_SCRIPT": "../aml/fetch-model.py"}, "give a file name in training/, not a path"),
        ({"AZML_DATAPATH": "../outside"}, "AZML_DATAPATH=../outside is not a datastore folder"),
        ({"AZML_DATAPATH": "a b"}, "is not a datastore folder path"),
        ({"AZML_MODEL": "my model"}, "AZML_MODEL=my model is not a model name"),
    ],
)
def test_run_training_bad_variable_exits_2(aml, workspace, variables, expected):
    result = aml("run-training.py", **{**TITANIC, **variables})
    assert expected in one_line_error(result, 2)
    assert not workspace.exists()


def test_run_training_unknown_script_lists_the_choices(aml):
    line = one_line_error(aml("run-training.py", **{**TITANIC, "AZML_SCRIPT": "x.py"}), 2)
    assert "scikit-batcomputer.py, scikit-titanic.py" in line


def test_run_training_without_uploaded_data_says_to_upload_first(aml):
    line = one_line_error(aml("run-training.py", **TITANIC), 1)
    assert "no data at AZML_DATAPATH=titanic-data" in line
    assert "upload-data.py" in line


@pytest.mark.parametrize(
    ("script", "args", "expected"),
    [
        ("upload-data.py", (), "the following arguments are required: --data-dir"),
        ("run-training.py", ("--estimators", "0"), "must be at least 1"),
        ("run-training.py", ("--estimators", "many"), "expected a whole number"),
        ("run-training.py", ("--seed", "x"), "invalid int value"),
        ("fetch-model.py", ("--model-ver", "0"), "must be at least 1"),
        ("fetch-model.py", ("--model-ver", "1", "--use-best"), "not allowed with argument"),
        ("fetch-model.py", ("--colour",), "unrecognized arguments: --colour"),
    ],
)
def test_script_bad_argument_exits_2_with_usage(aml, script, args, expected):
    result = aml(script, *args, **TITANIC)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_upload_data_missing_folder_exits_2(aml, tmp_path):
    line = one_line_error(aml("upload-data.py", "--data-dir", str(tmp_path / "no"), **TITANIC), 2)
    assert "no such folder" in line


def test_upload_data_empty_folder_exits_2(aml, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    line = one_line_error(aml("upload-data.py", "--data-dir", str(empty), **TITANIC), 2)
    assert "the folder is empty" in line


def test_fetch_model_bad_model_name_exits_2(aml):
    line = one_line_error(aml("fetch-model.py", **{**TITANIC, "AZML_MODEL": "-x/"}), 2)
    assert "AZML_MODEL=-x/ is not a model name" in line


def test_fetch_model_with_nothing_registered_exits_1(aml, tmp_path):
    result = aml("fetch-model.py", "--output-path", str(tmp_path / "out"), **TITANIC)
    line = one_line_error(result, 1)
    assert "model titanic has no registered versions" in line
    assert "##vso" not in result.stdout
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(
    importlib.util.find_spec("azureml") is not None, reason="azureml-core is installed here"
)
def test_fetch_model_sdk_v1_not_installed_says_how_to_install(aml):
    result = aml("fetch-model.py", **TITANIC, **WORKSPACE, AZML_SDK="v1")
    line = one_line_error(result, 2)
    assert "azureml-core" in line
    assert "pip install" in line


def test_script_debug_shows_the_traceback(aml):
    result = aml("fetch-model.py", "--debug", **without(TITANIC, "AZML_MODEL"))
    assert result.returncode == 2
    assert "Traceback" in result.stderr
    assert "ConfigError" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: AZML_MODEL is not set")


def test_script_in_azure_pipelines_also_logs_an_issue(aml):
    result = aml("fetch-model.py", TF_BUILD="True", **without(TITANIC, "AZML_MODEL"))
    assert result.returncode == 2
    assert "##vso[task.logissue type=error]AZML_MODEL is not set" in result.stderr
