"""The `label` verb: a million outcomes into a SQLite prediction log of a million predictions (issue #21).

    uv run --project <baked project> python benchmarks/labels.py --project <baked project> [--rows 1000000]

Writes a prediction log as the service does (`PredictionLog.write`: id, time, model tag, the request's
columns, the prediction, an empty target; no index) with `--rows` predictions of the bank sample's
rows, and a CSV of one outcome per prediction (`prediction_id`, `y`), shuffled. Then, each on a fresh
copy of the log and in a child process, median of the repeats:

- the `label` verb (read, check against the schema, a temporary table filled in batches, one
  UPDATE ... FROM in one transaction), wall time and peak memory (the child's maxrss);
- the baseline, `PredictionLog.label`: one UPDATE per label sent with executemany in one transaction.
  On the log as the service makes it (no index on prediction_id) each UPDATE scans the table, so it
  is timed on `--baseline-rows` labels and its rate extrapolated; and on the same log with an index
  on prediction_id, on every label.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

PACKAGE = os.environ.get("BENCH_PACKAGE", "my_ml_project")
TARGET_SECONDS, TARGET_MB = 60, 1000
CHUNK = 250_000
BASELINE = """
import json, resource, sys, time
import pandas as pd
from {package}.prediction_log import PredictionLog
labels = pd.read_csv(sys.argv[2], dtype={{"prediction_id": str}}).head(int(sys.argv[3]))
log = PredictionLog(sys.argv[1], "predictions", "y")
start = time.perf_counter()
done = log.label(dict(zip(labels["prediction_id"], labels["y"])))
seconds = time.perf_counter() - start
print(json.dumps({{"rows": len(labels), "updated": done, "seconds": seconds,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3}}))
"""


def write_log(db: Path, project: Path, rows: int) -> pd.DataFrame:
    """`rows` logged predictions in the service's table layout; returns the outcomes file's rows."""
    from sqlalchemy import create_engine

    sys.path.insert(0, str(project / "src"))
    from importlib import import_module

    PredictionLog = import_module(f"{PACKAGE}.prediction_log").PredictionLog
    sample = pd.read_csv(project / "data" / "bank-marketing.csv")
    rng = np.random.default_rng(0)
    log = PredictionLog(f"sqlite:///{db}", "predictions", "y")
    ids, outcomes = [], []
    for start in range(0, rows, CHUNK):
        batch = sample.iloc[rng.integers(0, len(sample), min(CHUNK, rows - start))].reset_index(drop=True)
        prediction = pd.DataFrame({"prediction": np.where(rng.random(len(batch)) < 0.1, "yes", "no")})
        ids += log.write(batch.drop(columns=["y", "period"]), prediction, "bench:1")
        outcomes.append(batch["y"])
    log.close()
    create_engine(f"sqlite:///{db}").dispose()
    labels = pd.DataFrame({"prediction_id": ids, "y": pd.concat(outcomes, ignore_index=True)})
    return labels.sample(frac=1, random_state=1)  # outcomes arrive in no particular order


def timed(command: list[str], cwd: Path, env: dict) -> tuple[float, float, str]:
    """Wall seconds and peak MB of a child process (GNU time), and its stdout."""
    done = subprocess.run(["/usr/bin/time", "-f", "%e %M", *command], cwd=cwd, env=env, check=True,
                          capture_output=True, text=True)  # fmt: skip
    seconds, peak_kb = done.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(peak_kb) / 1e3, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", default=".")
    parser.add_argument("--rows", type=int, default=1_000_000, help="logged predictions = labels")
    parser.add_argument("--baseline-rows", type=int, default=300, help="labels for the unindexed baseline")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    project = Path(args.project).resolve()
    work = Path(tempfile.mkdtemp(prefix="bench-labels-"))
    try:
        db = work / "log.db"
        labels = write_log(db, project, args.rows)
        labels.to_csv(work / "labels.csv", index=False)
        params = yaml.safe_load((project / "params.yaml").read_text())
        params["data"]["path"] = str(project / params["data"]["path"])
        params["serving"]["log_predictions"] = {"url_env": "BENCH_LABELS_DB", "table": "predictions"}
        (work / "params.yaml").write_text(json.dumps(params))
        fresh = work / "fresh.db"
        env = {**os.environ, "BENCH_LABELS_DB": f"sqlite:///{fresh}"}
        verb, baseline, indexed = [], [], []
        for _ in range(args.repeats):
            shutil.copyfile(db, fresh)
            command = [sys.executable, "-m", PACKAGE, "label", str(work / "labels.csv")]
            seconds, peak, out = timed([*command, "--params", str(work / "params.yaml")], work, env)
            assert f"labelled:         {args.rows:>9,}" in out, out
            verb.append((seconds, peak))
            shutil.copyfile(db, fresh)
            code = BASELINE.format(package=PACKAGE)
            python = [sys.executable, "-c", code, f"sqlite:///{fresh}", str(work / "labels.csv")]
            baseline.append(json.loads(timed([*python, str(args.baseline_rows)], work, env)[2]))
            shutil.copyfile(db, fresh)
            import sqlite3

            with sqlite3.connect(fresh) as connection:
                connection.execute("CREATE INDEX predictions_id ON predictions (prediction_id)")
            indexed.append(json.loads(timed([*python, str(args.rows)], work, env)[2]))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def median(values) -> float:
        return statistics.median(values)

    print(f"Machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"SQLite log of {args.rows:,} predictions; {args.rows:,} labels (CSV); medians of {args.repeats}\n")
    print("| what | labels | seconds | per 1M labels | peak MB |\n|---|---:|---:|---:|---:|")
    v_seconds, v_peak = median([s for s, _ in verb]), median([p for _, p in verb])
    b_seconds = median([b["seconds"] for b in baseline])
    b_rate = b_seconds / args.baseline_rows * 1e6
    i_seconds = median([b["seconds"] for b in indexed])
    rows = [
        ("`label` verb (whole process)", args.rows, v_seconds, v_seconds / args.rows * 1e6, v_peak),
        ("baseline: executemany per row, no index", args.baseline_rows, b_seconds, b_rate,
         median([b["peak_mb"] for b in baseline])),
        ("baseline: executemany per row, indexed", args.rows, i_seconds, i_seconds / args.rows * 1e6,
         median([b["peak_mb"] for b in indexed])),
    ]  # fmt: skip
    for name, n, seconds, per_million, peak in rows:
        print(f"| {name} | {n:,} | {seconds:.1f} | {per_million:,.1f} | {peak:,.0f} |")
    per_label = v_seconds / args.rows * 1e6
    print(f"\nRatio, baseline / verb per label: {b_rate / per_label:,.0f}x without an index, "
          f"{i_seconds / v_seconds:.2f}x with one (the baseline's time is the UPDATEs alone)")  # fmt: skip
    met = "met" if v_seconds <= TARGET_SECONDS and v_peak <= TARGET_MB else "MISSED"
    print(f"Target: {args.rows:,} labels in <= {TARGET_SECONDS} s and <= {TARGET_MB} MB: {met}")


if __name__ == "__main__":
    main()
