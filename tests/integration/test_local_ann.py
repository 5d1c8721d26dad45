"""Vector search of the local API through the HNSW companion of a vector deeplake_index (_ann.py, _indexes.py).

Ranking results through the index are compared with the exact scan of an unindexed copy of the same rows.
"""

from __future__ import annotations

import random
import re
from typing import Any

import anyio
import httpx
import psycopg
import pytest

from deeplake_mcp.local import LocalBackend, _indexes
from deeplake_mcp.local._compile import compile_sql
from local_api_helpers import query_error, rows, run, superuser_rows

pytestmark = pytest.mark.anyio

DIM = 16
ROWS = 3000
CLUSTERS = 30
TABLE = "CREATE TABLE {} (id INT PRIMARY KEY, cluster INT, cat INT, content TEXT, emb FLOAT4[]) USING deeplake"


@pytest.fixture(autouse=True)
def index_small_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rank through the index on the small tables of these tests (by default they are ranked exactly)."""
    monkeypatch.setattr(_indexes, "MIN_ROWS", 0)


async def plan(client: httpx.AsyncClient, ws: str, query: str, params: list[Any] | None = None) -> str:
    return "\n".join(row[0] for row in await rows(client, ws, f"EXPLAIN {query}", params))


# Data: clustered vectors (like real embeddings), queries near data points


def dataset(seed: int = 1, n: int = ROWS, dim: int = DIM) -> list[list[Any]]:
    rng = random.Random(seed)
    centers = [[rng.gauss(0, 1) for _ in range(dim)] for _ in range(CLUSTERS)]
    data = []
    for i in range(n):
        cluster = i % CLUSTERS
        vector = [round(c + 0.4 * rng.gauss(0, 1), 5) for c in centers[cluster]]
        data.append([i, cluster, i % 4, f"row {i}", vector])
    return data


def queries(data: list[list[Any]], count: int, seed: int = 2) -> list[list[float]]:
    rng = random.Random(seed)
    picks = rng.sample(data, count)
    return [[round(x + 0.2 * rng.gauss(0, 1), 5) for x in row[4]] for row in picks]


def literal(vector: list[float]) -> str:
    return "ARRAY[" + ",".join(map(str, vector)) + "]::float4[]"


async def load(client: httpx.AsyncClient, ws: str, table: str, data: list[list[Any]]) -> None:
    """Create `table` with `data`, or with `table` "", add `data` to `docs`."""
    if table:
        await run(client, ws, TABLE.format(table))
    if not data:
        return
    response = await client.post(
        f"/workspaces/{ws}/tables/query/batch",
        json={
            "query": f"INSERT INTO {table or 'docs'} VALUES ($1, $2, $3, $4, $5)",
            "params_batch": [[*row[:4], "{" + ",".join(map(str, row[4])) + "}"] for row in data],
        },
    )
    assert response.status_code == 200, response.text


QUANTIZED = " WITH (index_type = 'quantized')"


async def indexed_and_plain(
    client: httpx.AsyncClient, ws: str, n: int = ROWS, data: list[list[Any]] | None = None, options: str = ""
) -> list[list[Any]]:
    """Tables `docs` (with a vector deeplake_index, WITH ``options``) and `plain` (none) holding the same rows
    (``data``, else ``n`` of ``dataset``)."""
    data = dataset(n=n) if data is None else data
    await load(client, ws, "docs", data)
    await load(client, ws, "plain", data)
    await run(client, ws, f"CREATE INDEX idx_docs ON docs USING deeplake_index (emb DESC){options}")
    return data


async def status(client: httpx.AsyncClient, ws: str, index: str) -> list[Any]:
    found = await rows(
        client,
        ws,
        "SELECT ann_status, ann_dimension, ann_index FROM deeplake_indexes WHERE schema_name = $1 AND index_name = $2",
        [ws, index],
    )
    assert len(found) == 1
    return list(found[0])


RANK = "SELECT id, emb <#> {q} AS score FROM {t}{where} ORDER BY score {dir} LIMIT {k}"


async def ranking(
    client: httpx.AsyncClient, ws: str, table: str, q: list[float], k: int = 10, where: str = "", order: str = "DESC"
) -> list[list[Any]]:
    sql = RANK.format(q=literal(q), t=table, where=f" WHERE {where}" if where else "", dir=order, k=k)
    return await rows(client, ws, sql)


# Building the companion


async def test_index_on_data_builds_an_hnsw_companion(
    local_client: httpx.AsyncClient, ws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = await indexed_and_plain(local_client, ws)
    ann_status, dimension, companion = await status(local_client, ws, "idx_docs")
    assert (ann_status, dimension) == ("ready", DIM)
    assert companion.startswith("idx_docs_dl_hnsw_")

    catalog = await rows(
        local_client, ws, "SELECT indexname, indexdef FROM pg_catalog.pg_indexes WHERE tablename = 'docs'", []
    )
    definitions = dict((name, definition) for name, definition in catalog)
    # Full precision by default (index_type clustered); the quantized types index unit vectors in half precision.
    assert "USING hnsw" in definitions[companion] and "vector_cosine_ops" in definitions[companion]
    assert f"(ann_vector(emb, {DIM}))::vector({DIM})" in definitions[companion]
    assert definitions[companion].endswith("WITH (ef_construction='64')")  # pgvector's own, for small tables
    # Bigger tables get a wider build: here 4 times the size that gets 64 (so twice 64).
    monkeypatch.setattr(_indexes, "EF_CONSTRUCTION_ROWS", ROWS // 4)
    await run(
        local_client, ws, "CREATE INDEX idx_plain ON plain USING deeplake_index (emb) WITH (index_type = 'quantized')"
    )
    quantized = (await status(local_client, ws, "idx_plain"))[2]
    catalog = await rows(
        local_client, ws, "SELECT indexdef FROM pg_catalog.pg_indexes WHERE indexname = $1", [quantized]
    )
    assert (
        "halfvec_cosine_ops" in catalog[0][0]
        and f"(l2_normalize(ann_vector(emb, {DIM})))::halfvec({DIM})" in catalog[0][0]
        and catalog[0][0].endswith("WITH (ef_construction='128')")
    )
    await run(local_client, ws, "DROP INDEX idx_plain")
    # The API's pg_indexes shows what Deep Lake would: the deeplake index only.
    listed = await rows(local_client, ws, "SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY 1", [ws])
    assert listed == [["docs_pkey"], ["idx_docs"], ["plain_pkey"]]

    q = literal(queries(data, 1)[0])
    for order in ("DESC", "ASC"):
        explained = await plan(
            local_client, ws, f"SELECT id, emb <#> {q} AS score FROM docs ORDER BY score {order} LIMIT 5"
        )
        assert f"Index Scan using {companion}" in explained
    # The same statement without an index stays an exact scan.
    assert "hnsw" not in await plan(local_client, ws, f"SELECT id, emb <#> {q} AS s FROM plain ORDER BY s DESC LIMIT 5")


async def test_a_graph_built_for_a_smaller_table_is_rebuilt_wider(
    local_client: httpx.AsyncClient, ws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The companion of this 3 000-row table is built with pgvector's 64. Were the table four times the size that
    # gets 64 (it would want 128), the first search through the graph starts its rebuild in the background: a
    # wider companion built beside it takes its place, the narrow one is dropped, and what an earlier rebuild
    # stopped halfway would have left (an index under a rebuilt companion's name) goes too.
    data = await indexed_and_plain(local_client, ws)
    q = queries(data, 1)[0]
    narrow = (await status(local_client, ws, "idx_docs"))[2]
    await run(local_client, ws, f"CREATE INDEX {narrow}_99 ON docs (id)")
    assert await ranking(local_client, ws, "docs", q) == await ranking(local_client, ws, "plain", q)
    assert not await companion_changed(local_client, ws, narrow, wait_s=1)  # the table fits its graph

    monkeypatch.setattr(_indexes, "EF_CONSTRUCTION_ROWS", ROWS // 4)
    assert await ranking(local_client, ws, "docs", q) == await ranking(local_client, ws, "plain", q)
    assert await companion_changed(local_client, ws, narrow, wait_s=60)
    wider = (await status(local_client, ws, "idx_docs"))[2]
    assert wider == f"{narrow}_128"
    # The narrow one and the leftover go once the wider one is recorded (dropped concurrently: a moment later).
    indexes = "SELECT indexname, indexdef FROM pg_catalog.pg_indexes WHERE schemaname = $1 AND tablename = 'docs'"
    expected = sorted(["docs_pkey", "idx_docs", wider])
    for _ in range(600):
        found = dict(await rows(local_client, ws, indexes, [ws]))
        if sorted(found) == expected:
            break
        await anyio.sleep(0.1)
    assert sorted(found) == expected
    assert found[wider].endswith("WITH (ef_construction='128')")
    assert wider in await plan(local_client, ws, RANK.format(q=literal(q), t="docs", where="", dir="DESC", k=10))
    assert await ranking(local_client, ws, "docs", q) == await ranking(local_client, ws, "plain", q)
    # Once is enough: the wider graph fits the table, and searches leave it in place.
    assert not await companion_changed(local_client, ws, wider, wait_s=1)


async def test_writes_go_on_while_a_graph_is_rebuilt(
    local_client: httpx.AsyncClient, local_backend: LocalBackend, ws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A rebuild waits for the writes already under way on the table (here one left open), but lets new ones
    # through meanwhile (CREATE INDEX CONCURRENTLY; a plain CREATE INDEX would queue them behind it).
    data = await indexed_and_plain(local_client, ws)
    narrow = (await status(local_client, ws, "idx_docs"))[2]
    socket_dir = (local_backend.data_dir / "pg" / "postmaster.pid").read_text().splitlines()[4]
    writer = await psycopg.AsyncConnection.connect(host=socket_dir, dbname="postgres", user="postgres")
    async with writer:
        await writer.execute(f"INSERT INTO \"{ws}\".docs VALUES (-1, 0, 0, 'open', %s)", [data[0][4]])
        monkeypatch.setattr(_indexes, "EF_CONSTRUCTION_ROWS", ROWS // 4)
        await ranking(local_client, ws, "docs", queries(data, 1)[0])
        waiting = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'CREATE INDEX%%' AND wait_event_type = 'Lock'"
        assert await eventually(local_backend, waiting, (), [(1,)])  # the rebuild, waiting for the open write
        with anyio.fail_after(20):
            await run(
                local_client,
                ws,
                "INSERT INTO docs (id, cluster, cat, content, emb) VALUES (-2, 0, 0, 'new', $1)",
                [data[1][4]],
            )
        assert (await status(local_client, ws, "idx_docs"))[2] == narrow  # still waiting for the open write
        await writer.commit()
    assert await companion_changed(local_client, ws, narrow, wait_s=60)
    assert await rows(local_client, ws, "SELECT count(*) FROM docs WHERE id < 0") == [[2]]


async def test_a_rebuild_that_failed_is_tried_again_later(
    local_client: httpx.AsyncClient, local_backend: LocalBackend, ws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first rebuild waits for a write left open and runs out of its time (made 1 s here): the narrow graph
    # stays in use. A search after the retry interval (made 0 here) starts another, which replaces it.
    data = await indexed_and_plain(local_client, ws)
    q = queries(data, 1)[0]
    narrow = (await status(local_client, ws, "idx_docs"))[2]
    socket_dir = (local_backend.data_dir / "pg" / "postmaster.pid").read_text().splitlines()[4]
    writer = await psycopg.AsyncConnection.connect(host=socket_dir, dbname="postgres", user="postgres")
    waiting = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'CREATE INDEX%%' AND wait_event_type = 'Lock'"
    async with writer:
        await writer.execute(f"INSERT INTO \"{ws}\".docs VALUES (-1, 0, 0, 'open', %s)", [data[0][4]])
        monkeypatch.setattr(_indexes, "EF_CONSTRUCTION_ROWS", ROWS // 4)
        monkeypatch.setattr(_indexes, "BACKGROUND_BUILD_TIMEOUT_MS", 1000)
        monkeypatch.setattr(_indexes, "REBUILD_RETRY_S", 0.0)
        await ranking(local_client, ws, "docs", q)
        assert await eventually(local_backend, waiting, (), [(1,)])  # the rebuild, waiting for the open write
        assert await eventually(local_backend, waiting, (), [(0,)])  # out of time
        await writer.commit()
    monkeypatch.undo()
    monkeypatch.setattr(_indexes, "EF_CONSTRUCTION_ROWS", ROWS // 4)
    monkeypatch.setattr(_indexes, "REBUILD_RETRY_S", 0.0)
    assert not await companion_changed(local_client, ws, narrow, wait_s=1)  # the failed one left it in place
    assert await ranking(local_client, ws, "docs", q) == await ranking(local_client, ws, "plain", q)
    assert await companion_changed(local_client, ws, narrow, wait_s=60)
    assert (await status(local_client, ws, "idx_docs"))[2] == f"{narrow}_128"


async def companion_changed(client: httpx.AsyncClient, ws: str, companion: str, wait_s: float) -> bool:
    """Whether, within ``wait_s`` (looked at every 0.1 s), idx_docs's companion is another than ``companion``."""
    for _ in range(int(wait_s * 10)):
        if (await status(client, ws, "idx_docs"))[2] != companion:
            return True
        await anyio.sleep(0.1)
    return False


