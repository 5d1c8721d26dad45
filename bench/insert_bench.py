"""``insert_rows`` throughput by batch size, against the transport's floor and PostgreSQL's own loading.

Rows of the bench table (id, text, JSONB, a 384-dim vector). For each batch size (rows per call), in
``--rounds`` interleaved rounds (the machine is shared), ``--rows`` rows are written three ways:

* **insert_rows**: our server (``deeplake-mcp serve``, embedded backend) spawned over stdio, SDK client;
* **no-op tool**: the same calls with the same rows to ``bench/noop_server.py`` over stdio;
* **binary COPY**: psycopg's ``COPY … FROM STDIN (FORMAT BINARY)`` straight into a table of the same
  shape in the same embedded PostgreSQL (one connection, timed from the first row to the commit).

Target (issue 13): insert_rows at ≥ 0.6× the no-op tool's rows/s for 10 000 × 384 in one call.

    .venv/bin/python bench/insert_bench.py [--batches 100,1000,10000] [--rows 10000] [--rounds 2]
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg
from _common import (
    NOOP_CMD,
    SERVER_CMD,
    TABLE_DDL,
    Json,
    call,
    measure,
    parser,
    postgres,
    rows_payload,
    server_env,
    stdio_session,
    target,
    temp_data_dir,
    write_result,
)
from psycopg import sql
from psycopg.types.json import Jsonb

WORKSPACE = "default"
TARGET_BATCH = 10_000
OURS, NOOP, COPY = "insert_rows", "no-op tool", "binary COPY"


def copy_rows(conn: psycopg.Connection[Any], table: str, rows: list[Json]) -> None:
    """Write ``rows`` with one binary COPY (its own transaction: the connection autocommits)."""
    statement = sql.SQL("COPY {} (id, content, metadata, embedding) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(WORKSPACE, table)
    )
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types(["text", "text", "jsonb", "float4[]"])
        for row in rows:
            copy.write_row((row["id"], row["content"], Jsonb(row["metadata"]), row["embedding"]))


async def run(data_dir: Path, batches: list[int], rows: int, rounds: int) -> dict[int, dict[str, float]]:
    """Rows/s of each way, by batch size."""
    payloads = {b: rows_payload(b) for b in batches}
    seconds: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    async with stdio_session(SERVER_CMD, server_env(data_dir)) as (ours, _), stdio_session(NOOP_CMD) as (noop, _):
        for b in batches:
            for table in (f"ours_{b}", f"copy_{b}"):
                await call(ours, "execute_sql", {"sql": TABLE_DDL.format(table=table)})
        with postgres(data_dir) as conn:
            ways: dict[str, Callable[[int, list[Json]], Awaitable[object]]] = {
                OURS: lambda b, batch: call(ours, "insert_rows", {"table": f"ours_{b}", "rows": batch}),
                NOOP: lambda b, batch: call(noop, "noop", {"table": f"ours_{b}", "rows": batch}),
                COPY: lambda b, batch: asyncio.to_thread(copy_rows, conn, f"copy_{b}", batch),
            }
            for _ in range(rounds):
                for b in batches:
                    print(f"insert: {max(1, rows // b)} × {b} rows", flush=True)
                    for way, write in ways.items():
                        started = time.perf_counter()
                        for _ in range(max(1, rows // b)):
                            await write(b, payloads[b])
                        seconds[b][way] += time.perf_counter() - started
    return {b: {way: rounds * max(1, rows // b) * b / s for way, s in ways.items()} for b, ways in seconds.items()}


def main() -> None:
    cli = parser("insert", __doc__)
    cli.add_argument("--batches", type=lambda s: [int(x) for x in s.split(",")], default=[100, 1000, TARGET_BATCH])
    cli.add_argument("--rows", type=int, default=10_000, help="rows per batch size and round")
    cli.add_argument("--rounds", type=int, default=2)
    opts = cli.parse_args()
    with temp_data_dir("insert") as data_dir:
        rates = asyncio.run(run(data_dir, opts.batches, opts.rows, opts.rounds))
    measures = []
    for b, rate in rates.items():
        goal = target("ratio", ">=", 0.6) if b == TARGET_BATCH else None
        name = f"insert_rows, {b} rows × 384 per call"
        measures.append(measure(name, rate[OURS], "rows/s", reference=NOOP, reference_value=rate[NOOP], goal=goal))
    largest = max(rates)
    measures.append(
        measure(
            f"insert_rows, {largest} rows × 384 per call",
            rates[largest][OURS],
            "rows/s",
            reference=COPY,
            reference_value=rates[largest][COPY],
        )
    )
    series = {
        "rows_per_s_by_batch": {
            "batch_sizes": list(rates),
            **{way: [round(rates[b][way], 1) for b in rates] for way in (OURS, NOOP, COPY)},
        }
    }
    params = {"batches": opts.batches, "rows": opts.rows, "rounds": opts.rounds, "dimensions": 384}
    write_result(opts.json_out, "insert", params, measures, series)


if __name__ == "__main__":
    main()
