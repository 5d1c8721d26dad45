"""Benchmark the SQL guard: median classification time for a typical query, a query with a
384-dim vector literal, and the statements of the samples and the corpus.

Run: ``.venv/bin/python bench/guard_bench.py``. Prints one line per measurement and writes the
``classify`` medians (target: < 0.5 ms for the typical query) to ``--json-out``.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from _common import Json, measure, parser, target, write_result

from deeplake_mcp.guard._catalog import catalog
from deeplake_mcp.guard._classify import analyse
from deeplake_mcp.guard._classify import classify_afresh as classify  # a text seen for the first time
from deeplake_mcp.guard._mask import mask_literals
from deeplake_mcp.guard._pgcheck import second_opinion
from deeplake_mcp.guard._tokens import lex

TYPICAL = (
    "SELECT id, title, embedding <#> ARRAY[0.12, -0.03, 0.88, 0.41]::float4[] AS score "
    "FROM \"my_workspace\".\"documents\" WHERE metadata->>'lang' = 'en' AND year > 2020 "
    "ORDER BY score DESC LIMIT 10"
)
VECTOR_384 = (
    "SELECT id, title, embedding <#> ARRAY["
    + ", ".join(f"{(i * 37 % 200 - 100) / 100:.4f}" for i in range(384))
    + "]::float4[] AS score FROM \"my_workspace\".\"documents\" WHERE metadata->>'lang' = 'en' "
    "ORDER BY score DESC LIMIT 10"
)
ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "tests" / "unit" / "guard_samples.jsonl"
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
    lines = path.read_text(encoding="utf-8").split("\n")
    return sorted({json.loads(line)["sql"] for line in lines if line.strip()})


def per_statement(sqls: list[str]) -> list[float]:
    """Median classification time of each statement."""
    return [median_seconds(partial(classify, sql), repeat=7, number=10) for sql in sqls]


def main() -> None:
    opts = parser("guard", __doc__).parse_args()
    catalog()  # loaded once per process, on first use; not part of a check
    measures: list[Json] = []
    for label, sql in [("typical query", TYPICAL), ("384-dim vector literal", VECTOR_384)]:
        print(f"{label} ({len(sql)} chars)")
        median_seconds(partial(classify, sql), repeat=5)  # warm-up
        full = median_seconds(partial(classify, sql)) * 1e3
        goal = target("value", "<=", 0.5) if sql is TYPICAL else None
        measures.append(measure(f"SQL guard, {label} ({len(sql)} chars), median", full, "ms", goal=goal))
        print(f"  {'classify (everything)':30} {full * 1e3:8.1f} us")
        stages: list[tuple[str, Callable[[], object]]] = [
            ("scanner masking only", partial(mask_literals, sql)),
            ("sqlparse side (with masking)", partial(analyse, sql, parse_tree=False)),
            ("parse tree only", partial(second_opinion, sql)),
            ("tokenizer only", partial(lex, sql)),
        ]
        for name, call in stages:
            print(f"  {name:30} {median_seconds(call) * 1e6:8.1f} us")
    for label, path in [("shared samples", SAMPLES), ("own corpus", CORPUS)]:
        sqls = load(path)
        times = per_statement(sqls)
        print(
            f"{label} ({len(sqls)} statements): median {statistics.median(times) * 1e6:.1f} us, "
            f"p90 {statistics.quantiles(times, n=10)[-1] * 1e6:.1f} us, max {max(times) * 1e3:.2f} ms"
        )
        measures.append(measure(f"SQL guard, {label}, median per statement", statistics.median(times) * 1e3, "ms"))
    write_result(opts.json_out, "guard", {}, measures, {})


if __name__ == "__main__":
    main()
