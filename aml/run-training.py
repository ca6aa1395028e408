"""Run training/$AZML_SCRIPT on Azure ML (or locally) and register its outputs/ as a model.

    AZML_SCRIPT=scikit-titanic.py AZML_DATAPATH=titanic-data AZML_EXPERIMENT=titanic \
    AZML_MODEL=titanic python aml/run-training.py [--estimators N] [--seed N]

Gets or creates the compute cluster (AZML_COMPUTE_NAME, _VMSIZE, _MIN_NODES, _MAX_NODES),
submits the script with the data at AZML_DATAPATH mounted, streams its log, exits non-zero if
the run fails, and registers outputs/ as model AZML_MODEL tagged with its accuracy and run id.
AZML_RUN_LOCAL=true runs the script on this machine instead (with the data in --data-dir) and
registers the result in the workspace. The local backend always runs it here.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from amllib import REPO_ROOT, ConfigError, Settings, TrainingJob, get_backend
from amllib.backend import check_script
from amllib.cli import positive_int, run

TRAINING_DIR = REPO_ROOT / "training"


def train(args: argparse.Namespace, settings: Settings) -> None:
    script_name = settings.require("AZML_SCRIPT")
    if Path(script_name).name != script_name:
        raise ConfigError(f"AZML_SCRIPT={script_name}: give a file name in training/, not a path")
    script = TRAINING_DIR / script_name
    check_script(script)
    datapath = settings.datapath()
    experiment = settings.require("AZML_EXPERIMENT")
    model_name = settings.model_name()
    on_azure = settings.backend == "azureml"
    run_local = on_azure and settings.run_local
    compute = settings.compute() if on_azure and not run_local else None
    data_dir = None
    if run_local:
        if args.data_dir is None or not Path(args.data_dir).is_dir():
            raise ConfigError(
                "AZML_RUN_LOCAL=true trains on this machine and needs the data here",
                "pass --data-dir with the folder the data-load step downloaded",
            )
        data_dir = Path(args.data_dir).resolve()
    backend = get_backend(settings)
    job = TrainingJob(
        script=script,
        datapath=datapath,
        experiment=experiment,
        model_name=model_name,
        estimators=args.estimators,
        seed=args.seed,
        run_local=run_local,
        compute=compute,
        local_data_dir=data_dir,
    )
    model = backend.train(job)
    print(
        f"registered model {model.name} version {model.version} "
        f"(accuracy {model.tags.get('accuracy')}, run {model.tags.get('run_id')})"
    )


def parser() -> argparse.ArgumentParser:
    result = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    result.add_argument(
        "--estimators", type=positive_int, help="trees in the model (default: the script's)"
    )
    result.add_argument("--seed", type=int, help="random seed (default: the script's, 42)")
    result.add_argument(
        "--data-dir", help="the data on this machine, for AZML_RUN_LOCAL=true on Azure ML"
    )
    return result


if __name__ == "__main__":
    run(parser(), train)
