"""Time the pull-request review pipeline on the sample data, dependencies already installed.

Bakes the default project (classification, 40k rows), commits it as main, opens a branch that
changes a parameter, and times each step train.yml runs: validate, holdout, score the challenger,
score the champion (a worktree at main with its own environment), compare. Prints a markdown table
of medians, and the whole pipeline twice: with the champion trained in the run, and restored from
the cache main's release job keeps (`score --ref main --cached`: only its predictions are made).

    uv run --locked python benchmarks/pr_pipeline.py [--repeats N] [--task classification|regression]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"
CACHED = "score champion from main's cache (worktree + its env, predict only)"
STEPS = {
    "validate": ["validate", "--report", "pr/comment.md"],
    "holdout": ["holdout", "--out", "pr/holdout.csv"],
    "score challenger": ["score", "--holdout", "pr/holdout.csv", "--out", "pr/challenger"],
    "score champion (worktree + its env)": ["score", "--holdout", "pr/holdout.csv", "--out", "pr/champion",
                                            "--ref", "main"],
    CACHED: ["score", "--holdout", "pr/holdout.csv", "--out", "pr/champion-cached", "--ref", "main",
             "--cached", "artifacts/champion"],
    "compare (bootstrap + comment)": ["compare", "--holdout", "pr/holdout.csv", "--champion", "pr/champion",
                                      "--challenger", "pr/challenger", "--base", "main", "--out", "pr"],
}  # fmt: skip


def env() -> dict[str, str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_PROJECT", "GITHUB_"))
    }
    clean.pop("PYTHONDONTWRITEBYTECODE", None)
    return clean


def sh(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, env=env(), check=True, capture_output=True)


def prepare(work: Path, task: str) -> Path:
    project = Path(
        cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(work), extra_context={"task": task})
    )
    git = ["git", "-c", "user.name=b", "-c", "user.email=b@example.com"]
    sh(["git", "init", "-q", "-b", "main"], project)
    sh(["git", "add", "-A"], project)
    sh([*git, "commit", "-qm", "main"], project)
    # What release.yml keeps for main's commit (artifacts/ is git-ignored, so the tree stays clean).
    sh([UV, "sync", "--locked"], project)
    sh([UV, "run", "--no-sync", "my-ml-project", "train", "--out", "artifacts/champion"], project)
    sh(["git", "checkout", "-q", "-b", "change"], project)
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("min_samples_leaf: 5", "min_samples_leaf: 10"))
    sh([*git, "commit", "-qam", "a change"], project)
    sh([UV, "sync", "--locked"], project)
    # Warm the champion's environment once, as the uv cache on a CI runner would be.
    sh([UV, "run", "--no-sync", "my-ml-project", *STEPS["holdout"]], project)
    sh([UV, "run", "--no-sync", "my-ml-project", *STEPS["score champion (worktree + its env)"]], project)
    return project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--task", default="classification", choices=["classification", "regression"])
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-pr-"))
    try:
        project = prepare(work, args.task)
        times: dict[str, list[float]] = {name: [] for name in STEPS}
        for _ in range(args.repeats):
            shutil.rmtree(project / "pr", ignore_errors=True)
            for name, step in STEPS.items():
                start = time.perf_counter()
                sh([UV, "run", "--no-sync", "my-ml-project", *step], project)
                times[name].append(time.perf_counter() - start)
        trained = [n for n in STEPS if n != CACHED]
        cached = [n for n in STEPS if n != "score champion (worktree + its env)"]
        totals = {
            label: [sum(times[n][i] for n in names) for i in range(args.repeats)]
            for label, names in (("champion trained", trained), ("champion from the cache", cached))
        }
        print(f"Machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs")
        print(f"Task: {args.task}; medians of {args.repeats} runs; dependencies warm.\n")
        print("| step | seconds |\n|---|---:|")
        for name, values in times.items():
            print(f"| {name} | {statistics.median(values):.2f} |")
        for label, values in totals.items():
            print(f"| **whole pipeline, {label}** | **{statistics.median(values):.2f}** |")
        ratio = statistics.median(totals["champion from the cache"]) / statistics.median(
            totals["champion trained"]
        )
        print(f"\nWith the cache: {ratio:.0%} of the time. Target: whole pipeline <= 60 s on 2 cores.")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
