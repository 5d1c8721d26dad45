"""The `query` tool ranks through vector indexes, inside its own LIMIT wrapper.

Through the MCP server (SDK client, embedded backend): Deep Lake's `<#>` and pgvector's `<=>` on a float4[]
column with a deeplake_index (its HNSW companion), pgvector's `<->` on float4[] (through an L2 companion
built by the first such search), and pgvector operators on a `vector` column with the agent's own HNSW index.
Each search is checked against the exact answer computed here, and the index use by effect: the plan
(EXPLAIN through the tool) and the index's scan counter.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from deeplake_mcp.app import build_server
from deeplake_mcp.local import _indexes
from local_api_helpers import superuser_rows
from mcp_helpers import payload, settings_for, unique

pytestmark = pytest.mark.anyio

DIM = 16
ROWS = 2000
CLUSTERS = 20
QUERIES = 10


@pytest.fixture(autouse=True)
def index_small_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rank through the index on these small tables (by default they are ranked exactly)."""
    monkeypatch.setattr(_indexes, "MIN_ROWS", 0)


@pytest.fixture
async def client(data_dir: Path) -> AsyncIterator[Client]:
    async with Client(build_server(settings_for(data_dir))) as c:
        yield c


def dataset() -> tuple[list[list[float]], list[list[float]]]:
    """Clustered vectors (like real embeddings) and queries near them."""
    rng = random.Random(3)
    centers = [[rng.gauss(0, 1) for _ in range(DIM)] for _ in range(CLUSTERS)]
    data = [[round(c + 0.4 * rng.gauss(0, 1), 4) for c in centers[i % CLUSTERS]] for i in range(ROWS)]
    queries = [[round(x + 0.2 * rng.gauss(0, 1), 4) for x in rng.choice(data)] for _ in range(QUERIES)]
    return data, queries


def cosine_distance(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return 1 - dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def l2_distance(a: list[float], b: list[float]) -> float:
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b, strict=True)))


def nearest(data: list[list[float]], q: list[float], distance: Any, k: int = 10) -> list[int]:
    return sorted(range(len(data)), key=lambda i: distance(data[i], q))[:k]


def array(q: list[float]) -> str:
    return "ARRAY[" + ",".join(map(str, q)) + "]::float4[]"


def text_vector(q: list[float]) -> str:
    return "'[" + ",".join(map(str, q)) + "]'"


async def call(client: Client, tool: str, **args: Any) -> Any:
    return payload(await client.call_tool(tool, args))


async def ids(client: Client, sql: str, params: list[Any] | None = None) -> list[int]:
    found = await call(client, "query", sql=sql, **({"params": params} if params else {}))
    return [row[0] for row in found["rows"]]


async def plan(client: Client, sql: str, params: list[Any] | None = None) -> str:
    return "\n".join(row[0] for row in (await call(client, "query", sql=f"EXPLAIN {sql}", params=params))["rows"])


async def load(client: Client, table: str, column_type: str, data: list[list[float]]) -> None:
    await call(client, "execute_sql", sql=f"CREATE TABLE {table} (id INT, emb {column_type}) USING deeplake")
    rows = [{"id": i, "emb": vector if column_type == "FLOAT4[]" else str(vector)} for i, vector in enumerate(data)]
    assert (await call(client, "insert_rows", table=table, rows=rows))["inserted"] == ROWS


async def indexed(client: Client, table: str, data: list[list[float]]) -> str:
    """Load ``data`` into a new FLOAT4[] table with a deeplake_index on it; the name prefix of its HNSW companion."""
    await load(client, table, "FLOAT4[]", data)
    await call(client, "execute_sql", sql=f"CREATE INDEX {table}_idx ON {table} USING deeplake_index (emb DESC)")
    return f"{table}_idx_dl_hnsw_"


async def index_scans(data_dir: Path, index: str, before: int = -1, wait_s: float = 20.0) -> int:
    """The index's scan counter; with ``before``, wait for it to pass that (statistics arrive lazily)."""
    deadline = time.monotonic() + wait_s
    while True:
        found = await superuser_rows(
            data_dir, "SELECT coalesce(sum(idx_scan), 0) FROM pg_stat_user_indexes WHERE indexrelname LIKE %s", (index,)
        )
        scans = int(found[0][0])
        if scans > before or time.monotonic() > deadline:
            return scans
        await superuser_rows(data_dir, "SELECT pg_sleep(0.2)")


