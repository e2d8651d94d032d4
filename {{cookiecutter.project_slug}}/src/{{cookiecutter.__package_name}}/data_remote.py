"""`data-remote`: move the training data out of git, into a DVC remote.

Git keeps a small pointer file next to the data (`<data.path>.dvc`: the content's hash and size)
and DVC keeps the content in the remote (S3, GCS, Azure, SSH or a folder). Nothing of DVC exists
in a project until this runs; the data stays on disk, now ignored by git. DVC's own commands do
the work (`dvc init`, `dvc remote add`, `dvc add`, `dvc push`), run with this environment's
interpreter; its usage analytics are turned off for the repository.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import git
from .errors import DataError, ProjectError
from .settings import Params, parse_yaml

REMOTE = "storage"
SCHEMES = ("s3://", "gs://", "azure://", "ssh://", "http://", "https://", "webdav://", "hdfs://")
INSTALL = "uv add 'dvc[s3]' (dvc[gs], dvc[azure] or dvc[ssh] for those remotes)"
CREDENTIALS = "DVC_REMOTE_CONFIG"
NO_CREDENTIALS = (
    f"${CREDENTIALS} is not set: in a workflow, the secret {CREDENTIALS} (read access) or "
    "DVC_REMOTE_WRITE_CONFIG (the drift job's retrain-data) holds the remote's credentials; "
    "locally, your own (e.g. `dvc remote modify --local storage access_key_id ...`). README: Bigger data"
)


def pointer(path: Path) -> Path:
    """The pointer file DVC writes next to a tracked file."""
    return path.with_name(path.name + ".dvc")


def tracked(path: Path) -> bool:
    return pointer(path).is_file()


def fetch(params: Params) -> bool:
    """Download data.path from the remote when DVC keeps it (False: git keeps it, nothing to do)."""
    path = params.data_path
    if not tracked(path):
        return False
    with credentials(path.parent):
        run("pull", pointer(path).name, cwd=path.parent, what=f"fetching {params.data.path}")
    return True


def push_new_version(params: Params) -> None:
    """After data.path changed: record its new content in the pointer and upload it to the remote."""
    root = params.data_path.parent
    run("add", params.data_path.name, cwd=root, what=f"recording the new {params.data.path}")
    with credentials(root):  # the write credentials, when the workflow step gives them
        run("push", pointer(params.data_path).name, cwd=root, what=f"uploading the new {params.data.path}")


@contextmanager
def credentials(where: Path) -> Iterator[None]:
    """$DVC_REMOTE_CONFIG (a secret: the remote's credentials, in DVC's config syntax), when set,
    becomes .dvc/config.local of the DVC project holding `where` (git never sees it) for the
    commands in the block only: removed when the block ends, however it ends."""
    config = os.environ.get(CREDENTIALS)
    if not config:
        yield
        return
    local = dvc_root(where) / ".dvc" / "config.local"
    write_private(local, config.strip() + "\n")
    try:
        yield
    finally:
        local.unlink(missing_ok=True)


def dvc_root(where: Path) -> Path:
    """The DVC project holding `where`: `where` itself when it has .dvc/, else as DVC finds it."""
    if os.path.lexists(where / ".dvc"):
        return where.resolve()
    found = dvc("root", cwd=where)
    if found.returncode != 0:
        raise DataError(f"{where} is not in a DVC project ({CREDENTIALS} is set): {found.stderr.strip()}")
    return (where / found.stdout.strip()).resolve()


def write_private(path: Path, text: str) -> None:
    """Create `path` readable by its owner only (0600 from the start, no window), never through a
    symlink (a committed one could lead the secret into an uploaded folder), never over a file."""
    for place in (path.parent, path):
        if place.is_symlink():
            raise DataError(f"{place} is a symbolic link: refusing to write credentials through it")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    try:
        descriptor = os.open(path, flags, 0o600)
    except FileExistsError:
        raise DataError(
            f"{path} exists already: refusing to replace it with ${CREDENTIALS} "
            f"(remove it, or unset {CREDENTIALS} to use it)"
        ) from None
    except OSError as err:
        raise DataError(f"cannot write the remote's credentials to {path}: {err.strerror}") from None
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


def content_hash(pointer_text: str) -> str | None:
    """The md5 DVC records for the file a pointer stands for."""
    try:
        return str(parse_yaml(pointer_text, "a .dvc file")["outs"][0]["md5"])
    except (ProjectError, KeyError, IndexError, TypeError):
        return None


def base_data(project: Path, params_name: str) -> Path | None:
    """The data file of the project at `project` (a checkout of the base) when DVC keeps it."""
    try:
        raw = parse_yaml((project / params_name).read_text(encoding="utf-8"), params_name)
        path = project / str(raw["data"]["path"])
    except (ProjectError, KeyError, TypeError):
        return None  # the base's own train step says what is wrong with its params
    return path if tracked(path) else None


def remote_url(url: str) -> str:
    """A URL as DVC takes it: a local folder becomes absolute (DVC reads relative ones from .dvc/)."""
    if url.startswith(SCHEMES):
        return url
    if "://" in url:
        raise DataError(f"data-remote: {url!r}: unsupported scheme; use a folder or one of {list(SCHEMES)}")
    return str(Path(url).expanduser().resolve())


def dvc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def run(*args: str, cwd: Path, what: str) -> None:
    done = dvc(*args, cwd=cwd)
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()
        remote_access = args[0] in {"pull", "push"} and not os.environ.get(CREDENTIALS)
        hint = f"\n{NO_CREDENTIALS}" if remote_access else ""
        raise DataError(f"{what} failed (`dvc {' '.join(args)}`):\n{output}{hint}")


def move_to_remote(params: Params, url: str) -> list[str]:
    """Track data.path with DVC, push it to `url`; the files to commit, staged (relative to the root)."""
    path = params.data_path
    url = remote_url(url)
    if importlib.util.find_spec("dvc") is None:
        raise DataError(f"data-remote: DVC is not installed in this environment: {INSTALL}, then run again")
    top = git.run(params.root, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise DataError(f"data-remote: {params.root} is not in a git repository (git init first)")
    root = Path(top.stdout.strip())
    if not path.is_file():
        raise DataError(f"data-remote: data.path {path} is not there (nothing to move)")
    if not (root / ".dvc").is_dir():
        run("init", "--quiet", cwd=root, what="initialising DVC")
        run("config", "core.analytics", "false", cwd=root, what="configuring DVC")
    run("remote", "add", "--default", "--force", REMOTE, url, cwd=root, what=f"adding the remote {url}")
    relative = path.resolve().relative_to(root.resolve()).as_posix()
    if git.run(root, "ls-files", "--error-unmatch", relative).returncode == 0:
        git.run(root, "rm", "--cached", "--quiet", relative)  # the file stays on disk, now ignored
    run("add", relative, cwd=root, what=f"tracking {relative}")
    try:
        with credentials(root):
            run("push", cwd=root, what=f"uploading {relative} to {url}")
    except DataError as err:
        raise DataError(
            f"{err}\n{relative} is still here; once that is fixed, run data-remote again"
        ) from None
    files = [
        ".dvc/config",
        ".dvc/.gitignore",
        ".dvcignore",
        f"{relative}.dvc",
        f"{Path(relative).parent}/.gitignore",
    ]
    git.run(root, "add", "--", *files)
    return files
