"""The synthetic police.uk sample and the Batcomputer training script on it: the exact file
format, seeded output, reading folders and zips, determinism and ONNX parity."""

from __future__ import annotations

import csv
import json
import zipfile

import numpy as np
import onnxruntime
import pytest

from tests.aml.conftest import make_crime_sample
from tests.training.conftest import load_training_module, train

COLUMNS = [
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
    "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context",
]  # fmt: skip


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory):
    return make_crime_sample(tmp_path_factory.mktemp("crime") / "street", rows=8000)


@pytest.fixture(scope="module")
def sample_zip(tmp_path_factory):
    return make_crime_sample(tmp_path_factory.mktemp("crimezip") / "sample.zip", rows=8000)


@pytest.fixture(scope="module")
def default_run(sample_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("batcomputer") / "outputs"
    result, metrics = train("scikit-batcomputer.py", sample_dir, out, "--estimators", "30")
    assert result.returncode == 0, result.stderr
    return out, metrics


def test_crime_sample_has_the_police_uk_layout_and_columns(sample_dir):
    files = sorted(p.relative_to(sample_dir).as_posix() for p in sample_dir.rglob("*.csv"))
    assert files[0] == "2024-01/2024-01-avon-and-somerset-street.csv"
    assert {f.split("/")[0] for f in files} == {"2024-01", "2024-02", "2024-03"}
    assert all(f.split("/")[1].startswith(f.split("/")[0] + "-") for f in files)
    assert all(f.endswith("-street.csv") for f in files)
    rows = []
    for path in sample_dir.rglob("*.csv"):
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            assert reader.fieldnames == COLUMNS
            rows.extend(reader)
    assert len(rows) == 8000
    anti_social = [r for r in rows if r["Crime type"] == "Anti-social behaviour"]
    assert anti_social and all(
        r["Crime ID"] == "" == r["Last outcome category"] for r in anti_social
    )
    crimes = [r for r in rows if r["Crime type"] != "Anti-social behaviour"]
    assert all(len(r["Crime ID"]) == 64 for r in crimes)
    assert all(r["Last outcome category"] for r in crimes)
    assert all(r["Reported by"] == r["Falls within"] for r in rows)
    located = [r for r in rows if r["Location"] != "No Location"]
    assert all(49 < float(r["Latitude"]) < 56 for r in located)
    assert all(r["LSOA code"].startswith("E0") for r in located)
    assert any(r["Location"] == "No Location" and r["Latitude"] == "" for r in rows)


def test_crime_sample_same_seed_same_bytes_zip_matches_folders(sample_dir, sample_zip, tmp_path):
    again = make_crime_sample(tmp_path / "again.zip", rows=8000)
    assert again.read_bytes() == sample_zip.read_bytes()
    with zipfile.ZipFile(sample_zip) as archive:
        names = sorted(archive.namelist())
        assert names == sorted(
            p.relative_to(sample_dir).as_posix() for p in sample_dir.rglob("*.csv")
        )
        for name in names:
            assert archive.read(name) == (sample_dir / name).read_bytes()
    other = make_crime_sample(tmp_path / "other.zip", rows=8000, seed=2)
    assert other.read_bytes() != sample_zip.read_bytes()


def test_batcomputer_train_writes_model_schema_and_metrics(default_run):
    out, metrics = default_run
    assert metrics["cv_accuracy_mean"] > 0.75
    assert metrics["roc_auc"] > 0.6
    assert metrics["n_rows"] < 8000  # anti-social behaviour rows have no outcome
    assert 0.05 < metrics["resolved_share"] < 0.5
    assert metrics["onnx_max_abs_diff"] < 1e-5
    schema = json.loads((out / "schema.json").read_text())
    assert schema["labels"] == ["unresolved", "resolved"]
    features = {f["name"]: f for f in schema["features"]}
    assert list(features) == ["crime_type", "force", "latitude", "longitude", "month"]
    assert "Anti-social behaviour" not in features["crime_type"]["categories"]
    assert "Burglary" in features["crime_type"]["categories"]
    assert "Kent Police" in features["force"]["categories"]
    assert (features["month"]["min"], features["month"]["max"]) == (1, 3)
    assert features["latitude"]["nullable"] is True


def test_batcomputer_train_zip_equals_folder_and_is_deterministic(
    default_run, sample_zip, tmp_path
):
    out, metrics = default_run
    result, from_zip = train(
        "scikit-batcomputer.py", sample_zip.parent, tmp_path / "z", "--estimators", "30"
    )
    assert result.returncode == 0, result.stderr
    assert from_zip == metrics
    assert (tmp_path / "z" / "model.onnx").read_bytes() == (out / "model.onnx").read_bytes()


def test_batcomputer_onnx_probabilities_equal_sklearn_on_holdout_rows(sample_dir):
    module = load_training_module("scikit-batcomputer.py")
    modelkit = __import__("modelkit")
    from sklearn.model_selection import train_test_split

    x, y = module.load(str(sample_dir))
    x_train, x_holdout, y_train, _ = train_test_split(x, y, test_size=0.25, random_state=1)
    model = module.make_pipeline_factory(25, 1, len(x))().fit(x_train, y_train)
    payload, _ = modelkit.export_onnx(model, module.FEATURES, x_train.iloc[:50], "b")
    session = onnxruntime.InferenceSession(payload, providers=["CPUExecutionProvider"])
    labels, probabilities = session.run(None, modelkit.onnx_feeds(x_holdout, module.FEATURES))
    np.testing.assert_allclose(probabilities, model.predict_proba(x_holdout), atol=1e-5)
    np.testing.assert_array_equal(labels, model.predict(x_holdout))


def test_batcomputer_train_without_street_files_exits_2(tmp_path):
    (tmp_path / "notes.txt").write_text("no data here")
    result, _ = train("scikit-batcomputer.py", tmp_path, tmp_path / "out")
    assert result.returncode == 2
    assert "no *-street.csv files" in result.stderr
    assert "Traceback" not in result.stderr


def test_batcomputer_train_wrong_columns_exits_2(tmp_path):
    month = tmp_path / "2024-01"
    month.mkdir()
    (month / "2024-01-kent-street.csv").write_text("Crime ID,Month\nabc,2024-01\n")
    result, _ = train("scikit-batcomputer.py", tmp_path, tmp_path / "out")
    assert result.returncode == 2
    assert "not a police.uk street CSV" in result.stderr


def test_crime_sample_bad_arguments_exit_2(tmp_path):
    from tests.aml.conftest import clean_environ, run_script
    from tests.training.conftest import TRAINING

    for args, expected in [
        (("--rows", "0"), "must be at least 1"),
        (("--start", "2024-13"), "--start must be YYYY-MM"),
    ]:
        result = run_script(
            TRAINING / "make_crime_sample.py", *args, "--out", str(tmp_path / "x"),
            env=clean_environ(),
        )  # fmt: skip
        assert result.returncode == 2
        assert expected in result.stderr
    assert not (tmp_path / "x").exists()
