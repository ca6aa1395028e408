"""The one interface every backend provides, and what the backends share.

A backend does the three things the pipelines need, the same way for every workspace kind:

    upload_data(data_dir, datapath) -> DataRef
        copy a local folder into the workspace's default datastore under `datapath`
    train(job: TrainingJob) -> ModelVersion
        run training/<script> (on compute, or on this machine when job.run_local) with the data
        at `datapath`, stream its log, fail on a failed run, and register its outputs/ as
        model `job.model_name` tagged with its accuracy and run id
    fetch_model(name, selector, destination) -> ModelVersion
        download the latest, a given, or the best-by-accuracy version's files into destination

Model versions are whole numbers counting up from 1 in every backend; tags are strings (as
Azure ML stores them). The tags written on registration are `registration_tags` below.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .errors import ConfigError, JobFailed, NotFound
from .settings import ComputeSpec

MODEL_FILES = ("model.onnx", "schema.json", "metrics.json")


@dataclass(frozen=True)
class DataRef:
    """Where uploaded data landed: a datastore path, plus the data asset version if any."""

    datapath: str
    location: str
    version: int | None = None


@dataclass(frozen=True)
class TrainingJob:
    """One training run, as run-training.py asks for it."""

    script: Path
    datapath: str
    experiment: str
    model_name: str
    estimators: int | None = None
    seed: int | None = None
    run_local: bool = False
    compute: ComputeSpec | None = None
    local_data_dir: Path | None = None

    @property
    def training_dir(self) -> Path:
        return self.script.parent

    def script_arguments(self, data_path: str, output_dir: str) -> list[str]:
        """The training script's command-line arguments (the same on every backend)."""
        arguments = ["--data-path", data_path, "--output-dir", output_dir]
        if self.estimators is not None:
            arguments += ["--estimators", str(self.estimators)]
        if self.seed is not None:
            arguments += ["--seed", str(self.seed)]
        return arguments


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)

    def accuracy(self) -> float:
        """The `accuracy` tag as a number; untagged or unreadable versions rank lowest."""
        try:
            value = float(self.tags.get("accuracy", "nan"))
        except ValueError:
            return -math.inf
        return value if math.isfinite(value) else -math.inf


@dataclass(frozen=True)
class Selector:
    """Which version fetch-model wants: a given one, the best by accuracy, or the latest."""

    version: int | None = None
    best: bool = False

    def describe(self) -> str:
        if self.version is not None:
            return f"version {self.version}"
        return "the best version by accuracy" if self.best else "the latest version"


class Backend(Protocol):
    name: str

    def upload_data(self, data_dir: Path, datapath: str) -> DataRef: ...

    def train(self, job: TrainingJob) -> ModelVersion: ...

    def fetch_model(self, name: str, selector: Selector, destination: Path) -> ModelVersion: ...


def select_version(name: str, versions: Iterable[ModelVersion], selector: Selector) -> ModelVersion:
    """Pick a version from a registry listing (NotFound naming what exists when absent)."""
    listed = sorted(versions, key=lambda item: item.version)
    if not listed:
        raise NotFound(
            f"model {name} has no registered versions",
            "run run-training.py first (or check AZML_MODEL)",
        )
    if selector.version is not None:
        for item in listed:
            if item.version == selector.version:
                return item
        existing = ", ".join(str(item.version) for item in listed)
        raise NotFound(f"model {name} has no version {selector.version} (versions: {existing})")
    if selector.best:
        return max(listed, key=lambda item: (item.accuracy(), item.version))
    return listed[-1]


def registration_tags(metrics: dict, run_id: str, job: TrainingJob, data: str) -> dict[str, str]:
    """Tags every backend puts on a registered model version."""
    tags = {
        "accuracy": str(metrics.get("cv_accuracy_mean", "")),
        "holdout_accuracy": str(metrics.get("holdout_accuracy", "")),
        "roc_auc": str(metrics.get("roc_auc", "")),
        "run_id": run_id,
        "script": job.script.name,
        "data": data,
    }
    for key in ("estimators", "seed"):
        if key in metrics:
            tags[key] = str(metrics[key])
    return tags


def read_metrics(outputs: Path) -> dict:
    """metrics.json of a finished run, or JobFailed when the script did not write it."""
    path = outputs / "metrics.json"
    if not path.is_file():
        raise JobFailed(f"the training run wrote no {path.name} in its outputs")
    return json.loads(path.read_text())


def find_model_folder(root: Path) -> Path:
    """The folder inside a downloaded model (SDKs nest it differently) holding model.onnx."""
    found = sorted(root.rglob("model.onnx"))
    if not found:
        raise NotFound(f"the downloaded model has no model.onnx (looked in {root})")
    return found[0].parent


def install_model(source: Path, destination: Path) -> dict:
    """Copy the model files into destination (replacing those files only); return metrics."""
    missing = [name for name in MODEL_FILES if not (source / name).is_file()]
    if missing:
        raise NotFound(f"the model is missing {', '.join(missing)}")
    destination.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        staged = destination / f".{name}.partial"
        shutil.copyfile(source / name, staged)
        os.replace(staged, destination / name)
    return json.loads((destination / "metrics.json").read_text())


def check_script(script: Path) -> None:
    if not script.is_file():
        choices = ", ".join(sorted(p.name for p in script.parent.glob("scikit-*.py")))
        raise ConfigError(
            f"AZML_SCRIPT={script.name}: no such training script in {script.parent}",
            f"use one of: {choices}",
        )


def run_script_locally(
    job: TrainingJob, data_path: Path, output_dir: Path, log_path: Path, echo: Callable[[str], None]
) -> None:
    """Run the training script on this machine as a subprocess, streaming its log to `echo`
    and to `log_path`; JobFailed (with the log's location) when it exits non-zero."""
    command = [
        sys.executable,
        str(job.script),
        *job.script_arguments(str(data_path), str(output_dir)),
    ]
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as log:
        log.write("$ " + " ".join(command) + "\n")
        process = subprocess.Popen(
            command,
            cwd=output_dir.parent,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            echo(line.rstrip("\n"))
        code = process.wait()
    if code != 0:
        raise JobFailed(
            f"training script {job.script.name} failed (exit code {code})", f"its log: {log_path}"
        )
