"""The audit trail on the embedded backend: one well-formed line per statement, no values, tags PostgreSQL shows."""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client

from deeplake_mcp import audit
from deeplake_mcp.app import build_server
from deeplake_mcp.http import mcp_http_app
from deeplake_mcp.local import LocalBackend, create_app
from deeplake_mcp.runtime import LOCAL_API_URL
from deeplake_mcp.settings import load_settings
from deeplake_mcp.tools.write import CHUNK_ROWS
from fault_server import FaultServer, Reply, running, serving
from mcp_helpers import bearer_client, error_text, payload, settings_for, unique
from oauth_issuer import local_issuer

pytestmark = pytest.mark.anyio

FIELDS = {
    "time", "session", "client", "request_id", "tool", "access", "backend", "lang", "verdict", "statement",
    "duration_ms", "rows", "outcome",
}  # fmt: skip
NEEDLE = "needle-VALUE"
"""Every value the tests send contains this; no audit line may."""


def read_lines(path: Path) -> list[dict[str, Any]]:
    """The audit file's lines, each checked to be one well-formed JSON object with every field and no value."""
    text = path.read_text(encoding="utf-8")
    assert NEEDLE not in text
    lines = [json.loads(line) for line in text.splitlines()]
    for line in lines:
        assert set(line) >= FIELDS, line
        assert datetime.fromisoformat(line["time"]).tzinfo == UTC and line["time"].endswith("Z")
        assert line["backend"] == "local" and line["access"] == "read-write"
    return lines


