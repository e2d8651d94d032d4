"""`data-remote` and `fetch-data` before DVC is installed, how the project finds DVC's files, and
how the remote's credentials ($DVC_REMOTE_CONFIG) reach DVC: .dvc/config.local, created 0600, never
through a symlink, and removed when the command that needed it ends (DVC's commands faked here).
(The template's tests move the data to a folder and to an S3 server, fetch it and retrain on it.)"""

from __future__ import annotations

import importlib.util
import os
import stat
import subprocess
from pathlib import Path

import pytest
from support import explain, invoke, real_params

from {{ cookiecutter.__package_name }} import data, data_remote, review, settings

POINTER = """outs:
- md5: 6a3a4d9b0489f6b7de25d711b8d0faa0
  size: 3483988
  hash: md5
  path: train.csv
"""


def test_fetch_data_does_nothing_when_git_keeps_the_data(own_project):
    result = invoke("fetch-data", "--params", own_project)
    assert result.exit_code == 0, explain(result)
    assert result.stdout.endswith("is in git: nothing to fetch.\n")


def test_an_unsupported_remote_is_named(own_project):
    result = invoke("data-remote", "ftp://example.com/data", "--params", own_project)
    assert result.exit_code == 1, explain(result)
    assert "unsupported scheme" in result.output and "'ftp://example.com/data'" in result.output


def test_without_dvc_the_verb_says_how_to_add_it(own_project):
    if importlib.util.find_spec("dvc") is not None:
        pytest.skip("DVC is installed in this project")
    result = invoke("data-remote", "s3://bucket/data", "--params", own_project)
    assert result.exit_code == 1, explain(result)
    assert "DVC is not installed in this environment: uv add 'dvc[s3]'" in result.output
    assert not (own_project.parent / ".dvc").exists()


def test_data_kept_by_dvc_but_not_fetched_says_how_to_fetch_it(own_project):
    params = settings.load_params(own_project)
    data_remote.pointer(params.data_path).write_text(POINTER)
    params.data_path.unlink()
    result = invoke("validate", "--params", own_project)
    assert result.exit_code == 1, explain(result)
    assert f"{params.data_path}: not here; it is kept by DVC ({params.data_path.name}.dvc)" in result.output
    assert "`uv run dvc pull`" in result.output


def test_the_pointer_gives_the_content_hash_and_the_base_data(own_project):
    assert data_remote.content_hash(POINTER) == "6a3a4d9b0489f6b7de25d711b8d0faa0"
    assert data_remote.content_hash("not: [a pointer]") is None
    params = settings.load_params(own_project)
    root = own_project.parent
    assert data_remote.base_data(root, own_project.name) is None  # git keeps it
    data_remote.pointer(params.data_path).write_text(POINTER)
    assert data_remote.base_data(root, own_project.name) == params.data_path


# --- the remote's credentials: what a workflow step passes as $DVC_REMOTE_CONFIG

SECRET = "['remote \"storage\"']\n    access_key_id = AKIA\n    secret_access_key = s3cret\n"


class FakeDvc:
    """DVC's commands as data_remote runs them: each records what .dvc/config.local held meanwhile."""

    def __init__(self, root: Path):
        self.root, self.failing, self.seen = root, set(), []

    def __call__(self, *args: str, cwd: Path) -> subprocess.CompletedProcess:
        if args[0] == "root":
            return subprocess.CompletedProcess(args, 0, os.path.relpath(self.root, cwd) + "\n", "")
        local = self.root / ".dvc" / "config.local"
        self.seen.append((args[0], local.read_text() if local.exists() else None))
        failed = args[0] in self.failing
        return subprocess.CompletedProcess(args, int(failed), "", "remote unreachable" if failed else "")


@pytest.fixture
def kept_by_dvc(own_project, monkeypatch) -> FakeDvc:
    """own_project's data kept by DVC (a pointer, .dvc/ at the project's root), the secret set."""
    root = own_project.parent
    (root / ".dvc").mkdir()
    data_remote.pointer(settings.load_params(own_project).data_path).write_text(POINTER)
    monkeypatch.setenv("DVC_REMOTE_CONFIG", SECRET)
    fake = FakeDvc(root)
    monkeypatch.setattr(data_remote, "dvc", fake)
    return fake


@pytest.mark.parametrize("fails", [False, True])
def test_fetch_data_holds_the_credentials_for_the_download_only(own_project, kept_by_dvc, fails):
    if fails:
        kept_by_dvc.failing.add("pull")
    result = invoke("fetch-data", "--params", own_project)
    assert result.exit_code == int(fails), explain(result)
    assert kept_by_dvc.seen == [("pull", SECRET)]
    assert not (own_project.parent / ".dvc" / "config.local").exists()  # nothing outlives the step


