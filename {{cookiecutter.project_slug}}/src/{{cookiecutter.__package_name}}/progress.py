"""What a long step is doing, on stderr (stdout stays for results).

In a terminal: a live status line (rich's spinner) while a step runs, and one line when it ends.
In a CI log (not a terminal, or CI=true: act gives a step a terminal where GitHub's runners do not):
plain lines, each stamped with the seconds since the command began, a line when a step starts and
one with its result and time when it ends. Silent unless the CLI turned it on (`enable`), so library
calls and tests print nothing.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

_state: dict[str, Any] = {"on": False, "began": time.monotonic(), "console": None}
STAMP = re.compile(r"\[ *\d+\.\ds\] ")  # how `say` stamps a line in a CI log


def enable() -> None:
    _state.update(on=True, began=time.monotonic())
    if sys.stderr.isatty() and os.environ.get("CI", "").lower() not in {"true", "1"}:
        try:
            from rich.console import Console
        except ImportError:  # rich comes with BentoML; without it, plain lines
            return
        _state["console"] = Console(stderr=True, highlight=False)


def say(message: str) -> None:
    """One line of progress (a log line in CI, a printed line in a terminal)."""
    if not _state["on"]:
        return
    if _state["console"] is not None:
        _state["console"].print(message, markup=False)
    else:
        print(f"[{time.monotonic() - _state['began']:7.1f}s] {message}", file=sys.stderr, flush=True)


def unstamped(line: str) -> str:
    """A line another command's `say` printed, without its stamp: relayed by `say`, it gets this
    command's stamp (one clock for the whole log) instead of two."""
    stamp = STAMP.match(line)
    return line[stamp.end() :] if stamp else line


@contextmanager
def step(message: str, announce: bool = True) -> Iterator[dict]:
    """Run a step; yields a dict whose `result` (if set) is shown when the step ends.

    `announce=False` skips the start line in a CI log, for short repeated steps such as folds.
    """
    note = {"result": ""}
    started = time.monotonic()
    console = _state["console"]
    if announce and console is None:
        say(f"{message} …")
    with console.status(message) if console is not None else nullcontext():
        yield note
    result = f": {note['result']}" if note["result"] else ""
    say(f"{message}{result} ({time.monotonic() - started:.1f} s)")
