"""The environment-variable contract between the pipelines and the AML scripts.

The names are public (the `shared-variables` group and each pipeline's `variables:` set them)
and must not change. Each script asks for the variables it needs with `Settings.require`; a
missing one is reported as one line naming it and what it is for (exit code 2).

Backend selection:
- `AZML_BACKEND=local` or no `AZML_WORKSPACE`: the local backend, a folder acting as the
  workspace (`AZML_LOCAL_ROOT`, default `.aml-local/` at the repository root).
- `AZML_BACKEND=azureml`, or `AZML_WORKSPACE` set: Azure ML, with SDK v2 (`azure-ai-ml`)
  unless `AZML_SDK=v1` (`azureml-core`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]

VARIABLES = {
    "AZML_WORKSPACE": "the Azure ML workspace name",
    "AZML_SUBID": "the Azure subscription id that holds the workspace",
    "AZML_RESGRP": "the resource group that holds the workspace",
    "AZML_DATAPATH": "the folder in the workspace's default datastore that holds the training data "
    "(e.g. titanic-data)",
    "AZML_SCRIPT": "the training script in training/ to run (e.g. scikit-titanic.py)",
    "AZML_EXPERIMENT": "the experiment the training run is recorded under (e.g. titanic)",
    "AZML_MODEL": "the name the model is registered under (e.g. titanic)",
    "AZML_COMPUTE_NAME": "the Azure ML compute cluster that runs training",
    "AZML_COMPUTE_VMSIZE": "the VM size of the compute cluster when it is created "
    "(e.g. Standard_D2_v3)",
    "AZML_COMPUTE_MIN_NODES": "the compute cluster's minimum node count (e.g. 0)",
    "AZML_COMPUTE_MAX_NODES": "the compute cluster's maximum node count (e.g. 2)",
    "AZML_RUN_LOCAL": "true to run training on this machine instead of Azure ML compute",
    "AZML_BACKEND": "local or azureml",
    "AZML_SDK": "v2 (azure-ai-ml, the default) or v1 (azureml-core)",
    "AZML_LOCAL_ROOT": "the folder the local backend uses as its workspace",
}
WORKSPACE_VARIABLES = ("AZML_WORKSPACE", "AZML_SUBID", "AZML_RESGRP")
COMPUTE_VARIABLES = (
    "AZML_COMPUTE_NAME",
    "AZML_COMPUTE_VMSIZE",
    "AZML_COMPUTE_MIN_NODES",
    "AZML_COMPUTE_MAX_NODES",
)
TRUE_WORDS = ("true", "1", "yes", "on")
FALSE_WORDS = ("false", "0", "no", "off", "")
MODEL_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
DATAPATH_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


@dataclass(frozen=True)
class ComputeSpec:
    """The compute cluster run-training gets or creates."""

    name: str
    vm_size: str
    min_nodes: int
    max_nodes: int


class Settings:
    """Reads the contract's variables from an environment mapping (default `os.environ`)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = dict(os.environ if environ is None else environ)

    def get(self, name: str) -> str | None:
        value = self.environ.get(name, "").strip()
        return value or None

    def require(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise ConfigError(
                f"{name} is not set: {VARIABLES[name]}",
                "set it in the pipeline's variables (or export it in your shell)",
            )
        return value

    @property
    def backend(self) -> str:
        chosen = (self.get("AZML_BACKEND") or "").lower()
        if chosen in ("local", "azureml"):
            return chosen
        if chosen:
            raise ConfigError(
                f"AZML_BACKEND={self.get('AZML_BACKEND')} is not a backend: use local or azureml"
            )
        return "azureml" if self.get("AZML_WORKSPACE") else "local"

    @property
    def sdk(self) -> str:
        chosen = (self.get("AZML_SDK") or "v2").lower()
        if chosen not in ("v1", "v2"):
            raise ConfigError(
                f"AZML_SDK={self.get('AZML_SDK')} is not an SDK version: use v2 or v1"
            )
        return chosen

    @property
    def local_root(self) -> Path:
        return Path(self.get("AZML_LOCAL_ROOT") or REPO_ROOT / ".aml-local").resolve()

    @property
    def run_local(self) -> bool:
        value = (self.get("AZML_RUN_LOCAL") or "").lower()
        if value in TRUE_WORDS:
            return True
        if value in FALSE_WORDS:
            return False
        raise ConfigError(f"AZML_RUN_LOCAL={self.get('AZML_RUN_LOCAL')} is not true or false")

    def datapath(self) -> str:
        """AZML_DATAPATH, checked: a relative folder path inside the datastore."""
        value = self.require("AZML_DATAPATH").strip("/")
        if not DATAPATH_PATTERN.match(value) or ".." in value.split("/"):
            raise ConfigError(
                f"AZML_DATAPATH={value} is not a datastore folder path",
                "use letters, digits, '.', '_', '-' and '/' (e.g. titanic-data)",
            )
        return value

    def model_name(self) -> str:
        """AZML_MODEL, checked against Azure ML's rule for asset names."""
        value = self.require("AZML_MODEL")
        if not MODEL_NAME_PATTERN.match(value):
            raise ConfigError(
                f"AZML_MODEL={value} is not a model name",
                "start with a letter or digit; then letters, digits, '-', '_' or '.' "
                "(at most 255 characters)",
            )
        return value

    def workspace(self) -> tuple[str, str, str]:
        """(subscription id, resource group, workspace name) for the Azure ML backends."""
        return (
            self.require("AZML_SUBID"),
            self.require("AZML_RESGRP"),
            self.require("AZML_WORKSPACE"),
        )

    def compute(self) -> ComputeSpec:
        values = {name: self.require(name) for name in COMPUTE_VARIABLES}
        counts = {}
        for name in ("AZML_COMPUTE_MIN_NODES", "AZML_COMPUTE_MAX_NODES"):
            try:
                counts[name] = int(values[name])
            except ValueError:
                raise ConfigError(f"{name}={values[name]} is not a whole number") from None
            if counts[name] < 0:
                raise ConfigError(f"{name}={values[name]} must not be negative")
        low, high = counts["AZML_COMPUTE_MIN_NODES"], counts["AZML_COMPUTE_MAX_NODES"]
        if high < 1 or low > high:
            raise ConfigError(
                f"AZML_COMPUTE_MIN_NODES={low} and AZML_COMPUTE_MAX_NODES={high} "
                "need 0 <= min <= max and max >= 1"
            )
        return ComputeSpec(values["AZML_COMPUTE_NAME"], values["AZML_COMPUTE_VMSIZE"], low, high)
