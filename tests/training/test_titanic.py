"""The Titanic training script: quality on the real data, determinism, the ONNX model's
parity with scikit-learn, and the schema it writes (INTERFACES.md section 4)."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime
import pytest

from tests.conftest import shared_path
from tests.training.conftest import load_training_module, train


@pytest.fixture(scope="module")
def titanic_csv():
    return shared_path("data", "titanic", "titanic.csv")


@pytest.fixture(scope="module")
def default_run(titanic_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("titanic") / "outputs"
    result, metrics = train("scikit-titanic.py", titanic_csv, out)
    assert result.returncode == 0, result.stderr
    return out, metrics


def test_titanic_train_default_meets_the_accuracy_target(default_run):
    _, metrics = default_run
    assert metrics["cv_accuracy_mean"] >= 0.83
    assert 0 < metrics["cv_accuracy_std"] < 0.05
    assert metrics["holdout_accuracy"] >= 0.78
    assert metrics["roc_auc"] >= 0.82
    assert (metrics["n_rows"], metrics["n_train"], metrics["n_holdout"]) == (891, 712, 179)
    assert (metrics["seed"], metrics["estimators"]) == (42, 200)
    assert metrics["onnx_max_abs_diff"] < 1e-5


def test_titanic_train_same_seed_gives_the_same_model(default_run, titanic_csv, tmp_path):
    out, metrics = default_run
    result, again = train("scikit-titanic.py", titanic_csv, tmp_path / "again", "--seed", "42")
    assert result.returncode == 0, result.stderr
    assert again == metrics
    assert (tmp_path / "again" / "model.onnx").read_bytes() == (out / "model.onnx").read_bytes()
    assert (tmp_path / "again" / "schema.json").read_text() == (out / "schema.json").read_text()


def test_titanic_train_other_seed_gives_other_folds(default_run, titanic_csv, tmp_path):
    _, metrics = default_run
    result, other = train("scikit-titanic.py", titanic_csv, tmp_path / "o", "--seed", "7")
    assert result.returncode == 0, result.stderr
    assert other["seed"] == 7
    assert other["cv_accuracy_mean"] != metrics["cv_accuracy_mean"]


def test_titanic_schema_matches_the_model_contract(default_run):
    out, _ = default_run
    schema = json.loads((out / "schema.json").read_text())
    assert (schema["model"], schema["target"], schema["labels"]) == (
        "titanic",
        "Survived",
        ["died", "survived"],
    )
    features = {f["name"]: f for f in schema["features"]}
    assert list(features) == ["Pclass", "Sex", "Age", "SibSp", "Parch", "Fare", "Embarked", "Name"]
    assert features["Pclass"] | {"description": ""} == {
        "name": "Pclass", "type": "integer", "min": 1, "max": 3, "nullable": False,
        "description": "", "example": 3,
    }  # fmt: skip
    assert features["Sex"]["categories"] == ["female", "male"]
    assert features["Embarked"]["categories"] == ["C", "Q", "S"]
    assert (features["Age"]["min"], features["Age"]["max"], features["Age"]["nullable"]) == (
        0.42,
        80.0,
        True,
    )
    assert features["Fare"]["max"] == 512.3292
    assert features["Name"]["type"] == "string"
    assert features["Name"]["max_length"] == 200
    assert all(f["description"] for f in schema["features"])

    model = onnx.load(str(out / "model.onnx"))
    inputs = {i.name: i.type.tensor_type for i in model.graph.input}
    for feature in schema["features"]:
        tensor = inputs[feature["name"]]
        expected = onnx.TensorProto.FLOAT
        if feature["type"] in ("category", "string"):
            expected = onnx.TensorProto.STRING
        assert tensor.elem_type == expected
        assert [d.dim_value for d in tensor.shape.dim][1:] == [1]
    assert [o.name for o in model.graph.output] == ["label", "probabilities"]
    assert {o.domain for o in model.opset_import} <= {"", "ai.onnx.ml", "com.microsoft"}


def test_titanic_onnx_probabilities_equal_sklearn_on_holdout_rows(titanic_csv):
    module = load_training_module("scikit-titanic.py")
    modelkit = __import__("modelkit")
    from sklearn.model_selection import train_test_split

    x, y = module.load(str(titanic_csv))
    x_train, x_holdout, y_train, _ = train_test_split(
        x, y, test_size=0.2, stratify=y, random_state=0
    )
    model = module.make_pipeline_factory(200, 0)().fit(x_train, y_train)
    payload, _ = modelkit.export_onnx(model, module.FEATURES, x_train.iloc[:50], "t")

    session = onnxruntime.InferenceSession(payload, providers=["CPUExecutionProvider"])
    labels, probabilities = session.run(None, modelkit.onnx_feeds(x_holdout, module.FEATURES))
    expected = model.predict_proba(x_holdout)
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
    np.testing.assert_array_equal(labels, model.predict(x_holdout))

    unseen = x_holdout.iloc[:3].copy()
    unseen["Age"] = np.nan
    unseen["Embarked"] = ""
    unseen["Name"] = "Nobody, Sir. Unknown"
    _, probabilities = session.run(None, modelkit.onnx_feeds(unseen, module.FEATURES))
    np.testing.assert_allclose(probabilities, model.predict_proba(unseen), atol=1e-5)


def test_titanic_train_bad_data_path_exits_2_with_one_line(tmp_path):
    result, _ = train("scikit-titanic.py", tmp_path / "missing.csv", tmp_path / "out")
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"error: --data-path {tmp_path / 'missing.csv'}: no such file or folder"
    )


def test_titanic_train_folder_with_two_csvs_is_ambiguous(tmp_path):
    (tmp_path / "a.csv").write_text("x\n")
    (tmp_path / "b.csv").write_text("x\n")
    result, _ = train("scikit-titanic.py", tmp_path, tmp_path / "out")
    assert result.returncode == 2
    assert "exactly one CSV file in the folder, found 2" in result.stderr


def test_titanic_train_estimators_must_be_positive(titanic_csv, tmp_path):
    result, _ = train("scikit-titanic.py", titanic_csv, tmp_path / "out", "--estimators", "0")
    assert result.returncode == 2
    assert "must be at least 1" in result.stderr
    assert not (tmp_path / "out").exists()
