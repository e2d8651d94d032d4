"""Bake the template with given answers and run commands in the baked projects."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the template's tool venv: ruff, actionlint, zizmor, act, uv
UV = str(BIN / "uv")
SLUG = "my-ml-project"  # the default answer's command, the one the tests call
IDENTITY = ["-c", "user.name=t", "-c", "user.email=t@example.com"]  # any commit's author


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


def cli(project: Path, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess:
    """The project's command (`uv run --locked my-ml-project ...`), as its README and workflows run it."""
    return run([UV, "run", "--locked", SLUG, *args], project, check=check, **env)


def python(project: Path, script: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    """A Python snippet in the project's locked environment."""
    return run([UV, "run", "--locked", "python", "-c", script, *args], project, **env)


def git(repo: Path, *args: str) -> str:
    """A git command in `repo` (with an author for commits); its standard output."""
    return run(["git", *IDENTITY, *args], repo).stdout


def head_sha(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def commit(repo: Path, message: str) -> str:
    """Commit everything in the working tree; the new commit's SHA."""
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)
    return head_sha(repo)


def git_init(path: Path) -> None:
    """Make `path` a git repository with one commit (what a user does right after baking)."""
    git(path, "init", "-q", "-b", "main")
    commit(path, "baked")
