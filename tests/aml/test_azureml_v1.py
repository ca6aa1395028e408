"""The Azure ML SDK v1 backend against a fake `azureml.core` at the SDK's module boundary.

azureml-core is not part of the test install (it pins old versions of shared packages such as
`packaging`, and its support ended 2026-06-30), so these tests put a small stand-in for the
SDK's public classes into `sys.modules`, with the same names and call signatures the backend
uses (Workspace, Datastore.upload, Dataset.File, Environment, ScriptRunConfig, Experiment, Run,
Model, AmlCompute, ComputeTarget, the exception types), and assert what would be submitted.
"""

from __future__ import annotations

import json
import shutil
import sys
import types
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "aml"))

from amllib import AuthError, JobFailed, NotFound, Selector, Settings, TrainingJob, get_backend
from amllib.azureml_v1 import AzureMLv1Backend
from amllib.settings import ComputeSpec

TRAINING = REPO_ROOT / "training"


class FakeWorkspaceState:
    """What the pretend v1 workspace holds and what was done to it."""

    def __init__(self, outputs: Path):
        self.outputs = outputs
        self.auth_fails = False
        self.computes: set[str] = set()
        self.created_computes = []
        self.uploads = []
        self.runs = []
        self.models = []
        self.downloads = []
        self.run_status = "Completed"


