"""Server memory (RSS): idle, with the embedder warmed, during and after a 10 000 × 384 insert.

Our server (``deeplake-mcp serve`` over stdio, embedded backend, default settings) is sampled every
50 ms (``ps``-style RSS of the server process and its children; the embedded PostgreSQL's processes are
the database, not the server, and are left out):

1. **idle**: once start-up work is done (the CPU went quiet), no call yet;
2. **embedder warmed**: idle again after one text ``semantic_search``;
3. **insert peak**: the highest sample (or the kernel's high-water mark) during one ``insert_rows`` call
   of ``--rows`` rows × 384 dims; **after**: idle again after it.

References: the same server without an embedder (``DEEPLAKE_MCP_EMBEDDER=none``), idle, and the no-op
SDK server (``bench/noop_server.py``), idle.

Targets (issue 13): ≤ 200 MB idle, ≤ 400 MB peak while inserting 10 000 × 384 in one call.

    .venv/bin/python bench/memory_bench.py [--rows 10000]
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from _common import (
    NOOP_CMD,
    SERVER_CMD,
    TABLE_DDL,
    Json,
    RssSampler,
    call,
    measure,
    parser,
    peak_rss_mb,
    rows_payload,
    rss_mb,
    server_env,
    settle,
    stdio_session,
    target,
    temp_data_dir,
    write_result,
)

NOOP_IDLE = "no-op SDK server, idle"


async def profile(data_dir: Path, rows: int) -> Json:
    """RSS (MB) of our server at each step, and its samples over time with the steps' times."""
    payload = rows_payload(rows)
    async with stdio_session(SERVER_CMD, server_env(data_dir)) as (client, proc):
        with RssSampler(proc) as rss:
            await settle(proc)
            steps: Json = {"idle": rss_mb(proc)}
            events = {"idle": rss.now()}
            await call(client, "execute_sql", {"sql": TABLE_DDL.format(table="docs")})
            await call(client, "insert_rows", {"table": "docs", "rows": payload[:10]})
            await call(client, "semantic_search", {"table": "docs", "query": "a document about rivers", "k": 5})
            await settle(proc)
            steps["warmed"] = rss_mb(proc)
            events["warmed"] = rss.now()
            await call(client, "insert_rows", {"table": "docs", "rows": payload})
            events["inserted"] = rss.now()
            steps["peak"] = max(rss.peak_since(events["warmed"]), peak_rss_mb(proc))
            await settle(proc)
            await asyncio.sleep(2)
            steps["after"] = rss_mb(proc)
            events["after"] = rss.now()
    return {**steps, "samples": rss.samples, "events": events}


async def idle_rss(command: list[str], env: dict[str, str] | None = None) -> float:
    async with stdio_session(command, env) as (client, proc):
        await client.list_tools()
        await settle(proc)
        return rss_mb(proc)


def main() -> None:
    cli = parser("memory", __doc__)
    cli.add_argument("--rows", type=int, default=10_000)
    opts = cli.parse_args()
    with temp_data_dir("memory") as data_dir:
        ours = asyncio.run(profile(data_dir, opts.rows))
    with temp_data_dir("memory") as data_dir:
        bare = asyncio.run(idle_rss(SERVER_CMD, server_env(data_dir, DEEPLAKE_MCP_EMBEDDER="none")))
    noop = asyncio.run(idle_rss(NOOP_CMD))
    measures = [
        measure(
            "server RSS, idle",
            ours["idle"],
            "MB",
            reference=NOOP_IDLE,
            reference_value=noop,
            goal=target("value", "<=", 200),
        ),
        measure("server RSS, idle, embedder warmed", ours["warmed"], "MB", reference=NOOP_IDLE, reference_value=noop),
        measure("server RSS, idle, no embedder configured", bare, "MB", reference=NOOP_IDLE, reference_value=noop),
        measure(
            f"server RSS, peak during a {opts.rows} × 384 insert_rows",
            ours["peak"],
            "MB",
            reference="idle, embedder warmed",
            reference_value=ours["warmed"],
            goal=target("value", "<=", 400),
        ),
        measure(
            f"server RSS, idle after the {opts.rows} × 384 insert",
            ours["after"],
            "MB",
            reference="idle, embedder warmed",
            reference_value=ours["warmed"],
        ),
    ]
    series = {"rss_over_time": {"samples": ours["samples"], "events": ours["events"], "rows": opts.rows}}
    write_result(opts.json_out, "memory", {"rows": opts.rows}, measures, series)


if __name__ == "__main__":
    main()
