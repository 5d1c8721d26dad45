"""Throughput over streamable HTTP with concurrent clients, against a no-op SDK server on the same transport.

Our server (``deeplake-mcp serve --transport http``, embedded backend, loopback) holds a 1 000-row table
with 384-dim vectors; ``bench/noop_server.py --port`` is the same SDK's server with a tool that does
nothing, also stateless streamable HTTP. For each number of concurrent clients (each an SDK client with
its own connection, all in this process, connected to both servers first), ``--rounds`` rounds of each call
in turn:

* **no-op**: the no-op tool; **query**: ``SELECT 1``; **semantic_search**: a text query (the server
  embeds it), k = 10, over the table (exact scan: no index on 1 000 rows); every call of the run has a
  text of its own, so none is answered from the server's cache of recent query vectors.

Calls/s = calls completed by all clients / wall time, over ``--seconds`` per call and round (every connection
makes one call of each kind first, untimed).

Targets (issue 13), 16 clients: query ≥ 0.6× and semantic_search ≥ 0.25× the no-op tool's calls/s.

    .venv/bin/python bench/http_bench.py [--clients 1,4,16] [--seconds 1.5] [--rounds 6]
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict
from contextlib import AsyncExitStack

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
from mcp import Client

TOPICS = ["whales", "bread", "solar panels", "football", "rivers", "jazz", "trains", "coffee", "volcanoes", "chess"]
CALLS: dict[str, tuple[str, Json]] = {
    "no-op tool": ("noop", {"sql": "SELECT 1 AS one"}),
    "query": ("query", {"sql": "SELECT 1 AS one"}),
    "semantic_search": ("semantic_search", {"table": "docs", "k": 10, "columns": ["id"]}),
}
GOALS = {"query": 0.6, "semantic_search": 0.25}


async def throughput(sessions: list[Client], tool: str, arguments: Json, seconds: float) -> float:
    """Calls/s of ``sessions`` (connected SDK clients) calling ``tool`` concurrently for ``seconds`` (each at
    least once)."""
    started = time.perf_counter()
    deadline = started + seconds

    async def client(n: int) -> tuple[int, float]:
        calls = 0
        while not calls or time.perf_counter() < deadline:
            await call(sessions[n], tool, _vary(arguments, next(_FRESH)))
            calls += 1
        return calls, time.perf_counter()

    done = await asyncio.gather(*(client(n) for n in range(len(sessions))))
    return sum(calls for calls, _ in done) / (max(end for _, end in done) - started)


_FRESH = itertools.count()
"""Numbers the text queries of the whole run, so that no text is asked twice."""


def _vary(arguments: Json, n: int) -> Json:
    """Text query number ``n`` (the embedder sees new text), other arguments unchanged."""
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
            loading = _vary(CALLS["semantic_search"][1], next(_FRESH))
            await call(session, "semantic_search", loading)  # loads the embedder
        await settle(ours_proc)
        for n in clients:
            async with AsyncExitStack() as stack:
                pools = {
                    url: [await stack.enter_async_context(http_session(url)) for _ in range(n)] for url in (ours, noop)
                }
                for tool, arguments in CALLS.values():  # warm up every connection
                    await throughput(pools[noop if tool == "noop" else ours], tool, arguments, 0)
                for _ in range(rounds):
                    for label, (tool, arguments) in CALLS.items():
                        rate = await throughput(pools[noop if tool == "noop" else ours], tool, arguments, seconds)
                        rates[label][n] += rate / rounds
                print(f"http: {n} clients: " + ", ".join(f"{k} {v[n]:.0f}/s" for k, v in rates.items()), flush=True)
    return rates


def main() -> None:
    cli = parser("http", __doc__)
    cli.add_argument("--clients", type=lambda s: [int(x) for x in s.split(",")], default=[1, 4, 16])
    cli.add_argument("--seconds", type=float, default=1.5)
    cli.add_argument("--rounds", type=int, default=6)
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
