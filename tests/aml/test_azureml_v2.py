"""The Azure ML SDK v2 backend against a fake workspace at the SDK's own boundary: an object
with MLClient's `.data`, `.compute`, `.jobs` and `.models` operations. The backend builds real
`azure.ai.ml` entities (command, Input, Environment, AmlCompute, Model, Data); the fake records
them so the tests can assert exactly what would be submitted. No network, no Azure."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("azure.ai.ml", reason="the aml extra (azure-ai-ml) is not installed")

from azure.ai.ml.entities import AmlCompute, Data, Model
from azure.ai.ml.exceptions import JobException
from azure.core.exceptions import ClientAuthenticationError, ResourceNotFoundError

from tests.conftest import REPO_ROOT, shared_path

sys.path.insert(0, str(REPO_ROOT / "aml"))

from amllib import (
    AuthError,
    JobFailed,
    NotFound,
    Selector,
    Settings,
    TrainingJob,
    get_backend,
)
from amllib.azureml_v2 import AzureMLv2Backend
from amllib.settings import ComputeSpec

# azure-ai-ml's schemas use marshmallow features deprecated for marshmallow 4.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
TRAINING = REPO_ROOT / "training"
JOB_NAME = "quiet_lemon_7q2"


class FakeData:
    def __init__(self):
        self.created: list[Data] = []

    def create_or_update(self, data: Data) -> Data:
        self.created.append(data)
        version = sum(1 for d in self.created if d.name == data.name)
        return Data(
            name=data.name,
            version=str(version),
            type=data.type,
            path=f"azureml://datastores/workspaceblobstore/paths/LocalUpload/0f3a/{data.name}/",
        )


class FakeCompute:
    def __init__(self, existing=()):
        self.existing = set(existing)
        self.created: list[AmlCompute] = []

    def get(self, name):
        if name not in self.existing:
            raise ResourceNotFoundError(f"Compute {name} was not found")
        return AmlCompute(name=name, size="Standard_D2_v3")

    def begin_create_or_update(self, compute):
        self.created.append(compute)
        self.existing.add(compute.name)
        return SimpleNamespace(result=lambda: compute)


class FakeJobs:
    """Completes every job; its artifacts are a real training run's outputs/."""

    def __init__(self, outputs: Path, status="Completed", stream_error=None):
        self.outputs = outputs
        self.status = status
        self.stream_error = stream_error
        self.submitted = []
        self.streamed = []

    def create_or_update(self, job):
        # MLClient validates a job on the client before it sends anything; so does the fake.
        job._validate(raise_error=True)
        self.submitted.append(job)
        return SimpleNamespace(name=JOB_NAME, studio_url=f"https://ml.azure.com/runs/{JOB_NAME}")

    def stream(self, name):
        self.streamed.append(name)
        if self.stream_error:
            raise self.stream_error

    def get(self, name):
        return SimpleNamespace(name=name, status=self.status)

    def download(self, name, *, download_path=".", output_name=None, all=False):
        assert name == JOB_NAME
        shutil.copytree(self.outputs, Path(download_path) / "artifacts" / "outputs")


class FakeModels:
    def __init__(self, outputs: Path):
        self.outputs = outputs
        self.registered: list[Model] = []
        self.downloads = []
        self.auth_error = None

    def create_or_update(self, model: Model) -> Model:
        version = str(sum(1 for m in self.registered if m.name == model.name) + 1)
        stored = Model(
            name=model.name, version=version, path=model.path, type=model.type, tags=model.tags
        )
        self.registered.append(stored)
        return stored

    def list(self, name):
        if self.auth_error:
            raise self.auth_error
        return iter([m for m in self.registered if m.name == name])

    def download(self, name, version, download_path="."):
        self.downloads.append((name, version))
        if not any(m.name == name and m.version == version for m in self.registered):
            raise ResourceNotFoundError(f"Model {name}:{version} not found")
        shutil.copytree(self.outputs, Path(download_path) / name / "outputs")


