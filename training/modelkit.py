"""What the two training scripts share: arguments, metrics, the ONNX export, and `outputs/`.

Contract (INTERFACES.md section 4): a run writes three files into `--output-dir`:

- `model.onnx`: the whole scikit-learn pipeline (preprocessing included), converted with
  skl2onnx with `zipmap=False`: one input per feature, shape [None, 1], float32 for
  number/integer features and string for category/string features; outputs `label` and
  `probabilities` (columns in the order of the schema's `labels`). ONNX is data, not code:
  loading it cannot run anything, unlike a pickle, and ONNX Runtime scores one row in tens of
  microseconds, which is what the model API needs.
- `schema.json`: the features (names, types, categories, numeric ranges seen in training,
  whether null is accepted) and the output labels.
- `metrics.json`: stratified 5-fold cross-validated accuracy (mean, std), holdout accuracy and
  ROC AUC of the shipped model, sizes, seed and estimator count.

The export refuses to write a model whose ONNX probabilities differ from scikit-learn's
`predict_proba` on the holdout rows by more than `PARITY_TOLERANCE`.

This module is copied to Azure ML with the rest of `training/`, so it imports only what the
training environment (`training/environment.yml`) has; MLflow is used only where present.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

PARITY_TOLERANCE = 1e-4
NUMERIC_TYPES = ("number", "integer")
TEXT_TYPES = ("category", "string")


class TrainingInputError(Exception):
    """Bad arguments or unusable data: reported as one line, exit code 2."""


@dataclass(frozen=True)
class Feature:
    """One model input. `type` is one of number, integer, category, string (section 4)."""

    name: str
    type: str
    description: str
    nullable: bool = False
    max_length: int | None = None


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def argument_parser(description: str, default_estimators: int) -> argparse.ArgumentParser:
    """The arguments every training script takes (run-training.py passes them through)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--data-path", required=True, help="the data: a file, or a folder (as mounted by Azure ML)"
    )
    parser.add_argument(
        "--estimators",
        type=positive_int,
        default=default_estimators,
        help=f"number of trees in the ensemble (default {default_estimators})",
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument(
        "--output-dir", default="outputs", help="where to write the model (default outputs)"
    )
    return parser


def run_main(main) -> None:
    """Call `main()`; a TrainingInputError becomes one line on stderr and exit code 2."""
    try:
        main()
    except TrainingInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


def to_model_frame(frame: pd.DataFrame, features: list[Feature]) -> pd.DataFrame:
    """The frame the pipeline is trained on: numbers as float32 (as ONNX receives them), text
    as Python strings with missing values as "" (ONNX string tensors have no null)."""
    out = pd.DataFrame(index=frame.index)
    for feature in features:
        column = frame[feature.name]
        if feature.type in NUMERIC_TYPES:
            out[feature.name] = pd.to_numeric(column, errors="coerce").astype(np.float32)
        else:
            out[feature.name] = column.astype(object).where(column.notna(), "").astype(str)
    return out


def onnx_feeds(frame: pd.DataFrame, features: list[Feature]) -> dict[str, np.ndarray]:
    """ONNX Runtime inputs for the rows of a model frame: one [N, 1] array per feature."""
    feeds = {}
    for feature in features:
        values = frame[feature.name].to_numpy()
        if feature.type in NUMERIC_TYPES:
            feeds[feature.name] = values.astype(np.float32).reshape(-1, 1)
        else:
            feeds[feature.name] = values.astype(object).reshape(-1, 1)
    return feeds


def feature_schema(
    model_name: str, target: str, labels: list[str], features: list[Feature], frame: pd.DataFrame
) -> dict:
    """schema.json: ranges and categories as seen in the training data."""
    entries = []
    for feature in features:
        column = frame[feature.name]
        entry: dict = {"name": feature.name, "type": feature.type}
        if feature.type in NUMERIC_TYPES:
            seen = column.dropna()
            low, high = float(seen.min()), float(seen.max())
            if feature.type == "integer":
                entry.update(min=int(low), max=int(high))
                example = int(seen.mode().iloc[0])
            else:
                entry.update(min=_shortest(low), max=_shortest(high))
                example = _shortest(float(seen.median()))
        elif feature.type == "category":
            categories = sorted(value for value in column.unique() if value != "")
            entry["categories"] = categories
            example = column[column != ""].mode().iloc[0]
        else:
            entry["max_length"] = feature.max_length
            example = column.iloc[0]
        entry.update(nullable=feature.nullable, description=feature.description, example=example)
        entries.append(entry)
    return {"model": model_name, "target": target, "labels": labels, "features": entries}


def _shortest(value: float) -> float:
    """The shortest decimal that reads back as the same float32 (512.3292, not 512.329224)."""
    return float(str(np.float32(value)))


def evaluate_and_fit(make_pipeline, x: pd.DataFrame, y: np.ndarray, seed: int, cv_rows=None):
    """Cross-validate a fresh pipeline, then fit the model to ship on a stratified 80% split.

    Returns (fitted pipeline, metrics, holdout rows). Cross-validation uses stratified 5-fold
    with shuffling seeded by `seed` (on a seeded stratified sample of `cv_rows` rows when the
    data is larger). The shipped model is the one fitted on the 80% split, so its holdout
    accuracy and ROC AUC are honest measurements of exactly what is registered.
    """
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split

    x_cv, y_cv = x, y
    if cv_rows is not None and len(x) > cv_rows:
        x_cv, _, y_cv, _ = train_test_split(x, y, train_size=cv_rows, stratify=y, random_state=seed)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    started = time.perf_counter()
    scores = cross_val_score(make_pipeline(), x_cv, y_cv, cv=folds, scoring="accuracy")
    cv_seconds = time.perf_counter() - started

    x_train, x_holdout, y_train, y_holdout = train_test_split(
        x, y, test_size=0.2, stratify=y, random_state=seed
    )
    started = time.perf_counter()
    model = make_pipeline().fit(x_train, y_train)
    fit_seconds = time.perf_counter() - started
    probabilities = model.predict_proba(x_holdout)
    metrics = {
        "cv_accuracy_mean": round(float(scores.mean()), 6),
        "cv_accuracy_std": round(float(scores.std()), 6),
        "holdout_accuracy": round(float(accuracy_score(y_holdout, model.predict(x_holdout))), 6),
        "roc_auc": round(float(roc_auc_score(y_holdout, probabilities[:, 1])), 6),
        "n_rows": len(x),
        "cv_rows": len(x_cv),
        "n_train": len(x_train),
        "n_holdout": len(x_holdout),
        "cv_seconds": round(cv_seconds, 3),
        "fit_seconds": round(fit_seconds, 3),
    }
    return model, metrics, x_holdout


def export_onnx(
    model, features: list[Feature], check_rows: pd.DataFrame, name: str
) -> tuple[bytes, float]:
    """Convert the fitted pipeline and compare ONNX Runtime with scikit-learn on `check_rows`.

    The graph is named `name` (skl2onnx would pick a random one), so the same seed gives the
    same bytes. Operators come from the standard ONNX domains plus ONNX Runtime's built-in
    `com.microsoft` Tokenizer for text features: all data, no code.

    Returns (serialized model, largest absolute probability difference); refuses (raises)
    when the difference exceeds PARITY_TOLERANCE, so a bad conversion is never registered.
    """
    import onnxruntime
    from onnx.helper import make_opsetid
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    inputs = [
        (
            f.name,
            FloatTensorType([None, 1]) if f.type in NUMERIC_TYPES else StringTensorType([None, 1]),
        )
        for f in features
    ]
    onx = convert_sklearn(
        model, initial_types=inputs, options={id(model): {"zipmap": False}}, name=name
    )
    # skl2onnx lists the opset imports in set order, which varies between processes.
    imports = sorted((o.domain, o.version) for o in onx.opset_import)
    del onx.opset_import[:]
    onx.opset_import.extend(make_opsetid(domain, version) for domain, version in imports)
    payload = onx.SerializeToString()
    session = onnxruntime.InferenceSession(payload, providers=["CPUExecutionProvider"])
    output_names = [output.name for output in session.get_outputs()]
    if output_names != ["label", "probabilities"]:
        raise RuntimeError(f"unexpected ONNX outputs {output_names}")
    _, onnx_probabilities = session.run(None, onnx_feeds(check_rows, features))
    difference = float(np.abs(onnx_probabilities - model.predict_proba(check_rows)).max())
    if difference > PARITY_TOLERANCE:
        raise RuntimeError(
            f"ONNX and scikit-learn disagree by {difference:.2e} (> {PARITY_TOLERANCE}); "
            "not writing a model that would score differently in the API"
        )
    return payload, difference


def log_to_workspace(metrics: dict) -> None:
    """Log numeric metrics with MLflow when the run has a tracking server (Azure ML sets
    MLFLOW_TRACKING_URI in its jobs). Elsewhere metrics.json is the record: the local backend
    reads it into its run record."""
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        return
    try:
        import mlflow
    except ImportError:
        return
    mlflow.log_metrics(
        {
            key: float(value)
            for key, value in metrics.items()
            if isinstance(value, int | float) and math.isfinite(value)
        }
    )


def write_outputs(output_dir: str, onnx_model: bytes, schema: dict, metrics: dict) -> Path:
    """Write model.onnx, schema.json and metrics.json; print the metrics for the job log."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.onnx").write_bytes(onnx_model)
    (out / "schema.json").write_text(json.dumps(schema, indent=2) + "\n")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    log_to_workspace(metrics)
    print(
        f"cv accuracy {metrics['cv_accuracy_mean']:.4f} +/- {metrics['cv_accuracy_std']:.4f}, "
        f"holdout accuracy {metrics['holdout_accuracy']:.4f}, ROC AUC {metrics['roc_auc']:.4f}"
    )
    print(f"wrote {out / 'model.onnx'}, schema.json, metrics.json")
    return out
