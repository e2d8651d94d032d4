"""Run a baked project's service (`serve`) and talk to it over HTTP, as a client would."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from harness.project import SLUG, UV, project_env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serving(project: Path, log: Path, **env: str) -> Iterator[int]:
    """`serve` on a free port until it answers /readyz; yields the port, stops the server after."""
    port = free_port()
    command = [UV, "run", "--locked", SLUG, "serve", "--port", str(port)]
    with log.open("w") as out:
        server = subprocess.Popen(command, cwd=project, env=project_env(**env), stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 120
        while post(port, "/readyz") is None:
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def post(port: int, path: str, body: dict | None = None) -> tuple[int, str] | None:
    """(status, body) of a GET (no body) or a JSON POST; None while nothing answers."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if body is not None:
        request.data = json.dumps(body).encode()
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
    except OSError:
        return None
