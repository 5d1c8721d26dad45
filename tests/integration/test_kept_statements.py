"""Reads sent again are kept prepared on their connection, and nothing made in a session can stand in for them.

Most tests run on a pool of one connection, so each call lands in the session the last one left; what is
kept is judged by the session's own ``pg_prepared_statements`` and by the rows each call returns. One checks
that calls one after another land on one connection when the pool has several; the last relies on that, on
the server's own pool, to read how PostgreSQL planned the statements it keeps.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from deeplake_mcp.local import LocalBackend
from deeplake_mcp.local._backend import _QUERY_OPTIONS
from deeplake_mcp.local._errors import QueryError
from deeplake_mcp.local._executor import _KEPT_PER_CONNECTION, Executor, open_pool
from local_api_helpers import run

pytestmark = pytest.mark.anyio

READ = "SELECT id, label FROM items WHERE id <= $1 ORDER BY id"


async def executor_of(local_backend: LocalBackend, size: int) -> AsyncIterator[Executor]:
    query_pool = local_backend._pools[1]
    pool = open_pool(query_pool.conninfo, name=f"pool{size}", max_size=size, options=_QUERY_OPTIONS, reset=False)
    await pool.open(wait=True)
    try:
        yield Executor(pool)
    finally:
        await pool.close()


@pytest.fixture
async def one_session(local_backend: LocalBackend) -> AsyncIterator[Executor]:
    async for executor in executor_of(local_backend, 1):
        yield executor


@pytest.fixture
async def four_sessions(local_backend: LocalBackend) -> AsyncIterator[Executor]:
    async for executor in executor_of(local_backend, 4):
        yield executor


@pytest.fixture
async def items(local_client: httpx.AsyncClient, ws: str) -> str:
    await run(local_client, ws, "CREATE TABLE items (id int, label text) USING deeplake")
    await run(local_client, ws, "INSERT INTO items VALUES (1, 'one'), (2, 'two'), (3, 'three')")
    return ws


async def read(executor: Executor, ws: str, sql: str, params: list[Any] | None = None) -> list[list[Any]]:
    return (await executor.run(ws, [(sql, params or [])], read_only=True))[0]["rows"]


async def write(executor: Executor, ws: str, sql: str) -> None:
    await executor.run(ws, [(sql, [])], read_only=False)


async def kept(executor: Executor, ws: str) -> dict[str, str]:
    """The session's prepared statements: protocol-made (the server's) by text → name."""
    found = await read(executor, ws, "SELECT statement, name FROM pg_prepared_statements WHERE NOT from_sql")
    return {statement: name for statement, name in found}


async def test_a_read_sent_again_is_kept_and_gives_the_same_rows(one_session: Executor, items: str) -> None:
    first = await read(one_session, items, READ, [2])
    assert READ not in await kept(one_session, items)  # seen once: not worth keeping yet
    assert await read(one_session, items, READ, [2]) == first == [[1, "one"], [2, "two"]]
    assert READ in await kept(one_session, items)
    assert await read(one_session, items, READ, [3]) == [[1, "one"], [2, "two"], [3, "three"]]


async def test_writes_are_never_kept(one_session: Executor, items: str) -> None:
    insert = "INSERT INTO items VALUES (4, 'four')"
    for _ in range(3):
        await write(one_session, items, insert)
    assert insert not in await kept(one_session, items)
    assert await read(one_session, items, "SELECT count(*) FROM items WHERE id = 4") == [[3]]


async def test_a_statement_prepared_by_sql_never_runs_in_place_of_a_kept_one(one_session: Executor, items: str) -> None:
    """Below the guard, a call replaces a kept statement under its name: the next call still gets its own
    rows, and the session is cleared of what the call made."""
    for _ in range(2):
        await read(one_session, items, READ, [1])
    name = (await kept(one_session, items))[READ]
    await write(one_session, items, f"DEALLOCATE {name}")
    await write(one_session, items, f"PREPARE {name} AS SELECT 666, 'hijacked' FROM items WHERE id <= $1::int")
    assert await read(one_session, items, READ, [1]) == [[1, "one"]]
    sql_made = "SELECT count(*) FROM pg_prepared_statements WHERE from_sql"
    assert await read(one_session, items, sql_made) == [[0]]


async def test_a_statement_prepared_by_sql_never_stands_in_for_the_workspace_set_up(
    one_session: Executor, items: str, local_client: httpx.AsyncClient
) -> None:
    """The set-up that points names at the caller's workspace is kept too: replaced by one that points them at
    another workspace, the next call still reads its own."""
    response = await local_client.post("/workspaces", json={"id": f"{items}_other"})
    assert response.status_code == 201, response.text
    other = response.json()["id"]
    await run(local_client, other, "CREATE TABLE items (id int, label text) USING deeplake")
    await run(local_client, other, "INSERT INTO items VALUES (1, 'elsewhere')")
    for _ in range(2):
        await read(one_session, items, READ, [1])
    set_up = next(name for text, name in (await kept(one_session, items)).items() if "search_path" in text)
    replaced = f"SELECT pg_catalog.set_config(''search_path'', ''{other}'', true) || $1 || $2"
    swap = f"DO $$ BEGIN EXECUTE 'DEALLOCATE {set_up}'; EXECUTE 'PREPARE {set_up} (text, text) AS {replaced}'; END $$"
    await write(one_session, items, swap)  # in one statement: the set-up of the call itself is still the server's
    assert await read(one_session, items, READ, [1]) == [[1, "one"]]


def numbered_reads(count: int) -> list[str]:
    return [f"SELECT id, label FROM items WHERE id <= $1 AND {n} = {n} ORDER BY id" for n in range(count)]


async def test_past_its_share_a_connection_keeps_the_statements_used_last(one_session: Executor, items: str) -> None:
    """Every read sent twice is kept; past the connection's share, the one used longest ago is closed (gone
    from the session, not only forgotten), and one closed is made again when it is sent again."""
    reads = numbered_reads(_KEPT_PER_CONNECTION + 8)
    for sql in reads:
        for _ in range(2):
            assert await read(one_session, items, sql, [2]) == [[1, "one"], [2, "two"]]
    held = await kept(one_session, items)
    assert len(held) <= _KEPT_PER_CONNECTION
    assert all(sql in held for sql in reads[-8:]) and not any(sql in held for sql in reads[:8])
    for _ in range(2):
        assert await read(one_session, items, reads[0], [3]) == [[1, "one"], [2, "two"], [3, "three"]]
    held = await kept(one_session, items)
    assert reads[0] in held and len(held) <= _KEPT_PER_CONNECTION


async def test_a_round_trip_that_fails_closes_nothing_it_meant_to(one_session: Executor, items: str) -> None:
    """A new statement to keep at a full connection closes the oldest in the same round trip; when an earlier
    statement fails, PostgreSQL skips the close, and the oldest stays kept under its one name."""
    reads = numbered_reads(_KEPT_PER_CONNECTION - 1)  # with the workspace set-up: the connection's share
    for sql in reads:
        for _ in range(2):
            await read(one_session, items, sql, [1])
    newcomer = "SELECT label FROM items WHERE id = $1"
    await read(one_session, items, newcomer, [1])  # seen once: kept when sent again
    with pytest.raises(QueryError, match="division by zero"):
        await one_session.run(items, [("SELECT 1 / 0", []), (newcomer, [1])], read_only=True)
    for _ in range(2):
        assert await read(one_session, items, reads[0], [2]) == [[1, "one"], [2, "two"]]
    same_text = "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1"
    assert await read(one_session, items, same_text, [reads[0]]) == [[1]]


async def test_a_kept_statement_dropped_in_the_session_is_made_again(one_session: Executor, items: str) -> None:
    for _ in range(2):
        await read(one_session, items, READ, [1])
    await write(one_session, items, f"DEALLOCATE {(await kept(one_session, items))[READ]}")
    assert await read(one_session, items, READ, [2]) == [[1, "one"], [2, "two"]]


async def test_a_kept_read_follows_its_table_when_it_changes(
    one_session: Executor, items: str, local_client: httpx.AsyncClient
) -> None:
    everything = "SELECT * FROM items ORDER BY id LIMIT 1"
    for _ in range(2):
        assert await read(one_session, items, everything) == [[1, "one"]]
    await run(local_client, items, "ALTER TABLE items ADD COLUMN rank int DEFAULT 7")
    assert await read(one_session, items, everything) == [[1, "one", 7]]
    await run(local_client, items, "ALTER TABLE items ALTER COLUMN id TYPE bigint")
    assert await read(one_session, items, everything) == [[1, "one", 7]]


async def test_kept_reads_follow_the_workspace(one_session: Executor, local_client: httpx.AsyncClient) -> None:
    """The same text in two workspaces reads each one's own table (names resolve again on a new search_path)."""
    workspaces = []
    for label in ("first", "second"):
        response = await local_client.post("/workspaces", json={"id": f"t_kept_{label}_{id(one_session)}"})
        assert response.status_code == 201, response.text
        ws = response.json()["id"]
        await run(local_client, ws, "CREATE TABLE items (id int, label text) USING deeplake")
        await run(local_client, ws, f"INSERT INTO items VALUES (1, '{label}')")
        workspaces.append(ws)
    for _ in range(3):
        for ws, label in zip(workspaces, ("first", "second"), strict=True):
            assert await read(one_session, ws, READ, [1]) == [[1, label]]


