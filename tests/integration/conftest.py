"""Fixtures for tests that call the local Deep Lake API on real embedded PostgreSQL.

- `local_backend`: one open LocalBackend for the whole session, on the session's `data_dir`
  (tests/conftest.py, which also sets `anyio_backend`). Tests stay independent by each using
  its own workspace.
- `local_client`: an httpx.AsyncClient that calls `create_app(local_backend)` in-process, the way
  the MCP server reaches the local API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from deeplake_mcp.local import LocalBackend, create_app


@pytest.fixture(scope="session")
async def local_backend(anyio_backend: str, data_dir: Path) -> AsyncIterator[LocalBackend]:
    async with LocalBackend(data_dir) as backend:
        yield backend


@pytest.fixture
async def local_client(local_backend: LocalBackend) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(local_backend))
    async with httpx.AsyncClient(transport=transport, base_url="http://deeplake.local") as client:
        yield client
