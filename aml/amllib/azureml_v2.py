"""The Azure ML SDK v2 backend (`azure-ai-ml`), the default for a real workspace.

Authentication is `azure.identity.AzureCliCredential`: the login of the pipeline's
`AzureCLI@2` task (its service connection), or of `az login` on a workstation.

What it does with the workspace:
- upload: a new version of the `uri_folder` data asset named after AZML_DATAPATH ('/' and
  other characters data asset names forbid become '-'). The SDK uploads the files to the
  workspace's default datastore (under its content-addressed `LocalUpload/` folder) and the
  asset records where; training refers to the asset, `azureml:<name>@latest`.
- train: gets or creates the AmlCompute cluster, submits a command job whose code is
  `training/`, whose environment is `training/environment.yml` on an Azure ML base image and
  whose input `data` is the asset mounted read-only; streams its log; then registers the
  job's `outputs/` artifacts as a `custom_model` tagged with accuracy and run id.
  With AZML_RUN_LOCAL it runs the script here and registers the local outputs instead.
- fetch: lists the model's versions, picks one, downloads it.

SDK exceptions are translated into `amllib.errors` here and nowhere else.
"""

from __future__ import annotations

import tempfile
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from .backend import (
    DataRef,
    ModelVersion,
    Selector,
    TrainingJob,
    find_model_folder,
    install_model,
    read_metrics,
    registration_tags,
    run_script_locally,
    select_version,
)
from .errors import AuthError, JobFailed, MissingSdk, NotFound, RemoteError
from .local import asset_name
from .settings import ComputeSpec

