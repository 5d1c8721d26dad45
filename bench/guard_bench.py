"""Benchmark the SQL guard: median classification time for a typical query and for the samples.

Run: ``.venv/bin/python bench/guard_bench.py``. Prints one line per measurement.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from deeplake_mcp.guard import classify
from deeplake_mcp.guard._classify import analyse
from deeplake_mcp.guard._pgcheck import second_opinion
from deeplake_mcp.guard._tokens import lex

TYPICAL = (
    "SELECT id, title, embedding <#> ARRAY[0.12, -0.03, 0.88, 0.41]::float4[] AS score "
    "FROM \"my_workspace\".\"documents\" WHERE metadata->>'lang' = 'en' AND year > 2020 "
    "ORDER BY score DESC LIMIT 10"
)
ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "sql-guard-samples.jsonl"
CORPUS = ROOT / "tests" / "unit" / "guard_cases.jsonl"


def median_seconds(call: Callable[[], object], repeat: int = 25, number: int = 40) -> float:
    """Median over ``repeat`` runs of the mean time of ``number`` calls."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            call()
        runs.append((time.perf_counter() - start) / number)
    return statistics.median(runs)


def load(path: Path) -> list[str]:
    """The distinct SQL texts of a JSON-lines corpus."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").split("\n")
    return sorted({json.loads(line)["sql"] for line in lines if line.strip()})


def per_statement(sqls: list[str]) -> list[float]:
    """Median classification time of each statement."""
    return [median_seconds(partial(classify, sql), repeat=7, number=10) for sql in sqls]


def main() -> None:
    print(f"typical query ({len(TYPICAL)} chars)")
    for name, call in [
        ("classify (sqlparse + pglast)", lambda: classify(TYPICAL)),
        ("sqlparse side only", lambda: analyse(TYPICAL, second_opinion=False)),
        ("pglast second opinion only", lambda: second_opinion(TYPICAL)),
        ("tokenizer only", lambda: lex(TYPICAL)),
    ]:
        print(f"  {name:30} {median_seconds(call) * 1e6:8.1f} us")
    for label, path in [("shared samples", SAMPLES), ("own corpus", CORPUS)]:
        sqls = load(path)
        if not sqls:
            print(f"{label}: {path} not found")
            continue
        times = per_statement(sqls)
        print(
            f"{label} ({len(sqls)} statements): median {statistics.median(times) * 1e6:.1f} us, "
            f"p90 {statistics.quantiles(times, n=10)[-1] * 1e6:.1f} us, max {max(times) * 1e3:.2f} ms"
        )


if __name__ == "__main__":
    main()
