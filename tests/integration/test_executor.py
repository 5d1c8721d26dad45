"""One round trip per read, and what it must keep: no statement runs outside a known workspace, a failed
transaction is rolled back, settings end with their transaction."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from deeplake_mcp.local import LocalBackend, _indexes
from local_api_helpers import query_error, rows, run

pytestmark = pytest.mark.anyio


async def test_nothing_runs_in_an_unknown_workspace(local_client: httpx.AsyncClient, ws: str) -> None:
    await run(local_client, ws, "CREATE TABLE notes (body TEXT) USING deeplake")
    for sql in (f"INSERT INTO \"{ws}\".notes VALUES ('sneaked')", f'SELECT * FROM "{ws}".notes'):
        response = await local_client.post("/workspaces/no_such_workspace/tables/query", json={"query": sql})
        assert response.status_code == 404, response.text
    assert await rows(local_client, ws, "SELECT count(*) FROM notes") == [[0]]


async def test_failures_roll_back_and_connections_stay_usable(local_client: httpx.AsyncClient, ws: str) -> None:
    await run(local_client, ws, "CREATE TABLE notes (id INT PRIMARY KEY) USING deeplake")
    await run(local_client, ws, "INSERT INTO notes VALUES (1)")
    for _ in range(20):  # more than the pool has connections
        assert "duplicate key" in await query_error(local_client, ws, "INSERT INTO notes VALUES (1)")
        assert "division by zero" in await query_error(local_client, ws, "SELECT 1 / 0")
        assert await rows(local_client, ws, "SELECT count(*) FROM notes") == [[1]]


async def test_search_settings_end_with_their_transaction(
    local_client: httpx.AsyncClient, ws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_indexes, "MIN_ROWS", 0)  # through the index, with its planner settings
    await run(local_client, ws, "CREATE TABLE docs (id INT, emb FLOAT4[]) USING deeplake")
    await run(local_client, ws, "INSERT INTO docs SELECT i, ARRAY[i, 1]::float4[] FROM generate_series(1, 50) i")
    await run(local_client, ws, "CREATE INDEX idx ON docs USING deeplake_index (emb)")
    for _ in range(10):
        search = "SELECT id FROM docs ORDER BY emb <#> ARRAY[1, 1] LIMIT 3"
        assert "hnsw" in "".join(row[0] for row in await rows(local_client, ws, f"EXPLAIN {search}"))
        assert len(await rows(local_client, ws, search)) == 3
        settings = "SELECT current_setting('enable_seqscan'), current_setting('search_path')"
        assert await rows(local_client, ws, settings) == [["on", f"{ws}, deeplake_compat, pg_temp"]]


async def test_a_copy_in_a_round_trip_is_refused_and_its_connection_dropped(
    local_backend: LocalBackend, ws: str
) -> None:
    # The compiler refuses COPY … STDOUT before it gets here; should one arrive, the connection it left in
    # COPY mode is closed (not handed to the next call), however many times it happens.
    executor = local_backend._open()[3]
    for _ in range(12):  # more than the pool has connections
        with pytest.raises(psycopg.NotSupportedError, match="COPY"):
            await executor.run(ws, [("COPY (SELECT 1) TO STDOUT", ())], read_only=True)
        assert (await executor.run(ws, [("SELECT 1", ())], read_only=True))[0]["rows"] == [[1]]
