"""Shared fixtures: the anyio backend and embedded data directories (one per session, or fresh ones)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from data_dirs import reachable

# CI runs the property tests with a fixed seed, so a landing never depends on luck; locally they explore.
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedded PostgreSQL data directory shared by the whole session (fast: one initdb)."""
    return reachable(tmp_path_factory.mktemp("deeplake-data"))


@pytest.fixture
def new_data_dir(tmp_path: Path) -> Path:
    """A data directory of this test's own (a new embedded server)."""
    return reachable(tmp_path) / "data"
