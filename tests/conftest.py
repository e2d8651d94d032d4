"""Shared helpers: bake the template with given answers, run commands in baked projects."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
CONFIG = json.loads((TEMPLATE / "cookiecutter.json").read_text())
CHOICES = {k: v for k, v in CONFIG.items() if isinstance(v, list) and not k.startswith("_")}


def pairwise(choices: dict[str, list]) -> list[dict]:
    """Few combinations of the choices in which every pair of values of two questions occurs at least
    once (so every value occurs too): greedy, each step taking the combination that covers the most
    pairs not yet covered. 6 bakes instead of the product's 12, and still each interaction once."""
    product = [dict(zip(choices, values, strict=True)) for values in itertools.product(*choices.values())]

    def pairs(answers: dict) -> set:
        return {((a, answers[a]), (b, answers[b])) for a, b in itertools.combinations(answers, 2)}

    uncovered, chosen = set().union(*map(pairs, product)), []
    while uncovered:
        best = max(product, key=lambda answers: len(pairs(answers) & uncovered))
        chosen.append(best)
        uncovered -= pairs(best)
    return chosen or product[:1]


# The combinations the bake tests bake: each pair of option values at least once.
COMBINATIONS = pairwise(CHOICES)
BIN = Path(sys.executable).parent  # the template's tool venv: ruff, actionlint, zizmor, act, uv


def combo_id(answers: dict) -> str:
    return "-".join(str(v) for v in answers.values())


def bake(out_dir: Path, **answers) -> Path:
    """Bake the template without prompts and return the project folder."""
    return Path(cookiecutter(str(TEMPLATE), no_input=True, extra_context=answers, output_dir=str(out_dir)))


def project_env(**extra: str) -> dict[str, str]:
    """Environment for a baked project's commands: its own venv, bytecode caching on, no Actions vars."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "VIRTUAL_ENV", "UV_PROJECT"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # re-compiling every import would dominate the timings
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    return {**env, **extra}


def run(cmd: list[str], cwd: Path, check: bool = True, **env: str) -> subprocess.CompletedProcess:
    """Run a command, returning its output; on an unexpected exit code, fail showing that output."""
    done = subprocess.run(cmd, cwd=cwd, env=project_env(**env), capture_output=True, text=True)
    if check and done.returncode != 0:
        pytest.fail(
            f"{' '.join(cmd)} exited {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        )
    return done


def git_init(path: Path) -> None:
    """Make `path` a git repository with one commit (what a user does right after baking)."""
    for cmd in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "baked"],
    ):
        run(cmd, path)


@pytest.fixture(scope="session")
def default_project(tmp_path_factory) -> Path:
    """The default project, baked once for the session (tests must not modify it)."""
    return bake(tmp_path_factory.mktemp("default"))


def postgres_bin() -> Path | None:
    """Where Debian's (or any) PostgreSQL server programs are, if installed."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return versions[-1].parent if versions else None


@pytest.fixture(scope="session")
def postgres_url():
    """A throw-away PostgreSQL server on loopback for the session; skipped, with the reason, if none starts.

    PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user.
    """
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (.ci/run installs Debian's postgresql package)")
    # Not under pytest's tmp folder: it is private to root, and the server may run as `postgres`.
    root = Path(tempfile.mkdtemp(prefix="template-tests-pg-"))
    as_user = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        runuser = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")
        if runuser is None:
            pytest.skip("PostgreSQL refuses to run as root and `runuser` was not found")
        as_user = [runuser, "-u", "postgres", "--"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data, log = root / "data", root / "server.log"
    init = [*as_user, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "test", "--no-sync"]
    start = [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "start",
             "-o", f"-p {port} -h 127.0.0.1 -k {root}"]  # fmt: skip
    for command in (init, start):
        try:
            done = subprocess.run(command, capture_output=True, text=True)
        except OSError as err:
            pytest.skip(f"PostgreSQL could not be started: {err}")
        if done.returncode != 0:
            pytest.skip(f"PostgreSQL could not be started: {' '.join(command[-3:])}: {done.stderr[-500:]}")
    yield f"postgresql+psycopg://test@127.0.0.1:{port}/postgres"
    subprocess.run(
        [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], capture_output=True
    )
    shutil.rmtree(root, ignore_errors=True)
