"""Time the paired bootstrap that gates a challenger against the champion.

Prints two markdown tables: `paired_bootstrap` with 1000 resamples on 10k and 100k holdout rows,
for binary classification (all six metrics) and regression (three metrics); then one metric at a
time, the vectorised path (a built-in metric) next to the general path (a scikit-learn scorer by
name, scored resample by resample) on the same data. Medians of repeated runs. Scores are
continuous, so ROC AUC meets nearly as many distinct scores as rows (its worst case).
Run it with a baked project's environment (the default bake's package is `my_ml_project`):

    uv run --project <baked project> python benchmarks/bootstrap.py [--repeats N] [--resamples N]
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy

PACKAGE = "my_ml_project"  # the default bake's package

CLASSIFICATION = ["roc_auc", "log_loss", "f1", "precision", "recall", "accuracy"]
REGRESSION = ["rmse", "mae", "r2"]
# One metric at a time: (task, vectorised built-in, general-path scorer of the same kind).
SINGLE = [
    ("binary", "f1", "balanced_accuracy"),  # from predicted classes
    ("binary", "roc_auc", "average_precision"),  # from scores
    ("regression", "mae", "median_absolute_error"),
]
TARGET_SECONDS = 2.0  # per call, 100k rows
# Imported by name at run time: the package exists only in a baked project (and a plain import would
# be sorted differently by the template's and the baked project's ruff settings).
BOOTSTRAP = importlib.import_module(f"{PACKAGE}.bootstrap")


def cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    for line in cpuinfo.read_text().splitlines() if cpuinfo.exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def binary(rows: int, rng: np.random.Generator) -> tuple:
    """Imbalanced labels (12% positive, like the bank marketing sample) and two models' continuous scores."""
    y = np.where(rng.random(rows) < 0.12, "yes", "no")

    def model(skill: float) -> pd.DataFrame:
        p_yes = 1 / (1 + np.exp(-(skill * (y == "yes") + rng.normal(-2, 1, rows))))
        prediction = np.where(p_yes > 0.5, "yes", "no")
        return pd.DataFrame({"prediction": prediction, "proba_no": 1 - p_yes, "proba_yes": p_yes})

    return y, model(1.0), model(1.2), CLASSIFICATION, ["no", "yes"], "yes"


def regression(rows: int, rng: np.random.Generator) -> tuple:
    y = rng.normal(100, 10, rows)
    champion, challenger = (pd.DataFrame({"prediction": y + rng.normal(0, s, rows)}) for s in (5, 4))
    return y, champion, challenger, REGRESSION, [], None


def seconds(case: tuple, resamples: int, repeats: int, metrics: list[str] | None = None) -> float:
    y, champion, challenger, all_metrics, classes, positive = case
    metrics = metrics or all_metrics
    times = []
    for seed in range(repeats):
        start = time.perf_counter()
        stats = {"resamples": resamples, "confidence": 0.95, "seed": seed}
        BOOTSTRAP.paired_bootstrap(y, champion, challenger, metrics, classes, positive, **stats)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (median reported)")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples per call")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    for task, make in (("binary classification, 6 metrics", binary), ("regression, 3 metrics", regression)):
        for n in (10_000, 100_000):
            rows.append((task, n, seconds(make(n, rng), args.resamples, args.repeats)))

    print(f"Machine: {platform.platform()}, {cpu_name()}, {os.cpu_count()} CPUs")
    print(f"Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}")
    print(f"paired_bootstrap, {args.resamples} resamples, median of {args.repeats} runs.\n")
    print("| task | holdout rows | seconds per call |\n|---|---:|---:|")
    for task, n, took in rows:
        print(f"| {task} | {n:,} | {took:.2f} |")
    slowest = max(took for _, n, took in rows if n == 100_000)
    print(f"\n100k rows: slowest {slowest:.2f} s per call (target: <= {TARGET_SECONDS:.0f} s).")

    print("\nOne metric per call: the vectorised path and the general path (a scikit-learn scorer).\n")
    print("| task | holdout rows | vectorised | seconds | general | seconds | ratio |")
    print("|---|---:|---|---:|---|---:|---:|")
    makers = {"binary": binary, "regression": regression}
    for task, fast, general in SINGLE:
        for n in (10_000, 100_000):
            case = makers[task](n, rng)
            took = [seconds(case, args.resamples, args.repeats, [m]) for m in (fast, general)]
            print(f"| {task} | {n:,} | {fast} | {took[0]:.2f} | {general} | {took[1]:.2f} | "
                  f"{took[1] / took[0]:.0f}x |")  # fmt: skip


if __name__ == "__main__":
    main()
