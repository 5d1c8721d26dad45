"""A big load and search, end to end: ``--rows`` × 384 (default 100 000; the issue's is 1 000 000).

Clustered vectors (a Gaussian mixture, one centre per 100 rows, noise 0.5: real embeddings have
neighbourhoods; random vectors have none), in a fresh data directory:

1. **load** them through ``insert_rows`` (our server over stdio, SDK client) in calls of ``--batch``
   rows, sampling the server's RSS (every 0.25 s) and the rows written over time; reference: the
   same rows written by binary COPY (psycopg) into a table of the same shape in the same PostgreSQL;
2. **index**: ``CREATE INDEX … USING deeplake_index (embedding DESC)`` through ``execute_sql``;
   reference: pgvector's own ``CREATE INDEX … USING hnsw ((embedding::vector(384)) vector_cosine_ops)``
   (m 16, the server's ef_construction for the table's size: 128 at 1M rows; maintenance_work_mem 2 GB)
   on the COPY table;
3. **search**: ``--queries`` new samples of the mixture, k = 10: ``semantic_search`` with ``vector=``
   (the tool), and the same ranking in raw SQL through psycopg on the reference index (``hnsw.ef_search``
   = the server's base value), and the SDK's no-op tool (``noop_server.py``, over stdio too) with the
   same arguments: raw plus that call is the tool's floor. In turn (who goes first rotating), after one
   untimed pass of every query through each; p50/p99 latency and recall@10 against numpy's exact top 10.
   At a million rows neither index fits PostgreSQL's page cache (an eighth of the RAM, at most 2 GB), so a
   search's latency is mostly pages read.

Memory must be bounded by the batch size, not the table size: the target compares the server's peak
RSS over the whole load with its peak during the first tenth of the batches (≤ 1.2×).

    .venv/bin/python bench/load_bench.py [--rows 100000] [--batch 5000] [--queries 200]
    .venv/bin/python bench/load_bench.py --rows 1000000          # the issue's big load (about an hour)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from _common import (
    DIM,
    NOOP_CMD,
    SERVER_CMD,
    Json,
    RssSampler,
    call,
    measure,
    p50,
    parser,
    percentile,
    postgres,
    server_env,
    stdio_session,
    target,
    temp_data_dir,
    write_result,
)
from mcp import Client

from deeplake_mcp.local._indexes import EF_SEARCH, ef_construction

K = 10
TABLE = "CREATE TABLE t (id BIGINT, content TEXT, embedding FLOAT4[]) USING deeplake"
_STATUS = b"SELECT ann_status FROM deeplake_compat.deeplake_indexes WHERE index_name = 'idx'"
REFERENCE = """
    CREATE SCHEMA bench_ref;
    CREATE TABLE bench_ref.t (id BIGINT, content TEXT, embedding FLOAT4[])
"""
REFERENCE_INDEX = """
    CREATE INDEX ON bench_ref.t USING hnsw ((embedding::deeplake_compat.vector(384)) deeplake_compat.vector_cosine_ops)
    WITH (m = 16, ef_construction = {})
"""
REFERENCE_SEARCH = """
    SELECT id FROM bench_ref.t
    ORDER BY embedding::deeplake_compat.vector(384) OPERATOR(deeplake_compat.<=>) %s::deeplake_compat.vector(384)
    LIMIT 10
