"""Per-call overhead and cold start, over stdio with the SDK's client, against a no-op SDK server.

* **Per call**: p50 of ``query`` (``SELECT 1``) on our server minus p50 of the no-op tool of
  ``bench/noop_server.py``; ``--calls`` calls each, in turn, once the server is idle and warm.
* **Cold start**: seconds from spawning the server to the answer of ``tools/list`` (median of
  ``--starts`` fresh processes each, alternating). Ours starts on an existing data directory whose
  PostgreSQL is stopped, as a desktop client finds it; the first start (initdb) is not counted.

Targets (issue 13): overhead ≤ 1.0 ms; cold start ≤ 1.5× the no-op server.

    .venv/bin/python bench/call_bench.py [--calls 400] [--starts 10]
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from _common import (
    NOOP_CMD,
    SERVER_CMD,
    Json,
    call,
    measure,
    p50,
    parser,
    server_env,
    settle,
    stdio_session,
    target,
    temp_data_dir,
    write_result,
)
from mcp import Client

OURS, NOOP = ("query", {"sql": "SELECT 1 AS one"}), ("noop", {"sql": "SELECT 1 AS one"})


async def latency(client: Client, tool: tuple[str, Json]) -> float:
    started = time.perf_counter()
    await call(client, *tool)
    return time.perf_counter() - started


async def per_call(data_dir: Path, calls: int) -> tuple[list[float], list[float]]:
    """Latencies (s) of ``query`` on our server and of the no-op tool, called in turn."""
    ours: list[float] = []
    noop: list[float] = []
    async with (
        stdio_session(SERVER_CMD, server_env(data_dir)) as (a, server),
        stdio_session(NOOP_CMD) as (b, _),
    ):
        await settle(server)
        for i in range(20 + calls):
            ours_s, noop_s = await latency(a, OURS), await latency(b, NOOP)
            if i >= 20:  # warm-up
                ours.append(ours_s)
                noop.append(noop_s)
    return ours, noop


async def start_to_list(command: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    async with stdio_session(command, env) as (client, _):
        await client.list_tools()
        return time.perf_counter() - started


async def wait_stopped(data_dir: Path) -> None:
    """Wait until the embedded PostgreSQL of ``data_dir`` has stopped (the last user stops it on exit)."""
    for _ in range(300):
        if not (data_dir / "pg" / "postmaster.pid").exists():
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"the PostgreSQL server of {data_dir} did not stop")


async def cold_starts(data_dir: Path, starts: int) -> tuple[list[float], list[float]]:
    """Seconds to ``tools/list`` of fresh processes: ours (PostgreSQL stopped), and the no-op server."""
    ours: list[float] = []
    noop: list[float] = []
    await wait_stopped(data_dir)
    for _ in range(starts):
        ours.append(await start_to_list(SERVER_CMD, server_env(data_dir)))
        await wait_stopped(data_dir)
        noop.append(await start_to_list(NOOP_CMD))
    return ours, noop


def main() -> None:
    cli = parser("calls", __doc__)
    cli.add_argument("--calls", type=int, default=400)
    cli.add_argument("--starts", type=int, default=10)
    opts = cli.parse_args()
    with temp_data_dir("calls") as data_dir:
        ours, noop = asyncio.run(per_call(data_dir, opts.calls))
        ours_start, noop_start = asyncio.run(cold_starts(data_dir, opts.starts))
    query_ms, noop_ms = 1000 * p50(ours), 1000 * p50(noop)
    measures = [
        measure("query p50 (SELECT 1), stdio", query_ms, "ms", reference="no-op tool p50", reference_value=noop_ms),
        measure("per-call overhead: p50 query − p50 no-op", query_ms - noop_ms, "ms", goal=target("value", "<=", 1.0)),
        measure(
            "cold start to tools/list",
            p50(ours_start),
            "s",
            reference="no-op SDK server",
            reference_value=p50(noop_start),
            goal=target("ratio", "<=", 1.5),
            note=f"fastest {min(ours_start):.2f} s vs {min(noop_start):.2f} s",
        ),
    ]
    series = {
        "latency_ms": {"query": [round(1000 * s, 3) for s in ours], "noop": [round(1000 * s, 3) for s in noop]},
        "cold_start_s": {"ours": ours_start, "noop": noop_start},
    }
    write_result(opts.json_out, "calls", {"calls": opts.calls, "starts": opts.starts}, measures, series)


if __name__ == "__main__":
    main()
