"""Helpers for the training tests: import a training script by path (their names have
hyphens, as the pipelines' AZML_SCRIPT values do) and run one as a subprocess."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from tests.aml.conftest import clean_environ, run_script
from tests.conftest import REPO_ROOT

TRAINING = REPO_ROOT / "training"
TIMING_KEYS = {"cv_seconds", "fit_seconds", "train_seconds", "load_seconds"}


def load_training_module(file_name: str):
    path = TRAINING / file_name
    name = "training_" + path.stem.replace("-", "_")
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def train(script: str, data: Path, out: Path, *args: str):
    """Run training/<script> as a subprocess; returns (result, metrics without timings)."""
    result = run_script(
        TRAINING / script, "--data-path", str(data), "--output-dir", str(out), *args,
        env=clean_environ(),
    )  # fmt: skip
    metrics = None
    if result.returncode == 0:
        metrics = json.loads((out / "metrics.json").read_text())
        metrics = {k: v for k, v in metrics.items() if k not in TIMING_KEYS}
    return result, metrics