"""


class Mixture:
    """Rows of a Gaussian mixture (one centre per 100 rows), made batch by batch from fixed seeds."""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.centres = np.random.default_rng(7).standard_normal((max(1, rows // 100), DIM))

    def sample(self, n: int, seed: int) -> np.ndarray:
        """``n`` vectors rounded to 4 decimals (so PostgreSQL's float4 equals numpy's float32)."""
        rng = np.random.default_rng(seed)
        picked = self.centres[rng.integers(0, len(self.centres), n)]
        return np.round(picked + 0.5 * rng.standard_normal((n, DIM)), 4)

    def batches(self, size: int) -> Iterator[tuple[int, np.ndarray]]:
        for start in range(0, self.rows, size):
            yield start, self.sample(min(size, self.rows - start), seed=1000 + start)


def rows_of(start: int, vectors: np.ndarray) -> list[Json]:
    return [
        {"id": start + i, "content": f"chunk {start + i} about topic {(start + i) % 97}", "embedding": v}
        for i, v in enumerate(vectors.tolist())
    ]


def exact_top(data: np.ndarray, queries: np.ndarray) -> list[set[int]]:
    """Ids (row numbers) of the K best cosine matches of each query, in float32 like PostgreSQL."""
    x = data / np.linalg.norm(data, axis=1, keepdims=True)
    q = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
    tops: list[set[int]] = []
    for start in range(0, len(q), 20):
        scores = x @ q[start : start + 20].T
        tops.extend(set(map(int, column)) for column in np.argpartition(-scores, K, axis=0)[:K].T)
    return tops


async def load(client: Client, mixture: Mixture, batch: int, data: np.ndarray, rss: RssSampler) -> Json:
    """Insert every batch through ``insert_rows``; the seconds each call took and the progress over time."""
    calls: list[float] = []
    progress: list[tuple[float, int]] = []
    for start, vectors in mixture.batches(batch):
        data[start : start + len(vectors)] = vectors
        rows = rows_of(start, vectors)
        began = time.perf_counter()
        await call(client, "insert_rows", {"table": "t", "rows": rows})
        calls.append(time.perf_counter() - began)
        progress.append((round(rss.now(), 2), start + len(vectors)))
        print(f"load: {start + len(vectors)} rows, {len(vectors) / calls[-1]:.0f} rows/s", flush=True)
    return {"calls": calls, "progress": progress}


def copy_all(conn: psycopg.Connection[Any], mixture: Mixture, batch: int) -> float:
    """Write the same rows into the reference table by binary COPY; seconds taken."""
    started = time.perf_counter()
    for start, vectors in mixture.batches(batch):
        with conn.cursor() as cursor, cursor.copy("COPY bench_ref.t FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "text", "float4[]"])
            for row in rows_of(start, vectors):
                copy.write_row((row["id"], row["content"], row["embedding"]))
    return time.perf_counter() - started


def timed_sql(conn: psycopg.Connection[Any], *statements: str) -> float:
    started = time.perf_counter()
    for statement in statements:
        conn.execute(statement.encode())
    return time.perf_counter() - started


async def search(
    client: Client, noop: Client, conn: psycopg.Connection[Any], queries: np.ndarray, truth: list[set[int]]
) -> dict[str, Json]:
    """Latencies (ms) and recall@10 of the tool and of raw pgvector, and the latency of the no-op tool's call
    with the same arguments, query by query in turn."""
    conn.execute(f"SET hnsw.ef_search = {EF_SEARCH}".encode())
    found: dict[str, Json] = {name: {"ms": [], "recall": []} for name in ("ours", "pgvector", "noop")}

    async def ours(q: list[float]) -> list[int]:
        result = await call(client, "semantic_search", {"table": "t", "vector": q, "k": K, "columns": ["id"]})
        return [int(row[0]) for row in result["rows"]]

    async def raw(q: list[float]) -> list[int]:
        return [int(row[0]) for row in conn.execute(REFERENCE_SEARCH, [str(q)]).fetchall()]

    async def nothing(q: list[float]) -> list[int]:
        await call(noop, "noop", {"table": "t", "vector": q, "k": K, "columns": ["id"]})
        return []

    ways = [("ours", ours), ("pgvector", raw), ("noop", nothing)]
    listed = queries.tolist()
    for q in listed:  # a warm-up pass: both indexes as cached as PostgreSQL's page cache can keep them
        for _, way in ways:
            await way(q)
    for i, q in enumerate(listed):
        for name, way in ways[i % 3 :] + ways[: i % 3]:  # who goes first rotates
            began = time.perf_counter()
            ids = await way(q)
            if i >= 10:
                found[name]["ms"].append(1000 * (time.perf_counter() - began))
                found[name]["recall"].append(len(truth[i] & set(ids)) / K)
    return found


async def build_over(conn: psycopg.Connection[Any]) -> str | None:
    """The index's ann_status once its build is over: one that outlasts the CREATE INDEX call (the call's
    time is capped) goes on in the background, and searches are exact until it is ready."""
    for _ in range(43_200):  # up to six hours (the background build's own limit), checked every 0.5 s
        found = conn.execute(_STATUS).fetchone()
        if found is None or found[0] != "pending":
            return None if found is None else str(found[0])
        await asyncio.sleep(0.5)
    return "pending"


async def run(data_dir: Path, rows: int, batch: int, n_queries: int) -> Json:
    mixture = Mixture(rows)
    data = np.empty((rows, DIM), dtype=np.float32)
    async with stdio_session(SERVER_CMD, server_env(data_dir)) as (client, proc):
        await call(client, "execute_sql", {"sql": TABLE})
        with postgres(data_dir) as conn:
            with RssSampler(proc, interval=0.25) as rss:
                loaded = await load(client, mixture, batch, data, rss)
                loaded_at = rss.now()
                print("load: deeplake_index build", flush=True)
                began = time.perf_counter()
                await call(
                    client, "execute_sql", {"sql": "CREATE INDEX idx ON t USING deeplake_index (embedding DESC)"}
                )
                status = await build_over(conn)
                ours_build = time.perf_counter() - began
                indexed_at = rss.now()
            print("load: binary COPY and pgvector's own build", flush=True)
            timed_sql(conn, REFERENCE)
            copy_s = copy_all(conn, mixture, batch)
            ref_build = timed_sql(
                conn, "SET maintenance_work_mem = '2GB'", REFERENCE_INDEX.format(ef_construction(rows))
            )
            queries = mixture.sample(n_queries + 10, seed=1)
            print("load: search", flush=True)
            async with stdio_session(NOOP_CMD) as (noop, _):
                found = await search(client, noop, conn, queries, exact_top(data, queries))
    tenth = max(1, len(loaded["calls"]) // 10)
    first_tenth_end = loaded["progress"][tenth - 1][0]
    return {
        **loaded,
        "ann_status": status,
        "copy_s": copy_s,
        "ours_build_s": ours_build,
        "ref_build_s": ref_build,
        "search": found,
        "rss": rss.samples,
        "events": {"loaded": loaded_at, "indexed": indexed_at},
        "peak_first_tenth": max(mb for t, mb in rss.samples if t <= first_tenth_end),
        "peak_load": max(mb for t, mb in rss.samples if t <= loaded_at),
    }


def main() -> None:
    cli = parser("load", __doc__)
    cli.add_argument("--rows", type=int, default=100_000)
    cli.add_argument("--batch", type=int, default=5000)
    cli.add_argument("--queries", type=int, default=200)
    opts = cli.parse_args()
    with temp_data_dir("load") as data_dir:
        r = asyncio.run(run(data_dir, opts.rows, opts.batch, opts.queries))
    ours, ref, noop = r["search"]["ours"], r["search"]["pgvector"], r["search"]["noop"]
    size = f"{opts.rows} × 384"
    measures = [
        measure(
            f"load {size} through insert_rows ({opts.batch} rows per call)",
            opts.rows / sum(r["calls"]),
            "rows/s",
            reference="binary COPY, same rows",
            reference_value=opts.rows / r["copy_s"],
        ),
        measure(
            f"server peak RSS, loading {size}",
            r["peak_load"],
            "MB",
            reference="peak in the first tenth of the load",
            reference_value=r["peak_first_tenth"],
            goal=target("ratio", "<=", 1.2),
        ),
        measure(
            f"index build, {size} (deeplake_index, {r['ann_status']})",
            r["ours_build_s"],
            "s",
            reference="pgvector's own hnsw build",
            reference_value=r["ref_build_s"],
        ),
        measure(
            f"semantic_search p50, {size}",
            p50(ours["ms"]),
            "ms",
            reference="raw pgvector HNSW via psycopg",
            reference_value=p50(ref["ms"]),
            goal=target("ratio", "<=", 1.5),
        ),
        measure(
            f"semantic_search p50, {size}, against its floor (raw + a no-op tool call over stdio, "
            f"{p50(noop['ms']):.2f} ms)",
            p50(ours["ms"]),
            "ms",
            reference="raw pgvector HNSW via psycopg + no-op tool over stdio",
            reference_value=p50(ref["ms"]) + p50(noop["ms"]),
        ),
        measure(
            f"semantic_search p99, {size}",
            percentile(ours["ms"], 99),
            "ms",
            reference="raw pgvector HNSW via psycopg",
            reference_value=percentile(ref["ms"], 99),
        ),
        measure(
            f"semantic_search recall@10, {size}",
            float(np.mean(ours["recall"])),
            "",
            reference="raw pgvector HNSW",
            reference_value=float(np.mean(ref["recall"])),
            goal=target("value", ">=", 0.98),
        ),
    ]
    series = {
        "load_over_time": {"progress": r["progress"], "rss": r["rss"], "events": r["events"], "rows": opts.rows},
        "search_by_rows": [
            {
                "rows": opts.rows,
                "semantic_search, stdio (big load)": p50(ours["ms"]),
                "raw pgvector HNSW (big load)": p50(ref["ms"]),
            },
        ],
    }
    params = {"rows": opts.rows, "batch": opts.batch, "queries": opts.queries, "dimensions": DIM}
    write_result(opts.json_out, "load", params, measures, series)


if __name__ == "__main__":
    main()
