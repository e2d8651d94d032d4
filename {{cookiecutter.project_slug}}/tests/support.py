"""Helpers shared by the tests: the CLI, a small project, the package's name.

Nothing here names the task or the dataset: they are read from the project's params.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
from click.testing import CliRunner, Result

from {{ cookiecutter.__package_name }} import cli, data, settings

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
PKG_NAME = PROJECT["name"].replace("-", "_")
HEAVY = ("sklearn", "pandas", "pandera", "evidently", "bentoml", "skops")  # what `--help` never imports
SAMPLE_ROWS = 1500  # enough for every class in every fold, small enough to train in a second
SMALL_CANDIDATE_PARAMS = {  # fewer trees and boosting rounds: the tests check behaviour, not accuracy
    "random_forest": {"n_estimators": 10},
    "hist_gradient_boosting": {"max_iter": 20},
}


def real_params():
    """The project's own params.yaml, loaded and validated."""
    return settings.load_params(ROOT / "params.yaml")


def by_hash(params):
    """`params` with `split.by: hash`, for what only the hash split promises (rows keep their side as
    data grows, the salt); the project's own split is by time."""
    return params.model_copy(update={"split": params.split.model_copy(update={"by": "hash"})})


def invoke(*args) -> Result:
    """Run the CLI in-process, as a user would type it (`result.output` holds stdout and stderr)."""
    return CliRunner().invoke(cli.main, [str(a) for a in args])


def explain(result: Result) -> str:
    """What to show when a CLI assertion fails: the output and any unexpected exception."""
    return f"exit {result.exit_code}\n{result.output}\n{result.exception!r}"


def write_table(frame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


def make_project(dest: Path) -> Path:
    """A copy of the project's params in `dest`, pointed at a small deterministic sample of the training data.

    The sample takes every k-th row of the real file, so it spans the whole file
    (all periods and classes) yet is the same on every run. Returns the params path.
    """
    real_data = real_params().data_path
    frame = data.read_table(real_data)
    step = max(1, len(frame) // SAMPLE_ROWS)
    sample_path = Path("data") / f"sample{real_data.suffix}"
    write_table(frame.iloc[::step].head(SAMPLE_ROWS), dest / sample_path)

    raw = settings.read_yaml(ROOT / "params.yaml")

    raw["data"]["path"] = sample_path.as_posix()
    return write_small_params(raw, dest / "params.yaml")


def write_small_params(raw: dict, path: Path) -> Path:
    """Write params for fast training: two folds, few trees, few boosting rounds."""
    raw["train"]["cv_folds"] = 2
    for candidate in raw["train"]["candidates"].values():
        candidate.setdefault("params", {}).update(SMALL_CANDIDATE_PARAMS.get(candidate["estimator"], {}))
    path.write_text(json.dumps(raw, indent=2), encoding="utf-8")  # JSON is YAML
    return path


def run_fresh(args: list[str]) -> tuple[str, str]:
    """Run the CLI with `args` in a fresh interpreter: (its output, the heavy modules it imported)."""
    code = (
        "import sys\n"
        f"from {PKG_NAME}.cli import main\n"
        f"main({args!r}, standalone_mode=False)\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-c", code]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, check=True)
    *output, loaded = done.stdout.strip().splitlines()
    return "\n".join(output), loaded


def dashboard_metrics() -> set[str]:
    """The metrics the Grafana dashboard's queries name (monitoring/grafana/dashboards/service.json)."""
    import re

    dashboard = json.loads((ROOT / "monitoring" / "grafana" / "dashboards" / "service.json").read_text())
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    return {name for query in queries for name in re.findall(r"\b((?:bentoml|model)_\w+)\s*[{\[]", query)}


def payload(rows: pd.DataFrame) -> list[dict]:
    """Rows as a request's records."""
    return json.loads(rows.to_json(orient="records"))


@contextlib.contextmanager
def running(command: list, log: Path, env: dict | None = None) -> Iterator[httpx.Client]:
    """A service started by `command` (with "{port}" for a free port) in its own process, its output
    in `log`; a client for it once /readyz answers 200, and the process stopped after."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(part).format(port=port) for part in command],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                wait_until_ready(client, process, log)
                yield client
        finally:
            process.terminate()
            # A request cut off mid-body (test_requests_in_flight_...) holds shutdown until the
            # service's 30 s request timeout.
            process.wait(timeout=60)


def wait_until_ready(client: httpx.Client, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, f"the service exited:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"the service did not become ready:\n{log.read_text()}"
        try:
            if client.get("/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
