"""Score the pull request's model (challenger) and its base's (champion) on one holdout file.

Each side is trained and predicts in its own environment: the champion in a git worktree of
the base commit, with the base's own code, params, data and lock file (`uv run --locked`), so a
dependency bump in the pull request cannot break it. A side that cannot be built writes why into
its status.json instead of crashing the review.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections import deque
from pathlib import Path
from typing import Literal, TypedDict

from . import data, data_remote, git, progress, records
from .errors import DataError, ModelError
from .records import REFUSED_FILE, STATUS_FILE, Status
from .settings import Params

PREDICTIONS, MODEL_DIR = "predictions.csv", "model"
BASE_DATA = "base-data"  # the base's training data, when DVC keeps it (not in git for compare to read)
LOG_TAIL_LINES = 40


class HoldoutFile(TypedDict):
    rows: int
    hash: str  # data.table_hash: what the champion's and challenger's records are checked against


def write_holdout(params: Params, out: Path) -> HoldoutFile:
    """The head's holdout rows (all columns, validated) as CSV or Parquet: what both models predict."""
    parts = data.split(data.load_training_data(params), params)
    data.write_table(parts.holdout, out)
    return {"rows": len(parts.holdout), "hash": data.table_hash(parts.holdout)}


def write_status(
    out: Path,
    status: Literal["ok", "failed", "missing"],
    detail: str = "",
    log_tail: str = "",
    ref: str | None = None,
    source: Literal["cache", "trained"] | None = None,
    source_detail: str = "",
) -> Status:
    record: Status = {"status": status, "detail": detail, "log_tail": log_tail, "ref": ref}
    if source is not None:
        record |= {"source": source, "source_detail": source_detail}
    out.mkdir(parents=True, exist_ok=True)
    data.write_json(out / STATUS_FILE, record)
    return record


def score_here(params: Params, holdout: Path, out: Path) -> Status:
    """Train in this tree and predict the holdout: the challenger."""
    from . import models, training

    training.train(params, out / MODEL_DIR)
    with progress.step(f"Predicting the holdout ({holdout.name})"):
        models.predict_file(out / MODEL_DIR, holdout, out / PREDICTIONS, params.train.trusted_types)
    return write_status(out, "ok")


