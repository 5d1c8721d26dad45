"""The real entry point over stdio, spawned as a subprocess by the SDK's client."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from conftest import server_env
from mcp_helpers import payload

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_stdio_session(data_dir: Path, tmp_path: Path, mode: str) -> None:
    errlog = (tmp_path / "stderr.log").open("w")
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "deeplake_mcp", "--access", "read-only"],
        env=server_env(data_dir),
    )
    async with Client(stdio_client(params, errlog=errlog), mode=mode) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert "query" in names and "execute_sql" not in names
        rows = payload(await client.call_tool("query", {"sql": "SELECT 41 + 1 AS answer"}))
        assert rows["rows"] == [[42]]
        info = payload(await client.call_tool("server_info", {}))
        assert info["access"] == "read-only" and info["backend"] == "local"
    errlog.close()
    log = (tmp_path / "stderr.log").read_text()
    assert "access=read-only" in log