class FakeMLClient:
    def __init__(self, outputs: Path, existing_compute=(), **jobs):
        self.data = FakeData()
        self.compute = FakeCompute(existing_compute)
        self.jobs = FakeJobs(outputs, **jobs)
        self.models = FakeModels(outputs)


def titanic_job(**changes) -> TrainingJob:
    values = {
        "script": TRAINING / "scikit-titanic.py",
        "datapath": "titanic/2024",
        "experiment": "titanic-training",
        "model_name": "titanic",
        "estimators": 150,
        "seed": 3,
        "compute": ComputeSpec("cpu-cluster", "Standard_D2_v3", 0, 4),
    }
    values.update(changes)
    return TrainingJob(**values)


@pytest.fixture
def client(trained_titanic):
    return FakeMLClient(trained_titanic)


@pytest.fixture
def backend(client):
    return AzureMLv2Backend(client, echo=lambda line: None)


def test_v2_upload_creates_a_versioned_uri_folder_asset(backend, client, tmp_path):
    (tmp_path / "titanic.csv").write_text("a\n1\n")
    first = backend.upload_data(tmp_path, "titanic/2024")
    second = backend.upload_data(tmp_path, "titanic/2024")
    asset = client.data.created[0]
    assert isinstance(asset, Data)
    assert asset.name == "titanic-2024"
    assert asset.type == "uri_folder"
    assert Path(asset.path) == tmp_path
    assert asset.tags == {"datapath": "titanic/2024"}
    assert (first.version, second.version) == (1, 2)
    assert "data asset titanic-2024:2" in second.location


def test_v2_train_creates_missing_compute_and_submits_the_command_job(
    backend, client, trained_titanic
):
    model = backend.train(titanic_job())

    (cluster,) = client.compute.created
    assert isinstance(cluster, AmlCompute)
    assert (cluster.name, cluster.size, cluster.min_instances, cluster.max_instances) == (
        "cpu-cluster",
        "Standard_D2_v3",
        0,
        4,
    )
    (job,) = client.jobs.submitted
    assert Path(job.code) == TRAINING
    assert job.command == (
        "python scikit-titanic.py --data-path ${{inputs.data}} --output-dir outputs "
        "--estimators 150 --seed 3"
    )
    submitted = job._to_dict()
    assert submitted["inputs"] == {
        "data": {"type": "uri_folder", "path": "azureml:titanic-2024@latest", "mode": "ro_mount"}
    }
    assert submitted["compute"] == "azureml:cpu-cluster"
    assert job.experiment_name == "titanic-training"
    assert job.environment.image.startswith("mcr.microsoft.com/azureml/")
    pip = job.environment.conda_file["dependencies"][-1]["pip"]
    assert any(p.startswith("skl2onnx") for p in pip)
    assert any(p.startswith("azureml-mlflow") for p in pip)
    assert client.jobs.streamed == [JOB_NAME]

    (registered,) = client.models.registered
    assert registered.name == "titanic"
    assert registered.type == "custom_model"
    assert registered.path == f"azureml://jobs/{JOB_NAME}/outputs/artifacts/paths/outputs/"
    metrics = json.loads((trained_titanic / "metrics.json").read_text())
    assert registered.tags["accuracy"] == str(metrics["cv_accuracy_mean"])
    assert registered.tags["run_id"] == JOB_NAME
    assert registered.tags["script"] == "scikit-titanic.py"
    assert (model.version, model.metrics) == (1, metrics)


def test_v2_train_uses_an_existing_compute_cluster(trained_titanic):
    client = FakeMLClient(trained_titanic, existing_compute=["cpu-cluster"])
    AzureMLv2Backend(client, echo=lambda line: None).train(titanic_job())
    assert client.compute.created == []
    assert len(client.jobs.submitted) == 1


