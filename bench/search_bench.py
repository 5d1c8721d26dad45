"""Vector search side by side in one run: raw pgvector HNSW vs every search path of the server.

One embedded PostgreSQL holds N x D clustered vectors (a Gaussian mixture, one centre per 100 rows,
``--noise`` the spread of each cluster; queries are new samples of the mixture, the way real embeddings
and the questions asked of them behave) three times over:

* ``docs`` (``embedding FLOAT4[]``): created through the MCP tools (``execute_sql``), loaded with COPY,
  then ``CREATE INDEX … USING deeplake_index (embedding DESC)`` through the tool, which builds its pgvector
  HNSW companion (cosine); the first ``<->`` search through the tool then starts its L2 companion's build
  (timed until the index exists);
* ``docs_q``: the same rows, with ``CREATE INDEX … USING deeplake_index (embedding DESC) WITH (index_type =
  'quantized')`` (half precision);
* ``ref`` (``embedding vector(D)``): the same rows with plain pgvector HNSW indexes, one cosine, one L2
  (same m, ef_construction and build memory as the companions).

With every table and index in PostgreSQL's buffers (``pg_prewarm``), each case then runs every query, the
cases interleaved in rounds (one query each, in a new order per round) so that other load on the machine hits
all alike, each case taking the queries in an order of its own (the same vector twice in a row would find its
path through the graph in the CPU's caches):

* ``raw``: psycopg straight to PostgreSQL, ``SELECT id FROM ref ORDER BY embedding <=> %s::vector LIMIT k``
  at the same ``hnsw.ef_search`` as the server: **the reference** (of ``query <-> float4[]``: ``raw <->``, the same
  with pgvector's L2 distance through its L2 index, since an L2 graph search costs more than a cosine one);
* ``rest``: the statement ``semantic_search`` sends (the vector as ``$1``), through the server's REST client
  (in-process: the local API's query route called as a function);
* ``semantic_search``: the MCP tool with ``vector=``, through the SDK's in-process ``Client`` (``… quantized``:
  the same on ``docs_q``);
* ``no-op tool``: the same arguments to the SDK's own server with a tool that does nothing
  (``noop_server.py``), in-process too: what the SDK costs by itself. ``raw`` plus this is the floor of
  ``semantic_search`` (``ratio_to_floor``): PostgreSQL's search and an MCP call, with nothing of ours;
* ``query …``: the MCP ``query`` tool (inside its own ``LIMIT`` wrapper) with ranking SQL written by hand:
  Deep Lake's ``<#>`` and pgvector's ``<=>`` / ``<->`` on the float4[] column, and ``<=>`` on ``ref``.

Reported per case: p50 / p99 latency, recall@k against the exact top k (numpy, float32; L2 for ``<->``,
cosine otherwise), the ratio of its p50 to its reference's, and for ``query`` cases whether the plan uses an
HNSW index.
Writes JSON (``--json-out``, default ``bench/results/search.json``) and a PNG next to it (matplotlib, if
installed).

    .venv/bin/python bench/search_bench.py [--rows 100000] [--dim 384] [--queries 200] [--k 10] [--noise 0.5]
        [--data-dir DIR (kept, reused when it holds the same data)] [--json-out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import noop_server
import numpy as np
import psycopg
from mcp import Client

from deeplake_mcp.app import build_server
from deeplake_mcp.local import _indexes
from deeplake_mcp.runtime import Runtime, open_runtime
from deeplake_mcp.settings import load_settings

RESULTS = Path(__file__).parent / "results"
WS = "bench"
SEED = 7
WARM_UP = 20
Call = Callable[[], Awaitable[list[int] | None]]
Case = Callable[[np.ndarray], Call]
"""A way to search: given a query vector (the request is built untimed), the timed call that runs it (its
row ids; None for the no-op tool, which finds nothing)."""


# Data and ground truth


def make_data(rows: int, dim: int, queries: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Vectors and queries rounded to 4 decimals, so PostgreSQL stores exactly numpy's float32."""
    rng = np.random.default_rng(SEED)
    centers = rng.standard_normal((max(1, rows // 100), dim))
    data = centers[rng.integers(0, len(centers), rows)] + noise * rng.standard_normal((rows, dim))
    qs = centers[rng.integers(0, len(centers), queries)] + noise * rng.standard_normal((queries, dim))
    return np.round(data, 4).astype(np.float32), np.round(qs, 4).astype(np.float32)


def exact_top(data: np.ndarray, qs: np.ndarray, k: int, metric: str) -> list[set[int]]:
    """Ids (= row numbers) of the k nearest rows of each query: by cosine, or by L2 distance."""
    if metric == "cosine":
        x = data / np.linalg.norm(data, axis=1, keepdims=True)
        q = qs / np.linalg.norm(qs, axis=1, keepdims=True)
    else:
        x, q = data, qs
    norms = (x * x).sum(axis=1)
    tops: list[set[int]] = []
    for start in range(0, len(q), 50):
        block = q[start : start + 50]
        # cosine: best = highest dot product; L2: smallest |x|^2 - 2 x.q (|q|^2 is the same for all rows)
        cost = -(x @ block.T) if metric == "cosine" else norms[:, None] - 2 * (x @ block.T)
        best = np.argpartition(cost, k, axis=0)[:k].T
        tops.extend(set(map(int, row)) for row in best)
    return tops


def texts(values: np.ndarray, brackets: str) -> list[str]:
    """Each row as `{…}` (float4[]) or `[…]` (vector) text."""
    opening, closing = brackets
    return [opening + ",".join(f"{x:.4f}" for x in row) + closing for row in values.tolist()]


# Setup: the tables, through the tools where the server has one


async def tool(client: Client, name: str, arguments: dict[str, Any]) -> Any:
    called = await client.call_tool(name, arguments)
    if called.is_error:
        raise RuntimeError(" ".join(getattr(block, "text", "") for block in called.content))
    return called.structured_content


def socket_dir(data_dir: Path) -> str:
    """Where the embedded server listens (its private socket directory)."""
    return (data_dir / "pg" / "postmaster.pid").read_text().splitlines()[4]


def superuser(data_dir: Path) -> psycopg.Connection[Any]:
    """A superuser connection to the embedded server: for loading only."""
    return psycopg.connect(host=socket_dir(data_dir), dbname="postgres", user="postgres", autocommit=True)


async def prepare(client: Client, data_dir: Path, data: np.ndarray, made: dict[str, Any]) -> dict[str, Any]:
    """Create and load ``docs`` and ``ref`` unless the data dir already holds them (as ``made``); build times."""
    marker = data_dir / "search_bench.json"
    if marker.exists():
        if json.loads(marker.read_text()) != made:
            raise SystemExit(f"{data_dir} holds other data ({marker.read_text().strip()}); use another --data-dir")
        print(f"reusing the tables in {data_dir}", flush=True)
        return {}
    rows, dim = data.shape
    print(f"loading {rows} x {dim} into {data_dir}", flush=True)
    await tool(client, "manage_workspaces", {"action": "create", "workspace": WS})
    for table in ("docs", "docs_q"):
        await tool(client, "execute_sql", {"sql": f"CREATE TABLE {table} (id INT, embedding FLOAT4[]) USING deeplake"})
    await tool(client, "execute_sql", {"sql": f"CREATE TABLE ref (id INT, embedding vector({dim})) USING deeplake"})
    started = time.perf_counter()
    with superuser(data_dir) as conn:
        for table, brackets in (("docs", "{}"), ("docs_q", "{}"), ("ref", "[]")):
            with conn.cursor().copy(f"COPY {WS}.{table} (id, embedding) FROM STDIN") as copy:
                for i, text in enumerate(texts(data, brackets)):
                    copy.write_row((i, text))
            conn.execute(f"ANALYZE {WS}.{table}")
    timings: dict[str, Any] = {"load_s": round(time.perf_counter() - started, 1)}

    started = time.perf_counter()
    await tool(client, "execute_sql", {"sql": "CREATE INDEX idx ON docs USING deeplake_index (embedding DESC)"})
    timings["deeplake_index_build_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    quantized = "CREATE INDEX idx_q ON docs_q USING deeplake_index (embedding DESC) WITH (index_type = 'quantized')"
    await tool(client, "execute_sql", {"sql": quantized})
    timings["quantized_index_build_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    first_l2 = f"SELECT id FROM docs ORDER BY embedding <-> ARRAY[{','.join(['1'] * dim)}]::float4[] LIMIT 1"
    await tool(client, "query", {"sql": first_l2})  # starts the L2 companion's build, in the background
    built = "SELECT FROM pg_class WHERE relname LIKE 'idx\\_dl\\_hnsw\\_l2\\_%'"
    with superuser(data_dir) as conn:
        for _ in range(36_000):  # up to two hours, checked every 0.2 s
            if conn.execute(built).fetchone() is not None:  # a row of no columns: () when found
                break
            await asyncio.sleep(0.2)
    timings["l2_companion_build_s"] = round(time.perf_counter() - started, 1)
    with superuser(data_dir) as conn:
        size = conn.execute("SELECT pg_table_size(%s::regclass)", [f"{WS}.ref"]).fetchone()
        assert size is not None
        memory = max(65536, min(2097152, 2 * int(size[0]) // 1024))  # as the companion's build
        conn.execute(f"SET maintenance_work_mem = '{memory}kB'")
        started = time.perf_counter()
        conn.execute(reference_index("ref_hnsw", "vector_cosine_ops", len(data)))
        timings["pgvector_build_s"] = round(time.perf_counter() - started, 1)
    marker.write_text(json.dumps(made))
    return timings


def index_sizes(data_dir: Path) -> dict[str, float]:
    """MB on disk of the cosine indexes searched: the deeplake_index companions and pgvector's own."""
    names = {"deeplake_index": "idx\\_dl\\_hnsw\\_%", "quantized": "idx\\_q\\_dl\\_hnsw\\_%", "pgvector": "ref\\_hnsw"}
    with superuser(data_dir) as conn:
        return {
            label: round(float(found[0]) / 2**20, 1)
            for label, pattern in names.items()
            if (found := conn.execute(_SIZE, [WS, pattern]).fetchone()) is not None and found[0] is not None
        }


_SIZE = """SELECT sum(pg_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = %s AND c.relname LIKE %s AND c.relname NOT LIKE '%%\\_l2\\_%%'"""


def prewarm(data_dir: Path) -> float:
    """Every table and index of the bench in PostgreSQL's buffers (``pg_prewarm``, installed for this and dropped
    again), so that no case pays for reading pages the others found there: which of them were still in the
    buffers depended on the order of the builds. The seconds it took."""
    started = time.perf_counter()
    with superuser(data_dir) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        relations = "SELECT oid FROM pg_class WHERE relnamespace = %s::regnamespace AND relkind IN ('r', 'i')"
        conn.execute(f"SELECT pg_prewarm(oid) FROM ({relations}) r", [WS])
        conn.execute("DROP EXTENSION pg_prewarm")
    return round(time.perf_counter() - started, 1)


def reference_index(name: str, ops: str, rows: int) -> str:
    """pgvector's own HNSW index on ``ref``, built as the server builds its companions for ``rows`` rows."""
    options = f"ef_construction = {_indexes.ef_construction(rows)}"
    return f"CREATE INDEX {name} ON {WS}.ref USING hnsw (embedding deeplake_compat.{ops}) WITH ({options})"


def l2_reference(data_dir: Path, rows: int) -> float | None:
    """pgvector's own L2 HNSW index on ``ref`` (data dirs loaded before it existed lack it): its build time,
    None when it was there."""
    with superuser(data_dir) as conn:
        if conn.execute(f"SELECT to_regclass('{WS}.ref_hnsw_l2')").fetchone() != (None,):
            return None
        size = conn.execute("SELECT pg_table_size(%s::regclass)", [f"{WS}.ref"]).fetchone()
        assert size is not None
        conn.execute(f"SET maintenance_work_mem = '{max(65536, min(2097152, 2 * int(size[0]) // 1024))}kB'")
        started = time.perf_counter()
        conn.execute(reference_index("ref_hnsw_l2", "vector_l2_ops", rows))
        return round(time.perf_counter() - started, 1)


# The cases


def raw_case(conn: psycopg.AsyncConnection[Any], k: int, operator: str = "<=>") -> Case:
    def prepared(q: np.ndarray) -> Call:
        text = "[" + ",".join(f"{x:.4f}" for x in q.tolist()) + "]"

        async def call() -> list[int]:
            cur = await conn.execute(f"SELECT id FROM ref ORDER BY embedding {operator} %s::vector LIMIT {k}", [text])
            return [row[0] for row in await cur.fetchall()]

        return call

    return prepared


def rest_case(rt: Runtime, k: int) -> Case:
    sql = (
        f'SELECT "id", "embedding" <#> $1::float4[] AS score FROM "{WS}"."docs" '
        f'WHERE array_length("embedding", 1) > 0 ORDER BY score DESC LIMIT {k}'
    )

    def prepared(q: np.ndarray) -> Call:
        params = [q.tolist()]

        async def call() -> list[int]:
            result = await rt.client.query(WS, sql, params, timeout_ms=60_000, read_only=True)
            return [int(row[0]) for row in result.rows]

        return call

    return prepared


def search_case(client: Client, k: int, table: str = "docs") -> Case:
    def prepared(q: np.ndarray) -> Call:
        arguments = {"table": table, "vector": q.tolist(), "k": k, "workspace": WS, "columns": ["id"]}
        return tool_call(client, "semantic_search", arguments)

    return prepared


def noop_case(client: Client, k: int) -> Case:
    def prepared(q: np.ndarray) -> Call:
        arguments = {"table": "docs", "vector": q.tolist(), "k": k, "workspace": WS, "columns": ["id"]}

        async def call() -> None:
            await tool(client, "noop", arguments)

        return call

    return prepared


def query_case(client: Client, template: str) -> Case:
    def prepared(q: np.ndarray) -> Call:
        return tool_call(client, "query", {"sql": template.format(q=literal(q), v=vector(q)), "workspace": WS})

    return prepared


def tool_call(client: Client, name: str, arguments: dict[str, Any]) -> Call:
    async def call() -> list[int]:
        found = await tool(client, name, arguments)
        return [int(row[0]) for row in found["rows"]]

    return call


def literal(q: np.ndarray) -> str:
    return "ARRAY[" + ",".join(f"{x:.4f}" for x in q.tolist()) + "]::float4[]"


def vector(q: np.ndarray) -> str:
    return "'[" + ",".join(f"{x:.4f}" for x in q.tolist()) + "]'::vector"


REFERENCES = {"query <-> float4[]": "raw <->"}
"""The reference of a case, when it is not ``raw``."""

QUERIES = {
    "query <#>": ("SELECT id FROM docs ORDER BY embedding <#> {q} LIMIT {k}", "cosine"),
    "query <#> AS score DESC": (
        "SELECT id, embedding <#> {q} AS score FROM docs ORDER BY score DESC LIMIT {k}",
        "cosine",
    ),
    "query <=> float4[]": ("SELECT id FROM docs ORDER BY embedding <=> {q} LIMIT {k}", "cosine"),
    "query <=> vector": ("SELECT id FROM ref ORDER BY embedding <=> {v} LIMIT {k}", "cosine"),
    "query <-> float4[]": ("SELECT id FROM docs ORDER BY embedding <-> {q} LIMIT {k}", "l2"),
}
"""``query`` tool cases: SQL (``{q}`` a float4[] literal, ``{v}`` a vector literal) and the metric it ranks by."""


async def uses_hnsw(client: Client, sql: str) -> bool | None:
    try:
        plan = await tool(client, "query", {"sql": f"EXPLAIN {sql}", "workspace": WS})
    except RuntimeError:
        return None
    return any("hnsw" in str(row[0]) for row in plan["rows"])


# Measuring


async def measure(
    cases: dict[str, Case], qs: np.ndarray, truths: dict[str, list[set[int]]], k: int, warm_up: int
) -> dict[str, Any]:
    """Every query through every case, a round of all cases at a time, in a new random order per round (so
    that no case always follows the same other, e.g. one that fills the buffer cache with another table),
    each case taking the queries in an order of its own: the same vector twice in a row finds its path
    through the graph in the CPU's caches, which favoured the tables more cases search. Latency and recall
    per case."""
    rng = random.Random(SEED)
    errors: dict[str, str] = {}
    for name, case in cases.items():
        try:
            for q in qs[:warm_up]:
                await case(q)()
        except Exception as exc:
            errors[name] = f"{type(exc).__name__}: {exc}"[:300]
            print(f"  {name}: {errors[name]}", flush=True)
    live = [name for name in cases if name not in errors]
    latencies: dict[str, list[float]] = {name: [] for name in live}
    recalls: dict[str, list[float]] = {name: [] for name in live}
    timed = range(warm_up, len(qs))
    orders = {name: rng.sample(timed, len(timed)) for name in live}
    for round_ in range(len(timed)):
        rng.shuffle(live)
        for name in live:
            i = orders[name][round_]
            call = cases[name](qs[i])
            started = time.perf_counter()
            ids = await call()
            latencies[name].append(1000 * (time.perf_counter() - started))
            if ids is not None:
                recalls[name].append(len(truths[name][i] & set(ids)) / k)
    results: dict[str, Any] = {name: {"error": error} for name, error in errors.items()}
    for name in cases:
        if name in errors:
            continue
        ms = latencies[name]
        results[name] = {
            "p50_ms": round(statistics.median(ms), 2),
            "p99_ms": round(float(np.percentile(ms, 99)), 2),
            "mean_ms": round(statistics.fmean(ms), 2),
        }
        if recalls[name]:
            recall = round(statistics.fmean(recalls[name]), 4)
            results[name] |= {f"recall_at_{k}": recall, "min_recall": min(recalls[name])}
    return results


async def run(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    data, qs = make_data(args.rows, args.dim, args.queries + WARM_UP, args.noise)
    truth = {metric: exact_top(data, qs, args.k, metric) for metric in ("cosine", "l2")}
    settings = load_settings(
        {"data_dir": data_dir, "backend": "local", "workspace": WS, "admin_tools": True, "embedder": "none"},
        environ={"DEEPLAKE_MCP_QUERY_TIMEOUT": "1200"},
    )
    ef_search = _indexes.EF_SEARCH
    async with (
        open_runtime(settings) as rt,
        Client(build_server(settings, runtime=rt)) as client,
        Client(noop_server.server) as noop,
    ):
        logging.getLogger("httpx").setLevel(logging.WARNING)  # the server's logging setup turns it on
        result: dict[str, Any] = {
            "rows": args.rows,
            "dim": args.dim,
            "noise": args.noise,
            "k": args.k,
            "ef_search": ef_search,
        }
        made = {"rows": args.rows, "dim": args.dim, "noise": args.noise, "seed": SEED, "tables": "docs, docs_q, ref"}
        result["build"] = await prepare(client, data_dir, data, made)
        result["index_mb"] = index_sizes(data_dir)
        l2_build = l2_reference(data_dir, args.rows)
        if l2_build is not None:
            result["build"]["pgvector_l2_build_s"] = l2_build
        result["prewarm_s"] = prewarm(data_dir)
        raw = await psycopg.AsyncConnection.connect(
            host=socket_dir(data_dir), dbname="postgres", user="postgres", autocommit=True
        )
        async with raw:
            await raw.execute(f"SET search_path = {WS}, deeplake_compat")  # as a pgvector user has it
            await raw.execute(f"SET hnsw.ef_search = {ef_search}")
            cases: dict[str, Case] = {
                "raw": raw_case(raw, args.k),
                "raw <->": raw_case(raw, args.k, "<->"),
                "rest": rest_case(rt, args.k),
                "semantic_search": search_case(client, args.k),
                "semantic_search quantized": search_case(client, args.k, "docs_q"),
                "no-op tool": noop_case(noop, args.k),
            }
            truths = {"raw": truth["cosine"], "raw <->": truth["l2"]}
            truths |= {name: truth["cosine"] for name in ("rest", "semantic_search", "semantic_search quantized")}
            plans: dict[str, bool | None] = {}
            for name, (template, metric) in QUERIES.items():
                sql = template.replace("{k}", str(args.k))
                cases[name] = query_case(client, sql)
                truths[name] = truth[metric]
                plans[name] = await uses_hnsw(client, sql.format(q=literal(qs[0]), v=vector(qs[0])))
            print(f"measuring {len(cases)} cases x {args.queries} queries (+{WARM_UP} warm-up)", flush=True)
            result["cases"] = await measure(cases, qs, truths, args.k, WARM_UP)
            for name, summary in result["cases"].items():
                reference = REFERENCES.get(name, "raw")
                reference_p50 = result["cases"].get(reference, {}).get("p50_ms")
                if reference_p50 and "p50_ms" in summary:
                    summary["reference"] = reference
                    summary["ratio_to_raw"] = round(summary["p50_ms"] / reference_p50, 2)
            floor = [result["cases"].get(name, {}).get("p50_ms") for name in ("raw", "no-op tool")]
            tool_case = result["cases"].get("semantic_search", {})
            if all(floor) and "p50_ms" in tool_case:
                tool_case["floor_ms"] = round(sum(floor), 2)
                tool_case["ratio_to_floor"] = round(tool_case["p50_ms"] / tool_case["floor_ms"], 2)
            for name, used in plans.items():
                result["cases"][name]["uses_hnsw"] = used
    return result


# Reporting


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def print_table(result: dict[str, Any]) -> None:
    k = result["k"]
    print(
        f"\n{result['rows']} x {result['dim']} (noise {result['noise']}), k {k}, ef_search {result['ef_search']}; "
        f"{result['machine']}"
    )
    print("cosine index MB: " + ", ".join(f"{label} {mb}" for label, mb in result.get("index_mb", {}).items()))
    print(f"{'case':26} {'p50 ms':>8} {'p99 ms':>8} {'x raw':>7} {f'recall@{k}':>10} {'hnsw':>5}")
    for name, s in result["cases"].items():
        if "error" in s:
            print(f"{name:26} error: {s['error']}")
            continue
        hnsw = {True: "yes", False: "no", None: ""}[s.get("uses_hnsw")]
        recall = f"{s[f'recall_at_{k}']:10.3f}" if f"recall_at_{k}" in s else " " * 10
        floor = f"  {s['ratio_to_floor']:.2f}x raw + no-op tool" if "ratio_to_floor" in s else ""
        times = f"{s['p50_ms']:8.2f} {s['p99_ms']:8.2f} {s.get('ratio_to_raw', 0):7.2f}"
        print(f"{name:26} {times} {recall} {hnsw:>5}{floor}")


def plot(result: dict[str, Any], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot")
        return
    k = result["k"]
    cases = {name: s for name, s in result["cases"].items() if "p50_ms" in s}
    names = list(cases)
    fig, (latency, recall) = plt.subplots(1, 2, figsize=(13, 4.5))
    p50 = [cases[n]["p50_ms"] for n in names]
    p99 = [cases[n]["p99_ms"] for n in names]
    positions = range(len(names))
    latency.bar(positions, p50, color="#3b7dd8", label="p50")
    latency.scatter(positions, p99, color="black", marker="_", s=200, label="p99")
    for x, name in zip(positions, names, strict=True):
        ratio = f"{cases[name].get('ratio_to_raw', 0):.2f}x"
        latency.annotate(ratio, (x, p50[x]), ha="center", va="bottom", fontsize=8)
    raw = cases.get("raw", {}).get("p50_ms")
    if raw:
        latency.axhline(1.5 * raw, color="orange", linestyle="--", linewidth=1, label="1.5x raw")
        latency.axhline(2 * raw, color="red", linestyle="--", linewidth=1, label="2x raw")
    latency.set_yscale("log")
    latency.set_xticks(list(positions), names, rotation=30, ha="right", fontsize=8)
    latency.set_ylabel("ms per search (log)")
    latency.set_title(
        f"{result['rows']} x {result['dim']} (noise {result['noise']}), k {k}, ef_search {result['ef_search']}"
    )
    latency.legend(fontsize=8)
    recall.bar(positions, [cases[n].get(f"recall_at_{k}", 0) for n in names], color="#59a14f")
    recall.axhline(0.98, color="red", linestyle="--", linewidth=1, label="0.98")
    recall.set_ylim(0.9, 1.005)
    recall.set_xticks(list(positions), names, rotation=30, ha="right", fontsize=8)
    recall.set_ylabel(f"recall@{k} vs exact")
    recall.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--noise", type=float, default=0.5, help="spread of each cluster (its centre's is 1)")
    parser.add_argument("--data-dir", type=Path, help="keep the data here (reused by later runs of the same size)")
    parser.add_argument("--json-out", type=Path, default=RESULTS / "search.json")
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="deeplake-search-bench-"))
    try:
        result = {"machine": machine(), **asyncio.run(run(args, data_dir))}
    finally:
        if args.data_dir is None:
            shutil.rmtree(data_dir, ignore_errors=True)
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(result, indent=1) + "\n")
    print_table(result)
    plot(result, args.json_out.with_suffix(".png"))


if __name__ == "__main__":
    main()
