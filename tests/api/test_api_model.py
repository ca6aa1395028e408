"""A model directory is verified before anything serves it; each defect is one clear line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from modelapi.model import ModelLoadError, load_model


@pytest.fixture
def copy_of(model_dir, tmp_path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(model_dir, target)
    return target


def edit_schema(directory: Path, change) -> None:
    schema = json.loads((directory / "schema.json").read_text())
    change(schema)
    (directory / "schema.json").write_text(json.dumps(schema))


def assert_refused(directory: Path, *words: str) -> str:
    with pytest.raises(ModelLoadError) as caught:
        load_model(directory)
    message = str(caught.value)
    assert "\n" not in message
    for word in words:
        assert word in message
    return message


def test_load_model_training_outputs_are_served(model_dir):
    model = load_model(model_dir, fallback_version="5")
    assert model.name == "titanic"
    assert model.version == "5"
    assert model.labels == ("died", "survived")
    assert [f.name for f in model.features][:2] == ["Pclass", "Sex"]


def test_load_model_missing_directory_names_fetch_model(tmp_path):
    assert_refused(tmp_path / "absent", "not a directory", "fetch-model.py", "MODEL_DIR")


@pytest.mark.parametrize("name", ["model.onnx", "schema.json", "metrics.json"])
def test_load_model_missing_file_is_named(copy_of, name):
    (copy_of / name).unlink()
    assert_refused(copy_of, f"has no {name}")


def test_load_model_schema_not_json_is_refused(copy_of):
    (copy_of / "schema.json").write_text("{not json")
    assert_refused(copy_of, "schema.json is not readable JSON")


def test_load_model_onnx_garbage_is_refused(copy_of):
    (copy_of / "model.onnx").write_bytes(b"\x00not a model")
    assert_refused(copy_of, "model.onnx does not load in ONNX Runtime")


def test_load_model_feature_absent_from_the_model_is_named(copy_of):
    edit_schema(copy_of, lambda s: s["features"][0].update(name="Deck"))
    assert_refused(copy_of, "does not match schema.json", "Deck", "Pclass")


def test_load_model_feature_type_disagreeing_with_the_model_is_named(copy_of):
    edit_schema(copy_of, lambda s: s["features"][0].update(type="string"))
    assert_refused(copy_of, "input Pclass is tensor(float)", "string")


def test_load_model_label_count_disagreeing_with_the_model_is_refused(copy_of):
    edit_schema(copy_of, lambda s: s.update(labels=["died", "survived", "unknown"]))
    assert_refused(copy_of, "3 labels")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda s: s.update(labels=[]), ("'labels'",)),
        (lambda s: s.update(labels=["died", "died"]), ("'labels'", "unique")),
        (lambda s: s.update(features="Pclass"), ("'features'",)),
        (lambda s: s["features"][0].update(type="float"), ("features[0]", "type")),
        (lambda s: s["features"][1].pop("categories"), ("Sex", "categories")),
        (lambda s: s["features"].append(dict(s["features"][0])), ("unique",)),
        (lambda s: s["features"][7].update(max_length="200"), ("Name", "max_length")),
        (lambda s: s["features"][2].update(min="0"), ("Age", "'min'")),
    ],
)
def test_load_model_malformed_schema_is_refused(copy_of, change, words):
    edit_schema(copy_of, change)
    assert_refused(copy_of, "schema.json", *words)


def test_load_model_example_that_does_not_score_is_refused(copy_of):
    edit_schema(copy_of, lambda s: s["features"][0].update(example="third"))
    assert_refused(copy_of, "example row does not score")