def fake_azureml(state: FakeWorkspaceState) -> dict[str, types.ModuleType]:
    """Modules azureml, azureml.core, .compute, .compute_target, .authentication, .exceptions."""

    class AzureMLException(Exception):
        pass

    class UserErrorException(AzureMLException):
        pass

    class AuthenticationException(UserErrorException):
        pass

    class ModelNotFoundException(AzureMLException):
        pass

    class WorkspaceException(AzureMLException):
        pass

    class ComputeTargetException(AzureMLException):
        pass

    class AzureCliAuthentication:
        pass

    class Datastore:
        name = "workspaceblobstore"

        def upload(self, src_dir, target_path=None, overwrite=False, show_progress=True):
            state.uploads.append(
                {"src_dir": src_dir, "target_path": target_path, "overwrite": overwrite}
            )

    class Workspace:
        def __init__(self, subscription_id, resource_group, workspace_name, auth=None):
            if state.auth_fails:
                raise AuthenticationException(
                    "Could not retrieve user token. Please run 'az login'"
                )
            assert isinstance(auth, AzureCliAuthentication)
            self.subscription_id = subscription_id
            self.resource_group = resource_group
            self.name = workspace_name

        def get_default_datastore(self):
            return Datastore()

    class Mount:
        def __init__(self, datastore, path):
            self.datastore, self.path = datastore, path

    class FileDataset:
        def __init__(self, path):
            self.path = path

        def as_mount(self):
            return Mount(*self.path)

    class Dataset:
        class File:
            @staticmethod
            def from_files(path):
                return FileDataset(path)

    class Environment:
        def __init__(self, name, file_path):
            self.name, self.file_path = name, file_path

        @classmethod
        def from_conda_specification(cls, name, file_path):
            return cls(name, file_path)

    class ScriptRunConfig:
        def __init__(self, source_directory, script, arguments, compute_target, environment):
            self.source_directory = source_directory
            self.script = script
            self.arguments = arguments
            self.compute_target = compute_target
            self.environment = environment

    class Model:
        def __init__(self, workspace, name, version):
            matches = [m for m in state.models if m.name == name and m.version == version]
            if not matches:
                raise ModelNotFoundException(f"Model {name}:{version} not found")
            self.name, self.version, self.tags = name, version, matches[0].tags

        @staticmethod
        def list(workspace, name=None):
            return [m for m in state.models if m.name == name]

        @staticmethod
        def register(workspace, model_path, model_name, tags=None, description=None):
            return _register(model_name, model_path, tags)

        def download(self, target_dir=".", exist_ok=False):
            state.downloads.append((self.name, self.version))
            target = Path(target_dir) / "outputs"
            shutil.copytree(state.outputs, target)
            return str(target)

    def _register(name, path, tags):
        version = sum(1 for m in state.models if m.name == name) + 1
        model = types.SimpleNamespace(name=name, version=version, tags=dict(tags or {}), path=path)
        state.models.append(model)
        return model

    class Run:
        def __init__(self, experiment, config):
            self.id = f"{experiment}_1733300000_1a2b3c4d"
            self.config = config
            self.registered = None

        def get_portal_url(self):
            return f"https://ml.azure.com/runs/{self.id}"

        def wait_for_completion(self, show_output=False, raise_on_error=True):
            assert raise_on_error is False

        def get_status(self):
            return state.run_status

        def download_file(self, name, output_file_path=None):
            assert name == "outputs/metrics.json"
            shutil.copyfile(state.outputs / "metrics.json", output_file_path)

        def register_model(self, model_name, model_path=None, tags=None, description=None):
            self.registered = {"model_name": model_name, "model_path": model_path, "tags": tags}
            return _register(model_name, model_path, tags)

    class Experiment:
        def __init__(self, workspace, name):
            self.name = name

        def submit(self, config):
            run = Run(self.name, config)
            state.runs.append(run)
            return run

    class ComputeTarget:
        def __init__(self, workspace, name):
            if name not in state.computes:
                raise ComputeTargetException(f"ComputeTargetNotFound: {name}")
            self.name = name

        @staticmethod
        def create(workspace, name, provisioning_configuration):
            state.created_computes.append((name, provisioning_configuration))
            state.computes.add(name)
            target = types.SimpleNamespace(name=name, waited=False)
            target.wait_for_completion = lambda show_output=False: setattr(target, "waited", True)
            return target

    class AmlCompute:
        @staticmethod
        def provisioning_configuration(vm_size="", min_nodes=0, max_nodes=None):
            return {"vm_size": vm_size, "min_nodes": min_nodes, "max_nodes": max_nodes}

    def module(name, **members):
        made = types.ModuleType(name)
        made.__dict__.update(members)
        return made

    core = module(
        "azureml.core",
        Workspace=Workspace,
        Dataset=Dataset,
        Environment=Environment,
        ScriptRunConfig=ScriptRunConfig,
        Experiment=Experiment,
        Model=Model,
    )
    exceptions = module(
        "azureml.exceptions",
        AzureMLException=AzureMLException,
        UserErrorException=UserErrorException,
        AuthenticationException=AuthenticationException,
        ModelNotFoundException=ModelNotFoundException,
        WorkspaceException=WorkspaceException,
        ComputeTargetException=ComputeTargetException,
    )
    return {
        "azureml": module("azureml", core=core, exceptions=exceptions),
        "azureml.core": core,
        "azureml.core.authentication": module(
            "azureml.core.authentication", AzureCliAuthentication=AzureCliAuthentication
        ),
        "azureml.core.compute": module(
            "azureml.core.compute", AmlCompute=AmlCompute, ComputeTarget=ComputeTarget
        ),
        "azureml.core.compute_target": module(
            "azureml.core.compute_target", ComputeTargetException=ComputeTargetException
        ),
        "azureml.exceptions": exceptions,
    }


@pytest.fixture
def state(trained_titanic, monkeypatch):
    workspace = FakeWorkspaceState(trained_titanic)
    for name, module in fake_azureml(workspace).items():
        monkeypatch.setitem(sys.modules, name, module)
    return workspace


@pytest.fixture
def backend(state):
    settings = Settings(
        {"AZML_WORKSPACE": "ws", "AZML_SUBID": "sub", "AZML_RESGRP": "rg", "AZML_SDK": "v1"}
    )
    chosen = get_backend(settings, echo=lambda line: None)
    assert isinstance(chosen, AzureMLv1Backend)
    return chosen


