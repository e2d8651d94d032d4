"""Time and measure the memory of the pull-request review on a million rows (issue #13).

Bakes the default project, replaces its training data with `big_data.py`'s rows (the bank sample
resampled and perturbed, 1,000,000 by default), commits it as main, trains main's champion as the
release job would (kept as the cache), opens a branch that changes a parameter, and runs each step
train.yml runs, once: validate, holdout, score the challenger, score the champion (trained in its
worktree, and from the cache), compare. For each step: wall time, the peak of the summed RSS of
its process tree (sampled every 0.1 s through /proc) and the largest single process's peak (the
kernel's own maxrss, from wait4). Then where the challenger's time went (its progress lines) and
what it scored.

    uv run --locked python benchmarks/million_rows.py [--rows 1000000] [--logs DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
from big_data import generate
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"
HOLDOUT = ["--holdout", "pr/holdout.csv"]
RELEASE = ("release: train main's champion (kept in the cache)", ["train", "--out", "artifacts/champion"])
STEPS = {
    "validate": ["validate", "--report", "pr/validation.md"],
    "holdout": ["holdout", "--out", "pr/holdout.csv"],
    "score challenger": ["score", *HOLDOUT, "--out", "pr/challenger"],
    "score champion, trained": ["score", *HOLDOUT, "--out", "pr/champion", "--ref", "main"],
    "score champion, from the cache": ["score", *HOLDOUT, "--out", "pr/champion-cached", "--ref", "main",
                                       "--cached", "artifacts/champion"],
    "compare": ["compare", *HOLDOUT, "--champion", "pr/champion", "--challenger", "pr/challenger",
                "--base", "main", "--out", "pr"],
}  # fmt: skip
TRAINED, CACHED = "score champion, trained", "score champion, from the cache"


def env() -> dict[str, str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_PROJECT", "GITHUB_"))
    }
    clean.pop("PYTHONDONTWRITEBYTECODE", None)
    return {**clean, "CI": "true"}  # progress as timestamped lines


def sh(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, env=env(), check=True, capture_output=True)


def tree_rss_mb(root: int) -> float:
    """The summed resident memory of `root` and its descendants, from /proc."""
    parents, rss = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            parents[int(entry.name)] = int(fields[1])
            rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
    tree, frontier = {root}, [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        tree.update(children)
        frontier = children
    return sum(rss.get(pid, 0) for pid in tree) / 1e6


def measure(cmd: list[str], cwd: Path, log: Path) -> dict:
    """Run `cmd`; its wall time, peak tree RSS and largest process's peak RSS (MB)."""
    start = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(cmd, cwd=cwd, env=env(), stdout=out, stderr=subprocess.STDOUT)
        peak, done = [0.0], threading.Event()

        def sample() -> None:
            while not done.wait(0.1):
                peak[0] = max(peak[0], tree_rss_mb(process.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        done.set()
        sampler.join()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{log.read_text()[-3000:]}")
    return {"seconds": time.perf_counter() - start, "tree_mb": peak[0], "largest_mb": usage.ru_maxrss / 1e3}


def prepare(work: Path, rows: int) -> Path:
    project = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(work)))
    data_file = project / "data" / "bank-marketing.csv"
    generate(pd.read_csv(data_file), rows).to_csv(data_file, index=False)
    git = ["git", "-c", "user.name=b", "-c", "user.email=b@example.com"]
    sh(["git", "init", "-q", "-b", "main"], project)
    sh(["git", "add", "-A"], project)
    sh([*git, "commit", "-qm", "main"], project)
    sh([UV, "sync", "--locked"], project)
    return project


def branch(project: Path) -> None:
    git = ["git", "-c", "user.name=b", "-c", "user.email=b@example.com"]
    sh(["git", "checkout", "-q", "-b", "change"], project)
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("min_samples_leaf: 5", "min_samples_leaf: 10"))
    sh([*git, "commit", "-qam", "a change"], project)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--logs", type=Path, help="Keep each step's output here.")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-1m-"))
    logs = args.logs or work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    try:
        project = prepare(work, args.rows)
        cli = [UV, "run", "--no-sync", "my-ml-project"]
        size = (project / "data" / "bank-marketing.csv").stat().st_size / 1e6
        results = {RELEASE[0]: measure([*cli, *RELEASE[1]], project, logs / "release.log")}
        branch(project)
        for name, step in STEPS.items():
            results[name] = measure([*cli, *step], project, logs / f"{name.replace(' ', '-')}.log")
        report(results, args.rows, size, project, logs)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(results: dict, rows: int, size: float, project: Path, logs: Path) -> None:
    print(f"Machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"Data: {rows:,} rows, {size:.0f} MB of CSV; each step run once.\n")
    print("| step | seconds | peak MB, process tree | peak MB, largest process |\n|---|---:|---:|---:|")
    for name, r in results.items():
        print(f"| {name} | {r['seconds']:.1f} | {r['tree_mb']:,.0f} | {r['largest_mb']:,.0f} |")
    for label, skip in (("champion trained", CACHED), ("champion from the cache", TRAINED)):
        steps = [results[n] for n in STEPS if n != skip]
        seconds, peak = sum(r["seconds"] for r in steps), max(r["tree_mb"] for r in steps)
        print(f"| **pipeline, {label}** | **{seconds:.1f}** ({seconds / 60:.1f} min) | **{peak:,.0f}** | |")
    print("\nWhere the challenger's time went (its progress lines, folds left out):\n```")
    for line in (logs / "score-challenger.log").read_text().splitlines():
        if re.match(r"\[ *[\d.]+s\] .*\(\d+\.\d s\)$", line) and " fold " not in line:
            print(line)
    print("```")
    challenger = json.loads((project / "pr" / "challenger" / "model" / "metrics.json").read_text())
    print(f"\nChallenger: {challenger['chosen']}; cross-validated on {challenger['cv'].get('rows')} rows;")
    for row in challenger["cv"]["leaderboard"]:
        print(f"  {row['candidate']:<24} {row['mean']:.4f} ± {row['std']:.4f}")
    print(f"  holdout ({challenger['holdout']['rows']:,} rows): {challenger['holdout']['metrics']}")
    comparison = json.loads((project / "pr" / "comparison.json").read_text())
    print(f"Verdict: {comparison['verdict']}; compared on {comparison['holdout']['compared']:,} rows.")


if __name__ == "__main__":
    main()