def by_request(lines: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        grouped.setdefault(line["request_id"], []).append(line)
    return grouped


@pytest.fixture
def audit_file(tmp_path: Path) -> Path:
    return tmp_path / "audit.jsonl"


@pytest.fixture
async def client(data_dir: Path, audit_file: Path) -> AsyncIterator[Client]:
    settings = settings_for(data_dir, audit_log=str(audit_file), embedder="none")
    async with Client(build_server(settings)) as c:
        yield c


async def test_one_line_per_statement_without_values(client: Client, audit_file: Path) -> None:
    table = unique("audited")
    calls: list[tuple[str, dict[str, Any]]] = [
        ("execute_sql", {"sql": f"CREATE TABLE {table} (id TEXT, body TEXT, v FLOAT4[]) USING deeplake"}),
        (
            "insert_rows",
            {"table": table, "rows": [{"id": f"{NEEDLE}-{i}", "body": NEEDLE, "v": [1, 0, i]} for i in range(1500)]},
        ),
        ("query", {"sql": f"SELECT id FROM {table} WHERE body = '{NEEDLE}' OR id = $1 LIMIT 3", "params": [NEEDLE]}),
        ("execute_sql", {"sql": f"DROP TABLE {table} /* {NEEDLE} */"}),
        ("query", {"sql": f"DELETE FROM {table} WHERE id = '{NEEDLE}'"}),
        ("semantic_search", {"table": table, "vector": [0.1, 0.2, 0.3], "k": 2, "filter": f"body <> '{NEEDLE}x'"}),
        ("semantic_search", {"table": table, "vector": [0.1, 0.2, 0.3], "filter": "pg_sleep(1) IS NULL"}),
    ]
    results = [await client.call_tool(tool, args) for tool, args in calls]
    assert [r.is_error for r in results] == [False, False, False, True, True, False, True]
    requests = list(by_request(read_lines(audit_file)).values())
    assert [[(line["tool"], line["verdict"], line["outcome"]) for line in lines][-1] for lines in requests] == [
        ("execute_sql", "write", "ok"),
        ("insert_rows", "server", "ok"),
        ("query", "read", "ok"),
        ("execute_sql", "destructive", "refused"),
        ("query", "destructive", "refused"),
        ("semantic_search", "read", "ok"),
        ("semantic_search", "never", "refused"),
    ]
    create, insert, query, drop, delete, search, refused_filter = requests
    assert len(create) == 1 and create[0]["statement"].startswith("CREATE TABLE")
    batches = [line for line in insert if line["statement"].startswith("COPY")]  # the embedded backend's inserts
    assert [b["rows"] for b in batches] == [CHUNK_ROWS, 500]
    assert batches[0]["statement"] == f'COPY "default"."{table}" ("id", "body", "v") FROM STDIN (FORMAT binary)'

    assert {line["verdict"] for line in insert} == {"server"}  # describe's own statements, then the batches
    assert len(query) == 1 and query[0]["rows"] == 3 and query[0]["duration_ms"] > 0
    assert "WHERE body = ? OR id = $1 LIMIT ?" in query[0]["statement"]
    assert drop == [drop[0]] and drop[0]["statement"] == f"DROP TABLE {table}" and drop[0]["duration_ms"] is None
    assert len(delete) == 1 and delete[0]["statement"] == f"DELETE FROM {table} WHERE id = ?"
    assert "<#> $1::float4[]" in search[-1]["statement"] and "body <> ?" in search[-1]["statement"]  # vector: a param
    assert search[-1]["rows"] == 2 and {line["verdict"] for line in search[:-1]} == {"server"}
    assert refused_filter[-1]["statement"] == "pg_sleep(?) IS NULL"
    sessions = {line["session"] for lines in requests for line in lines}
    assert sessions == {audit.PROCESS_SESSION}  # in-process: no MCP session id, so this process
    assert all(line["client"] for lines in requests for line in lines)


needs_engine = pytest.mark.skipif(importlib.util.find_spec("deeplake") is None, reason="needs the deeplake package")


@needs_engine
async def test_tql_queries_are_audited_untagged(client: Client, audit_file: Path, data_dir: Path) -> None:
    deeplake = pytest.importorskip("deeplake")
    org, name = unique("org"), unique("ds")
    ds = deeplake.create(f"file://{data_dir / 'tensordb' / org / name}")
    ds.add_column("text", deeplake.types.Text())
    ds.append({"text": [f"{NEEDLE} {i}" for i in range(5)]})
    ds.commit()
    source = f'"hub://{org}/{name}"'
    found = payload(
        await client.call_tool("tql_query", {"query": f"SELECT text FROM {source} WHERE text != '{NEEDLE}'"})
    )
    assert found["row_count"] == 5
    refused = await client.call_tool("tql_query", {"query": f"DELETE FROM {source} WHERE text = 'x'"})
    assert "Refused by the TQL guard" in error_text(refused)
    ok, no = read_lines(audit_file)
    assert (ok["lang"], ok["verdict"], ok["outcome"], ok["rows"]) == ("tql", "read", "ok", 5)
    assert ok["statement"] == f"SELECT * FROM ( SELECT text FROM {source} WHERE text != ? ) LIMIT ?"
    assert (no["lang"], no["outcome"], no["statement"]) == ("tql", "refused", f"DELETE FROM {source} WHERE text = ?")


async def test_postgres_shows_the_tag_of_a_running_statement(local_backend: LocalBackend, ws: str) -> None:
    """The local API directly (the guard would refuse pg_sleep): the tag reaches pg_stat_activity.query."""
    transport = httpx.ASGITransport(app=create_app(local_backend))
    trail = audit.Trail(None, backend="local", access="read-write")
    call = audit.Call(tool="query", session="s-tag", request_id="42")
    async with audit.AuditedClient(base_url=LOCAL_API_URL, transport=transport, trail=trail) as client:

        async def sleep() -> None:
            with audit.call_scope(call):
                await client.query(ws, "SELECT pg_sleep(1.5)")

        seen: list[str] = []
        async with anyio.create_task_group() as tg:
            tg.start_soon(sleep)
            with anyio.fail_after(10):
                while not seen:
                    await anyio.sleep(0.1)
                    result = await client.query(
                        ws,
                        "SELECT query FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND state = 'active' "
                        "AND query LIKE 'SELECT pg_sleep%'",
                    )
                    seen = [row[0] for row in result.rows]
    assert seen == ["SELECT pg_sleep(1.5)\n/*application='deeplake-mcp',request_id='42',session='s-tag',tool='query'*/"]


async def test_statements_are_tagged_with_the_audit_off(capsys: pytest.CaptureFixture[str]) -> None:
    """The cloud path: every SQL statement carries the tag; no audit line is written when the trail is off."""
    with running(FaultServer()) as fault:
        fault.on("POST", "/workspaces/default/tables/query", Reply(json={"columns": ["n"], "rows": [[1]]}))
        settings = settings_for(Path("/nonexistent"), backend="cloud", api_url=fault.url, api_key="k-0123456789")
        async with Client(build_server(settings)) as client:
            payload(await client.call_tool("query", {"sql": "SELECT 1 AS n -- trailing comment"}))
        sent = json.loads(fault.seen[-1].body)["query"]
    assert sent.startswith("SELECT * FROM (\nSELECT 1 AS n -- trailing comment\n) AS _deeplake_mcp_q LIMIT 101\n/*")
    assert sent.endswith(f",session='{audit.PROCESS_SESSION}',tool='query'*/")
    assert '"verdict"' not in capsys.readouterr().err


async def test_the_access_a_token_grants_is_audited(tmp_path: Path) -> None:
    """Over HTTP with OAuth, a read-scoped token on a read-write server: the audit names its client and read-only."""
    audit_file = tmp_path / "audit.jsonl"
    aud = "http://127.0.0.1:8000/mcp"
    sent = httpx.Response(200, json={"columns": ["n"], "rows": [[1]], "row_count": 1})
    env = {"DEEPLAKE_API_KEY": "k-0123456789", "DEEPLAKE_MCP_OAUTH_RESOURCE_URL": aud}
    with local_issuer() as issuer:
        settings = load_settings(
            {"transport": "http", "api_url": "http://deeplake.test", "audit_log": str(audit_file)},
            environ={**env, "DEEPLAKE_MCP_OAUTH_ISSUER": issuer.url},
        )
        app = mcp_http_app(build_server(settings, transport=httpx.MockTransport(lambda _: sent)), settings)
        with serving(app, lifespan="on") as base:
            async with bearer_client(base + "/mcp", issuer.token(aud, scope="deeplake:read"), "auto") as client:
                payload(await client.call_tool("query", {"sql": "SELECT 1 AS n"}))
    (line,) = [json.loads(text) for text in _text(audit_file).splitlines()]
    assert (line["access"], line["backend"], line["outcome"]) == ("read-only", "cloud", "ok")
    assert re.fullmatch(r"mcp/\S+ as test-client from 127\.0\.0\.1:\d+", line["client"])


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


async def test_inserts_one_after_another_describe_their_table_once(client: Client, audit_file: Path) -> None:
    """The table's description and column types are kept between inserts: once its vector column has a
    dimension, an insert sends its COPY alone."""
    table = unique("described")
    payload(await client.call_tool("execute_sql", {"sql": f"CREATE TABLE {table} (id INT, v FLOAT4[])"}))
    for i in range(3):  # the first gives v its dimension, so the second describes the table again
        payload(await client.call_tool("insert_rows", {"table": table, "rows": [{"id": i, "v": [1.0, 2.0]}]}))
    _, first, second, third = by_request(read_lines(audit_file)).values()
    assert len(first) == len(second) > 2
    assert [line["statement"].split(" ", 2)[:2] for line in third] == [["COPY", f'"default"."{table}"']]
