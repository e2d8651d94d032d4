"""Progress on stderr: a live line in a person's terminal, stamped plain lines in a CI log."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

from {{ cookiecutter.__package_name }} import progress

SAY = f"from {progress.__name__} import enable, step\nenable()\nwith step('Cross-validating linear'): pass\n"


def in_a_terminal(**env: str) -> str:
    """What a command's progress looks like on a terminal (a pseudo-terminal as stderr)."""
    leader, follower = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if k not in {"CI", "GITHUB_ACTIONS"}} | env
    with subprocess.Popen([sys.executable, "-c", SAY], stderr=follower, env=environment):
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
    os.close(leader)
    return b"".join(chunks).decode(errors="replace")


def test_a_ci_run_logs_stamped_lines_even_on_a_terminal():
    """act runs each step on a terminal; the log must still read as a log, not spinner frames."""
    said = in_a_terminal(CI="true")
    assert re.search(r"\[ *\d+\.\ds\] Cross-validating linear …", said)
    assert "\x1b[" not in said  # no cursor movements or colours


def test_a_person_at_a_terminal_gets_a_live_line():
    said = in_a_terminal()
    assert "Cross-validating linear" in said and not re.search(r"\[ *\d+\.\ds\]", said)
