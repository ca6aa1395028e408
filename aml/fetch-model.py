"""Download a registered model (latest, a given version, or the best by accuracy) for the API.

    AZML_MODEL=titanic python aml/fetch-model.py [--model-ver N | --use-best]
                                                 [--output-path DIR]

Writes model.onnx, schema.json and metrics.json plus metadata.json (name, version, tags,
metrics) into DIR (default model-api/model/ in this repository, i.e. ../model-api/model from
aml/), and prints `##vso[task.setvariable variable=AZML_MODEL_VER]<version>` so the build-api
pipeline can label the image with the version.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from amllib import REPO_ROOT, Selector, Settings, get_backend
from amllib.cli import positive_int, run

DEFAULT_OUTPUT = REPO_ROOT / "model-api" / "model"


def fetch(args: argparse.Namespace, settings: Settings) -> None:
    name = settings.model_name()
    selector = Selector(version=args.model_ver, best=args.use_best)
    destination = Path(args.output_path)
    backend = get_backend(settings)
    model = backend.fetch_model(name, selector, destination)
    metadata = {
        "name": model.name,
        "version": model.version,
        "tags": model.tags,
        "metrics": model.metrics,
    }
    staged = destination / ".metadata.json.partial"
    staged.write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    os.replace(staged, destination / "metadata.json")
    print(
        f"fetched model {model.name} version {model.version} ({selector.describe()}) "
        f"to {destination}"
    )
    print(f"##vso[task.setvariable variable=AZML_MODEL_VER]{model.version}")


def parser() -> argparse.ArgumentParser:
    result = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = result.add_mutually_exclusive_group()
    which.add_argument("--model-ver", type=positive_int, help="fetch this version")
    which.add_argument("--use-best", action="store_true", help="fetch the most accurate version")
    result.add_argument(
        "--output-path",
        default=str(DEFAULT_OUTPUT),
        help=f"where to write it (default {DEFAULT_OUTPUT})",
    )
    return result


if __name__ == "__main__":
    run(parser(), fetch)
