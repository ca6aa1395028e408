"""Load and verify a model directory, and score rows with ONNX Runtime.

A directory is served only if it passes every check in :func:`load_model`: the files are there,
``schema.json`` is well formed, ``model.onnx`` loads, its inputs are exactly the schema's features
with the contracted tensor types, its ``probabilities`` output has one column per label, and the
schema's example row scores to finite probabilities. ONNX is data, not code: loading it runs
nothing from the file, unlike the pickles the original API unpickled.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

REQUIRED_FILES = ("model.onnx", "schema.json", "metrics.json")
FEATURE_TYPES = ("number", "integer", "category", "string")
ONNX_TYPES = {
    "number": "tensor(float)",
    "integer": "tensor(float)",
    "category": "tensor(string)",
    "string": "tensor(string)",
}
PROBABILITIES = "probabilities"


class ModelLoadError(Exception):
    """The model directory cannot be served; the message is one line saying why."""


@dataclass(frozen=True)
class Feature:
    """One model input, as declared in ``schema.json``."""

    name: str
    type: str
    nullable: bool = False
    description: str = ""
    example: Any = None
    categories: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    max_length: int | None = None

    @property
    def numeric(self) -> bool:
        return self.type in ("number", "integer")

    def example_value(self) -> Any:
        """The schema's example, or a value of the right type when the schema gives none."""
        if self.example is not None:
            return self.example
        if self.categories:
            return self.categories[0]
        if self.numeric:
            return self.min if self.min is not None else 0
        return ""


