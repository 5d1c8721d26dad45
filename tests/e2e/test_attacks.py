"""Attacks through the MCP tools, over the real stdio and HTTP transports, against the real embedded server.

Each is judged by its effect - rows still there, no file made, catalogs and statistics unchanged -
whatever the SQL guard says: the database must hold where the guard is wrong.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from deeplake_mcp.app import build_server
from mcp_helpers import error_text, payload, settings_for, unique
from processes import http_server, server_env

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

ROWS = 20
DIM = 4


def vector(i: int) -> list[float]:
    return [1.0, float(i % 3), float(i % 5), 0.5]


@pytest.fixture
async def victim(data_dir: Path) -> str:
    """A table with rows, vectors and a vector index, made by an honest read-write session."""
    table = unique("victim")
    async with Client(build_server(settings_for(data_dir, embedder="none"))) as client:
        payload(
            await client.call_tool(
                "execute_sql", {"sql": f"CREATE TABLE {table} (id INT, body TEXT, v FLOAT4[]) USING deeplake"}
            )
        )
        rows = [{"id": i, "body": f"row {i}", "v": vector(i)} for i in range(ROWS)]
        payload(await client.call_tool("insert_rows", {"table": table, "rows": rows}))
        payload(
            await client.call_tool(
                "execute_sql", {"sql": f"CREATE INDEX idx_{table} ON {table} USING deeplake_index (v DESC)"}
            )
        )
    return table


def through_lifted_vectors(victim: str, file: Path) -> list[str]:
    """Statements whose inline query vectors the `query` tool lifts into params before the guard and the API
    see them, carrying a second statement, a write or a program after or around the literal."""
    literal, text = "ARRAY[1, 0, 0, 0.5]", "'[1, 0, 0, 0.5]'"
    return [
        f"SELECT id FROM {victim} ORDER BY v <#> {literal} DESC LIMIT 1; DELETE FROM {victim}",
        f"SELECT id FROM {victim} ORDER BY v <=> {text}::vector LIMIT 1; COPY (SELECT 1) TO PROGRAM 'touch {file}'",
        f"SELECT setseed(0.5), v <#> {literal} FROM {victim}",
        f"WITH gone AS (DELETE FROM {victim} RETURNING v) SELECT v <#> {literal} FROM gone",
        f"SELECT '<#> {literal}'; DELETE FROM {victim}",
        f"SELECT v <#> {literal} /* ; DELETE FROM {victim} */ FROM {victim}; TRUNCATE {victim}",
    ]


def marker(tmp_path: Path) -> Path:
    tmp_path.chmod(0o777)  # writable by the server's user too, so only the database's refusal stops an attack
    return tmp_path / "pwned"


async def count(client: Client, table: str) -> Any:
    return payload(await client.call_tool("query", {"sql": f"SELECT count(*) FROM {table}"}))["rows"][0][0]


async def attempt(client: Client, tool: str, **args: Any) -> str:
    """Call a tool the attack goes through; return its error text ("" when it ran)."""
    result = await client.call_tool(tool, args)
    return error_text(result) if result.is_error else ""


@asynccontextmanager
async def over_stdio(data_dir: Path, tmp_path: Path, *args: str, **env: str) -> AsyncIterator[Client]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "deeplake_mcp", *args],
        env=server_env(data_dir, DEEPLAKE_MCP_EMBEDDER="none", **env),
        cwd=str(tmp_path),
    )
    with (tmp_path / "stderr.log").open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            yield client


async def test_read_only_over_stdio(data_dir: Path, tmp_path: Path, victim: str) -> None:
    file = marker(tmp_path)
    smuggled = f"x; COPY (SELECT 1) TO PROGRAM ''touch {file}''; DELETE FROM {victim}; SELECT"
    relpages = f"SELECT relpages, reltuples FROM pg_class WHERE relname = '{victim}'"
    async with over_stdio(data_dir, tmp_path, "--access", "read-only") as client:
        stats = payload(await client.call_tool("query", {"sql": relpages}))["rows"]
        attacks = [
            f"SELECT * FROM ann_estimate('{smuggled}', NULL)",
            f"SELECT * FROM deeplake_compat.ann_estimate('{smuggled}', NULL)",
            f"SELECT pg_restore_relation_stats('schemaname', 'default', 'relname', '{victim}', 'relpages', 9::int)",
            f"SELECT pg_clear_relation_stats('default', '{victim}')",
            "SELECT setseed(0.5)",
            "SELECT rolpassword FROM pg_authid",
            "SELECT * FROM pg_hba_file_rules",
            "SELECT * FROM pg_file_settings",
            f"SELECT pg_read_file('{file}')",
            "SELECT query_to_xml('DELETE FROM " + victim + " RETURNING 1', true, true, '')",
        ]
        for attack in [*attacks, *through_lifted_vectors(victim, file)]:
            await attempt(client, "query", sql=attack)
        filters = [
            f"true) OR (SELECT count(*) FROM (DELETE FROM {victim} RETURNING 1) d) > 0 OR (true",
            f"id > 0; DELETE FROM {victim}",
            f"id > (SELECT count(*) FROM ann_estimate('{smuggled}', NULL))",
            f"id IN (SELECT 1 FROM dblink('host=x', 'DELETE FROM {victim}') AS t(a int))",
        ]
        for condition in filters:
            await attempt(client, "semantic_search", table=victim, vector=vector(1), filter=condition, k=3)
        assert await count(client, victim) == ROWS
        assert payload(await client.call_tool("query", {"sql": relpages}))["rows"] == stats
        seeded = payload(await client.call_tool("query", {"sql": "SELECT random() = 0.8510958244045064"}))["rows"]
        assert seeded == [[False]]
        found = payload(await client.call_tool("semantic_search", {"table": victim, "vector": vector(1), "k": 3}))
        assert len(found["rows"]) == 3  # honest search still works
    assert not file.exists()


async def test_read_write_over_http(data_dir: Path, tmp_path: Path, victim: str) -> None:
    env = {"DEEPLAKE_MCP_HTTP_TOKEN": "rw-t0ken", "DEEPLAKE_MCP_EMBEDDER": "none"}
    with http_server(data_dir, tmp_path / "server.log", **env) as url:
        http = httpx.AsyncClient(headers={"Authorization": "Bearer rw-t0ken"}, timeout=60)
        async with http, Client(streamable_http_client(url, http_client=http)) as client:
            before = payload(await client.call_tool("query", {"sql": "SELECT count(*) FROM pg_proc"}))["rows"]
            for attack in (
                "INSERT INTO pg_catalog.pg_proc SELECT * FROM pg_catalog.pg_proc LIMIT 1",
                "INSERT INTO pg_proc SELECT * FROM pg_proc LIMIT 1",
                "CREATE TABLE deeplake_compat.evil (a int)",
                "CREATE TABLE deeplake_internal.evil (a int)",
                f"COMMENT ON TABLE {victim} IS 'planted'",
            ):
                assert await attempt(client, "execute_sql", sql=attack), attack
            after = payload(await client.call_tool("query", {"sql": "SELECT count(*) FROM pg_proc"}))["rows"]
            assert after == before
            # A table that shadows a built-in type is only a table: casts and search keep working.
            payload(await client.call_tool("execute_sql", {"sql": "CREATE TABLE IF NOT EXISTS float4 (a int)"}))
            cast = payload(await client.call_tool("query", {"sql": "SELECT pg_typeof('1'::float4)::text AS t"}))
            assert cast["rows"] == [["real"]]
            found = payload(await client.call_tool("semantic_search", {"table": victim, "vector": vector(2), "k": 2}))
            assert len(found["rows"]) == 2
            comments = f'SELECT obj_description(\'"default"."{victim}"\'::regclass) AS c'
            assert payload(await client.call_tool("query", {"sql": comments}))["rows"] == [[None]]
    async with Client(build_server(settings_for(data_dir, access="destructive", embedder="none"))) as cleanup:
        payload(await cleanup.call_tool("execute_sql", {"sql": "DROP TABLE float4"}))


async def test_destructive_in_process(data_dir: Path, tmp_path: Path, victim: str) -> None:
    file = marker(tmp_path)
    async with Client(build_server(settings_for(data_dir, access="destructive", embedder="none"))) as client:
        for attack in (
            f"DO $$ BEGIN EXECUTE 'COPY (SELECT 1) TO PROGRAM ''touch {file}'''; END $$",
            f"DO $$ BEGIN PERFORM pg_read_file('{file}'); END $$",
            "DO $$ BEGIN EXECUTE 'ALTER ROLE deeplake_query SUPERUSER'; END $$",
            f"CREATE FUNCTION boom() RETURNS int LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'COPY (SELECT 1) TO PROGRAM "
            f"''touch {file}'''; RETURN 1; END $$",
        ):
            await attempt(client, "execute_sql", sql=attack)
        await attempt(client, "query", sql="SELECT boom()")
        for attack in through_lifted_vectors(victim, file):
            assert await attempt(client, "query", sql=attack), attack  # `query` reads only, whatever the mode
        assert await count(client, victim) == ROWS
        role = payload(
            await client.call_tool("query", {"sql": "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"})
        )
        assert role["rows"] == [[False]]
        # Destructive work that the mode allows still works.
        deleted = payload(await client.call_tool("execute_sql", {"sql": f"DELETE FROM {victim} WHERE id < 5"}))
        assert deleted["row_count"] == 5
        updated = payload(
            await client.call_tool("execute_sql", {"sql": f"UPDATE {victim} SET body = 'x' WHERE id = 5"})
        )
        assert updated["row_count"] == 1
        assert await count(client, victim) == ROWS - 5
    assert not file.exists()


async def test_upload_paths_stay_under_the_upload_directories(data_dir: Path, tmp_path: Path) -> None:
    allowed = tmp_path / "uploads"
    allowed.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("secret\nhunter2\n")
    (allowed / "ok.csv").write_text("a\n1\n")
    os.symlink(outside / "secret.csv", allowed / "link.csv")
    os.symlink(outside, allowed / "dirlink")
    async with over_stdio(data_dir, tmp_path, DEEPLAKE_MCP_UPLOAD_DIRS=str(allowed)) as client:
        for path in (
            str(allowed / "link.csv"),
            str(allowed / "dirlink" / "secret.csv"),
            str(allowed / ".." / "outside" / "secret.csv"),
            str(outside / "secret.csv"),
            "uploads/../outside/secret.csv",
            "../not-even-there.csv",
        ):
            message = await attempt(client, "upload_file", table=unique("stolen"), path=path)
            assert "outside the upload directories" in message and str(allowed) in message, path
        ok = payload(await client.call_tool("upload_file", {"table": unique("fine"), "path": str(allowed / "ok.csv")}))
        assert ok["row_count"] == 1
        tables = payload(await client.call_tool("list_tables", {}))["tables"]
        assert not any(t["table_name"].startswith("stolen") for t in tables)
