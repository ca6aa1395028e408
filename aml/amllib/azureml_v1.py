"""The Azure ML SDK v1 backend (`azureml-core`), selected with AZML_SDK=v1.

SDK v1 support ended on 2026-06-30; this backend is kept for teams whose workspaces and habits
are still on it, and does what the original scripts did:
- upload: `Datastore.upload` of the folder to the default datastore under AZML_DATAPATH.
- train: gets or creates the AmlCompute target, submits a `ScriptRunConfig` of
  `training/<script>` with the datastore folder as a mounted `Dataset.File`, in an environment
  from `training/environment.yml`; waits with the log shown; then `Run.register_model` of
  `outputs/` tagged with accuracy and run id. AZML_RUN_LOCAL runs the script here and uses
  `Model.register` on the local outputs.
- fetch: `Model.list` / `Model.download`.

Authentication is `AzureCliAuthentication` (the `AzureCLI@2` task's login, or `az login`).
SDK exceptions are translated into `amllib.errors` here.
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
from .settings import ComputeSpec

AUTH_HINT = (
    "run `az login` (in a pipeline: run the script in an AzureCLI@2 task whose service "
    "connection, $AZURE_SVC_CONNECTION, can reach the workspace)"
)
ENVIRONMENT_NAME = "mlops-training"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def translate_errors(action: str):
    """Turn azureml-core exceptions raised while doing `action` into ours."""
    from azureml.exceptions import (
        AuthenticationException,
        AzureMLException,
        ModelNotFoundException,
        WorkspaceException,
    )

    try:
        yield
    except AuthenticationException as exc:
        raise AuthError(
            f"not signed in to Azure ({action}): {_first_line(exc)}", AUTH_HINT
        ) from exc
    except (ModelNotFoundException, WorkspaceException) as exc:
        raise NotFound(f"{action}: {_first_line(exc)}") from exc
    except AzureMLException as exc:
        raise RemoteError(f"{action}: the workspace answered {_first_line(exc)}") from exc


class AzureMLv1Backend:
    name = "azureml-v1"

    def __init__(self, workspace, echo=print) -> None:
        """`workspace` is an `azureml.core.Workspace`."""
        self.workspace = workspace
        self.echo = echo

    @classmethod
    def connect(cls, subscription: str, resource_group: str, workspace: str, echo=print):
        try:
            from azureml.core import Workspace
            from azureml.core.authentication import AzureCliAuthentication
        except ImportError as exc:
            raise MissingSdk(
                "the Azure ML SDK v1 (azureml-core) is not installed",
                "pip install '.[aml-v1]' (or azureml-core), or use SDK v2: unset AZML_SDK",
            ) from exc
        with translate_errors(f"opening workspace {workspace}"):
            opened = Workspace(
                subscription_id=subscription,
                resource_group=resource_group,
                workspace_name=workspace,
                auth=AzureCliAuthentication(),
            )
        return cls(opened, echo)

    # -- data -------------------------------------------------------------------------------
    def upload_data(self, data_dir: Path, datapath: str) -> DataRef:
        with translate_errors(f"uploading {data_dir} to the default datastore"):
            datastore = self.workspace.get_default_datastore()
            datastore.upload(
                src_dir=str(data_dir), target_path=datapath, overwrite=True, show_progress=True
            )
        return DataRef(datapath, f"datastore {datastore.name}: {datapath}")

    # -- training ---------------------------------------------------------------------------
    def ensure_compute(self, spec: ComputeSpec):
        from azureml.core.compute import AmlCompute, ComputeTarget
        from azureml.core.compute_target import ComputeTargetException

        with translate_errors(f"getting or creating compute {spec.name}"):
            try:
                target = ComputeTarget(workspace=self.workspace, name=spec.name)
                self.echo(f"using compute cluster {spec.name}")
                return target
            except ComputeTargetException:
                pass
            self.echo(f"creating compute cluster {spec.name} ({spec.vm_size})")
            config = AmlCompute.provisioning_configuration(
                vm_size=spec.vm_size, min_nodes=spec.min_nodes, max_nodes=spec.max_nodes
            )
            target = ComputeTarget.create(self.workspace, spec.name, config)
            target.wait_for_completion(show_output=True)
            return target

    def script_run_config(self, job: TrainingJob, compute_target):
        """The run run-training submits: script, arguments, data mount, environment."""
        from azureml.core import Dataset, Environment, ScriptRunConfig

        datastore = self.workspace.get_default_datastore()
        dataset = Dataset.File.from_files(path=(datastore, job.datapath))
        arguments = job.script_arguments("DATA", "outputs")
        arguments[arguments.index("DATA")] = dataset.as_mount()
        environment = Environment.from_conda_specification(
            name=ENVIRONMENT_NAME, file_path=str(job.training_dir / "environment.yml")
        )
        return ScriptRunConfig(
            source_directory=str(job.training_dir),
            script=job.script.name,
            arguments=arguments,
            compute_target=compute_target,
            environment=environment,
        )

    def train(self, job: TrainingJob) -> ModelVersion:
        if job.run_local:
            return self._train_here(job)
        from azureml.core import Experiment

        if job.compute is None:
            raise ValueError("a run on Azure ML compute needs job.compute")
        target = self.ensure_compute(job.compute)
        with translate_errors(f"submitting {job.script.name} to experiment {job.experiment}"):
            config = self.script_run_config(job, target)
            run = Experiment(workspace=self.workspace, name=job.experiment).submit(config)
        self.echo(f"submitted run {run.id}: {run.get_portal_url()}")
        with translate_errors(f"waiting for run {run.id}"):
            run.wait_for_completion(show_output=True, raise_on_error=False)
            status = run.get_status()
        if status != "Completed":
            raise JobFailed(
                f"training run {run.id} ended {status}", f"its logs: {run.get_portal_url()}"
            )
        with tempfile.TemporaryDirectory(prefix="aml-run-") as scratch:
            with translate_errors(f"downloading the metrics of run {run.id}"):
                run.download_file(
                    "outputs/metrics.json", output_file_path=str(Path(scratch) / "metrics.json")
                )
            metrics = read_metrics(Path(scratch))
        tags = registration_tags(metrics, run.id, job, job.datapath)
        with translate_errors(f"registering model {job.model_name}"):
            model = run.register_model(
                model_name=job.model_name,
                model_path="outputs",
                tags=tags,
                description=f"{job.script.name}, run {run.id}",
            )
        return ModelVersion(model.name, int(model.version), tags, metrics)

    def _train_here(self, job: TrainingJob) -> ModelVersion:
        from azureml.core import Model

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
            with translate_errors(f"registering model {job.model_name}"):
                model = Model.register(
                    workspace=self.workspace,
                    model_path=str(outputs),
                    model_name=job.model_name,
                    tags=tags,
                    description=f"{job.script.name}, run {run_id} on the build agent",
                )
        return ModelVersion(model.name, int(model.version), tags, metrics)

    # -- models -----------------------------------------------------------------------------
    def list_models(self, name: str) -> list[ModelVersion]:
        from azureml.core import Model

        with translate_errors(f"listing the versions of model {name}"):
            listed = Model.list(self.workspace, name=name)
        return [ModelVersion(m.name, int(m.version), dict(m.tags or {})) for m in listed]

    def fetch_model(self, name: str, selector: Selector, destination: Path) -> ModelVersion:
        from azureml.core import Model

        chosen = select_version(name, self.list_models(name), selector)
        with tempfile.TemporaryDirectory(prefix="aml-model-") as scratch:
            with translate_errors(f"downloading model {name} version {chosen.version}"):
                model = Model(self.workspace, name=name, version=chosen.version)
                model.download(target_dir=scratch, exist_ok=True)
            metrics = install_model(find_model_folder(Path(scratch)), destination)
        return ModelVersion(chosen.name, chosen.version, chosen.tags, metrics)