async def rank_through(
    client: Client,
    data_dir: Path,
    companion: str,
    forms: list[str],
    param_form: str,
    data: list[list[float]],
    queries: list[list[float]],
    distance: Any,
) -> None:
    """Each form (SQL with ``{q}``, and ``param_form`` with the query vector as $1) ranks through the index whose
    name starts with ``companion``: by its plan, by its scan counter, and by recall@10 ≥ 0.98 against ``distance``."""
    for form in forms:
        assert f"Index Scan using {companion}" in await plan(client, form.format(q=array(queries[0]))), form
    scans = await index_scans(data_dir, companion + "%")
    found = 0
    for q in queries:
        truth = set(nearest(data, q, distance))
        for form in forms:
            got = await ids(client, form.format(q=array(q)))
            assert len(got) == 10
            found += len(truth & set(got))
        found += len(truth & set(await ids(client, param_form, [q])))
    assert found / (len(queries) * (len(forms) + 1) * 10) >= 0.98
    assert await index_scans(data_dir, companion + "%", before=scans) > scans


async def test_deeplake_and_pgvector_cosine_rank_through_the_companion(client: Client, data_dir: Path) -> None:
    data, queries = dataset()
    table = unique("docs")
    companion = await indexed(client, table, data)
    forms = [
        f"SELECT id FROM {table} ORDER BY emb <#> {{q}} LIMIT 10",
        f"SELECT id, emb <#> {{q}} AS score FROM {table} ORDER BY score DESC LIMIT 10;",
        f"SELECT id, emb <=> {{q}} AS distance FROM {table} ORDER BY distance LIMIT 10",
        f"SELECT id FROM {table} ORDER BY {{q}} <=> emb LIMIT 10",
    ]
    param_form = f"SELECT id FROM {table} ORDER BY emb <=> $1 LIMIT 10"
    await rank_through(client, data_dir, companion, forms, param_form, data, queries, cosine_distance)


async def test_pgvector_distances_on_float4_columns(client: Client) -> None:
    data, queries = dataset()
    table = unique("docs")
    await load(client, table, "FLOAT4[]", data)
    await call(client, "execute_sql", sql=f"CREATE INDEX {table}_idx ON {table} USING deeplake_index (emb)")
    q = queries[0]
    found = await call(
        client, "query", sql=f"SELECT emb <=> {array(q)}, emb <-> {array(q)}, emb <#> {array(q)} FROM {table} LIMIT 3"
    )
    for (cosine, l2, similarity), vector in zip(found["rows"], data, strict=False):
        assert cosine == pytest.approx(cosine_distance(vector, q), abs=1e-5)
        assert cosine == pytest.approx(1 - similarity, abs=1e-5)
        assert l2 == pytest.approx(l2_distance(vector, q), rel=1e-5)
    # pgvector's `<=>` and `<->` DESC mean farthest first: as written, exactly.
    for operator, distance in (("<=>", cosine_distance), ("<->", l2_distance)):
        far_sql = f"SELECT id FROM {table} ORDER BY emb {operator} {array(q)} DESC LIMIT 5"
        assert "hnsw" not in await plan(client, far_sql)
        farthest = sorted(range(ROWS), key=lambda i: -distance(data[i], q))[:5]
        assert await ids(client, far_sql) == farthest


async def companions(data_dir: Path, table: str, count: int | None = None, wait_s: float = 60.0) -> set[str]:
    """The HNSW indexes of ``table``; with ``count``, once there are that many (a build may be under way)."""
    deadline = time.monotonic() + wait_s
    while True:
        rows = await superuser_rows(data_dir, "SELECT relname FROM pg_class WHERE relname LIKE %s", (f"{table}%hnsw%",))
        if count is None or len(rows) >= count or time.monotonic() > deadline:
            return {row[0] for row in rows}
        await anyio.sleep(0.2)


