"""Insert throughput of ``insert_rows`` on the embedded backend (issue: 10 000 × 384-dim in < 10 s).

Runs the real MCP server in-process (the SDK's ``Client``), creates a table with a 384-dim vector
column and inserts N rows through the ``insert_rows`` tool, several times. Prints a table and
writes ``bench/results/insert.json`` (and ``insert.png`` when matplotlib is installed).

    .venv/bin/python bench/insert_bench.py [--rows 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from mcp import Client

from deeplake_mcp.app import build_server
from deeplake_mcp.settings import load_settings

RESULTS = Path(__file__).parent / "results"


def make_rows(n: int, dim: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    return [
        {
            "id": f"doc-{i}",
            "content": f"chunk {i} of a document about topic {i % 97}",
            "metadata": {"source": "bench", "n": i},
            "embedding": [round(rng.gauss(0, 1), 6) for _ in range(dim)],
        }
        for i in range(n)
    ]


async def run(rows: int, dim: int, repeat: int) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="deeplake-bench-"))
    settings = load_settings({"data_dir": data_dir, "backend": "local"}, environ={})
    payload = make_rows(rows, dim)
    timings: list[float] = []
    async with Client(build_server(settings)) as client:
        for _ in range(repeat):
            table = f"bench_{uuid.uuid4().hex[:8]}"
            created = await client.call_tool(
                "execute_sql",
                {
                    "sql": f"CREATE TABLE {table} (id TEXT, content TEXT, metadata JSONB, embedding FLOAT4[]) "
                    "USING deeplake"
                },
            )
            assert not created.is_error, created.content
            started = time.perf_counter()
            result = await client.call_tool("insert_rows", {"table": table, "rows": payload})
            timings.append(time.perf_counter() - started)
            assert not result.is_error, result.content
    return {
        "rows": rows,
        "dimensions": dim,
        "seconds": timings,
        "median_s": statistics.median(timings),
        "rows_per_s": rows / statistics.median(timings),
    }


def plot(result: dict[str, Any]) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot")
        return
    fig, ax = plt.subplots(figsize=(5, 3))
    runs = range(1, len(result["seconds"]) + 1)
    ax.bar(runs, result["seconds"], color="#3b7dd8")
    ax.set_xticks(list(runs))
    ax.axhline(10, color="red", linestyle="--", label="target 10 s")
    ax.set_xlabel("run")
    ax.set_ylabel("seconds")
    ax.set_title(f"insert_rows: {result['rows']} rows × {result['dimensions']} dims (embedded)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "insert.png", dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    result = asyncio.run(run(args.rows, args.dim, args.repeat))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "insert.json").write_text(json.dumps(result, indent=2))
    print(
        f"{result['rows']} rows × {result['dimensions']} dims: median {result['median_s']:.2f} s "
        f"({result['rows_per_s']:.0f} rows/s); runs: {', '.join(f'{s:.2f}' for s in result['seconds'])}"
    )
    plot(result)


if __name__ == "__main__":
    main()
