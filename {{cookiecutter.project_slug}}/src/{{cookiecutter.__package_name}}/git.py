"""The git commands the project runs: files at another commit, the commit a model was trained at,
and worktrees for the champion. Failures are returned, not raised: callers say what they mean."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Literal, overload

from .records import GitState


def run(where: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=where, capture_output=True, text=True, check=False)


@overload
def show(ref: str, path: Path, binary: Literal[False] = False) -> str | None: ...


@overload
def show(ref: str, path: Path, binary: Literal[True]) -> bytes | None: ...


def show(ref: str, path: Path, binary: bool = False) -> str | bytes | None:
    """A file's content at a git ref (None when it did not exist there, or this is no repository)."""
    top = run(path.parent, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        return None
    relative = path.resolve().relative_to(top.stdout.strip()).as_posix()
    shown = ["git", "show", f"{ref}:{relative}"]
    done = subprocess.run(shown, cwd=top.stdout.strip(), capture_output=True, text=not binary, check=False)
    return done.stdout if done.returncode == 0 else None


def state(where: Path) -> GitState:
    """The commit checked out at `where`, and whether the work tree had uncommitted changes."""
    try:
        head = run(where, "rev-parse", "HEAD")
    except OSError:  # no git on this machine
        return {"commit": None, "dirty": None}
    if head.returncode != 0:
        return {"commit": None, "dirty": None}
    return {"commit": head.stdout.strip(), "dirty": bool(run(where, "status", "--porcelain").stdout.strip())}
