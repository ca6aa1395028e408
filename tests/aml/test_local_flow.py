"""The pipelines' flow on the local backend: upload-data -> run-training -> fetch-model, for
both models, with the scripts run as subprocesses the way the pipelines run them."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime
import pytest

from tests.aml.conftest import make_crime_sample

VSO = "##vso[task.setvariable variable=AZML_MODEL_VER]"
TITANIC = {
    "AZML_DATAPATH": "titanic-data",
    "AZML_SCRIPT": "scikit-titanic.py",
    "AZML_EXPERIMENT": "titanic-training",
    "AZML_MODEL": "titanic",
}
BATCOMPUTER = {
    "AZML_DATAPATH": "batcomputer/street",
    "AZML_SCRIPT": "scikit-batcomputer.py",
    "AZML_EXPERIMENT": "batcomputer-training",
    "AZML_MODEL": "batcomputer",
}


def registry(workspace, name):
    """{version: model.json} of the local registry, read as files."""
    return {
        int(path.parent.name): json.loads(path.read_text())
        for path in (workspace / "models" / name).glob("*/model.json")
    }


def assert_fetched(folder, name, version, tags):
    assert sorted(p.name for p in folder.iterdir()) == [
        "metadata.json",
        "metrics.json",
        "model.onnx",
        "schema.json",
    ]
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["name"] == name
    assert metadata["version"] == version
    assert metadata["tags"] == tags
    assert metadata["metrics"] == json.loads((folder / "metrics.json").read_text())
    assert str(metadata["metrics"]["cv_accuracy_mean"]) == tags["accuracy"]
    schema = json.loads((folder / "schema.json").read_text())
    session = onnxruntime.InferenceSession(
        str(folder / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    assert [i.name for i in session.get_inputs()] == [f["name"] for f in schema["features"]]
    return metadata, schema, session


def test_titanic_local_flow_registers_versions_and_fetches_latest_given_and_best(
    aml, workspace, titanic_dir, tmp_path
):
    uploaded = aml("upload-data.py", "--data-dir", str(titanic_dir), **TITANIC)
    assert uploaded.returncode == 0, uploaded.stderr
    assert "data version 1" in uploaded.stdout
    stored = workspace / "datastore" / "workspaceblobstore" / "titanic-data" / "titanic.csv"
    assert stored.read_bytes() == (titanic_dir / "titanic.csv").read_bytes()

    first = aml("run-training.py", "--estimators", "200", **TITANIC)
    assert first.returncode == 0, first.stderr
    assert "cv accuracy" in first.stdout  # the job's log is streamed
    assert "registered model titanic version 1" in first.stdout
    second = aml("run-training.py", "--estimators", "5", "--seed", "7", **TITANIC)
    assert second.returncode == 0, second.stderr
    assert "registered model titanic version 2" in second.stdout

    models = registry(workspace, "titanic")
    assert sorted(models) == [1, 2]
    for version, record in models.items():
        tags = record["tags"]
        assert set(tags) >= {"accuracy", "holdout_accuracy", "roc_auc", "run_id", "script", "data"}
        assert tags["script"] == "scikit-titanic.py"
        assert tags["data"] == "titanic-data:1"
        run = json.loads((workspace / "runs" / tags["run_id"] / "run.json").read_text())
        assert run["status"] == "Completed"
        assert run["experiment"] == "titanic-training"
        assert str(run["metrics"]["cv_accuracy_mean"]) == tags["accuracy"]
        assert "cv accuracy" in (workspace / "runs" / tags["run_id"] / "std_log.txt").read_text()
        assert record["version"] == version
    assert models[1]["tags"]["estimators"] == "200"
    assert models[2]["tags"]["estimators"] == "5"
    assert models[2]["tags"]["seed"] == "7"
    accuracies = {v: float(r["tags"]["accuracy"]) for v, r in models.items()}
    best = max(accuracies, key=accuracies.get)
    assert best == 1  # 200 boosting stages beat 5

    latest_dir = tmp_path / "latest"
    latest = aml("fetch-model.py", "--output-path", str(latest_dir), **TITANIC)
    assert latest.returncode == 0, latest.stderr
    assert latest.stdout.splitlines()[-1] == f"{VSO}2"
    assert_fetched(latest_dir, "titanic", 2, models[2]["tags"])

    given_dir = tmp_path / "given"
    given = aml("fetch-model.py", "--model-ver", "1", "--output-path", str(given_dir), **TITANIC)
    assert given.returncode == 0, given.stderr
    assert given.stdout.splitlines()[-1] == f"{VSO}1"
    _, schema, session = assert_fetched(given_dir, "titanic", 1, models[1]["tags"])

    best_dir = tmp_path / "best"
    chosen = aml("fetch-model.py", "--use-best", "--output-path", str(best_dir), **TITANIC)
    assert chosen.returncode == 0, chosen.stderr
    assert chosen.stdout.splitlines()[-1] == f"{VSO}{best}"
    assert (best_dir / "model.onnx").read_bytes() == (given_dir / "model.onnx").read_bytes()

    assert schema["labels"] == ["died", "survived"]
    feeds = {}
    for feature in schema["features"]:
        if feature["type"] in ("number", "integer"):
            feeds[feature["name"]] = np.array([[feature["example"]]], dtype=np.float32)
        else:
            feeds[feature["name"]] = np.array([[feature["example"]]], dtype=object)
    label, probabilities = session.run(None, feeds)
    assert label.tolist() == [int(probabilities[0, 1] > 0.5)]
    assert probabilities.shape == (1, 2)
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-5)


def test_titanic_fetch_into_existing_folder_replaces_the_model_files_only(
    aml, workspace, titanic_dir, tmp_path
):
    assert aml("upload-data.py", "--data-dir", str(titanic_dir), **TITANIC).returncode == 0
    assert aml("run-training.py", "--estimators", "5", **TITANIC).returncode == 0
    target = tmp_path / "model"
    target.mkdir()
    (target / "model.onnx").write_bytes(b"old")
    (target / "README").write_text("kept")
    fetched = aml("fetch-model.py", "--output-path", str(target), **TITANIC)
    assert fetched.returncode == 0, fetched.stderr
    assert (target / "model.onnx").read_bytes() != b"old"
    assert (target / "README").read_text() == "kept"
    assert not list(target.glob(".*partial"))


def test_batcomputer_local_flow_from_a_zipped_sample(aml, workspace, tmp_path):
    data_dir = tmp_path / "data" / "batcomputer"
    data_dir.mkdir(parents=True)
    make_crime_sample(data_dir / "police-sample.zip", rows=6000)

    uploaded = aml("upload-data.py", "--data-dir", str(data_dir), **BATCOMPUTER)
    assert uploaded.returncode == 0, uploaded.stderr
    datastore = workspace / "datastore" / "workspaceblobstore" / "batcomputer" / "street"
    assert (datastore / "police-sample.zip").is_file()
    assert (
        json.loads((workspace / "data" / "batcomputer-street" / "1.json").read_text())["files"] == 1
    )

    trained = aml("run-training.py", "--estimators", "20", **BATCOMPUTER)
    assert trained.returncode == 0, trained.stderr
    assert "registered model batcomputer version 1" in trained.stdout
    again = aml("run-training.py", "--estimators", "3", "--seed", "9", **BATCOMPUTER)
    assert again.returncode == 0, again.stderr
    assert "registered model batcomputer version 2" in again.stdout
    models = registry(workspace, "batcomputer")
    assert sorted(models) == [1, 2]
    tags = models[1]["tags"]
    assert tags["script"] == "scikit-batcomputer.py"
    assert (tags["estimators"], models[2]["tags"]["estimators"]) == ("20", "3")
    assert tags["data"] == "batcomputer-street:1"
    accuracies = {v: float(r["tags"]["accuracy"]) for v, r in models.items()}
    best = max(sorted(accuracies), key=accuracies.get)

    for args, version in [((), 2), (("--model-ver", "1"), 1), (("--use-best",), best)]:
        out = tmp_path / f"fetched-{'-'.join(args) or 'latest'}"
        fetched = aml("fetch-model.py", *args, "--output-path", str(out), **BATCOMPUTER)
        assert fetched.returncode == 0, fetched.stderr
        assert fetched.stdout.splitlines()[-1] == f"{VSO}{version}"
        metadata, schema, _ = assert_fetched(out, "batcomputer", version, models[version]["tags"])
        assert schema["labels"] == ["unresolved", "resolved"]
        assert metadata["metrics"]["n_rows"] > 4000


def test_training_failure_fails_the_step_and_marks_the_run_failed(aml, workspace, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "titanic.csv").write_text("PassengerId,Survived\n1,0\n2,1\n")
    assert aml("upload-data.py", "--data-dir", str(broken), **TITANIC).returncode == 0

    failed = aml("run-training.py", **TITANIC)
    assert failed.returncode == 1
    error = failed.stderr.strip().splitlines()
    assert len(error) == 1
    assert error[0].startswith("error: training script scikit-titanic.py failed (exit code 2)")
    assert "std_log.txt" in error[0]
    assert "Traceback" not in failed.stderr
    (run,) = (workspace / "runs").iterdir()
    assert json.loads((run / "run.json").read_text())["status"] == "Failed"
    assert "missing column(s)" in (run / "std_log.txt").read_text()
    assert not (workspace / "models").exists()
