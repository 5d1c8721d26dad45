"""Throughput over streamable HTTP with concurrent clients, against a no-op SDK server on the same transport.

Our server (``deeplake-mcp serve --transport http``, embedded backend, loopback) holds a 1 000-row table
with 384-dim vectors; ``bench/noop_server.py --port`` is the same SDK's server with a tool that does
nothing, also stateless streamable HTTP. For each number of concurrent clients (each an SDK client with
its own connection, all in this process) and each call, in ``--rounds`` interleaved rounds:

* **no-op**: the no-op tool; **query**: ``SELECT 1``; **semantic_search**: a text query (the server
  embeds it), k = 10, over the table (exact scan: no index on 1 000 rows).

Calls/s = calls completed by all clients / wall time, over ``--seconds`` per measurement.

Targets (issue 13), 16 clients: query ≥ 0.6× and semantic_search ≥ 0.25× the no-op tool's calls/s.

    .venv/bin/python bench/http_bench.py [--clients 1,4,16] [--seconds 4] [--rounds 2]
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

from _common import (
    NOOP_CMD,
    SERVER_CMD,
    TABLE_DDL,
    Json,
    call,
    http_process,
    http_session,
    measure,
    parser,
    rows_payload,
    server_env,
    settle,
    target,
    temp_data_dir,
    write_result,
)

TOPICS = ["whales", "bread", "solar panels", "football", "rivers", "jazz", "trains", "coffee", "volcanoes", "chess"]
CALLS: dict[str, tuple[str, Json]] = {
    "no-op tool": ("noop", {"sql": "SELECT 1 AS one"}),
    "query": ("query", {"sql": "SELECT 1 AS one"}),
    "semantic_search": ("semantic_search", {"table": "docs", "k": 10, "columns": ["id"]}),
}
GOALS = {"query": 0.6, "semantic_search": 0.25}


async def throughput(url: str, tool: str, arguments: Json, clients: int, seconds: float) -> float:
    """Calls/s of ``clients`` concurrent SDK clients calling ``tool`` for ``seconds``."""
    ready, go = asyncio.Barrier(clients + 1), asyncio.Event()
    done: list[tuple[int, float]] = []  # calls, when the last one ended

    async def client(n: int) -> None:
        async with http_session(url) as session:
            await call(session, tool, _vary(arguments, n))  # connect and warm up
            await ready.wait()
            await go.wait()
            calls, deadline = 0, time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                await call(session, tool, _vary(arguments, n + calls))
                calls += 1
            done.append((calls, time.perf_counter()))

    async with asyncio.TaskGroup() as tasks:
        for n in range(clients):
            tasks.create_task(client(n))
        await ready.wait()
        started = time.perf_counter()
        go.set()
    return sum(calls for calls, _ in done) / (max(end for _, end in done) - started)


def _vary(arguments: Json, n: int) -> Json:
    """A different text query per call (the embedder sees new text), other arguments unchanged."""
    if "table" not in arguments:
        return arguments
    return {**arguments, "query": f"documents about {TOPICS[n % len(TOPICS)]} ({n})"}


async def run(clients: list[int], seconds: float, rounds: int) -> dict[str, dict[int, float]]:
    """Calls/s by call and number of clients (mean over the rounds)."""
    rates: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    ours_cmd = [*SERVER_CMD, "serve", "--transport", "http"]
    with (
        temp_data_dir("http") as data_dir,
        http_process(ours_cmd, server_env(data_dir)) as (ours, ours_proc),
        http_process(NOOP_CMD) as (noop, _),
    ):
        async with http_session(ours) as session:
            await call(session, "execute_sql", {"sql": TABLE_DDL.format(table="docs")})
            await call(session, "insert_rows", {"table": "docs", "rows": rows_payload(1000)})
            await call(session, "semantic_search", _vary(CALLS["semantic_search"][1], 0))  # the embedder is loaded
        await settle(ours_proc)
        for _ in range(rounds):
            for n in clients:
                for label, (tool, arguments) in CALLS.items():
                    url = noop if tool == "noop" else ours
                    rate = await throughput(url, tool, arguments, n, seconds)
                    print(f"http: {label}, {n} clients: {rate:.0f} calls/s", flush=True)
                    rates[label][n] += rate / rounds
    return rates


def main() -> None:
    cli = parser("http", __doc__)
    cli.add_argument("--clients", type=lambda s: [int(x) for x in s.split(",")], default=[1, 4, 16])
    cli.add_argument("--seconds", type=float, default=4.0)
    cli.add_argument("--rounds", type=int, default=2)
    opts = cli.parse_args()
    rates = asyncio.run(run(opts.clients, opts.seconds, opts.rounds))
    most = max(opts.clients)
    measures = [
        measure(
            f"{label} over HTTP, {most} concurrent clients",
            rates[label][most],
            "calls/s",
            reference="no-op tool, same transport",
            reference_value=rates["no-op tool"][most],
            goal=target("ratio", ">=", goal),
        )
        for label, goal in GOALS.items()
    ]
    series = {
        "calls_per_s_by_clients": {
            "clients": opts.clients,
            **{label: [round(rates[label][n], 1) for n in opts.clients] for label in CALLS},
        }
    }
    params = {"clients": opts.clients, "seconds": opts.seconds, "rounds": opts.rounds}
    write_result(opts.json_out, "http", params, measures, series)


if __name__ == "__main__":
    main()
