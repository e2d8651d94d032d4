"""Fixtures only: the helpers the tests share are in harness/."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.postgres import postgres_server
from harness.project import bake


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The quick tier last: pytest-xdist hands out tests in this order (after the xdist groups), so
    the workers start on the slow tests and the seconds-long bake tests fill the end of the run,
    when a worker would otherwise wait idle for another's last slow test. A stable sort: each
    module's tests stay together and in their order."""
    items.sort(key=lambda item: item.get_closest_marker("tier1") is not None)


@pytest.fixture(scope="session")
def default_project(tmp_path_factory) -> Path:
    """The default project, baked once for the session (tests must not modify it)."""
    return bake(tmp_path_factory.mktemp("default"))


@pytest.fixture(scope="session")
def postgres_url():
    """A throw-away PostgreSQL server for the session; skipped, with the reason, if none starts."""
    with postgres_server() as url:
        yield url
