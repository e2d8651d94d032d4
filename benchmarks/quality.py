"""Model quality over time (issue #21): 1M logged predictions, 200k of them labelled, 12 weekly windows.

    uv run --project <baked project> python benchmarks/quality.py --project <baked project> [--repeats N]

Builds a prediction log as the check reads it from SQLite: `logged_at` as ISO text with its zone
('2026-06-01T13:45:12.123456+00:00'), over 12 weeks; the target on a random 20% of the rows (None
elsewhere); the deployed model's prediction table (binary classification: continuous scores, 12%
positives like the bank sample, all six metrics; regression: three metrics). Then, in a child
process per task (its peak memory is its maxrss, the data included), medians of the repeats:

- `quality.score_windows`: parse the times, place rows in windows, count, and score every metric of
  every window with its bootstrap interval (1,000 resamples, as params.yaml's gate); then `render`;
- the baseline: the metric part of that work, one window's labelled rows scored alone with
  `bootstrap.absolute_bootstrap`, times 12.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from importlib import import_module
from pathlib import Path

import numpy as np
import pandas as pd

PACKAGE = os.environ.get("BENCH_PACKAGE", "my_ml_project")
TARGET_SECONDS, TARGET_MB = 30, 1000
WEEKS = 12
METRICS = {
    "classification": ["roc_auc", "log_loss", "f1", "precision", "recall", "accuracy"],
    "regression": ["rmse", "mae", "r2"],
}


def megabytes() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def current_rows(task: str, rows: int, share: float) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """(the log's rows: logged_at and y, the prediction table, the true target of every row)."""
    rng = np.random.default_rng(0)
    start = np.datetime64("2026-06-01T00:00:00", "us")  # a Monday
    offsets = np.sort(rng.integers(0, WEEKS * 7 * 86_400_000_000, rows)).astype("timedelta64[us]")
    logged_at = pd.Series(np.datetime_as_string(start + offsets, unit="us")) + "+00:00"
    if task == "classification":
        y = np.where(rng.random(rows) < 0.12, "yes", "no")
        p_yes = 1 / (1 + np.exp(-((y == "yes") + rng.normal(-2, 1, rows))))
        prediction = np.where(p_yes > 0.3, "yes", "no")
        preds = pd.DataFrame({"prediction": prediction, "proba_no": 1 - p_yes, "proba_yes": p_yes})
        target = pd.Series(y, dtype=object)
    else:
        y = rng.normal(100, 10, rows)
        preds = pd.DataFrame({"prediction": y + rng.normal(0, 5, rows)})
        target = pd.Series(y)
    known = rng.random(rows) < share
    return pd.DataFrame({"logged_at": logged_at, "y": target.where(known, None)}), preds, y


def child(project: str, task: str, rows: int, share: float, repeats: int) -> dict:
    quality = import_module(f"{PACKAGE}.quality")
    bootstrap = import_module(f"{PACKAGE}.bootstrap")
    records = import_module(f"{PACKAGE}.records")
    settings = import_module(f"{PACKAGE}.settings")

    params = settings.load_params(Path(project) / "params.yaml")
    metrics, classes = METRICS[task], (["no", "yes"] if task == "classification" else [])
    positive = "yes" if classes else None
    stats = {"resamples": 1000, "confidence": 0.95, "seed": 0}  # the gate of params.yaml
    params = params.model_copy(
        update={
            "task": task,
            "metrics": metrics,
            "gate": params.gate.model_copy(update=stats),
            "train": params.train.model_copy(update={"primary_metric": metrics[0], "threshold": None}),
            "monitor": params.monitor.model_copy(update={"window": "week", "windows": WEEKS}),
        }
    )
    frame, preds, y = current_rows(task, rows, share)
    info = records.ModelInfo(task=task, target="y", numeric=[], categorical=[], candidate="bench",
                             estimator="bench", estimator_params={}, classes=classes,
                             positive_class=positive)  # fmt: skip
    reviewed = {m: v for m, (v, _, _) in bootstrap.absolute_bootstrap(
        y[:20_000], preds.head(20_000), metrics, classes, positive, resamples=1, confidence=0.95, seed=0
    ).items()}  # fmt: skip
    data_mb = megabytes()
    known = frame["y"].notna().to_numpy()

    def seconds(call) -> float:
        began = time.perf_counter()
        call()
        return time.perf_counter() - began

    found: dict[str, list[float]] = {"whole": [], "parse": [], "render": [], "alone": []}
    for _ in range(repeats):
        found["parse"].append(seconds(lambda: quality.utc_days(frame["logged_at"], "logged_at")))
        began = time.perf_counter()
        record = quality.score_windows(params, frame, preds, info, reviewed, time_column="logged_at")
        found["whole"].append(time.perf_counter() - began)
        found["render"].append(seconds(lambda record=record: quality.render(record)))
        latest = np.flatnonzero(known & (frame["logged_at"] >= record["windows"][-1]["start"]).to_numpy())
        found["alone"].append(seconds(lambda latest=latest: bootstrap.absolute_bootstrap(
            y[latest], preds.iloc[latest], metrics, classes, positive, **stats
        )))  # fmt: skip
    return {
        **{key: statistics.median(values) for key, values in found.items()},
        "alone_rows": len(latest),
        "labelled": record["rows"]["labelled"],
        "windows": len(record["windows"]),
        "verdict": record["verdict"],
        "data_mb": data_mb,
        "peak_mb": megabytes(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", default=".")
    parser.add_argument("--rows", type=int, default=1_000_000, help="logged predictions")
    parser.add_argument("--labelled", type=float, default=0.2, help="the share of them labelled")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", choices=list(METRICS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    project = str(Path(args.project).resolve())
    if args.child:
        print(json.dumps(child(project, args.child, args.rows, args.labelled, args.repeats)))
        return
    results = {}
    for task in METRICS:
        command = [sys.executable, __file__, "--child", task, "--project", project, "--rows", str(args.rows),
                   "--labelled", str(args.labelled), "--repeats", str(args.repeats)]  # fmt: skip
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        results[task] = json.loads(done.stdout.strip().splitlines()[-1])

    print(f"Machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"{args.rows:,} logged rows, {args.labelled:.0%} labelled, {WEEKS} weekly windows, "
          f"1,000 resamples; medians of {args.repeats}\n")  # fmt: skip
    print("| task | labelled rows | score_windows s | of which parsing times | render s | one window alone s "
          "| × 12 | ratio | peak MB (data alone) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    ok = True
    for task, r in results.items():
        twelve = WEEKS * r["alone"]
        print(f"| {task} | {r['labelled']:,} | {r['whole']:.2f} | {r['parse']:.2f} | {r['render']:.3f} | "
              f"{r['alone']:.2f} ({r['alone_rows']:,} rows) | {twelve:.2f} | {r['whole'] / twelve:.2f} | "
              f"{r['peak_mb']:,.0f} ({r['data_mb']:,.0f}) |")  # fmt: skip
        ok &= r["whole"] + r["render"] <= TARGET_SECONDS and r["peak_mb"] <= TARGET_MB
    print(f"\nTarget: <= {TARGET_SECONDS} s and <= {TARGET_MB} MB: {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