async def test_a_build_that_outlasts_its_call_goes_on_in_the_background(
    local_client: httpx.AsyncClient, local_backend: LocalBackend, ws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The CREATE INDEX call gives the build 1 ms here (a table of millions of rows takes longer than a call
    # may last): the call still succeeds, and the index is built in the background without a search.
    monkeypatch.setattr(_indexes, "MAX_TIMEOUT_MS", 1)
    data = await indexed_and_plain(local_client, ws)
    assert (await status(local_client, ws, "idx_docs"))[0] in ("pending", "ready")
    ready = "SELECT companion_oid IS NOT NULL, error FROM deeplake_internal.ann_indexes WHERE index_oid = %s::regclass"
    assert await eventually(local_backend, ready, (f'"{ws}".idx_docs',), [(True, None)], wait_s=60)
    q = queries(data, 1)[0]
    assert "_dl_hnsw_" in await plan(local_client, ws, RANK.format(q=literal(q), t="docs", where="", dir="DESC", k=10))
    assert await ranking(local_client, ws, "docs", q) == await ranking(local_client, ws, "plain", q)
    # The build the call started is the one that finished: PostgreSQL never cancelled it to start it again.
    companion = (await status(local_client, ws, "idx_docs"))[2]
    server_log = (local_backend.data_dir / "pg" / "log").read_text(errors="replace")
    assert f'STATEMENT:  CREATE INDEX IF NOT EXISTS "{companion}"' not in server_log


async def test_dimension_option_builds_on_an_empty_table(local_client: httpx.AsyncClient, ws: str) -> None:
    await load(local_client, ws, "docs", [])
    await run(
        local_client,
        ws,
        "CREATE INDEX IF NOT EXISTS idx_dim ON docs USING deeplake_index (emb) "
        f"WITH (index_type = 'clustered', dimension = {DIM})",
    )
    assert (await status(local_client, ws, "idx_dim"))[:2] == ["ready", DIM]
    # IF NOT EXISTS on an existing index changes nothing.
    await run(local_client, ws, "CREATE INDEX IF NOT EXISTS idx_dim ON docs USING deeplake_index (emb)")
    data = dataset()
    response = await local_client.post(
        f"/workspaces/{ws}/tables/query/batch",
        json={
            "query": "INSERT INTO docs VALUES ($1, $2, $3, $4, $5)",
            "params_batch": [[*row[:4], row[4]] for row in data],
        },
    )
    assert response.status_code == 200, response.text
    q = queries(data, 1)[0]
    assert "Index Scan using idx_dim_dl_hnsw_" in await plan(
        local_client, ws, f"SELECT id FROM docs ORDER BY emb <#> {literal(q)} LIMIT 3"
    )
    assert len(await ranking(local_client, ws, "docs", q, k=3)) == 3


async def test_pending_index_is_built_after_the_first_search(
    local_client: httpx.AsyncClient, local_backend: LocalBackend, ws: str
) -> None:
    await load(local_client, ws, "docs", [])
    await run(local_client, ws, "CREATE INDEX idx_later ON docs USING deeplake_index (emb DESC)")
    assert await status(local_client, ws, "idx_later") == ["pending", None, None]
    q = queries(dataset(), 1)[0]
    assert await ranking(local_client, ws, "docs", q) == []  # nothing to learn the dimension from
    assert (await status(local_client, ws, "idx_later"))[0] == "pending"

    await run(local_client, ws, "INSERT INTO docs (id, emb) VALUES (-1, NULL), (-2, '{}')")
    await load(local_client, ws, "", dataset())  # no HNSW upkeep while pending
    assert (await status(local_client, ws, "idx_later"))[0] == "pending"

    found = await ranking(local_client, ws, "docs", q, k=5)  # exact; starts the build in the background
    ready = (
        "SELECT companion_oid IS NOT NULL, dimension FROM deeplake_internal.ann_indexes WHERE index_oid = %s::regclass"
    )
    assert await eventually(local_backend, ready, (f'"{ws}".idx_later',), [(True, DIM)], wait_s=60)
    ann_status, dimension, companion = await status(local_client, ws, "idx_later")
    assert (ann_status, dimension) == ("ready", DIM)
    assert f"Index Scan using {companion}" in await plan(
        local_client, ws, f"SELECT id FROM docs ORDER BY emb <#> {literal(q)} DESC LIMIT 5"
    )
    assert found == await ranking(local_client, ws, "docs", q, k=5)
    assert len(found) == 5 and all(row[0] >= 0 for row in found)


async def test_text_and_hybrid_indexes_get_no_companion(local_client: httpx.AsyncClient, ws: str) -> None:
    await load(local_client, ws, "docs", dataset(n=50))
    await run(
        local_client, ws, "CREATE INDEX idx_text ON docs USING deeplake_index (content) WITH (index_type = 'bm25')"
    )
    await run(
        local_client,
        ws,
        "CREATE INDEX idx_hybrid ON docs USING deeplake_index (((emb, content)::deeplake_hybrid_record))",
    )
    await run(local_client, ws, "CREATE INDEX idx_cat ON docs USING deeplake_index (cat)")
    await run(
        local_client, ws, "CREATE INDEX idx_bad ON docs USING deeplake_index (emb) WITH (index_type = 'inverted')"
    )
    for name in ("idx_text", "idx_hybrid", "idx_cat", "idx_bad"):
        assert await status(local_client, ws, name) == [None, None, None]


# Ranking


async def test_ranking_matches_exact_cosine(local_client: httpx.AsyncClient, ws: str) -> None:
    data = await indexed_and_plain(local_client, ws)
    overlaps = []
    for q in queries(data, 12):
        exact = await ranking(local_client, ws, "plain", q)
        desc = await ranking(local_client, ws, "docs", q)
        asc = await ranking(local_client, ws, "docs", q, order="ASC")
        assert desc == asc  # best first whichever direction the query asks
        scores = [row[1] for row in desc]
        assert scores == sorted(scores, reverse=True) and len(desc) == 10
        overlaps.append(len({row[0] for row in desc} & {row[0] for row in exact}))
        # The scores are `<#>`'s exact values.
        same = await rows(
            local_client,
            ws,
            f"SELECT id, emb <#> {literal(q)} FROM plain WHERE id = ANY($1) ORDER BY 2 DESC",
            [[row[0] for row in desc]],
        )
        assert sorted(map(tuple, same)) == sorted(map(tuple, desc))
    assert min(overlaps) >= 9, overlaps


def twins(noise: float, n: int = 600, seed: int = 5) -> tuple[list[list[Any]], list[list[float]]]:
    """Rows and queries all near one point, ``noise`` apart: nearest neighbours a hair apart."""
    rng = random.Random(seed)
    base = [rng.gauss(0, 1) for _ in range(DIM)]
    data = [[i, 0, 0, "", [round(x + noise * rng.gauss(0, 1), 6) for x in base]] for i in range(n)]
    return data, [[round(x + noise / 2 * rng.gauss(0, 1), 6) for x in base] for _ in range(8)]


async def test_a_quantized_index_orders_what_it_finds_exactly(local_client: httpx.AsyncClient, ws: str) -> None:
    # Half precision rounds distances: rows this close (0.1 apart around one point) come out of its
    # graph out of order; the exact scores of twice the window order them, and the top 40 are the exact ones.
    data, qs = twins(0.1)
    await indexed_and_plain(local_client, ws, data=data, options=QUANTIZED)
    for q in qs:
        found = await ranking(local_client, ws, "docs", q, k=40)
        assert "_dl_hnsw_" in await plan(local_client, ws, RANK.format(q=literal(q), t="docs", where="", dir="", k=40))
        scores = [row[1] for row in found]
        assert scores == sorted(scores, reverse=True) and len(found) == 40
        exact = await ranking(local_client, ws, "plain", q, k=40)
        assert len({row[0] for row in found} & {row[0] for row in exact}) >= 36
        for op in ("<=>", "<->"):
            nearest = f"SELECT id, emb {op} {literal(q)} AS d FROM docs ORDER BY d LIMIT 40"
            distances = [row[1] for row in await rows(local_client, ws, nearest)]
            assert distances == sorted(distances), op


async def test_the_default_index_keeps_full_precision(local_client: httpx.AsyncClient, ws: str) -> None:
    # Neighbours 0.01 apart around one point differ by less than half precision resolves: the default
    # (clustered) index tells them apart, as the exact scan does.
    data, qs = twins(0.01)
    await indexed_and_plain(local_client, ws, data=data)
    for q in qs:
        found = await ranking(local_client, ws, "docs", q, k=40)
        exact = await ranking(local_client, ws, "plain", q, k=40)
        assert len({row[0] for row in found} & {row[0] for row in exact}) >= 36


async def test_a_companion_indexes_any_float4_vector(local_client: httpx.AsyncClient, ws: str) -> None:
    # Half precision holds at most 65504: a quantized index's cosine companion indexes unit vectors (built
    # on such rows, and kept up as more are inserted), the L2 one full ones.
    data = [[*row[:4], [x * 1e6 for x in row[4]]] for row in dataset(n=400)]
    later = [[*row[:4], [x * 1e9 for x in row[4]]] for row in data[200:]]
    for table in ("docs", "plain"):
        await load(local_client, ws, table, data[:200])
    quantized = (
        "CREATE INDEX idx_docs ON docs USING deeplake_index (emb DESC) WITH (index_type = 'clustered_quantized')"
    )
    await run(local_client, ws, quantized)
    await load(local_client, ws, "", later)
    await run(local_client, ws, "INSERT INTO plain SELECT * FROM docs WHERE id >= 200")
    assert (await status(local_client, ws, "idx_docs"))[0] == "ready"
    for q in queries(data, 4):
        found = await ranking(local_client, ws, "docs", q, k=5)
        assert "_dl_hnsw_" in await plan(local_client, ws, RANK.format(q=literal(q), t="docs", where="", dir="", k=5))
        assert [row[0] for row in found] == [row[0] for row in await ranking(local_client, ws, "plain", q, k=5)]
        nearest = f"SELECT id FROM {{}} ORDER BY emb <-> {literal(q)} LIMIT 5"
        assert await rows(local_client, ws, nearest.format("docs")) == await rows(
            local_client, ws, nearest.format("plain")
        )


async def test_above_2000_dimensions_the_cosine_companion_is_unit_halfvec(
    local_client: httpx.AsyncClient, ws: str
) -> None:
    # pgvector indexes vector(N) up to 2000 dimensions, halfvec(N) up to 4000: beyond 2000 every cosine
    # companion is half precision, normalised first so that elements beyond halfvec's 65504 fit.
    rng = random.Random(9)
    data = [[i, 0, 0, "", [round(rng.gauss(0, 1) * 1e6, 1) for _ in range(2048)]] for i in range(300)]
    await indexed_and_plain(local_client, ws, data=data)
    ann_status, dimension, companion = await status(local_client, ws, "idx_docs")
    assert (ann_status, dimension) == ("ready", 2048)
    [[definition]] = await rows(
        local_client, ws, "SELECT indexdef FROM pg_catalog.pg_indexes WHERE indexname = $1", [companion]
    )
    assert "halfvec_cosine_ops" in definition and "l2_normalize(" in definition
    for row in data[:3]:
        q = [x + 1e5 for x in row[4]]
        found = await ranking(local_client, ws, "docs", q, k=5)
        assert companion in await plan(local_client, ws, RANK.format(q=literal(q), t="docs", where="", dir="", k=5))
        assert found == await ranking(local_client, ws, "plain", q, k=5)


async def test_a_companion_is_searched_in_the_form_it_was_built_in(
    local_client: httpx.AsyncClient, local_backend: LocalBackend, ws: str
) -> None:
    data = await indexed_and_plain(local_client, ws, options=QUANTIZED)
    unit = (await status(local_client, ws, "idx_docs"))[2]
    # What this server builds for a quantized index is unit halfvec, what servers before it built is the
    # vector itself: the form a companion has is read from it.
    older = (
        "CREATE INDEX older ON docs USING hnsw "
        f"((deeplake_compat.ann_vector(emb, {DIM})::vector({DIM})) vector_cosine_ops)"
    )
    await run(local_client, ws, older)
    recorded = "UPDATE deeplake_internal.ann_indexes SET companion_oid = %s::regclass WHERE index_oid = %s::regclass"
    await superuser_rows(local_backend.data_dir, recorded + " RETURNING 1", (f'"{ws}".older', f'"{ws}".idx_docs'))
    await run(local_client, ws, f'DROP INDEX "{unit}"')  # no longer its companion: nothing else changes
    assert await status(local_client, ws, "idx_docs") == ["ready", DIM, "older"]
    for q in queries(data, 4):
        explained = await plan(local_client, ws, RANK.format(q=literal(q), t="docs", where="", dir="DESC", k=10))
        assert "Index Scan using older" in explained and "ctid" not in explained
        found = await ranking(local_client, ws, "docs", q)
        exact = await ranking(local_client, ws, "plain", q)
        assert len({row[0] for row in found} & {row[0] for row in exact}) >= 9


async def test_query_forms_and_offset(local_client: httpx.AsyncClient, ws: str) -> None:
    data = await indexed_and_plain(local_client, ws)
    q = queries(data, 1)[0]
    top = await ranking(local_client, ws, "docs", q, k=10)
    forms = [
        (f"SELECT id, emb <#> {literal(q)} AS score FROM docs ORDER BY 2 DESC LIMIT 10", None),
        (f"SELECT d.id, {literal(q)} <#> d.emb AS score FROM {ws}.docs AS d ORDER BY score LIMIT 10", None),
        (f"SELECT id, emb <#> {literal(q)} FROM docs ORDER BY emb <#> {literal(q)} DESC LIMIT 10", None),
        ("SELECT id, emb <#> $1 AS score FROM docs ORDER BY score DESC LIMIT $2", [q, 10]),
        (
            "SELECT id, emb <#> $1::float4[] AS score FROM docs ORDER BY score DESC LIMIT 10",
            ["{" + ",".join(map(str, q)) + "}"],
        ),
        ("SELECT id, emb <#> '{" + ",".join(map(str, q)) + "}' AS score FROM docs ORDER BY score DESC LIMIT 10", None),
        (f"SELECT id, emb <#> {literal(q)} AS score FROM docs ORDER BY score DESC FETCH FIRST 10 ROWS ONLY", None),
    ]
    for sql, params in forms:
        assert "hnsw" in await plan(local_client, ws, sql, params), sql
        assert await rows(local_client, ws, sql, params) == top, sql
    # A `<#> ARRAY[…]` inside a string stays text (the fast path gives way to a full parse).
    quoted = f"SELECT id, emb <#> {literal(q)} AS score, '<#> ARRAY[1, 2]' AS note FROM docs ORDER BY 2 DESC LIMIT 10"
    assert "hnsw" in await plan(local_client, ws, quoted)
    assert await rows(local_client, ws, quoted) == [[*row, "<#> ARRAY[1, 2]"] for row in top]
    paged = await rows(
        local_client, ws, f"SELECT id, emb <#> {literal(q)} AS score FROM docs ORDER BY score DESC LIMIT 4 OFFSET 3"
    )
    assert paged == top[3:7]
    many = await ranking(local_client, ws, "docs", q, k=300)  # more than hnsw.ef_search's base
    assert len(many) == 300 and many[:10] == top
    # The query tool caps rows with a wrapper; the search inside still goes through the index.
    for inner, cap in ((forms[0][0], 101), (forms[0][0].replace(" LIMIT 10", ""), 10)):
        wrapped = f"SELECT * FROM (\n{inner}\n) AS _deeplake_mcp_q LIMIT {cap}"
        assert "hnsw" in await plan(local_client, ws, wrapped), wrapped
        assert await rows(local_client, ws, wrapped) == top


async def test_filters_are_honoured(local_client: httpx.AsyncClient, ws: str) -> None:
    data = await indexed_and_plain(local_client, ws, n=10_000)
    for q_index, q in enumerate(queries(data, 6)):
        nearest = await ranking(local_client, ws, "plain", q, k=5)
        cluster = data[nearest[0][0]][1]
        # Filters that exclude the nearest rows (the top 5; their whole cluster): still k rows, the right ones.
        for where in (
            f"id NOT IN ({', '.join(str(row[0]) for row in nearest)})",
            f"cluster <> {cluster}",
            f"cat <> {q_index % 4} AND cluster <> {cluster}",
        ):
            assert "hnsw" in await plan(
                local_client, ws, RANK.format(q=literal(q), t="docs", where=f" WHERE {where}", dir="DESC", k=10)
            )
            got = await ranking(local_client, ws, "docs", q, where=where)
            exact = await ranking(local_client, ws, "plain", q, where=where)
            assert len(got) == 10
            assert "cluster" not in where or all(data[row[0]][1] != cluster for row in got)
            assert len({row[0] for row in got} & {row[0] for row in exact}) >= 9, where
            assert not {row[0] for row in nearest} & {row[0] for row in got}
        # A selective filter is ranked exactly (the planner expects few rows to pass).
        where = f"cluster = {(cluster + 1) % CLUSTERS} AND cat = 1"
        got = await ranking(local_client, ws, "docs", q, where=where)
        assert got == await ranking(local_client, ws, "plain", q, where=where, order="DESC")
    q_text = literal(queries(data, 1)[0])
    selective = f"SELECT id, emb <#> {q_text} AS score FROM docs WHERE cluster = 3 AND cat = 1 ORDER BY score LIMIT 10"
    assert "hnsw" not in await plan(local_client, ws, selective)
    # Params in the filter are part of the estimate, too.
    with_params = "SELECT id, emb <#> $1 AS score FROM docs WHERE cluster = $2 AND cat = $3 ORDER BY score LIMIT 10"
    assert "hnsw" not in await plan(local_client, ws, with_params, [queries(data, 1)[0], 3, 1])
    assert "hnsw" in await plan(
        local_client, ws, with_params.replace("cluster = $2", "cluster <> $2"), [queries(data, 1)[0], 3, 1]
    )
    # The tool's form: a guard on the vector column and a filter in parentheses.
    tool = (
        f'SELECT "id", "content", "emb" <#> {q_text} AS score FROM "{ws}"."docs" '
        'WHERE array_length("emb", 1) > 0 AND (cat IN (0, 2, 3)) ORDER BY score DESC LIMIT 10'
    )
    assert "hnsw" in await plan(local_client, ws, tool)
    found = await rows(local_client, ws, tool)
    exact = await rows(local_client, ws, tool.replace('"docs"', '"plain"'))
    assert len({row[0] for row in found} & {row[0] for row in exact}) >= 9


async def test_a_filtered_scan_goes_on_past_its_first_pass(local_client: httpx.AsyncClient, ws: str) -> None:
    # A filter that only the rows farthest from q pass (6 % of them: too many to rank exactly): the first pass
    # holds none of them, and the index scan goes on until LIMIT rows pass. The same with the filter written on
    # the vector column too (a row without a vector fails it anyway).
    data = await indexed_and_plain(local_client, ws)
    q = queries(data, 1)[0]
    farthest = ", ".join(str(row[0]) for row in await ranking(local_client, ws, "plain", q, k=180, order="ASC"))
    for where in (f"id IN ({farthest})", f"(id IN ({farthest}) OR emb IS NULL)"):
        search = RANK.format(q=literal(q), t="docs", where=f" WHERE {where}", dir="DESC", k=10)
        analyzed = await plan(local_client, ws, search.replace("SELECT", "(ANALYZE) SELECT", 1))
        assert "hnsw" in analyzed
        assert re.search(r"Index Scan using \S+ on docs .*actual time=\S+ rows=10\.00 loops=1", analyzed), analyzed
        assert await rows(local_client, ws, search) == await ranking(local_client, ws, "plain", q, where=where)


async def test_a_quantized_search_applies_its_filter_once(local_client: httpx.AsyncClient, ws: str) -> None:
    # The first pass finds the candidates through the half-precision index, among the rows that pass the
    # filter; ranking them exactly does not evaluate it again (a volatile filter would pass other rows).
    data = await indexed_and_plain(local_client, ws, n=3000, options=QUANTIZED)
    for q in queries(data, 3):
        sql = RANK.format(q=literal(q), t="docs", where=" WHERE cat <> 1 AND random() < 2", dir="DESC", k=10)
        explained = await plan(local_client, ws, sql)
        assert "halfvec" in explained and explained.count("random()") == 1 and explained.count("cat <> 1") == 1
        found = await rows(local_client, ws, sql)
        exact = await ranking(local_client, ws, "plain", q, where="cat <> 1")
        assert len(found) == 10 and all(data[row[0]][2] != 1 for row in found)
        assert len({row[0] for row in found} & {row[0] for row in exact}) >= 9


async def test_short_results_fall_back_to_exact(local_client: httpx.AsyncClient, ws: str) -> None:
    data = await indexed_and_plain(local_client, ws)
    q = queries(data, 1)[0]
    # Fewer matching rows than LIMIT: all of them, best first, whatever the direction asked.
    where = "id < 7"
    got = await ranking(local_client, ws, "docs", q, k=10, where=where, order="ASC")
    assert got == await ranking(local_client, ws, "plain", q, k=10, where=where, order="DESC")
    assert len(got) == 7


async def test_small_tables_are_ranked_exactly(
    local_client: httpx.AsyncClient, ws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_indexes, "MIN_ROWS", 1000)
    data = dataset(n=500)
    await load(local_client, ws, "docs", data)
    await load(local_client, ws, "plain", data)
    await run(local_client, ws, "CREATE INDEX idx_small ON docs USING deeplake_index (emb)")
    assert (await status(local_client, ws, "idx_small"))[0] == "ready"
    for q in queries(data, 3):
        sql = RANK.format(q=literal(q), t="docs", where="", dir="ASC", k=10)
        assert "hnsw" not in await plan(local_client, ws, sql)
        # Still the index's semantics: best first whatever the direction, exactly.
        assert await ranking(local_client, ws, "docs", q, order="ASC") == await ranking(local_client, ws, "plain", q)


async def test_dimensions(local_client: httpx.AsyncClient, ws: str) -> None:
    data = await indexed_and_plain(local_client, ws)
    message = await query_error(
        local_client, ws, "SELECT id, emb <#> ARRAY[1, 2, 3]::float4[] AS score FROM docs ORDER BY score DESC LIMIT 5"
    )
    assert "3 dimensions" in message and f"{DIM}-dimensional" in message and "idx_docs" in message
    # Without an index, PostgreSQL's own message.
    message = await query_error(
        local_client, ws, "SELECT id, emb <#> ARRAY[1, 2, 3]::float4[] AS score FROM plain ORDER BY score DESC LIMIT 5"
    )
    assert "different vector dimensions" in message

    # A vector of another dimension is stored, but not indexed: searches through the index skip it.
    q = queries(data, 1)[0]
    await run(
        local_client, ws, "INSERT INTO docs (id, emb) VALUES ($1, $2), ($3, NULL), ($4, '{}')", [-1, q[:8], -2, -3]
    )
    found = await ranking(local_client, ws, "docs", q, k=ROWS + 10)
    assert len(found) == ROWS and min(row[0] for row in found) == 0
    # A vector pgvector cannot hold, with the index's dimension, is refused.
    message = await query_error(
        local_client, ws, "INSERT INTO docs (id, emb) VALUES (-4, $1)", params=["{" + ",".join(["NaN"] * DIM) + "}"]
    )
    assert "NaN" in message
    # A zero query vector has no cosine: the statement runs as written (an exact scan).
    zero = "SELECT id FROM docs WHERE id >= 0 ORDER BY emb <#> $1 DESC LIMIT 3"
    assert "hnsw" not in await plan(local_client, ws, zero, [[0] * DIM])


async def test_l2_companion_comes_with_the_first_l2_search_and_goes_by_itself(
    local_client: httpx.AsyncClient, local_backend: LocalBackend, ws: str
) -> None:
    data = await indexed_and_plain(local_client, ws)
    l2_companions = (
        "SELECT indexname FROM pg_catalog.pg_indexes WHERE schemaname = $1 AND indexname LIKE '%\\_dl\\_hnsw\\_l2\\_%'"
    )
    assert await rows(local_client, ws, l2_companions, [ws]) == []
    q = queries(data, 1)[0]
    nearest = "SELECT id FROM {t} ORDER BY emb <-> {q} LIMIT 10"
    exact = await rows(local_client, ws, nearest.format(t="plain", q=literal(q)))
    # The first `<->` search starts the L2 build in the background and runs exactly meanwhile.
    assert await rows(local_client, ws, nearest.format(t="docs", q=literal(q))) == exact
    for _ in range(300):  # the build, in the background: up to a minute
        built = await rows(local_client, ws, l2_companions, [ws])
        if built:
            break
        await anyio.sleep(0.2)
    [[l2_companion]] = built
    assert await rows(local_client, ws, nearest.format(t="docs", q=literal(q))) == exact
    assert l2_companion in await plan(local_client, ws, nearest.format(t="docs", q=literal(q)))
    # The API's pg_indexes hides it, like the cosine companion.
    listed = await rows(local_client, ws, "SELECT indexname FROM pg_indexes WHERE schemaname = $1", [ws])
    assert not any("_dl_hnsw" in name for [name] in listed)

    await run(local_client, ws, f'DROP INDEX "{l2_companion}"')  # by hand: L2 searches become exact
    recorded = "SELECT l2_companion_oid, l2_error FROM deeplake_internal.ann_indexes WHERE index_oid = %s::regclass"
    found = await superuser_rows(local_backend.data_dir, recorded, (f'"{ws}".idx_docs',))
    assert found == [(None, "its vector index was dropped")]
    assert "hnsw" not in await plan(local_client, ws, nearest.format(t="docs", q=literal(q)))
    assert await rows(local_client, ws, nearest.format(t="docs", q=literal(q))) == exact
    assert (await status(local_client, ws, "idx_docs"))[0] == "ready"  # cosine searches keep theirs
    cosine = f"SELECT id FROM docs ORDER BY emb <=> {literal(q)} LIMIT 10"
    assert "_dl_hnsw_" in await plan(local_client, ws, cosine)


async def test_a_build_a_search_starts_runs_under_the_background_budget(
    local_client: httpx.AsyncClient, local_backend: LocalBackend, ws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not the 10-minute cap of a request's statements (a build over millions of rows takes longer): its own
    # budget, here cut to 1 ms so that the build stops and says why.
    monkeypatch.setattr(_indexes, "BACKGROUND_BUILD_TIMEOUT_MS", 1)
    data = await indexed_and_plain(local_client, ws)
    q = queries(data, 1)[0]
    nearest = "SELECT id FROM {t} ORDER BY emb <-> {q} LIMIT 10"
    exact = await rows(local_client, ws, nearest.format(t="plain", q=literal(q)))
    assert await rows(local_client, ws, nearest.format(t="docs", q=literal(q))) == exact  # starts the L2 build
    recorded = "SELECT l2_companion_oid, l2_error FROM deeplake_internal.ann_indexes WHERE index_oid = %s::regclass"
    stopped = [(None, "canceling statement due to statement timeout")]
    assert await eventually(local_backend, recorded, (f'"{ws}".idx_docs',), stopped, wait_s=60)
    assert "hnsw" not in await plan(local_client, ws, nearest.format(t="docs", q=literal(q)))  # exact from then on
    assert await rows(local_client, ws, nearest.format(t="docs", q=literal(q))) == exact


async def test_drop_index_table_or_companion(
    local_client: httpx.AsyncClient, local_backend: LocalBackend, ws: str
) -> None:
    data = await indexed_and_plain(local_client, ws)
    companion = (await status(local_client, ws, "idx_docs"))[2]
    companions = "SELECT indexname FROM pg_catalog.pg_indexes WHERE schemaname = $1 AND indexdef LIKE '%USING hnsw%'"
    assert await rows(local_client, ws, companions, [ws]) == [[companion]]
    await run(local_client, ws, "DROP INDEX idx_docs")
    assert await rows(local_client, ws, companions, [ws]) == []

    await run(local_client, ws, "CREATE INDEX idx_again ON docs USING deeplake_index (emb)")
    companion = (await status(local_client, ws, "idx_again"))[2]
    await run(local_client, ws, f'DROP INDEX "{companion}"')  # by hand: searches on it become exact
    assert (await status(local_client, ws, "idx_again"))[:2] == ["failed: its vector index was dropped", DIM]
    q = queries(data, 1)[0]
    assert "hnsw" not in await plan(local_client, ws, f"SELECT id FROM docs ORDER BY emb <#> {literal(q)} DESC LIMIT 3")
    assert await ranking(local_client, ws, "docs", q) == await ranking(local_client, ws, "plain", q)

    await run(local_client, ws, "CREATE INDEX idx_third ON plain USING deeplake_index (emb)")
    assert len(await rows(local_client, ws, companions, [ws])) == 1
    await run(local_client, ws, "DROP TABLE plain")
    await run(local_client, ws, "DROP TABLE docs")
    orphans = (
        "SELECT count(*) FROM deeplake_internal.ann_indexes a "
        "WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = a.index_oid)"
    )
    assert await superuser_rows(local_backend.data_dir, orphans) == [(0,)]
    assert await rows(local_client, ws, companions, [ws]) == []


async def test_other_queries_stay_exact(local_client: httpx.AsyncClient, ws: str) -> None:
    data = await indexed_and_plain(local_client, ws)
    q = literal(queries(data, 1)[0])
    untouched = [
        f"SELECT id, emb <#> {q} AS score FROM docs ORDER BY score DESC",  # no LIMIT
        f"SELECT id, emb <#> {q} AS score FROM docs ORDER BY id, score DESC LIMIT 5",  # not the first key
        f"SELECT cluster, max(emb <#> {q}) AS score FROM docs GROUP BY cluster ORDER BY 2 DESC LIMIT 3",
        f"SELECT d.id, d.emb <#> {q} AS score FROM docs d JOIN plain p USING (id) ORDER BY score DESC LIMIT 5",
        f"WITH x AS (SELECT * FROM docs) SELECT id, emb <#> {q} AS score FROM x ORDER BY score DESC LIMIT 5",
        "SELECT id, emb <#> (SELECT emb FROM plain WHERE id = 1) AS score FROM docs ORDER BY score DESC LIMIT 5",
        f"SELECT id, emb <#> {q}::float8[]::float4[] AS score FROM docs ORDER BY score DESC LIMIT 5",
    ]
    for sql in untouched:
        assert "hnsw" not in await plan(local_client, ws, sql), sql
    # ASC without LIMIT keeps the exact scan's order: worst first.
    worst = await rows(local_client, ws, f"SELECT id, emb <#> {q} AS score FROM docs ORDER BY score")
    assert worst[0][1] <= worst[-1][1]


def test_compile_lifts_the_query_vector_and_plans_the_search() -> None:
    vector = [0.5, -1, 2.25e-3]
    search_sql = (
        f"SELECT id, emb <#> {literal(vector)} AS s FROM ws.t AS d WHERE d.cat = $1 "
        "AND array_length(emb, 1) > 0 ORDER BY s DESC LIMIT $2 OFFSET 4"
    )
    plan = compile_sql(search_sql, [3, 7])
    search = plan.search
    assert search is not None
    assert (search.schema, search.table, search.from_item) == ("ws", "t", "ws.t AS d")
    assert (search.column, search.column_name) == ("emb", "emb")
    assert (search.dimension, search.limit, search.offset, search.explain) == (3, 7, 4, False)
    assert search.condition == "(d.cat = '3')"
    assert plan.params == [3, 7, "{" + ",".join(map(str, vector)) + "}"]  # digit for digit
    assert "$3" in search.vector  # the literal became a param: it is not parsed back or rendered
    # The query tool's row cap around it: the search inside is still found, with its own LIMIT.
    wrapped = compile_sql(f"SELECT * FROM (\n{search_sql}\n) AS _deeplake_mcp_q LIMIT 101", [3, 7]).search
    assert wrapped is not None and (wrapped.limit, wrapped.offset) == (7, 4)
    # ... and without one, it takes the wrapper's.
    unbounded = compile_sql(f"SELECT * FROM (SELECT id FROM t ORDER BY emb <#> {literal(vector)}) AS q LIMIT 11")
    assert unbounded.search is not None and unbounded.search.limit == 11
    assert compile_sql("SELECT 1").search is None
    assert compile_sql("SELECT id FROM t ORDER BY emb <#> ARRAY[1, 2] LIMIT 1 FOR UPDATE").search is None
    assert compile_sql("SELECT * FROM (SELECT 1) AS q WHERE true LIMIT 3").search is None


async def test_the_api_views_keep_their_columns(local_backend: LocalBackend) -> None:
    """Servers of other versions share a data directory and run their own bootstrap script, whose
    CREATE OR REPLACE VIEW fails if the view has columns it does not know: a view's columns never change."""
    found = await superuser_rows(
        local_backend.data_dir,
        "SELECT table_name, array_agg(column_name::text ORDER BY ordinal_position) FROM information_schema.columns "
        "WHERE table_schema = 'deeplake_compat' AND table_name IN ('deeplake_indexes', 'pg_indexes') GROUP BY 1",
    )
    assert dict(found) == {
        "deeplake_indexes": [
            "schema_name", "table_name", "index_name", "columns", "sort_order", "index_type", "dimension",
            "created_at", "ann_index", "ann_status", "ann_dimension",
        ],
        "pg_indexes": ["schemaname", "tablename", "indexname", "tablespace", "indexdef"],
    }  # fmt: skip


async def test_a_backend_that_closes_stops_its_background_build_and_a_later_search_starts_it_again(
    local_client: httpx.AsyncClient, local_backend: LocalBackend, ws: str
) -> None:
    await run(local_client, ws, "CREATE TABLE big (id INT, emb FLOAT4[]) USING deeplake")
    await run(  # 20 000 x 384: an HNSW build of a few seconds
        local_client,
        ws,
        "INSERT INTO big SELECT i, ARRAY(SELECT (random() + i * 0)::float4 FROM generate_series(1, 384)) "
        "FROM generate_series(1, 20000) AS i",
    )
    await run(local_client, ws, "CREATE INDEX idx_big ON big USING deeplake_index (emb)")
    l2_search = "SELECT id FROM big ORDER BY emb <-> $1 LIMIT 3"
    recorded = "SELECT l2_companion_oid, l2_error FROM deeplake_internal.ann_indexes WHERE index_oid = %s::regclass"
    index = (f'"{ws}".idx_big',)
    building = (  # the build's own backend (a parallel build's workers show the same query)
        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'CREATE INDEX%%big%%' AND state = 'active' "
        "AND backend_type = 'client backend'"
    )
    async with LocalBackend(local_backend.data_dir) as other:  # another server on the same data directory
        found = await other.query(ws, l2_search, [[0.5] * 384], read_only=True)  # starts the L2 build
        assert len(found["rows"]) == 3
        assert await eventually(local_backend, building, (), [(1,)])  # under way as the server stops
    # Closed while building: the build was stopped, nothing recorded, the index is still to be built.
    assert await eventually(local_backend, building, (), [(0,)])
    assert await superuser_rows(local_backend.data_dir, recorded, index) == [(None, None)]
    assert len(await rows(local_client, ws, l2_search, [[0.5] * 384])) == 3  # starts it again, here
    ready = recorded.replace("l2_companion_oid, l2_error", "l2_companion_oid IS NOT NULL, l2_error")
    assert await eventually(local_backend, ready, index, [(True, None)], wait_s=120)
    assert "_dl_hnsw_l2_" in await plan(local_client, ws, l2_search.replace("$1", literal([0.5] * 384)))


async def eventually(
    backend: LocalBackend, query: str, params: tuple[Any, ...], expected: list[Any], wait_s: float = 15.0
) -> bool:
    """Whether the superuser sees ``expected`` from ``query`` within ``wait_s`` (checked every 0.1 s)."""
    for _ in range(int(wait_s * 10)):
        if await superuser_rows(backend.data_dir, query, params) == expected:
            return True
        await anyio.sleep(0.1)
    return False
