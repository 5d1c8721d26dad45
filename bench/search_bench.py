"""Vector search on the embedded backend: HNSW through a vector deeplake_index vs the exact scan.

Per dataset (``clustered``: a Gaussian mixture, one cluster per 100 rows, queries are new samples of
the mixture, like real embeddings and the questions asked of them; ``random``: i.i.d. normal vectors
and queries, the worst case for any ANN index), in a fresh data directory:

1. load N rows (id, cat = id % 10, bucket = id % 100, a short text, a D-dim vector) through the local
   API's batch insert;
2. (c) the exact scan, no index: ``SELECT id, embedding <#> ARRAY[…]::float4[] AS score FROM t ORDER BY
   score DESC LIMIT 10`` through ``POST /workspaces/{ws}/tables/query`` in-process;
3. ``CREATE INDEX … USING deeplake_index (embedding DESC)`` (timed: it builds the HNSW companion);
4. (a) the same ranking SQL through the index; (b) with ``WHERE cat = 3`` (10 % of the rows) and
   ``WHERE bucket = 7`` (1 %: the planner's estimate sends it to the exact path);
5. (d) the MCP tool ``semantic_search`` with ``vector=`` through the in-process SDK client (it also
   describes the table on each call).

Latency is wall time per request (p50/p95 over the queries); recall@10 is against numpy's exact cosine
top 10 (with the filter applied). Prints a table and writes ``bench/results/search.json`` and
``search.png``. ``--sweep 40,100,200`` also measures (a) at other base ``hnsw.ef_search`` values.

    .venv/bin/python bench/search_bench.py [--rows 100000] [--dim 384] [--queries 200]
        [--exact-queries 100] [--datasets clustered,random] [--sweep 40,100,200] [--replot]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from mcp import Client

from deeplake_mcp.app import build_server
from deeplake_mcp.local import LocalBackend, _ann, create_app
from deeplake_mcp.settings import load_settings

RESULTS = Path(__file__).parent / "results"
WS = "bench"
K = 10
BATCH = 1000
FILTERS = {"cat = 3": ("cat", 10, 3), "bucket = 7": ("bucket", 100, 7)}


def make_data(kind: str, rows: int, dim: int, queries: int) -> tuple[np.ndarray, np.ndarray]:
    """Vectors (rounded to 4 decimals, so that PostgreSQL stores exactly numpy's float32) and queries."""
    rng = np.random.default_rng(7)
    if kind == "clustered":
        centers = rng.standard_normal((max(1, rows // 100), dim))
        data = centers[rng.integers(0, len(centers), rows)] + 0.5 * rng.standard_normal((rows, dim))
        qs = centers[rng.integers(0, len(centers), queries)] + 0.5 * rng.standard_normal((queries, dim))
    elif kind == "random":
        data = rng.standard_normal((rows, dim))
        qs = rng.standard_normal((queries, dim))
    else:
        raise SystemExit(f"unknown dataset {kind!r}")
    return np.round(data, 4), np.round(qs, 4)


def exact_top(data: np.ndarray, qs: np.ndarray, mask: np.ndarray | None = None) -> list[set[int]]:
    """Ids (= row numbers) of the K best cosine matches of each query, in float32 like PostgreSQL."""
    x = data.astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = qs.astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    tops: list[set[int]] = []
    for start in range(0, len(q), 50):
        scores = x @ q[start : start + 50].T
        if mask is not None:
            scores[~mask] = -np.inf
        best = np.argpartition(-scores, K, axis=0)[:K].T
        tops.extend(set(map(int, row)) for row in best)
    return tops


def vector_text(values: np.ndarray) -> list[str]:
    buffer = io.StringIO()
    np.savetxt(buffer, values, fmt="%.4f", delimiter=",")
    return ["{" + line + "}" for line in buffer.getvalue().splitlines()]


def literal(vector: np.ndarray) -> str:
    return "ARRAY[" + ",".join(f"{x:.4f}" for x in vector) + "]::float4[]"


def summary(latencies: list[float], recalls: list[float]) -> dict[str, Any]:
    ms = sorted(1000 * t for t in latencies)
    return {
        "queries": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
        "recall_at_10": round(statistics.fmean(recalls), 4) if recalls else None,
        "min_recall": min(recalls) if recalls else None,
        "latencies_ms": [round(t, 3) for t in ms],
    }


async def measure(
    call: Callable[[np.ndarray], Awaitable[list[int]]], qs: np.ndarray, truth: list[set[int]]
) -> dict[str, Any]:
    await call(qs[0])  # warm up (plans, caches)
    latencies, recalls = [], []
    for q, top in zip(qs, truth, strict=True):
        started = time.perf_counter()
        ids = await call(q)
        latencies.append(time.perf_counter() - started)
        recalls.append(len(top & set(ids)) / K)
    return summary(latencies, recalls)


async def run_dataset(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    data, qs = make_data(kind, args.rows, args.dim, args.queries)
    truth = exact_top(data, qs)
    ids = np.arange(args.rows)
    data_dir = Path(tempfile.mkdtemp(prefix=f"deeplake-search-{kind}-"))
    result: dict[str, Any] = {"dataset": kind, "rows": args.rows, "dimensions": args.dim}
    print(f"[{kind}] {args.rows} x {args.dim}: loading into {data_dir}", flush=True)

    async with LocalBackend(data_dir) as backend:
        transport = httpx.ASGITransport(app=create_app(backend))
        async with httpx.AsyncClient(transport=transport, base_url="http://local", timeout=None) as api:

            async def sql(query: str, **extra: Any) -> Any:
                response = await api.post(f"/workspaces/{WS}/tables/query", json={"query": query, **extra})
                assert response.status_code == 200, response.text
                return response.json()

            (await api.post("/workspaces", json={"id": WS})).raise_for_status()
            await sql("CREATE TABLE t (id INT, cat INT, bucket INT, content TEXT, embedding FLOAT4[]) USING deeplake")
            started = time.perf_counter()
            texts = vector_text(data)
            for start in range(0, args.rows, BATCH):
                batch = [
                    [i, i % 10, i % 100, f"chunk {i} about topic {i % 97}", texts[i]]
                    for i in range(start, min(start + BATCH, args.rows))
                ]
                response = await api.post(
                    f"/workspaces/{WS}/tables/query/batch",
                    json={"query": "INSERT INTO t VALUES ($1, $2, $3, $4, $5)", "params_batch": batch},
                )
                assert response.status_code == 200, response.text
            result["load_s"] = round(time.perf_counter() - started, 1)
            await sql("ANALYZE t")

            def ranking(where: str = "") -> Callable[[np.ndarray], Awaitable[list[int]]]:
                async def call(q: np.ndarray) -> list[int]:
                    body = await sql(
                        f"SELECT id, embedding <#> {literal(q)} AS score FROM t {where} ORDER BY score DESC LIMIT {K}"
                    )
                    return [int(row[0]) for row in body["rows"]]

                return call

            n_exact = min(args.exact_queries, args.queries)
            print(f"[{kind}] (c) exact scan, {n_exact} queries", flush=True)
            result["exact"] = await measure(ranking(), qs[:n_exact], truth[:n_exact])
            result["exact_filtered"] = {}
            for label, (column, modulo, value) in FILTERS.items():
                filtered = exact_top(data, qs[:n_exact], ids % modulo == value)
                result["exact_filtered"][label] = await measure(
                    ranking(f"WHERE {column} = {value}"), qs[:n_exact], filtered
                )

            print(f"[{kind}] building the index", flush=True)
            started = time.perf_counter()
            await sql("CREATE INDEX idx ON t USING deeplake_index (embedding DESC)", timeout_ms=600_000)
            result["build_s"] = round(time.perf_counter() - started, 1)
            status = await sql("SELECT ann_status, ann_index FROM deeplake_indexes WHERE index_name = 'idx'")
            assert status["rows"][0][0] == "ready", status
            size = await sql(f"SELECT pg_relation_size('{status['rows'][0][1]}') / 1048576.0")
            result["index_mb"] = round(float(size["rows"][0][0]), 1)

            print(f"[{kind}] (a) through the index, {args.queries} queries", flush=True)
            result["ann"] = await measure(ranking(), qs, truth)
            result["ann_ef_search"] = _ann.EF_SEARCH
            result["filtered"] = {}
            for label, (column, modulo, value) in FILTERS.items():
                print(f"[{kind}] (b) WHERE {label}", flush=True)
                mask = ids % modulo == value
                filtered = exact_top(data, qs, mask)
                result["filtered"][label] = await measure(ranking(f"WHERE {column} = {value}"), qs, filtered)
                explain = await sql(
                    f"EXPLAIN SELECT id FROM t WHERE {label} ORDER BY embedding <#> {literal(qs[0])} LIMIT {K}"
                )
                result["filtered"][label]["uses_index"] = any("hnsw" in row[0] for row in explain["rows"])
            sweep: dict[str, Any] = {}
            default = _ann.EF_SEARCH
            for ef in args.sweep:
                _ann.EF_SEARCH = ef
                print(f"[{kind}] (a) with ef_search {ef}", flush=True)
                sweep[str(ef)] = await measure(ranking(), qs, truth)
            _ann.EF_SEARCH = default
            result["ef_sweep"] = sweep

    print(f"[{kind}] (d) semantic_search through MCP, {args.queries} queries", flush=True)
    settings = load_settings({"data_dir": data_dir, "backend": "local"}, environ={})
    async with Client(build_server(settings)) as client:
        logging.getLogger("httpx").setLevel(logging.WARNING)  # the server's logging setup turns it on

        async def tool(q: np.ndarray) -> list[int]:
            called = await client.call_tool(
                "semantic_search", {"table": "t", "vector": q.tolist(), "k": K, "workspace": WS, "columns": ["id"]}
            )
            assert not called.is_error, called.content
            content = called.structured_content
            assert content is not None
            return [int(row[0]) for row in content["rows"]]

        result["tool"] = await measure(tool, qs, truth)
    return result


def print_table(results: list[dict[str, Any]]) -> None:
    print()
    print(f"{'dataset':10} {'case':34} {'p50 ms':>8} {'p95 ms':>8} {'recall@10':>10} {'min':>5}")
    for r in results:
        cases = [("(c) exact scan, no index", r["exact"])]
        cases += [(f"(c) exact scan, WHERE {label}", s) for label, s in r["exact_filtered"].items()]
        cases += [(f"(a) index (ef_search {r['ann_ef_search']})", r["ann"])]
        cases += [(f"(b) indexed, WHERE {label}", s) for label, s in r["filtered"].items()]
        cases += [("(d) semantic_search tool", r["tool"])]
        cases += [(f"    sweep ef_search {ef}", s) for ef, s in r["ef_sweep"].items()]
        for name, s in cases:
            print(
                f"{r['dataset']:10} {name:34} {s['p50_ms']:8.1f} {s['p95_ms']:8.1f} "
                f"{s['recall_at_10']:10.3f} {s['min_recall']:5.1f}"
            )
        print(
            f"{r['dataset']:10} load {r['load_s']} s, index build {r['build_s']} s ({r['index_mb']} MB); "
            + ", ".join(
                f"WHERE {label}: {'index' if s['uses_index'] else 'exact'}" for label, s in r["filtered"].items()
            )
        )


def plot(results: list[dict[str, Any]]) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot")
        return
    fig, axes = plt.subplots(len(results), 2, figsize=(13, 3.8 * len(results)), squeeze=False)
    for row, r in zip(axes, results, strict=True):
        labels = ["no index", *(f"no index\n{label}" for label in r["exact_filtered"]), "indexed"]
        labels += [*(f"indexed\n{label}" for label in r["filtered"]), "tool"]
        stats = [r["exact"], *r["exact_filtered"].values(), r["ann"], *r["filtered"].values(), r["tool"]]
        row[0].boxplot([s["latencies_ms"] for s in stats], showfliers=False)
        row[0].set_xticks(range(1, len(labels) + 1), labels, fontsize=7)
        row[0].set_yscale("log")
        row[0].axhline(20, color="red", linestyle="--", linewidth=1, label="20 ms target")
        row[0].set_ylabel("latency (ms, log)")
        row[0].set_title(f"{r['dataset']}: {r['rows']} x {r['dimensions']}, latency per query")
        row[0].legend(fontsize=8)
        recalls = [s["recall_at_10"] for s in stats]
        row[1].bar(range(len(labels)), recalls, color="#3b7dd8")
        row[1].set_xticks(range(len(labels)), labels, fontsize=7)
        row[1].axhline(0.95, color="red", linestyle="--", linewidth=1, label="0.95 target")
        row[1].set_ylim(0, 1.05)
        row[1].set_ylabel("recall@10 vs exact")
        row[1].set_title(f"{r['dataset']}: recall (index build {r['build_s']} s)")
        row[1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(RESULTS / "search.png", dpi=110)


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    return [await run_dataset(kind, args) for kind in args.datasets]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--exact-queries", type=int, default=100)
    parser.add_argument("--datasets", type=lambda s: s.split(","), default=["clustered", "random"])
    parser.add_argument("--sweep", type=lambda s: [int(x) for x in s.split(",") if x], default=[])
    parser.add_argument("--output", default="search")
    parser.add_argument("--replot", action="store_true", help="print and plot the saved results only")
    args = parser.parse_args()
    if args.replot:
        results = json.loads((RESULTS / f"{args.output}.json").read_text())
    else:
        results = asyncio.run(main_async(args))
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"{args.output}.json").write_text(json.dumps(results, indent=1))
    print_table(results)
    if args.output == "search":
        plot(results)


if __name__ == "__main__":
    main()