async def test_l2_distance_ranks_through_an_l2_companion_built_by_the_first_search(
    client: Client, data_dir: Path
) -> None:
    data, queries = dataset()
    table = unique("l2")
    cosine = await indexed(client, table, data)
    (cosine_companion,) = await companions(data_dir, table)
    assert cosine_companion.startswith(cosine)
    forms = [
        f"SELECT id FROM {table} ORDER BY emb <-> {{q}} LIMIT 10",
        f"SELECT id, emb <-> {{q}} AS d FROM {table} ORDER BY d LIMIT 10",
        f"SELECT id FROM {table} ORDER BY {{q}} <-> emb LIMIT 10",
    ]
    l2 = f"{table}_idx_dl_hnsw_l2_"
    # The first `<->` search starts the L2 build in the background and answers exactly meanwhile.
    first = forms[0].format(q=array(queries[0]))
    assert await ids(client, first) == nearest(data, queries[0], l2_distance)
    built = await companions(data_dir, table, count=2)
    assert len(built) == 2 and any(name.startswith(l2) for name in built)
    param_form = f"SELECT id FROM {table} ORDER BY emb <-> $1 LIMIT 10"
    await rank_through(client, data_dir, l2, forms, param_form, data, queries, l2_distance)
    # Cosine searches keep their own companion.
    assert f"Index Scan using {cosine}" in await plan(
        client, forms[0].format(q=array(queries[0])).replace("<->", "<=>")
    )
    # Dropping the deeplake index (on a server that allows it) takes both companions along.
    async with Client(build_server(settings_for(data_dir, access="destructive"))) as operator:
        await call(operator, "execute_sql", sql=f"DROP INDEX {table}_idx")
    assert await companions(data_dir, table) == set()


async def test_vector_columns_rank_through_their_own_hnsw_index(client: Client) -> None:
    data, queries = dataset()
    table = unique("vecs")
    await load(client, table, f"vector({DIM})", data)
    for ops in ("vector_l2_ops", "vector_cosine_ops", "vector_ip_ops"):
        await call(client, "execute_sql", sql=f"CREATE INDEX {table}_{ops} ON {table} USING hnsw (emb {ops})")
    # The server's ef_search, not pgvector's default 40, for the agent's own index too.
    show = await call(client, "query", sql="SHOW hnsw.ef_search")
    assert show["rows"] == [[str(_indexes.EF_SEARCH)]]

    def inner_product(a: list[float], b: list[float]) -> float:
        return -sum(x * y for x, y in zip(a, b, strict=True))

    for operator, ops, distance in (
        ("<->", "vector_l2_ops", l2_distance),
        ("<=>", "vector_cosine_ops", cosine_distance),
        ("<#>", "vector_ip_ops", inner_product),
    ):
        sql = f"SELECT id FROM {table} ORDER BY emb {operator} {text_vector(queries[0])} LIMIT 10"
        assert f"Index Scan using {table}_{ops}" in await plan(client, sql), operator
        found = 0
        for q in queries:
            got = await ids(client, f"SELECT id FROM {table} ORDER BY emb {operator} {text_vector(q)} LIMIT 10")
            found += len(set(nearest(data, q, distance)) & set(got))
        assert found / (QUERIES * 10) >= 0.98, operator


async def test_later_pages_of_a_vector_query_use_the_index_too(client: Client, data_dir: Path) -> None:
    data, queries = dataset()
    table = unique("pages")
    companion = await indexed(client, table, data)
    sql = f"SELECT id FROM {table} ORDER BY emb <#> {array(queries[0])} LIMIT 30"
    first = await call(client, "query", sql=sql, max_rows=10)
    scans = await index_scans(data_dir, companion + "%")
    got = [row[0] for row in first["rows"]]
    cursor = first.get("cursor")
    while cursor:
        page = await call(client, "query", sql=sql, max_rows=10, cursor=cursor)
        got += [row[0] for row in page["rows"]]
        cursor = page.get("cursor")
    assert len(got) == len(set(got)) == 30
    assert len(set(nearest(data, queries[0], cosine_distance, k=30)) & set(got)) >= 29
    assert await index_scans(data_dir, companion + "%", before=scans) > scans  # pages 2 and 3 ranked by the index


async def test_semantic_search_ranks_through_the_companion(client: Client, data_dir: Path) -> None:
    data, queries = dataset()
    table = unique("search")
    companion = await indexed(client, table, data)
    scans = await index_scans(data_dir, companion + "%")
    found = 0
    for q in queries:
        result = await call(client, "semantic_search", table=table, vector=q, k=10, columns=["id"])
        found += len(set(nearest(data, q, cosine_distance)) & {row[0] for row in result["rows"]})
    assert found / (QUERIES * 10) >= 0.98
    assert await index_scans(data_dir, companion + "%", before=scans) > scans
