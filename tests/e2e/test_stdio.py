"""The real entry point over stdio, spawned as a subprocess by the SDK's client.

Anything but protocol messages on stdout would break these sessions, so they also exercise the
parts that load native code (embedded PostgreSQL, the ONNX embedder) under stdio.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from mcp_helpers import payload, unique
from processes import server_env

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_stdio_session_read_only(data_dir: Path, tmp_path: Path, mode: str) -> None:
    log = tmp_path / "stderr.log"
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "deeplake_mcp", "--access", "read-only"], env=server_env(data_dir)
    )
    with log.open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog), mode=mode) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert "query" in names and "execute_sql" not in names
            rows = payload(await client.call_tool("query", {"sql": "SELECT 41 + 1 AS answer"}))
            assert rows["rows"] == [[42]]
            info = payload(await client.call_tool("server_info", {}))
            assert info["access"] == "read-only" and info["backend"] == "local"
    assert "access=read-only" in log.read_text()


async def test_stdio_write_embed_and_search(data_dir: Path, tmp_path: Path) -> None:
    params = StdioServerParameters(command=sys.executable, args=["-m", "deeplake_mcp"], env=server_env(data_dir))
    table = unique("stdio")
    with (tmp_path / "stderr.log").open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            payload(
                await client.call_tool(
                    "execute_sql", {"sql": f"CREATE TABLE {table} (id TEXT, body TEXT, v FLOAT4[]) USING deeplake"}
                )
            )
            rows = [{"id": "w", "body": "whales swim in the ocean"}, {"id": "b", "body": "bread needs flour and yeast"}]
            payload(await client.call_tool("insert_rows", {"table": table, "rows": rows, "embed": {"v": "body"}}))
            found = payload(await client.call_tool("semantic_search", {"table": table, "query": "sea animals", "k": 1}))
            assert found["rows"][0][0] == "w"
