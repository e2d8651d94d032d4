"""Fixtures only: the helpers the tests share are in harness/."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.postgres import postgres_server
from harness.project import bake


@pytest.fixture(scope="session")
def default_project(tmp_path_factory) -> Path:
    """The default project, baked once for the session (tests must not modify it)."""
    return bake(tmp_path_factory.mktemp("default"))


@pytest.fixture(scope="session")
def postgres_url():
    """A throw-away PostgreSQL server for the session; skipped, with the reason, if none starts."""
    with postgres_server() as url:
        yield url
