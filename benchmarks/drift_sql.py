"""The drift check on a database of 10 million rows: sampled in the database vs read whole (issue #13).

Bakes the default project, writes `big_data.py`'s rows (the bank sample resampled and perturbed)
into a SQLite table of predictions logged over the last 14 days (a tenth of them labelled), and
points `drift.source` at the last 7 days. Then, each in a fresh interpreter: reading the whole
window (`sources.read_sql`, what the check did before), reading the sample drawn in the database
(`sources.sample_current`), and the whole `drift` verb on the sampled source. For each: the rows
that left the database, wall time and peak memory (the process's maxrss).

    uv run --locked python benchmarks/drift_sql.py [--rows 10000000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from big_data import generate
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"
CHUNK = 1_000_000
MEASURE = """
import json, resource, sys, time
from my_ml_project import settings, sources
params = settings.load_params("params.yaml")
start = time.perf_counter()
if sys.argv[1] == "whole":
    rows = len(sources.read_sql(params.drift.source))
else:
    rows = len(sources.sample_current(params).rows)
seconds = time.perf_counter() - start
print(json.dumps({"rows": rows, "seconds": seconds,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3}))
"""


def env(db: Path) -> dict[str, str]:
    skip = ("VIRTUAL_ENV", "UV_PROJECT", "GITHUB_")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    clean.pop("PYTHONDONTWRITEBYTECODE", None)
    return {**clean, "DRIFT_DATABASE_URL": f"sqlite:///{db}"}


def fill(db: Path, sample: pd.DataFrame, rows: int) -> None:
    """`rows` predictions, logged evenly over the last 14 days; a tenth carry their outcome."""
    now = pd.Timestamp.now(tz="UTC")
    with sqlite3.connect(db) as connection:
        for seed, start in enumerate(range(0, rows, CHUNK)):
            chunk = generate(sample, min(CHUNK, rows - start), seed=seed)
            rng = np.random.default_rng(seed)
            chunk["logged_at"] = (now - pd.to_timedelta(rng.uniform(0, 14, len(chunk)), unit="D")).astype(str)
            chunk.loc[rng.random(len(chunk)) >= 0.1, "y"] = None
            chunk.drop(columns="period").to_sql("predictions", connection, index=False, if_exists="append")


def run(cmd: list[str], cwd: Path, db: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env(db), check=True, capture_output=True, text=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-drift-sql-"))
    try:
        project = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(work)))
        db = work / "predictions.db"
        fill(db, pd.read_csv(project / "data" / "bank-marketing.csv"), args.rows)
        params = yaml.safe_load((project / "params.yaml").read_text())
        query = "SELECT * FROM predictions WHERE logged_at >= :since"
        params["drift"]["source"] = {"kind": "sql", "url_env": "DRIFT_DATABASE_URL", "query": query,
                                     "window_days": 7}  # fmt: skip
        (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        run([UV, "sync", "--locked"], project, db)
        python = [UV, "run", "--no-sync", "python", "-c", MEASURE]
        results = {
            "read the whole window (before)": json.loads(run([*python, "whole"], project, db).stdout),
            "sample in the database": json.loads(run([*python, "sample"], project, db).stdout),
        }
        verb = run(["/usr/bin/time", "-f", "%e %M", UV, "run", "--no-sync", "my-ml-project", "drift",
                    "--out", "reports/drift"], project, db)  # fmt: skip
        seconds, peak_kb = verb.stderr.strip().splitlines()[-1].split()
        record = json.loads((project / "reports" / "drift" / "drift.json").read_text())
        sizes = record["sample_sizes"]["current"]
        results["the whole `drift` verb, sampled"] = {
            "rows": sizes["read"], "seconds": float(seconds), "peak_mb": int(peak_kb) / 1e3,
        }  # fmt: skip
        print(f"Machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs")
        size = params["drift"]["sample_size"]
        print(f"Database: SQLite, {args.rows:,} rows ({db.stat().st_size / 1e6:,.0f} MB); "
              f"the 7-day window: {sizes['rows']:,} rows; drift.sample_size {size:,}\n")  # fmt: skip
        print("| what | rows out of the database | seconds | peak MB |\n|---|---:|---:|---:|")
        for name, r in results.items():
            print(f"| {name} | {r['rows']:,} | {r['seconds']:.1f} | {r['peak_mb']:,.0f} |")
        print(f"\nVerdict: {record['status']} ({record['drifted']} of {len(record['columns'])} features); "
              f"labelled rows counted in the database: {record['retraining']['labelled']:,}")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
