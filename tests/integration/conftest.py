"""Fixtures for tests that call the local Deep Lake API on real embedded PostgreSQL.

- `local_backend`: one open LocalBackend for the whole session, on the session's `data_dir`
  (tests/conftest.py, which also sets `anyio_backend`). Tests stay independent by each using
  its own workspace.
- `local_client`: an httpx.AsyncClient that calls `create_app(local_backend)` in-process, the way
  the MCP server reaches the local API.
"""

from __future__ import annotations

import uuid
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


@pytest.fixture
async def ws(local_client: httpx.AsyncClient) -> str:
    """A fresh workspace for one test, so tests sharing the backend stay independent."""
    workspace_id = f"t_{uuid.uuid4().hex[:12]}"
    response = await local_client.post("/workspaces", json={"id": workspace_id})
    assert response.status_code == 201, response.text
    return workspace_id
