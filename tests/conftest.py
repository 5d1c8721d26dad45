"""Shared fixtures: the anyio backend and one embedded data directory per test session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedded PostgreSQL data directory shared by the whole session (fast: one initdb)."""
    return tmp_path_factory.mktemp("deeplake-data")