@pytest.mark.parametrize("fails", [False, True])
def test_retrain_data_holds_the_write_credentials_for_the_upload_only(own_project, kept_by_dvc, fails):
    real = real_params()
    later = data.read_table(real.data_path.parent / "later" / real.data_path.name).head(50)
    data.write_table(later, own_project.parent / "data" / "current" / "batch.csv")
    if fails:
        kept_by_dvc.failing.add("push")
    body = own_project.parent / "body.md"
    result = invoke(
        "retrain-data", "--params", own_project, "--body", body, "--drift-report", own_project.parent / "none"
    )
    assert result.exit_code == int(fails), explain(result)
    assert kept_by_dvc.seen == [("add", None), ("push", SECRET)]
    assert not (own_project.parent / ".dvc" / "config.local").exists()


def test_the_credentials_file_is_created_0600_never_wider(own_project, kept_by_dvc, monkeypatch):
    opened, real_open = [], os.open

    def spy(path, flags, mode=0o777, *, dir_fd=None):
        descriptor = real_open(path, flags, mode, dir_fd=dir_fd)
        if Path(path).name == "config.local":  # its mode the moment it exists, before any chmod
            opened.append((flags, mode, stat.S_IMODE(os.fstat(descriptor).st_mode)))
        return descriptor

    monkeypatch.setattr(os, "open", spy)
    umask = os.umask(0)  # the mode comes from the open call alone
    try:
        result = invoke("fetch-data", "--params", own_project)
    finally:
        os.umask(umask)
    assert result.exit_code == 0, explain(result)
    [(flags, mode, created)] = opened
    assert mode == created == 0o600
    assert flags & os.O_CREAT and flags & os.O_EXCL and flags & os.O_NOFOLLOW


@pytest.mark.parametrize("link", ["config.local", ".dvc"])
def test_a_committed_symlink_never_leads_the_credentials_elsewhere(own_project, kept_by_dvc, link):
    """A pull request can commit .dvc/config.local (or .dvc/) as a link into a folder the workflow
    uploads (reports/drift/): the verb refuses, naming it, and writes nothing through it."""
    root = own_project.parent.resolve()
    uploaded = root / "reports" / "drift"
    uploaded.mkdir(parents=True)
    if link == ".dvc":
        (root / ".dvc").rmdir()
        (root / ".dvc").symlink_to(uploaded, target_is_directory=True)
    else:
        (root / ".dvc" / "config.local").symlink_to(uploaded / "config.local")
    result = invoke("fetch-data", "--params", own_project)
    assert result.exit_code == 1, explain(result)
    named = root / ".dvc" / ("config.local" if link == "config.local" else "")
    assert f"{named} is a symbolic link: refusing to write credentials" in result.output
    assert list(uploaded.iterdir()) == [] and kept_by_dvc.seen == []


def test_a_credentials_file_already_there_is_neither_replaced_nor_removed(own_project, kept_by_dvc):
    mine = own_project.parent / ".dvc" / "config.local"
    mine.write_text("# a developer's own\n")
    result = invoke("fetch-data", "--params", own_project)
    assert result.exit_code == 1, explain(result)
    assert f"{mine.resolve()} exists already: refusing to replace it with $DVC_REMOTE_CONFIG" in result.output
    assert mine.read_text() == "# a developer's own\n" and kept_by_dvc.seen == []


def git(repo: Path, *args: str) -> None:
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", *identity, *args], cwd=repo, capture_output=True, text=True, check=True)


def base_in_git(own_project: Path) -> Path:
    """own_project, its data kept by DVC, as a git repository's one commit (the review's base)."""
    root = own_project.parent
    (root / "pyproject.toml").write_text("[project]\nname = 'base'\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A", "-f")
    git(root, "commit", "-qm", "base")
    return root


def test_the_champions_worktree_writes_its_own_credentials(own_project, kept_by_dvc, tmp_path, monkeypatch):
    """score --ref: its own step's secret becomes the worktree's config.local while the base runs."""
    (own_project.parent / ".dvc" / ".gitignore").write_text("/config.local\n")
    base_in_git(own_project)
    seen = []

    def run_base(base, *args):
        seen.append((base / ".dvc" / "config.local").read_text())
        return review.write_status(tmp_path / "champion", "ok")

    monkeypatch.setattr(review, "run_base", run_base)
    status = review.score_at_ref("HEAD", own_project, tmp_path / "holdout.csv", tmp_path / "champion")
    assert status["status"] == "ok" and seen == [SECRET]
    assert not (own_project.parent / ".dvc" / "config.local").exists()  # the checkout never held it


def test_a_symlink_at_the_base_fails_the_champion(own_project, kept_by_dvc, tmp_path, monkeypatch):
    root = own_project.parent
    (root / "reports" / "drift").mkdir(parents=True)
    (root / "reports" / "drift" / ".keep").write_text("")
    (root / ".dvc" / "config.local").symlink_to("../reports/drift/config.local")
    base_in_git(own_project)
    monkeypatch.setattr(review, "run_base", lambda *args: pytest.fail("the base ran"))
    status = review.score_at_ref("HEAD", own_project, tmp_path / "holdout.csv", tmp_path / "champion")
    assert status["status"] == "failed"
    assert "/.dvc/config.local is a symbolic link: refusing to write" in status["detail"]  # nothing leaked
    assert not (root / "reports" / "drift" / "config.local").exists()
