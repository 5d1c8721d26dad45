"""The cloud path against a real misbehaving HTTP server: every fault becomes plain advice."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from mcp import Client

from deeplake_mcp.app import build_server
from deeplake_mcp.settings import load_settings
from fault_server import FaultServer, Reply, running
from mcp_helpers import error_text, payload

pytestmark = pytest.mark.anyio

KEY = "dl-secret-KEY-0123456789"
QUERY = ("POST", "/workspaces/default/tables/query")
BATCH = ("POST", "/workspaces/default/tables/query/batch")
TABLES = ("GET", "/workspaces/default/tables")
TABLE = ("GET", "/workspaces/default/tables/docs")
ROWS = Reply(json={"columns": ["n"], "rows": [[1]], "row_count": 1})
DOCS = Reply(json={"table_name": "docs", "columns": [{"name": "n", "type": "int4", "nullable": True}]})


@pytest.fixture
def fault() -> Iterator[FaultServer]:
    with running(FaultServer()) as server:
        yield server


@pytest.fixture
async def client(fault: FaultServer) -> AsyncIterator[Client]:
    settings = load_settings(
        {"api_url": fault.url, "query_timeout": 0.3, "access": "read-write"},
        environ={"DEEPLAKE_API_KEY": KEY},
    )
    async with Client(build_server(settings)) as c:
        yield c


async def text_of(client: Client, tool: str, **args: Any) -> tuple[bool, str]:
    result = await client.call_tool(tool, args)
    body = error_text(result) if result.is_error else json.dumps(result.structured_content)
    assert KEY not in body
    return result.is_error, body


async def test_key_is_sent_but_never_shown(
    fault: FaultServer, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fault.on(*QUERY, Reply(429, {"error": "slow down"}, headers={"Retry-After": "0"}), ROWS)
    fault.on("GET", "/health", Reply(json={"status": "ok"}))
    assert (await text_of(client, "query", sql="SELECT 1"))[0] is False
    info = payload(await client.call_tool("server_info", {}))
    assert info["backend"] == "cloud"
    assert KEY not in json.dumps(info)
    assert all(s.headers["authorization"] == f"Bearer {KEY}" for s in fault.seen)
    assert KEY not in caplog.text


async def test_429_with_retry_after_is_retried(fault: FaultServer, client: Client) -> None:
    fault.on(*QUERY, Reply(429, {"error": "rate limited"}, headers={"Retry-After": "0.2"}), ROWS)
    is_error, body = await text_of(client, "query", sql="SELECT n FROM docs")
    assert not is_error and '"rows": [[1]]' in body
    assert fault.count(*QUERY) == 2


async def test_503_then_success_for_reads(fault: FaultServer, client: Client) -> None:
    fault.on(*TABLES, Reply(503, {"error": "busy"}), Reply(503, {"error": "busy"}), Reply(json={"tables": []}))
    is_error, _ = await text_of(client, "list_tables")
    assert not is_error
    assert fault.count(*TABLES) == 3


async def test_html_403_becomes_a_short_message(fault: FaultServer, client: Client) -> None:
    fault.on(*TABLES, Reply(403, text="<html><body><h1>403 Forbidden</h1>cloudflare</body></html>"))
    is_error, body = await text_of(client, "list_tables")
    assert is_error and "HTML page" in body and "<" not in body
    assert fault.count(*TABLES) == 1


async def test_402_says_credits_ran_out(fault: FaultServer, client: Client) -> None:
    fault.on(*QUERY, Reply(402, {"balance_cents": 0, "error": "insufficient balance, please top up"}))
    is_error, body = await text_of(client, "query", sql="SELECT 1")
    assert is_error and "out of credits" in body


async def test_401_says_the_key_is_invalid(fault: FaultServer, client: Client) -> None:
    fault.on("GET", "/workspaces", Reply(401, {"error": f"bad token {KEY}"}))
    is_error, body = await text_of(client, "list_workspaces")
    assert is_error and "invalid or expired" in body and "DEEPLAKE_API_KEY" in body


async def test_500_on_insert_is_sent_exactly_once(fault: FaultServer, client: Client) -> None:
    fault.on(*QUERY, Reply(500, {"error": "Database error: Failed to insert tuple", "code": "QUERY_ERROR"}))
    is_error, body = await text_of(client, "execute_sql", sql="INSERT INTO docs (n) VALUES (1)")
    assert is_error and "Failed to insert tuple" in body
    assert fault.count(*QUERY) == 1


async def test_500_on_a_batch_reports_rows_as_unknown(fault: FaultServer, client: Client) -> None:
    fault.on(*TABLE, DOCS)
    fault.on(*QUERY, Reply(json={"columns": [], "rows": [], "row_count": 0}))
    fault.on(*BATCH, Reply(500, {"error": "internal"}))
    is_error, body = await text_of(client, "insert_rows", table="docs", rows=[{"n": 1}, {"n": 2}])
    assert is_error
    assert "rows[0:2] may or may not have been written" in body
    assert fault.count(*BATCH) == 1


async def test_slow_write_hits_the_timeout_once(fault: FaultServer, client: Client) -> None:
    fault.on(*QUERY, Reply(json={"columns": [], "rows": [], "row_count": 1}, delay=3))
    is_error, body = await text_of(client, "execute_sql", sql="INSERT INTO docs (n) VALUES (1)")
    assert is_error and "in time" in body and "DEEPLAKE_MCP_QUERY_TIMEOUT" in body
    assert fault.count(*QUERY) == 1
