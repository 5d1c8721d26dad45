"""Query vectors sent as binary float4[] find what the same vectors sent as text find, on the real server."""

from __future__ import annotations

import random

import httpx
import pytest

from deeplake_mcp.local import LocalBackend, _indexes
from deeplake_mcp.local._errors import InvalidRequest, QueryError
from local_api_helpers import query_error, rows, run

pytestmark = pytest.mark.anyio

DIM = 16


def vectors(n: int, seed: int) -> list[list[float]]:
    rng = random.Random(seed)
    return [[rng.uniform(-1, 1) for _ in range(DIM)] for _ in range(n)]


def text(vector: list[float]) -> str:
    return "{" + ",".join(map(repr, vector)) + "}"


async def test_searches_by_binary_and_text_vectors_agree(
    local_client: httpx.AsyncClient, local_backend: LocalBackend, ws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_indexes, "MIN_ROWS", 0)  # through the index too
    await run(local_client, ws, "CREATE TABLE docs (id INT, emb FLOAT4[]) USING deeplake")
    values = ", ".join(f"({i}, '{text(v)}')" for i, v in enumerate(vectors(300, seed=1)))
    await run(local_client, ws, f"INSERT INTO docs VALUES {values}")
    search = "SELECT id, emb <#> $1::float4[] AS score FROM docs ORDER BY score DESC LIMIT 10"
    for indexed in (False, True):
        if indexed:
            await run(local_client, ws, "CREATE INDEX idx ON docs USING deeplake_index (emb)")
        plan = await local_backend.query(ws, f"EXPLAIN {search}", [vectors(1, seed=3)[0]], read_only=True)
        assert ("hnsw" in str(plan["rows"])) is indexed
        for q in vectors(5, seed=2):
            as_text = await local_backend.query(ws, search, [text(q)], read_only=True)  # a string: sent as text
            as_floats = await local_backend.query(ws, search, [q], read_only=True)  # binary
            over_http = await rows(local_client, ws, search, [q])  # JSON numbers, parsed as Decimal: binary
            assert as_floats["rows"] == as_text["rows"] == over_http
            assert [row[0] for row in as_text["rows"]] != []


async def test_numbers_float4_cannot_hold_get_postgresql_s_errors(
    local_backend: LocalBackend, local_client: httpx.AsyncClient, ws: str
) -> None:
    sql = "SELECT $1::float4[] AS v"
    assert (await local_backend.query(ws, sql, [[1e-40, 0.5, 0]], read_only=True))["rows"] == [[[1e-40, 0.5, 0.0]]]
    for vector in ([1e-46, 0.5], [1e39, 1]):  # would become 0, beyond float4
        with pytest.raises(QueryError, match="out of range"):
            await local_backend.query(ws, sql, [vector], read_only=True)
        assert "out of range" in await query_error(local_client, ws, sql, params=[vector])
    with pytest.raises(InvalidRequest, match="finite"):
        await local_backend.query(ws, sql, [[float("nan"), 1.0]], read_only=True)
