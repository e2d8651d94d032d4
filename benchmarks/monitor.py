"""The scheduled check over a log of a million predictions, 200k labelled, 12 weekly windows (issue #21).

    uv run --project <baked project> python benchmarks/monitor.py --project <baked project> [--rows 1000000]

Writes a SQLite prediction log as the service does (`PredictionLog.write`), `--rows` predictions of
the bank sample's rows spread evenly over the last 12 weeks, and gives `--labelled` of them, drawn
at random, their true outcome (as `label` would). Trains the project's default model once (not
timed). Then, each in a child process, median of the repeats, wall time and peak memory (GNU time):

- `monitor --model`: data drift on the sample drawn in the database (`drift.sample_size`), and the
  model scored on every labelled row, 12 weekly windows with bootstrap intervals, Evidently's
  quality report on the latest week;
- the baseline, the same check without a model: data drift only, what the check did before.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from labels import timed  # the same child-process timing

PACKAGE = os.environ.get("BENCH_PACKAGE", "my_ml_project")
TARGET_SECONDS, TARGET_MB = 30, 1000
WEEKS, DAYS = 12, 84


def write_log(db: Path, project: Path, rows: int, labelled: int) -> None:
    """`rows` logged predictions, a day's share per day over the last 84 days; `labelled` of them,
    at random, with their outcome."""
    sys.path.insert(0, str(project / "src"))
    from importlib import import_module

    PredictionLog = import_module(f"{PACKAGE}.prediction_log").PredictionLog
    sample = pd.read_csv(project / "data" / "bank-marketing.csv")
    rng = np.random.default_rng(0)
    log = PredictionLog(f"sqlite:///{db}", "predictions", "y")
    now, outcomes = datetime.now(UTC), []
    for day, size in enumerate(np.diff(np.linspace(0, rows, DAYS + 1).astype(int))):
        batch = sample.iloc[rng.integers(0, len(sample), size)].reset_index(drop=True)
        prediction = pd.DataFrame({"prediction": np.where(rng.random(size) < 0.1, "yes", "no")})
        log.write(batch.drop(columns=["y", "period"]), prediction, "bench:1", now=now - timedelta(days=day))
        outcomes.append(batch["y"])
    log.close()
    targets = pd.concat(outcomes, ignore_index=True)
    chosen = rng.choice(rows, labelled, replace=False)
    with sqlite3.connect(db) as connection:  # by rowid (the insertion order): indexed, fast
        connection.executemany(
            "UPDATE predictions SET y = ? WHERE rowid = ?",
            zip(targets.iloc[chosen], (chosen + 1).tolist(), strict=True),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", default=".")
    parser.add_argument("--rows", type=int, default=1_000_000, help="logged predictions")
    parser.add_argument("--labelled", type=int, default=200_000, help="of them with an outcome")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    project = Path(args.project).resolve()
    work = Path(tempfile.mkdtemp(prefix="bench-monitor-"))
    env = {**os.environ, "BENCH_MONITOR_DB": f"sqlite:///{work / 'log.db'}"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        write_log(work / "log.db", project, args.rows, args.labelled)
        params = yaml.safe_load((project / "params.yaml").read_text())
        params["data"]["path"] = str(project / params["data"]["path"])
        query = "SELECT * FROM predictions WHERE logged_at >= :since"
        params["drift"]["source"] = {"kind": "sql", "url_env": "BENCH_MONITOR_DB", "query": query,
                                     "window_days": DAYS + 1}  # fmt: skip
        params["monitor"] |= {"window": "week", "windows": WEEKS}
        (work / "params.yaml").write_text(json.dumps(params))
        cli = [sys.executable, "-m", PACKAGE]
        subprocess.run([*cli, "train", "--params", "params.yaml", "--out", "model"], cwd=work, env=env,
                       check=True, capture_output=True)  # fmt: skip
        runs: dict[str, list[tuple[float, float]]] = {"with": [], "without": []}
        for _ in range(args.repeats):
            for kind, model in (("with", "model"), ("without", "no-model")):
                command = [
                    *cli,
                    "monitor",
                    "--params",
                    "params.yaml",
                    "--model",
                    model,
                    "--out",
                    f"out-{kind}",
                ]
                seconds, peak, _ = timed(command, work, env)
                runs[kind].append((seconds, peak))
        record = json.loads((work / "out-with" / "drift.json").read_text())
    finally:
        shutil.rmtree(work, ignore_errors=True)

    quality = record["quality"]
    judged = [w for w in quality["windows"] if w["status"] == "judged"]
    print(f"Machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"SQLite log of {args.rows:,} predictions over {WEEKS} weeks, {args.labelled:,} labelled; "
          f"medians of {args.repeats}")  # fmt: skip
    print(
        f"Scored: {quality['rows']['labelled']:,} labelled rows in {len(judged)} judged weekly windows "
        f"(of {len(quality['windows'])}); drift on {record['sample_sizes']['current']['read']:,} sampled "
        "rows\n"
    )
    print("| the check | seconds | peak MB |\n|---|---:|---:|")
    medians = {}
    for kind, name in (
        ("with", "`monitor --model` (drift and quality)"),
        ("without", "baseline: drift only"),
    ):
        seconds = statistics.median(s for s, _ in runs[kind])
        peak = statistics.median(p for _, p in runs[kind])
        medians[kind] = (seconds, peak)
        print(f"| {name} | {seconds:.1f} | {peak:,.0f} |")
    (seconds, peak), (base, _) = medians["with"], medians["without"]
    print(f"\nRatio, with quality / drift only: {seconds / base:.2f}x")
    met = "met" if seconds <= TARGET_SECONDS and peak <= TARGET_MB else "MISSED"
    print(f"Target: the check in <= {TARGET_SECONDS} s and <= {TARGET_MB} MB: {met}")


if __name__ == "__main__":
    main()