BASE_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"
ENVIRONMENT_NAME = "mlops-training"
AUTH_HINT = (
    "run `az login` (in a pipeline: run the script in an AzureCLI@2 task whose service "
    "connection, $AZURE_SVC_CONNECTION, can reach the workspace)"
)
IDLE_SECONDS_BEFORE_SCALE_DOWN = 900


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def translate_errors(action: str):
    """Turn azure-core / azure-ai-ml exceptions raised while doing `action` into ours."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
    )

    try:
        yield
    except ClientAuthenticationError as exc:
        raise AuthError(
            f"not signed in to Azure ({action}): {_first_line(exc)}", AUTH_HINT
        ) from exc
    except ResourceNotFoundError as exc:
        raise NotFound(f"{action}: {_first_line(exc)}") from exc
    except HttpResponseError as exc:
        raise RemoteError(f"{action}: the workspace answered {_first_line(exc)}") from exc
    except ServiceRequestError as exc:
        raise RemoteError(f"{action}: could not reach Azure: {_first_line(exc)}") from exc


class AzureMLv2Backend:
    name = "azureml-v2"

    def __init__(self, client, echo=print) -> None:
        """`client` is an `azure.ai.ml.MLClient` (tests pass one with fake operations)."""
        self.client = client
        self.echo = echo

    @classmethod
    def connect(cls, subscription: str, resource_group: str, workspace: str, echo=print):
        try:
            from azure.ai.ml import MLClient
            from azure.identity import AzureCliCredential
        except ImportError as exc:
            raise MissingSdk(
                "the Azure ML SDK v2 (azure-ai-ml, azure-identity) is not installed",
                "pip install -r aml/requirements.txt (or pip install '.[aml]')",
            ) from exc
        client = MLClient(
            AzureCliCredential(),
            subscription_id=subscription,
            resource_group_name=resource_group,
            workspace_name=workspace,
        )
        return cls(client, echo)

    # -- data -------------------------------------------------------------------------------
    def upload_data(self, data_dir: Path, datapath: str) -> DataRef:
        from azure.ai.ml.constants import AssetTypes
        from azure.ai.ml.entities import Data

        asset = Data(
            name=asset_name(datapath),
            path=str(data_dir),
            type=AssetTypes.URI_FOLDER,
            description=f"AZML_DATAPATH {datapath}, uploaded by aml/upload-data.py",
            tags={"datapath": datapath},
        )
        with translate_errors(f"uploading {data_dir} as data asset {asset.name}"):
            created = self.client.data.create_or_update(asset)
        return DataRef(
            datapath,
            f"data asset {created.name}:{created.version} ({created.path})",
            int(created.version),
        )

    # -- training ---------------------------------------------------------------------------
    def ensure_compute(self, spec: ComputeSpec) -> None:
        from azure.ai.ml.entities import AmlCompute
        from azure.core.exceptions import ResourceNotFoundError

        try:
            with translate_errors(f"reading compute {spec.name}"):
                try:
                    self.client.compute.get(spec.name)
                    self.echo(f"using compute cluster {spec.name}")
                    return
                except ResourceNotFoundError:
                    pass
                cluster = AmlCompute(
                    name=spec.name,
                    size=spec.vm_size,
                    min_instances=spec.min_nodes,
                    max_instances=spec.max_nodes,
                    idle_time_before_scale_down=IDLE_SECONDS_BEFORE_SCALE_DOWN,
                )
                self.echo(f"creating compute cluster {spec.name} ({spec.vm_size})")
                self.client.compute.begin_create_or_update(cluster).result()
        except NotFound as exc:
            raise NotFound(f"creating compute {spec.name}: {exc.message}") from exc

    def command_job(self, job: TrainingJob):
        """The command job run-training submits (built from real SDK entities)."""
        from azure.ai.ml import Input, command
        from azure.ai.ml.constants import AssetTypes, InputOutputModes
        from azure.ai.ml.entities import Environment

        arguments = job.script_arguments("${{inputs.data}}", "outputs")
        return command(
            code=str(job.training_dir),
            command=" ".join(["python", job.script.name, *arguments]),
            inputs={
                "data": Input(
                    type=AssetTypes.URI_FOLDER,
                    path=f"azureml:{asset_name(job.datapath)}@latest",
                    mode=InputOutputModes.RO_MOUNT,
                )
            },
            environment=Environment(
                name=ENVIRONMENT_NAME,
                image=BASE_IMAGE,
                conda_file=str(job.training_dir / "environment.yml"),
            ),
            compute=job.compute.name if job.compute else None,
            experiment_name=job.experiment,
            display_name=f"{job.experiment}-{job.script.stem}",
            description=f"aml/run-training.py: {job.script.name} -> model {job.model_name}",
        )

    def train(self, job: TrainingJob) -> ModelVersion:
        if job.run_local:
            return self._train_here(job)
        from azure.ai.ml.constants import AssetTypes
        from azure.ai.ml.entities import Model
        from azure.ai.ml.exceptions import JobException

        if job.compute is None:
            raise ValueError("a job on Azure ML compute needs job.compute")
        self.ensure_compute(job.compute)
        with translate_errors(f"submitting {job.script.name} to experiment {job.experiment}"):
            submitted = self.client.jobs.create_or_update(self.command_job(job))
        self.echo(f"submitted job {submitted.name}: {submitted.studio_url}")
        try:
            with translate_errors(f"streaming the log of job {submitted.name}"):
                self.client.jobs.stream(submitted.name)
        except JobException as exc:
            raise JobFailed(
                f"training job {submitted.name} failed: {_first_line(exc)}",
                f"its logs: {submitted.studio_url}",
            ) from exc
        with translate_errors(f"reading job {submitted.name}"):
            finished = self.client.jobs.get(submitted.name)
        if finished.status != "Completed":
            raise JobFailed(
                f"training job {submitted.name} ended {finished.status}",
                f"its logs: {submitted.studio_url}",
            )
        with tempfile.TemporaryDirectory(prefix="aml-job-") as scratch:
            with translate_errors(f"downloading the outputs of job {submitted.name}"):
                self.client.jobs.download(submitted.name, download_path=scratch)
            metrics = read_metrics(find_model_folder(Path(scratch)))
        tags = registration_tags(metrics, submitted.name, job, f"{asset_name(job.datapath)}@latest")
        model = Model(
            name=job.model_name,
            path=f"azureml://jobs/{submitted.name}/outputs/artifacts/paths/outputs/",
            type=AssetTypes.CUSTOM_MODEL,
            tags=tags,
            description=f"{job.script.name}, job {submitted.name}",
        )
        return self._register(model, metrics)

    def _train_here(self, job: TrainingJob) -> ModelVersion:
        from azure.ai.ml.constants import AssetTypes
        from azure.ai.ml.entities import Model

        if job.local_data_dir is None:
            raise ValueError("a run on this machine needs job.local_data_dir")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        run_id = f"{job.experiment}_local_{stamp}_{uuid.uuid4().hex[:8]}"
        with tempfile.TemporaryDirectory(prefix="aml-run-") as scratch:
            outputs = Path(scratch) / "outputs"
            outputs.mkdir()
            self.echo(f"run {run_id}: {job.script.name} on this machine (AZML_RUN_LOCAL)")
            run_script_locally(
                job, job.local_data_dir, outputs, Path(scratch) / "std_log.txt", self.echo
            )
            metrics = read_metrics(outputs)
            tags = registration_tags(metrics, run_id, job, f"local:{job.local_data_dir}")
            model = Model(
                name=job.model_name,
                path=str(outputs),
                type=AssetTypes.CUSTOM_MODEL,
                tags=tags,
                description=f"{job.script.name}, run {run_id} on the build agent",
            )
            return self._register(model, metrics)

    def _register(self, model, metrics: dict) -> ModelVersion:
        with translate_errors(f"registering model {model.name}"):
            registered = self.client.models.create_or_update(model)
        return ModelVersion(registered.name, int(registered.version), dict(model.tags), metrics)

    # -- models -----------------------------------------------------------------------------
    def list_models(self, name: str) -> list[ModelVersion]:
        with translate_errors(f"listing the versions of model {name}"):
            listed = list(self.client.models.list(name=name))
        return [
            ModelVersion(item.name, int(item.version), dict(item.tags or {}))
            for item in listed
            if str(item.version).isdigit()
        ]

    def fetch_model(self, name: str, selector: Selector, destination: Path) -> ModelVersion:
        chosen = select_version(name, self.list_models(name), selector)
        with tempfile.TemporaryDirectory(prefix="aml-model-") as scratch:
            with translate_errors(f"downloading model {name} version {chosen.version}"):
                self.client.models.download(
                    name=name, version=str(chosen.version), download_path=scratch
                )
            metrics = install_model(find_model_folder(Path(scratch)), destination)
        return ModelVersion(chosen.name, chosen.version, chosen.tags, metrics)
