"""Training benchmark: accuracy and speed of the two models. Prints figures; asserts nothing.

    python bench/train.py [--rows 1000000] [--titanic ../shared/data/titanic/titanic.csv]

1. Titanic, on the real 891-row data set: stratified 5-fold cross-validated accuracy of our
   pipeline (training/scikit-titanic.py) and of the original design's random forest on its
   plain features (Pclass, Sex, Age, SibSp, Parch, Fare, Embarked, simply encoded; 800 trees as
   the original API served), on the same folds, for the default seed and averaged over 5 seeds.
2. Titanic training time: the whole script (start-up, cross-validation, fit, ONNX export).
3. Batcomputer on a synthetic police.uk sample of --rows rows (training/make_crime_sample.py;
   12 months): training time and peak memory (resource.getrusage of the training process).
4. ONNX Runtime scoring time of one row for both models (what the model API pays per request).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
TRAINING = REPO / "training"
SEEDS = (42, 0, 1, 2, 3)

# Runs a command as its own child so RUSAGE_CHILDREN is that command's peak alone.
MEASURE = (
    "import resource, subprocess, sys, time\n"
    "start = time.perf_counter()\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "print(code, time.perf_counter() - start, "
    "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def load_script(file_name: str):
    path = TRAINING / file_name
    spec = importlib.util.spec_from_file_location(path.stem.replace("-", "_"), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak resident MiB) of a command run in its own process."""
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, check=True
    ).stdout.split()
    if out[0] != "0":
        raise SystemExit(f"{' '.join(command)} failed with exit code {out[0]}")
    return float(out[1]), int(out[2]) / 1024


def original_features(frame):
    """The original design's hand-made features: plain columns, simple encodings."""
    x = frame[["Pclass", "Sex", "Age", "SibSp", "Parch", "Fare", "Embarked"]].copy()
    x["Sex"] = (x["Sex"] == "male").astype(int)
    x["Age"] = x["Age"].fillna(x["Age"].median())
    x["Embarked"] = x["Embarked"].fillna("S").map({"S": 0, "C": 1, "Q": 2})
    return x


def titanic_accuracy(csv: Path) -> None:
    import pandas as pd
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    titanic = load_script("scikit-titanic.py")
    ours_x, y = titanic.load(str(csv))
    original_x = original_features(pd.read_csv(csv))
    rows = []
    for seed in SEEDS:
        folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
        ours = cross_val_score(titanic.make_pipeline_factory(200, seed)(), ours_x, y, cv=folds)
        forest = RandomForestClassifier(n_estimators=800, random_state=seed, n_jobs=-1)
        original = cross_val_score(forest, original_x, y, cv=folds)
        rows.append((seed, ours.mean(), ours.std(), original.mean(), original.std()))
    print("Titanic, stratified 5-fold CV accuracy on the real data (891 rows)")
    print(f"  {'seed':>6}  {'ours (GB + title)':>20}  {'original RF (800 trees)':>24}")
    for seed, ours_mean, ours_std, orig_mean, orig_std in rows:
        ours_text = f"{ours_mean:.4f} +/- {ours_std:.4f}"
        print(f"  {seed:>6}  {ours_text:>20}  {orig_mean:>14.4f} +/- {orig_std:.4f}")
    means = np.array([(r[1], r[3]) for r in rows]).mean(axis=0)
    print(f"  {'mean':>6}  {means[0]:>20.4f}  {means[1]:>24.4f}")


def titanic_training(csv: Path, scratch: Path) -> Path:
    out = scratch / "titanic"
    command = [sys.executable, str(TRAINING / "scikit-titanic.py"), "--data-path", str(csv)]
    seconds, peak = measure([*command, "--output-dir", str(out)])
    metrics = json.loads((out / "metrics.json").read_text())
    print(
        f"Titanic training: {seconds:.1f} s for the whole script (cross-validation "
        f"{metrics['cv_seconds']:.1f} s, final fit {metrics['fit_seconds']:.2f} s), "
        f"peak memory {peak:.0f} MiB"
    )
    return out


def batcomputer_training(rows: int, scratch: Path) -> Path:
    sample = load_script("make_crime_sample.py")
    data = scratch / "crime"
    started = time.perf_counter()
    frame = sample.generate(rows, sample.month_list("2024-01", 12), seed=1)
    files = sample.write(frame, data)
    del frame
    print(
        f"Batcomputer sample: {rows:,} synthetic rows in {files} files, "
        f"written in {time.perf_counter() - started:.1f} s"
    )
    out = scratch / "batcomputer"
    command = [sys.executable, str(TRAINING / "scikit-batcomputer.py"), "--data-path", str(data)]
    seconds, peak = measure([*command, "--output-dir", str(out)])
    metrics = json.loads((out / "metrics.json").read_text())
    print(
        f"Batcomputer training on {rows:,} rows ({metrics['n_rows']:,} with an outcome): "
        f"{seconds:.1f} s for the whole script (load {metrics['load_seconds']:.1f} s, "
        f"CV on {metrics['cv_rows']:,} rows {metrics['cv_seconds']:.1f} s, final fit on "
        f"{metrics['n_train']:,} rows {metrics['fit_seconds']:.1f} s), peak memory {peak:.0f} MiB"
    )
    print(
        f"  CV accuracy {metrics['cv_accuracy_mean']:.4f} +/- {metrics['cv_accuracy_std']:.4f}, "
        f"holdout accuracy {metrics['holdout_accuracy']:.4f}, ROC AUC {metrics['roc_auc']:.4f}, "
        f"resolved share {metrics['resolved_share']:.3f}"
    )
    return out


def scoring_time(outputs: Path, label: str) -> None:
    import onnxruntime

    schema = json.loads((outputs / "schema.json").read_text())
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        str(outputs / "model.onnx"), options, providers=["CPUExecutionProvider"]
    )
    feeds = {
        f["name"]: np.array(
            [[f["example"]]], dtype=np.float32 if f["type"] in ("number", "integer") else object
        )
        for f in schema["features"]
    }
    for _ in range(200):
        session.run(None, feeds)
    count = 5000
    started = time.perf_counter()
    for _ in range(count):
        session.run(None, feeds)
    micros = (time.perf_counter() - started) / count * 1e6
    print(f"ONNX Runtime, one row, {label}: {micros:.0f} us per prediction (1 thread)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="Batcomputer sample rows")
    parser.add_argument(
        "--titanic",
        type=Path,
        default=REPO.parent / "shared" / "data" / "titanic" / "titanic.csv",
        help="the real Titanic CSV",
    )
    args = parser.parse_args()
    if not args.titanic.is_file():
        raise SystemExit(f"error: {args.titanic} not found (pass --titanic PATH)")
    titanic_accuracy(args.titanic)
    with tempfile.TemporaryDirectory(prefix="bench-train-") as folder:
        scratch = Path(folder)
        titanic_out = titanic_training(args.titanic, scratch)
        batcomputer_out = batcomputer_training(args.rows, scratch)
        scoring_time(titanic_out, "Titanic")
        scoring_time(batcomputer_out, "Batcomputer")


if __name__ == "__main__":
    main()