def test_v2_train_failed_stream_fails_the_step_and_registers_nothing(trained_titanic):
    message = "Execution failed. User process exited with 1"
    error = JobException(message=message, no_personal_data_message=message)
    client = FakeMLClient(trained_titanic, stream_error=error)
    with pytest.raises(JobFailed, match=f"training job {JOB_NAME} failed: Execution failed"):
        AzureMLv2Backend(client, echo=lambda line: None).train(titanic_job())
    assert client.models.registered == []


def test_v2_train_cancelled_job_fails_the_step(trained_titanic):
    client = FakeMLClient(trained_titanic, status="Canceled")
    with pytest.raises(JobFailed, match="ended Canceled"):
        AzureMLv2Backend(client, echo=lambda line: None).train(titanic_job())
    assert client.models.registered == []


def test_v2_run_local_trains_here_and_registers_the_local_outputs(client, tmp_path):
    data = shared_path("data", "titanic")
    backend = AzureMLv2Backend(client, echo=lambda line: None)
    job = titanic_job(run_local=True, compute=None, local_data_dir=data, estimators=5)
    model = backend.train(job)
    assert client.jobs.submitted == []
    assert client.compute.created == []
    (registered,) = client.models.registered
    assert registered.name == "titanic"
    assert registered.tags["run_id"].startswith("titanic-training_local_")
    assert registered.tags["estimators"] == "5"
    assert model.metrics["estimators"] == 5


@pytest.mark.parametrize(
    ("selector", "expected"),
    [(Selector(), 3), (Selector(version=1), 1), (Selector(best=True), 2)],
)
def test_v2_fetch_downloads_the_chosen_version(backend, client, tmp_path, selector, expected):
    for accuracy in ("0.81", "0.86", "0.84"):
        client.models.create_or_update(
            Model(name="titanic", path="azureml://x", tags={"accuracy": accuracy, "run_id": "r"})
        )
    client.models.create_or_update(Model(name="other", path="azureml://y", tags={}))
    model = backend.fetch_model("titanic", selector, tmp_path / "model")
    assert model.version == expected
    assert client.models.downloads == [("titanic", str(expected))]
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == [
        "metrics.json",
        "model.onnx",
        "schema.json",
    ]
    assert model.tags["accuracy"] == ("0.81", "0.86", "0.84")[expected - 1]


def test_v2_fetch_unknown_version_names_the_existing_ones(backend, client, tmp_path):
    client.models.create_or_update(Model(name="titanic", path="azureml://x", tags={}))
    with pytest.raises(NotFound, match=r"no version 9 \(versions: 1\)"):
        backend.fetch_model("titanic", Selector(version=9), tmp_path)


def test_v2_auth_failure_names_az_login(backend, client, tmp_path):
    client.models.auth_error = ClientAuthenticationError(
        "AzureCliCredential: Please run 'az login'"
    )
    with pytest.raises(AuthError) as caught:
        backend.fetch_model("titanic", Selector(), tmp_path)
    assert "az login" in caught.value.hint
    assert "service connection" in caught.value.hint


def test_v2_real_client_without_az_cli_is_an_auth_error(monkeypatch, tmp_path):
    """The real MLClient with AzureCliCredential on a machine with no `az`: the credential
    fails before any request is sent, and the backend says to sign in."""
    monkeypatch.setenv("PATH", str(tmp_path))
    settings = Settings(
        {"AZML_WORKSPACE": "ws", "AZML_SUBID": "00000000-0000-0000-0000-000000000000",
         "AZML_RESGRP": "rg"}
    )  # fmt: skip
    backend = get_backend(settings, echo=lambda line: None)
    assert isinstance(backend, AzureMLv2Backend)
    with pytest.raises(AuthError) as caught:
        backend.fetch_model("titanic", Selector(), tmp_path / "out")
    assert "az login" in caught.value.hint
    assert not (tmp_path / "out").exists()
