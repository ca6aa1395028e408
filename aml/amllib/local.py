"""The local backend: a folder that acts as an Azure ML workspace, for trying the pipelines'
scripts without a subscription, for tests and for the demo.

Layout under the root (`AZML_LOCAL_ROOT`, default `.aml-local/` at the repository root):

    datastore/workspaceblobstore/<AZML_DATAPATH>/...   the default datastore's files
    data/<asset>/<version>.json                        data asset versions (one per upload)
    runs/<run id>/run.json, std_log.txt, outputs/      job runs: record, log, outputs
    models/<name>/<version>/model.json + files         the model registry

Runs are subprocesses of the current Python; run.json records the script, arguments, status,
times and the metrics the script wrote. Versions count up from 1; claiming a version is an
atomic `mkdir`, so concurrent registrations never share one. Everything written is JSON or a
copied file, so the folder can be read (and deleted) by hand.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from .backend import (
    MODEL_FILES,
    DataRef,
    ModelVersion,
    Selector,
    TrainingJob,
    install_model,
    read_metrics,
    registration_tags,
    run_script_locally,
    select_version,
)
from .errors import AmlError, NotFound

DATASTORE = "workspaceblobstore"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_json(path: Path, value: dict) -> None:
    staged = path.with_name(f".{path.name}.partial")
    staged.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n")
    os.replace(staged, path)


def asset_name(datapath: str) -> str:
    """The data asset name for a datastore path (Azure ML allows letters, digits, - and _)."""
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in datapath)


def _claim_next(folder: Path, make) -> int:
    """Claim the next free version number in `folder` with an atomic create; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    taken = [int(p.name.split(".")[0]) for p in folder.iterdir() if p.name.split(".")[0].isdigit()]
    version = max(taken, default=0) + 1
    while True:
        try:
            make(version)
            return version
        except FileExistsError:
            version += 1


class LocalBackend:
    name = "local"

    def __init__(self, root: Path, echo=print) -> None:
        self.root = root
        self.echo = echo

    # -- data -------------------------------------------------------------------------------
    def datastore_path(self, datapath: str) -> Path:
        return self.root / "datastore" / DATASTORE / datapath

    def upload_data(self, data_dir: Path, datapath: str) -> DataRef:
        target = self.datastore_path(datapath)
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
        shutil.copytree(data_dir, staged)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staged, target)

        files = sorted(p for p in target.rglob("*") if p.is_file())
        digest = hashlib.sha256()
        for path in files:
            digest.update(path.relative_to(target).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
        record = {
            "name": asset_name(datapath),
            "type": "uri_folder",
            "path": f"azureml://datastores/{DATASTORE}/paths/{datapath}/",
            "source": str(data_dir),
            "files": len(files),
            "bytes": sum(p.stat().st_size for p in files),
            "sha256": digest.hexdigest(),
            "created": _now(),
        }
        folder = self.root / "data" / record["name"]

        def make(version: int) -> None:
            with (folder / f"{version}.json").open("x") as handle:
                json.dump({**record, "version": version}, handle, indent=2, sort_keys=True)

        version = _claim_next(folder, make)
        return DataRef(datapath, str(target), version)

    def latest_data_version(self, datapath: str) -> int | None:
        folder = self.root / "data" / asset_name(datapath)
        versions = [int(p.stem) for p in folder.glob("*.json") if p.stem.isdigit()]
        return max(versions, default=None)

    # -- training ---------------------------------------------------------------------------
    def train(self, job: TrainingJob) -> ModelVersion:
        data = self.datastore_path(job.datapath)
        if not data.is_dir():
            raise NotFound(
                f"no data at AZML_DATAPATH={job.datapath} in the local datastore ({data})",
                "run upload-data.py --data-dir DIR first",
            )
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        run_id = f"{job.experiment}_{stamp}_{uuid.uuid4().hex[:8]}"
        run_dir = self.root / "runs" / run_id
        outputs = run_dir / "outputs"
        outputs.mkdir(parents=True)
        record = {
            "id": run_id,
            "experiment": job.experiment,
            "script": job.script.name,
            "arguments": job.script_arguments(str(data), str(outputs)),
            "data": {"datapath": job.datapath, "version": self.latest_data_version(job.datapath)},
            "status": "Running",
            "started": _now(),
        }
        _write_json(run_dir / "run.json", record)
        self.echo(f"run {run_id}: {job.script.name} on the local backend")
        started = time.perf_counter()
        try:
            run_script_locally(job, data, outputs, run_dir / "std_log.txt", self.echo)
            metrics = read_metrics(outputs)
        except AmlError:
            record.update(status="Failed", ended=_now())
            _write_json(run_dir / "run.json", record)
            raise
        record.update(
            status="Completed",
            ended=_now(),
            duration_seconds=round(time.perf_counter() - started, 3),
            metrics=metrics,
        )
        _write_json(run_dir / "run.json", record)
        data_label = f"{asset_name(job.datapath)}:{record['data']['version']}"
        tags = registration_tags(metrics, run_id, job, data_label)
        return self.register_model(job.model_name, outputs, tags, run_id, metrics)

    # -- models -----------------------------------------------------------------------------
    def register_model(
        self, name: str, outputs: Path, tags: dict[str, str], run_id: str, metrics: dict
    ) -> ModelVersion:
        folder = self.root / "models" / name
        version = _claim_next(folder, lambda v: (folder / str(v)).mkdir())
        target = folder / str(version)
        for file_name in MODEL_FILES:
            shutil.copyfile(outputs / file_name, target / file_name)
        _write_json(
            target / "model.json",
            {
                "name": name,
                "version": version,
                "tags": tags,
                "run_id": run_id,
                "created": _now(),
                "files": list(MODEL_FILES),
            },
        )
        return ModelVersion(name, version, tags, metrics)

    def list_models(self, name: str) -> list[ModelVersion]:
        versions = []
        for record_path in (self.root / "models" / name).glob("*/model.json"):
            record = json.loads(record_path.read_text())
            versions.append(ModelVersion(record["name"], int(record["version"]), record["tags"]))
        return versions

    def fetch_model(self, name: str, selector: Selector, destination: Path) -> ModelVersion:
        chosen = select_version(name, self.list_models(name), selector)
        metrics = install_model(self.root / "models" / name / str(chosen.version), destination)
        return ModelVersion(chosen.name, chosen.version, chosen.tags, metrics)
