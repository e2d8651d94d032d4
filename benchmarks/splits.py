"""The holdout a random split gives against the latest period (issue #22): the sample's default model
trained and scored under `split.by: hash` and `split.by: time`.

    uv run --project <baked project> python benchmarks/splits.py --project <baked project>

Trains the project's default model (its params.yaml, every candidate) twice, with the same rows:
once holding out a stable hash of the rows (the random split), once the latest 20% by
`data.time_column`, whose cross-validation is forward-chaining. Prints each split's holdout
metrics, cross-validated primary metric, and the periods trained on and held out. A measurement,
not a timing: the figures are the models' quality, and they go in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path

import yaml


def train(project: Path, split_by: str, out: Path) -> dict:
    """metrics.json of the project's default model with `split.by` set."""
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["split"]["by"] = split_by
    params["data"]["path"] = str(project / params["data"]["path"])
    path = out / f"params-{split_by}.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    command = ["uv", "run", "--project", str(project), project.name, "train", "--params", str(path)]
    subprocess.run([*command, "--out", str(out / split_by)], check=True, env=env, capture_output=True)
    return json.loads((out / split_by / "metrics.json").read_text())


def span(rows: dict) -> str:
    found = rows.get("span")
    return f"{found['first']} to {found['last']}" if found else "(all periods, at random)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True)
    project = parser.parse_args().project.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        found = {by: train(project, by, Path(tmp)) for by in ("hash", "time")}
    primary = found["hash"]["primary_metric"]
    metrics = list(found["hash"]["holdout"]["metrics"])
    print(f"{project.name}: {found['hash']['task']}, primary metric {primary}")
    holdout = " | ".join(f"holdout {m}" for m in metrics)
    print(f"| split | chosen | CV {primary} | {holdout} | trained on | held out |")
    print("|---|---|---:|" + "---:|" * len(metrics) + "---|---|")
    for by, record in found.items():
        cv = next(row for row in record["cv"]["leaderboard"] if row["candidate"] == record["chosen"])
        values = " | ".join(f"{record['holdout']['metrics'][m]:.4f}" for m in metrics)
        print(
            f"| {by} | {record['chosen']} | {cv['mean']:.4f} ± {cv['std']:.4f} | {values} | "
            f"{record['train']['rows']:,} rows, {span(record['train'])} | "
            f"{record['holdout']['rows']:,} rows, {span(record['holdout'])} |"
        )


if __name__ == "__main__":
    main()