def titanic_job(**changes) -> TrainingJob:
    values = {
        "script": TRAINING / "scikit-titanic.py",
        "datapath": "titanic-data",
        "experiment": "titanic-training",
        "model_name": "titanic",
        "estimators": 120,
        "seed": 5,
        "compute": ComputeSpec("cpu-cluster", "Standard_D2_v3", 0, 2),
    }
    values.update(changes)
    return TrainingJob(**values)


def test_v1_connect_opens_the_workspace_with_cli_auth(backend):
    workspace = backend.workspace
    assert (workspace.subscription_id, workspace.resource_group, workspace.name) == (
        "sub",
        "rg",
        "ws",
    )


def test_v1_connect_without_login_is_an_auth_error(state):
    state.auth_fails = True
    with pytest.raises(AuthError) as caught:
        AzureMLv1Backend.connect("sub", "rg", "ws")
    assert "az login" in caught.value.hint


def test_v1_upload_writes_the_folder_under_the_datapath(backend, state, tmp_path):
    ref = backend.upload_data(tmp_path, "titanic-data")
    assert state.uploads == [
        {"src_dir": str(tmp_path), "target_path": "titanic-data", "overwrite": True}
    ]
    assert ref.location == "datastore workspaceblobstore: titanic-data"


def test_v1_train_submits_the_script_run_and_registers_outputs(backend, state, trained_titanic):
    model = backend.train(titanic_job())

    ((name, config),) = state.created_computes
    assert name == "cpu-cluster"
    assert config == {"vm_size": "Standard_D2_v3", "min_nodes": 0, "max_nodes": 2}
    (run,) = state.runs
    submitted = run.config
    assert Path(submitted.source_directory) == TRAINING
    assert submitted.script == "scikit-titanic.py"
    assert submitted.compute_target.name == "cpu-cluster"
    assert submitted.environment.name == "mlops-training"
    assert Path(submitted.environment.file_path) == TRAINING / "environment.yml"
    mount = submitted.arguments[1]
    assert (mount.datastore.name, mount.path) == ("workspaceblobstore", "titanic-data")
    assert submitted.arguments[0] == "--data-path"
    assert submitted.arguments[2:] == [
        "--output-dir",
        "outputs",
        "--estimators",
        "120",
        "--seed",
        "5",
    ]

    metrics = json.loads((trained_titanic / "metrics.json").read_text())
    assert run.registered["model_name"] == "titanic"
    assert run.registered["model_path"] == "outputs"
    assert run.registered["tags"]["accuracy"] == str(metrics["cv_accuracy_mean"])
    assert run.registered["tags"]["run_id"] == run.id
    assert (model.version, model.metrics) == (1, metrics)


def test_v1_train_reuses_an_existing_compute_target(backend, state):
    state.computes.add("cpu-cluster")
    backend.train(titanic_job())
    assert state.created_computes == []


def test_v1_train_failed_run_fails_the_step(backend, state):
    state.run_status = "Failed"
    with pytest.raises(JobFailed, match="ended Failed"):
        backend.train(titanic_job())
    assert state.models == []


@pytest.mark.parametrize(
    ("selector", "expected"),
    [(Selector(), 3), (Selector(version=2), 2), (Selector(best=True), 1)],
)
def test_v1_fetch_downloads_the_chosen_version(backend, state, tmp_path, selector, expected):
    for accuracy in ("0.85", "0.80", "0.83"):
        state.models.append(
            types.SimpleNamespace(
                name="titanic", version=len(state.models) + 1, tags={"accuracy": accuracy}
            )
        )
    model = backend.fetch_model("titanic", selector, tmp_path / "model")
    assert model.version == expected
    assert state.downloads == [("titanic", expected)]
    assert (tmp_path / "model" / "model.onnx").is_file()


def test_v1_fetch_nothing_registered_is_not_found(backend, tmp_path):
    with pytest.raises(NotFound, match="no registered versions"):
        backend.fetch_model("titanic", Selector(), tmp_path)
