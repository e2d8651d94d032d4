"""A throw-away PostgreSQL server on loopback (tests of SQL sources against a real server)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def postgres_bin() -> Path | None:
    """Where Debian's (or any) PostgreSQL server programs are, if installed."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return versions[-1].parent if versions else None


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A server's SQLAlchemy URL while it runs; skips the test, with the reason, if none starts.

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
    try:
        yield f"postgresql+psycopg://test@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)