async def test_calls_one_after_another_run_on_the_connection_used_last(four_sessions: Executor, items: str) -> None:
    """After a burst has opened several connections, the idle one used last serves the next call: its backend
    has the statements kept and the caches warm (in turn, every call would find the coldest)."""
    slow = "SELECT pg_backend_pid() FROM pg_sleep(0.2)"
    burst = await asyncio.gather(*(read(four_sessions, items, slow) for _ in range(4)))
    assert len({rows[0][0] for rows in burst}) > 1  # several connections are idle in the pool now
    pids = [(await read(four_sessions, items, "SELECT pg_backend_pid()"))[0][0] for _ in range(8)]
    assert len(set(pids)) == 1


async def test_a_kept_statement_with_a_query_vector_is_planned_for_each_vector(
    local_backend: LocalBackend, local_client: httpx.AsyncClient, ws: str
) -> None:
    """PostgreSQL plans a statement it keeps once for any values (a generic plan) when that looks no dearer,
    and such a plan casts the query vector again for every row it ranks: a statement with a query vector gets
    a plan of its own each time, others the generic one. The exact search of a small indexed table is such a
    statement: its conditions on the vectors' shape make the planner expect a row or two, not all of them."""
    await run(local_client, ws, "CREATE TABLE vecs (id int, emb float4[]) USING deeplake")
    fill = "SELECT g, array_fill((g % 7 + 1)::float4, ARRAY[384]) FROM generate_series(1, 900) g"
    await run(local_client, ws, f"INSERT INTO vecs {fill}")
    await run(local_client, ws, "CREATE INDEX vecs_emb ON vecs USING deeplake_index (emb DESC)")
    ranked = "SELECT id, emb <#> $1::float4[] AS score FROM vecs ORDER BY score DESC LIMIT 3"
    similar = "SELECT count(*) FROM vecs WHERE emb <#> $1::float4[] > 0.5"
    plain = "SELECT count(*) FROM vecs WHERE id <= $1"
    for i in range(10):
        vector = [float(i + 1)] * 383 + [1.0]
        assert (await local_backend.query(ws, ranked, [vector], read_only=True))["row_count"] == 3
        assert (await local_backend.query(ws, similar, [vector], read_only=True))["rows"] == [[900]]
        assert (await local_backend.query(ws, plain, [i + 1], read_only=True))["rows"] == [[i + 1]]
    plans = "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%vecs%'"
    found = {text: (generic, custom) for text, generic, custom in (await local_backend.query(ws, plans))["rows"]}
    by_vector = [counts for text, counts in found.items() if "<#>" in text]
    assert len(by_vector) == 2 and all(generic == 0 and custom >= 5 for generic, custom in by_vector), found
    assert any(generic > 0 for text, (generic, _) in found.items() if "id <= $1" in text), found
