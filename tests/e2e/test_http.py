"""Streamable HTTP: stateless, loopback, bearer token, both protocol eras."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_helpers import payload
from processes import SERVER_CMD, free_port, server_env, wait_for

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

TOKEN = "t0ken-for-tests"
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


async def test_http_requires_the_bearer_token(read_only_http: tuple[str, Path]) -> None:
    url, log = read_only_http
    async with httpx.AsyncClient() as http:
        denied = await http.post(url, json=INIT, headers=HEADERS)
        assert denied.status_code == 401
        wrong = await http.post(url, json=INIT, headers={**HEADERS, "Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = await http.post(url, json=INIT, headers={**HEADERS, "Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200
        assert "mcp-session-id" not in ok.headers  # stateless
        evil_host = await http.post(
            url, json=INIT, headers={**HEADERS, "Authorization": f"Bearer {TOKEN}", "Host": "evil.example:80"}
        )
        assert evil_host.status_code in (403, 421)
    assert TOKEN not in log.read_text()


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_http_session(read_only_http: tuple[str, Path], mode: str) -> None:
    url, _ = read_only_http
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    async with http, Client(streamable_http_client(url, http_client=http), mode=mode) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert "insert_rows" not in names and "query" in names
        rows = payload(await client.call_tool("query", {"sql": "SELECT 'over http' AS via"}))
        assert rows["rows"] == [["over http"]]


def test_embedded_postgres_stops_when_the_server_exits(new_data_dir: Path, tmp_path: Path) -> None:
    """SIGTERM ends the server cleanly, and the last process on a data dir stops PostgreSQL."""
    own_data = new_data_dir
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [*SERVER_CMD, "serve", "--transport", "http", "--port", str(port)],
            env=server_env(own_data),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        wait_for(f"http://127.0.0.1:{port}/mcp", proc, log)
        pid_file = own_data / "pg" / "postmaster.pid"
        assert pid_file.exists()
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0
    deadline = time.monotonic() + 10
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_file.exists()
