"""Fixtures for end-to-end tests that run the real ``deeplake-mcp`` entry point as a subprocess."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from processes import http_server


@pytest.fixture
def read_only_http(data_dir: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``deeplake-mcp serve --transport http --access read-only`` with a token; yields (url, stderr file)."""
    log = tmp_path / "server.log"
    with http_server(data_dir, log, "--access", "read-only", DEEPLAKE_MCP_HTTP_TOKEN="t0ken-for-tests") as url:
        yield url, log