@dataclass
class Model:
    """A verified model directory with its ONNX Runtime session (one per process)."""

    directory: Path
    name: str
    version: str
    target: str
    labels: tuple[str, ...]
    features: tuple[Feature, ...]
    metrics: dict[str, Any]
    metadata: dict[str, Any]
    session: ort.InferenceSession = field(repr=False)

    def example_row(self) -> dict[str, Any]:
        return {f.name: f.example_value() for f in self.features}

    def predict(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        """Probabilities ``[n_rows, n_labels]`` for feature columns of shape ``[n_rows, 1]``.

        All rows go through one ``run`` call: ONNX Runtime's per-call overhead dominates the
        cost of a small tree ensemble, so batching is what makes batches cheap.
        """
        return self.session.run([PROBABILITIES], columns)[0]


def load_model(directory: Path, *, fallback_version: str = "unregistered") -> Model:
    """Load ``directory`` and verify it can be served, or raise :class:`ModelLoadError`.

    ``fallback_version`` names the model when there is no ``metadata.json`` (a training run's
    ``outputs/`` rather than a fetched model), e.g. the image's ``MODEL_VERSION``.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelLoadError(
            f"{directory} is not a directory: run aml/fetch-model.py --output-path {directory} "
            "or set MODEL_DIR to a model directory"
        )
    missing = [name for name in REQUIRED_FILES if not (directory / name).is_file()]
    if missing:
        raise ModelLoadError(
            f"{directory} has no {', '.join(missing)}: a model directory holds "
            f"{', '.join(REQUIRED_FILES)} (and metadata.json when fetched with fetch-model.py)"
        )
    schema = _read_json(directory / "schema.json", dict)
    metrics = _read_json(directory / "metrics.json", dict)
    metadata = (
        _read_json(directory / "metadata.json", dict)
        if (directory / "metadata.json").is_file()
        else {}
    )
    labels, features = _parse_schema(schema, directory / "schema.json")
    session = _open_session(directory / "model.onnx")
    _check_signature(session, labels, features, directory / "model.onnx")
    model = Model(
        directory=directory,
        name=str(metadata.get("name") or schema.get("model") or directory.name),
        version=str(metadata.get("version") or fallback_version),
        target=str(schema.get("target", "")),
        labels=labels,
        features=features,
        metrics=metrics,
        metadata=metadata,
        session=session,
    )
    _check_scores(model)
    return model


def _read_json(path: Path, kind: type) -> Any:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelLoadError(f"{path} is not readable JSON: {exc}") from exc
    if not isinstance(value, kind):
        raise ModelLoadError(f"{path} must hold a JSON {kind.__name__.replace('dict', 'object')}")
    return value


def _parse_schema(schema: dict, path: Path) -> tuple[tuple[str, ...], tuple[Feature, ...]]:
    labels = schema.get("labels")
    if not (isinstance(labels, list) and labels and all(isinstance(x, str) for x in labels)):
        raise ModelLoadError(f"{path}: 'labels' must be a non-empty list of strings")
    if len(set(labels)) != len(labels):
        raise ModelLoadError(f"{path}: 'labels' must be unique")
    raw_features = schema.get("features")
    if not (isinstance(raw_features, list) and raw_features):
        raise ModelLoadError(f"{path}: 'features' must be a non-empty list")
    features = []
    for index, raw in enumerate(raw_features):
        where = f"{path}: features[{index}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
            raise ModelLoadError(f"{where} must be an object with a 'name'")
        if raw.get("type") not in FEATURE_TYPES:
            raise ModelLoadError(
                f"{where} ({raw['name']}): 'type' must be one of {', '.join(FEATURE_TYPES)}"
            )
        categories = raw.get("categories")
        if raw["type"] == "category" and not (
            isinstance(categories, list)
            and categories
            and all(isinstance(c, str) for c in categories)
        ):
            raise ModelLoadError(f"{where} ({raw['name']}): a category needs 'categories'")
        max_length = raw.get("max_length")
        if max_length is not None and (type(max_length) is not int or max_length < 0):
            raise ModelLoadError(f"{where} ({raw['name']}): 'max_length' must be a whole number")
        for bound in ("min", "max"):
            if raw.get(bound) is not None and type(raw[bound]) not in (int, float):
                raise ModelLoadError(f"{where} ({raw['name']}): '{bound}' must be a number")
        features.append(
            Feature(
                name=raw["name"],
                type=raw["type"],
                nullable=bool(raw.get("nullable", False)),
                description=str(raw.get("description", "")),
                example=raw.get("example"),
                categories=tuple(categories) if raw["type"] == "category" else None,
                min=raw.get("min"),
                max=raw.get("max"),
                max_length=max_length,
            )
        )
    names = [f.name for f in features]
    if len(set(names)) != len(names):
        raise ModelLoadError(f"{path}: feature names must be unique")
    return tuple(labels), tuple(features)


def _open_session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    # One thread per session: the server scales with worker processes, and a thread pool per
    # worker only adds contention on small inputs.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for a bad file
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(f"{path} does not load in ONNX Runtime: {reason}") from exc


def _check_signature(
    session: ort.InferenceSession,
    labels: tuple[str, ...],
    features: tuple[Feature, ...],
    path: Path,
) -> None:
    inputs = {i.name: i for i in session.get_inputs()}
    wanted = {f.name for f in features}
    if set(inputs) != wanted:
        extra, absent = sorted(set(inputs) - wanted), sorted(wanted - set(inputs))
        raise ModelLoadError(
            f"{path} does not match schema.json: model inputs not in the schema: "
            f"{extra or 'none'}; schema features not in the model: {absent or 'none'}"
        )
    for feature in features:
        node = inputs[feature.name]
        if node.type != ONNX_TYPES[feature.type]:
            raise ModelLoadError(
                f"{path}: input {feature.name} is {node.type}, but schema.json says "
                f"{feature.type} (needs {ONNX_TYPES[feature.type]})"
            )
        dims = node.shape
        if len(dims) != 2 or (isinstance(dims[1], int) and dims[1] != 1):
            raise ModelLoadError(f"{path}: input {feature.name} must have shape [N, 1]")
    outputs = {o.name: o for o in session.get_outputs()}
    probabilities = outputs.get(PROBABILITIES)
    if probabilities is None or probabilities.type != "tensor(float)":
        raise ModelLoadError(
            f"{path} has no float output {PROBABILITIES!r}: convert with skl2onnx zipmap=False"
        )
    columns = probabilities.shape[-1] if probabilities.shape else None
    if isinstance(columns, int) and columns != len(labels):
        raise ModelLoadError(
            f"{path} answers {columns} probabilities, but schema.json has {len(labels)} labels"
        )


def _check_scores(model: Model) -> None:
    try:
        columns = {
            f.name: np.array([[f.example_value()]], dtype=np.float32 if f.numeric else object)
            for f in model.features
        }
        scores = model.predict(columns)
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ModelLoadError(
            f"{model.directory}: the schema's example row does not score: {exc}"
        ) from exc
    if scores.shape != (1, len(model.labels)) or not all(map(math.isfinite, scores.ravel())):
        raise ModelLoadError(
            f"{model.directory}: the example row scored {scores.tolist()}, not one finite "
            f"probability per label ({len(model.labels)})"
        )
