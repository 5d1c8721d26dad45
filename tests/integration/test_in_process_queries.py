"""The query route called in-process (`in_process_queries`, what deeplake-mcp's own client uses on the embedded
backend) answers exactly as `POST …/tables/query` over HTTP: the same rows, the same typed errors and messages,
the same READ ONLY rule; and it refuses params JSON cannot carry (NaN, infinity) on both paths."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest

from deeplake_mcp.deeplake import (
    BadRequestError,
    DeepLakeAPIError,
    DeepLakeClient,
    DeepLakeError,
    DeepLakeTimeoutError,
    NotFoundError,
    Timeouts,
)
from deeplake_mcp.local import LocalBackend, create_app, in_process_copies, in_process_queries
from deeplake_mcp.runtime import _Deferred, _LocalAPI

pytestmark = pytest.mark.anyio

TABLE = "CREATE TABLE items (id INT, name TEXT, score FLOAT8, tags TEXT[], emb FLOAT4[], meta JSONB) USING deeplake"
INSERT = "INSERT INTO items VALUES ($1, $2, $3, $4, $5, $6)"
ROWS: list[list[Any]] = [
    [1, "apple", 0.5, ["fruit", "red"], [0.1, 0.2, 0.3], {"quote": 'he said "hi"'}],
    [2, "kale", None, [], [1e-7, -2.5, 3.0], {"n": 1.25}],
    [3, "naïve café", 12345678901234.5, ["a,b", 'q"x'], [0.0, 0.0, 1.0], None],
]


@pytest.fixture
async def clients(local_backend: LocalBackend) -> AsyncIterator[tuple[DeepLakeClient, DeepLakeClient]]:
    """(over HTTP in-process, by the query handler) on the same backend."""
    transport = httpx.ASGITransport(app=create_app(local_backend))
    async with (
        DeepLakeClient(base_url="http://deeplake.local", transport=transport) as over_http,
        DeepLakeClient(
            base_url="http://deeplake.local", transport=transport, query_handler=in_process_queries(local_backend)
        ) as direct,
    ):
        yield over_http, direct


async def failure(client: DeepLakeClient, *args: Any, **kwargs: Any) -> DeepLakeError:
    with pytest.raises(DeepLakeError) as caught:
        await client.query(*args, **kwargs)
    return caught.value


async def test_same_rows_and_same_errors(clients: tuple[DeepLakeClient, DeepLakeClient], ws: str) -> None:
    over_http, direct = clients
    await direct.query(ws, TABLE)
    for row in ROWS:
        written = await direct.query(ws, INSERT, row)
        assert written.row_count == 1
    reads = [
        ("SELECT * FROM items ORDER BY id", None),
        ("SELECT id, emb <#> $1::float4[] AS score FROM items ORDER BY score DESC LIMIT 2", [[0.1, 0.2, 0.3]]),
        ("SELECT meta->>'quote', $1::numeric, $2::text FROM items WHERE id = 1", [0.1, "x"]),
    ]
    for sql, params in reads:
        assert (await direct.query(ws, sql, params)).model_dump() == (
            await over_http.query(ws, sql, params)
        ).model_dump()
    assert (await direct.query(ws, "SELECT count(*) FROM items")).rows == [[3]]

    cases: list[tuple[tuple[Any, ...], dict[str, Any], type[DeepLakeError]]] = [
        ((ws, "SELECT nope FROM items"), {}, BadRequestError),  # PostgreSQL's error
        ((ws, "SELECT 1", [1]), {}, BadRequestError),  # more params than the statement takes
        (("no_such_workspace", "SELECT 1"), {}, NotFoundError),
        ((ws, "INSERT INTO items (id) VALUES (9)"), {"read_only": True}, BadRequestError),  # READ ONLY holds
    ]
    for args, kwargs, expected in cases:
        in_process, via_http = await failure(direct, *args, **kwargs), await failure(over_http, *args, **kwargs)
        assert type(in_process) is expected and type(via_http) is expected, (in_process, via_http)
        assert isinstance(in_process, DeepLakeAPIError) and isinstance(via_http, DeepLakeAPIError)
        assert in_process.request_id and str(in_process).replace(in_process.request_id, "") == str(via_http).replace(
            via_http.request_id or "", ""
        )
    assert "read-only transaction" in str(
        await failure(direct, ws, "INSERT INTO items (id) VALUES (9)", read_only=True)
    )
    assert (await direct.query(ws, "SELECT count(*) FROM items WHERE id = 9")).rows == [[0]]
    # JSON carries no NaN or infinity (httpx will not send them); in-process they are refused the same way.
    for params in ([float("nan")], [[1.0, float("inf")]]):
        refused = await failure(direct, ws, "SELECT $1", params)
        assert isinstance(refused, BadRequestError) and "finite" in str(refused)


async def test_a_call_waits_until_the_backend_is_open(local_backend: LocalBackend, ws: str) -> None:
    # What the runtime hands its clients while the backend opens in the background (`serve`).
    deferred = _Deferred()
    answers: list[tuple[int, Any]] = []
    statuses: list[int] = []
    copied: list[tuple[int, Any]] = []

    async def call() -> None:
        answers.append(await deferred.query(ws, {"query": "SELECT 1"}, True))

    async def copy() -> None:
        copied.append(await deferred.copy(ws, "nowhere", ["id"], [23], b""))

    async def request() -> None:
        transport = httpx.ASGITransport(app=deferred.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://deeplake.local") as client:
            statuses.append((await client.get("/workspaces")).status_code)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(call)
        tasks.start_soon(request)
        tasks.start_soon(copy)
        await anyio.sleep(0.05)
        assert answers == [] and statuses == [] and copied == []
        api = _LocalAPI(create_app(local_backend), in_process_queries(local_backend), in_process_copies(local_backend))
        deferred.open_with(api)
    assert answers == [(200, {"columns": ["?column?"], "rows": [[1]], "row_count": 1})]
    assert statuses == [200]
    [(status, answer)] = copied
    assert status == 400 and "does not exist" in answer["error"]  # the backend's own answer: it was open


async def test_a_call_gets_no_longer_than_the_client_waits(local_backend: LocalBackend, ws: str) -> None:
    """Like a read timeout over HTTP: the call ends with a timeout error, the statement is cancelled, and the
    connection it held serves the next call."""
    async with DeepLakeClient(
        base_url="http://deeplake.local", timeouts=Timeouts(query=0.3), query_handler=in_process_queries(local_backend)
    ) as client:
        started = anyio.current_time()
        with pytest.raises(DeepLakeTimeoutError, match="may still have been carried out"):
            await client.query(ws, "SELECT pg_sleep(30)", read_only=True)
        assert anyio.current_time() - started < 10
        for _ in range(10):  # more calls than the pool has connections
            assert (await client.query(ws, "SELECT 7", read_only=True)).rows == [[7]]
        busy = await client.query(
            ws,
            "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'",
            read_only=True,
        )
        assert busy.rows == [[0]]
