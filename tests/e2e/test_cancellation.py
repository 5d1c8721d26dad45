"""A cancelled tool call stops its work: the database query, the request to the cloud, and no half batch."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import httpx
import psycopg
import pytest
from mcp import Client

from deeplake_mcp.app import build_server
from deeplake_mcp.tools.write import CHUNK_ROWS
from fault_server import FaultServer, Reply, running
from local_api_helpers import superuser_rows
from mcp_helpers import payload, settings_for, unique
from processes import INITIALIZE, http_server, stdio_server

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

# Counting ten billion rows takes minutes; each test cancels it long before.
SLOW = "SELECT count(*) /* {tag} */ FROM generate_series(1, 10000000000)"


def slow_query() -> tuple[str, str]:
    tag = f"cancel-me-{uuid.uuid4().hex[:8]}"
    return tag, SLOW.format(tag=tag)


async def running_count(data_dir: Path, tag: str) -> int:
    rows = await superuser_rows(
        data_dir, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s AND pid <> pg_backend_pid()", (f"%{tag}%",)
    )
    return int(rows[0][0])


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return True
        await anyio.sleep(0.05)
    return False


async def test_notifications_cancelled_over_stdio_cancels_the_query(data_dir: Path, tmp_path: Path) -> None:
    tag, sql = slow_query()
    with stdio_server(data_dir, tmp_path / "stderr.log") as server:
        server.send(INITIALIZE)
        assert server.receive()["id"] == 1
        server.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        server.send(
            {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "query", "arguments": {"sql": sql}}}
        )
        assert await eventually(lambda: _is_running(data_dir, tag), 30)
        server.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 2}})
        assert await eventually(lambda: _is_gone(data_dir, tag), 3)
        server.send({"jsonrpc": "2.0", "id": 3, "method": "ping"})
        assert server.receive() == {"jsonrpc": "2.0", "id": 3, "result": {}}  # no late answer to 2 came first


async def test_a_dropped_http_request_cancels_the_query(data_dir: Path, tmp_path: Path) -> None:
    tag, sql = slow_query()
    with http_server(
        data_dir, tmp_path / "server.log", DEEPLAKE_MCP_HTTP_TOKEN="c-t0ken", DEEPLAKE_MCP_EMBEDDER="none"
    ) as url:
        call = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "query", "arguments": {"sql": sql}},
        }
        headers = {
            "Authorization": "Bearer c-t0ken",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-11-25",
        }
        async with httpx.AsyncClient(timeout=60) as http:
            request = http.build_request(
                "POST", url, content=json.dumps(call), headers=headers | {"Content-Type": "application/json"}
            )
            response = await http.send(request, stream=True)
            assert await eventually(lambda: _is_running(data_dir, tag), 30)
            await response.aclose()  # the client gives up: that is its cancellation
        assert await eventually(lambda: _is_gone(data_dir, tag), 3)


async def test_a_cancelled_call_abandons_its_request_to_the_cloud(data_dir: Path) -> None:
    with running(FaultServer()) as cloud:
        cloud.on("POST", "/workspaces/w/tables/query", Reply(hold=True))
        settings = settings_for(
            data_dir, backend="cloud", api_key="k", api_url=cloud.url, workspace="w", embedder="none"
        )
        async with Client(build_server(settings)) as client:
            with anyio.move_on_after(1.0):
                await client.call_tool("query", {"sql": "SELECT 1"})
            assert await eventually(lambda: _true(cloud.abandoned > 0), 5)
        assert cloud.count("POST", "/workspaces/w/tables/query") == 1  # not retried either
    assert cloud.abandoned == 1


@pytest.mark.parametrize("after", [0.2, 0.6, 1.2])
async def test_a_cancelled_insert_leaves_whole_batches_only(data_dir: Path, after: float) -> None:
    table = unique("cancelled")
    rows = [{"id": i, "v": [float(i % 7), 1.0, 2.0, 3.0] * 96} for i in range(5 * CHUNK_ROWS)]
    async with Client(build_server(settings_for(data_dir, embedder="none"))) as client:
        sql = f"CREATE TABLE {table} (id INT, v FLOAT4[]) USING deeplake"
        payload(await client.call_tool("execute_sql", {"sql": sql}))
        with anyio.move_on_after(after):
            await client.call_tool("insert_rows", {"table": table, "rows": rows})
        count = payload(await client.call_tool("query", {"sql": f"SELECT count(*) FROM {table}"}))["rows"][0][0]
    assert count % CHUNK_ROWS == 0 and count <= len(rows)


async def _is_running(data_dir: Path, tag: str) -> bool:
    try:
        return await running_count(data_dir, tag) > 0
    except (OSError, IndexError, psycopg.OperationalError):  # the server is still starting PostgreSQL
        return False


async def _is_gone(data_dir: Path, tag: str) -> bool:
    return await running_count(data_dir, tag) == 0


async def _true(value: bool) -> bool:
    return value