def score_at_ref(ref: str, params_path: Path, holdout: Path, out: Path, cached: Path | None = None) -> Status:
    """Train at git `ref` in a temporary worktree with that commit's own lock, then predict the holdout.

    `cached`: a model folder trained at `ref` before (main's release job keeps one per commit). When
    its record says it was trained at exactly that commit from a clean tree, it is predicted with
    instead of training again (in the same worktree and environment, so the base's code and trusted
    types load it); otherwise the champion is trained, and status.json says why.
    """
    project = params_path.resolve().parent
    top = git.run(project, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        return write_status(out, "failed", "not inside a git repository", top.stderr, ref)
    sha = git.run(project, "rev-parse", "--verify", ref + "^{commit}").stdout.strip()
    reuse, why = usable_cache(cached, sha)
    with tempfile.TemporaryDirectory(prefix="champion-") as tmp:
        tree = Path(tmp) / "tree"
        added = git.run(project, "worktree", "add", "--detach", str(tree), ref)
        if added.returncode != 0:
            detail = f"cannot check out {ref} (is the history fetched? use fetch-depth: 0)"
            return write_status(out, "failed", detail, tail(added.stderr), ref)
        try:
            base = tree / project.relative_to(top.stdout.strip())
            if not (base / "pyproject.toml").is_file() or not (base / params_path.name).is_file():
                return write_status(
                    out, "missing", f"{ref} has no project yet: nothing to compare with", ref=ref
                )
            if reuse and cached is not None:
                shutil.copytree(cached, out / MODEL_DIR, dirs_exist_ok=True)
            args = (base, params_path.name, holdout.resolve(), out.resolve(), ref, reuse, why)
            kept = data_remote.base_data(base, params_path.name)
            if kept is None:
                return run_base(*args)
            # The data is in DVC: the worktree fetches the base's version, with this step's secret.
            with data_remote.credentials(tree):
                return run_base(*args, kept)
        except DataError as err:  # e.g. a symlinked .dvc/config.local at the base
            return write_status(out, "failed", str(err), ref=ref)
        finally:
            git.run(project, "worktree", "remove", "--force", str(tree))


def usable_cache(cached: Path | None, sha: str) -> tuple[bool, str]:
    """Whether the cached model folder is the champion of commit `sha`, and if not, why."""
    if cached is None:
        return False, ""
    if not (cached / records.METRICS_FILE).is_file():
        return False, f"no cached champion for {sha[:12]} (main's release job had not stored one)"
    try:
        trained_at = records.read_training_record(cached)["git"]
    except ModelError as err:
        return False, f"the cached champion was unreadable ({err})"
    if trained_at.get("commit") != sha or trained_at.get("dirty") is not False:
        return (
            False,
            f"the cached champion was trained at {str(trained_at.get('commit'))[:12]}, not {sha[:12]}",
        )
    return True, f"restored from the cache main's release job wrote for {sha[:12]}"


def run_base(
    base: Path,
    params_name: str,
    holdout: Path,
    out: Path,
    ref: str,
    reuse: bool = False,
    why: str = "",
    kept: Path | None = None,
) -> Status:
    """`train` (unless `reuse`: the model is already in out/model) then `predict`, with the base's code
    and locked dependencies. `kept`: the base's data file, kept by DVC: fetched first, and copied to
    out/ for `compare` (which follows rows from the base's data to the head's)."""
    uv = shutil.which("uv")
    if uv is None:
        return write_status(out, "failed", "uv is not on PATH", ref=ref)
    cli = [uv, "run", "--locked", "--project", str(base), "python", "-m", __package__]
    steps = {
        "train": [*cli, "train", "--params", params_name, "--out", str(out / MODEL_DIR)],
        "predict": [
            *cli,
            "predict",
            "--model",
            str(out / MODEL_DIR),
            "--input",
            str(holdout),
            "--output",
            str(out / PREDICTIONS),
            "--refused",
            str(out / REFUSED_FILE),
        ],
    }
    if reuse:
        del steps["train"]
    if kept is not None:
        pull = [uv, "run", "--locked", "--project", str(base), "python", "-m", "dvc", "pull", str(kept)]
        steps = {"fetch the data (DVC)": pull, **steps}
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT"}}
    for name, command in steps.items():
        with progress.step(f"Champion at {ref[:12]}: {name}"):
            code, log = stream(command, base, env, prefix="champion | ")
        if name == "predict" and code == 2 and any("No such option: --refused" in line for line in log):
            # A base from before --refused: its predict fails on any row its schema refuses (closed).
            code, log = stream(command[:-2], base, env, prefix="champion | ")
        if code != 0:
            detail = f"`{name}` failed at {ref} (exit {code})"
            return write_status(out, "failed", detail, "\n".join(log), ref)
    if kept is not None:
        shutil.copyfile(kept, out / (BASE_DATA + kept.suffix))
    source: Literal["cache", "trained"] = "cache" if reuse else "trained"
    return write_status(out, "ok", ref=ref, source=source, source_detail=why)


def stream(command: list[str], cwd: Path, env: dict[str, str], prefix: str) -> tuple[int, deque[str]]:
    """Run a command, echoing its output to stderr as it comes (its lines' own progress stamps replaced
    by this command's); its exit code and last log lines (as printed, for the comment)."""
    log: deque[str] = deque(maxlen=LOG_TAIL_LINES)
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",  # a tool's odd bytes must not end the review
        bufsize=1,
    ) as process:
        assert process.stdout is not None  # stdout=PIPE
        for line in process.stdout:
            log.append(line.rstrip("\n"))
            progress.say(prefix + progress.unstamped(log[-1]))
    return process.returncode, log


def tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])
