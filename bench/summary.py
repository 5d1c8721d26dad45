"""The suite's summary: every result of ``results/raw/`` as one table, in Markdown and in the READMEs.

``search_bench.py`` writes a format of its own (``{"rows", "dim", "k", "cases": {name: {"p50_ms", "p99_ms",
"recall_at_<k>", …}}}``, ``raw`` being plain pgvector through psycopg): it is read into measures here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from _common import Json, measure, target

BEGIN, END = "<!-- bench:summary -->", "<!-- /bench:summary -->"
"""The part of a README that ``make bench`` rewrites with the latest results."""
RAW_PGVECTOR = "raw pgvector HNSW via psycopg"
REFERENCE_NAMES = {
    "raw": RAW_PGVECTOR,
    "raw <->": "raw pgvector L2 HNSW (<->) via psycopg",
    "no-op tool": "no-op tool, in-process",
}
SEARCH_GOALS = {"semantic_search": 1.5, "query": 2.0}
"""Targets of issue 13 on search p50, as a ratio to raw pgvector's: by case (``query …`` cases share one)."""


def from_search_bench(result: Json, path: Path) -> Json:
    """A result of ``search_bench.py`` in the common format: each case's p50 against raw pgvector's."""
    k, size, cases = result["k"], f"{result['rows']} × {result['dim']}", result["cases"]
    raw = cases.get("raw", {})
    measures, problems = [], {}
    for name, case in cases.items():
        if "error" in case:
            problems[f"search {size}, {name}"] = case["error"]
        if name in REFERENCE_NAMES or "p50_ms" not in case:
            continue
        goal = SEARCH_GOALS.get(name.split()[0])
        reference = case.get("reference", "raw")
        against = cases.get(reference, {})
        recall = f"recall@{k} {case[f'recall_at_{k}']}, {reference} {against.get(f'recall_at_{k}')}"
        measures.append(
            measure(
                f"{name} p50, {size}",
                case["p50_ms"],
                "ms",
                reference=REFERENCE_NAMES[reference],
                reference_value=against.get("p50_ms"),
                goal=None if goal is None else target("ratio", "<=", goal),
                note=recall if case.get("uses_hnsw") is not False else f"{recall}, no HNSW in the plan",
            )
        )
    tool = cases.get("semantic_search", {})
    if "floor_ms" in tool:
        noop = cases["no-op tool"]["p50_ms"]
        measures.append(
            measure(
                f"semantic_search p50, {size}, against its floor (raw + a no-op tool call, {noop} ms)",
                tool["p50_ms"],
                "ms",
                reference=f"{RAW_PGVECTOR} + no-op tool",
                reference_value=tool["floor_ms"],
            )
        )
    sizes = result.get("index_mb", {})
    for label, what in (
        ("deeplake_index", "deeplake_index (full precision)"),
        ("quantized", "quantized deeplake_index"),
    ):
        if label in sizes and "pgvector" in sizes:
            measures.append(
                measure(
                    f"{what} size, {size}",
                    sizes[label],
                    "MB",
                    reference="pgvector's own hnsw index",
                    reference_value=sizes["pgvector"],
                )
            )
    if f"recall_at_{k}" in tool:
        measures.append(
            measure(f"semantic_search recall@{k}, {size}", tool[f"recall_at_{k}"], "", goal=target("value", ">=", 0.98))
        )
    search_by_rows = {
        "rows": result["rows"],
        "semantic_search": tool.get("p50_ms"),
        "raw pgvector HNSW": raw.get("p50_ms"),
    }
    return {
        "bench": path.stem,
        "date": datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds"),
        "commit": "",
        "machine": result.get("machine", {}),
        "params": {"rows": result["rows"], "dim": result["dim"], "k": k},
        "measures": measures,
        "problems": problems,
        "series": {"search_by_rows": [search_by_rows]},
    }


def collect(raw: Path, started: str, families: list[str]) -> dict[str, Json]:
    """Every result in ``raw`` (by bench: in the order of ``families``, then by size), marked ``earlier`` when
    it comes from an earlier run."""
    results = {}
    for path in sorted(raw.glob("*.json"), key=lambda p: _position(p.stem, families)):
        result = json.loads(path.read_text())
        if "cases" in result and "measures" not in result:
            result = from_search_bench(result, path)
        result["earlier"] = result.get("date", "") < started
        results[path.stem] = result
    return results


def _position(name: str, families: list[str]) -> tuple[int, int, str]:
    """Where a result (``insert``, ``search-10000``) goes: its family's place, then its size."""
    family, _, size = name.partition("-")
    return families.index(family) if family in families else len(families), int(size) if size.isdigit() else 0, name


def fmt(x: float | None) -> str:
    if x is None:
        return "—"
    if x == int(x):
        return f"{int(x):,}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.1f}" if abs(x) >= 10 else f"{x:.3g}"


def goal_text(goal: Json | None) -> str:
    if goal is None:
        return ""
    op = "≤" if goal["op"] == "<=" else "≥"
    return f"{op} {fmt(goal['bound'])}×" if goal["on"] == "ratio" else f"{op} {fmt(goal['bound'])}"


def markdown(summary: Json, *, images: str = "", targets_only: bool = False) -> str:
    """The summary in Markdown: where it ran, a table of the measures (or of those with a target), what was not
    measured, and the plots (their paths prefixed with ``images``)."""
    m = summary["machine"]
    lines = [
        f"`{summary['command']}` on {summary['date']}, commit `{summary['commit']}`. Machine: {m['cpus']} cores "
        f"({m['cpu_model']}), {m['memory_gib']} GiB, {m['system']}, Python {m['python']}; shared with other jobs "
        f"(load average {', '.join(map(str, m['load_average']))} at the start), so every measure is compared with its "
        "reference measured in the same run: the ratio is what to read, and what a target is on unless it has a unit.",
        "",
        "| bench | measure | value | reference | reference value | ratio | target | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    missing = []
    for name, result in summary["benches"].items():
        if result["earlier"]:
            made = f", commit `{result['commit']}`" if result["commit"] else ""
            missing.append(f"- `{name}`: from an earlier run, {result['date']}{made}")
        if "measures" not in result:
            missing.append(f"- `{name}`: its result has no `measures` (the format is in `bench/_common.py`)")
        missing += [f"- `{name}`: {what}: {why}" for what, why in result.get("problems", {}).items()]
        for x in result.get("measures", []):
            if targets_only and x["target"] is None:
                continue
            unit = f" {x['unit']}" if x["unit"] else ""
            ref = f"{fmt(x['reference_value'])}{unit}" if x["reference_value"] is not None else ""
            ratio = f"{fmt(x['ratio'])}×" if x["ratio"] is not None else ""
            goal = goal_text(x["target"])
            goal += unit if goal and x["target"]["on"] == "value" else ""
            met = {True: "**yes**", False: "no", None: ""}[x["met"]]
            what = (f"{x['name']} ({x['note']})" if x["note"] else x["name"]).replace("<", "&lt;")  # `<#>` is no tag
            cells = [name, what, f"{fmt(x['value'])}{unit}", x["reference"] or "", ref, ratio, goal, met]
            lines.append(f"| {' | '.join(cells)} |")
    missing += [f"- `{name}`: {reason}" for name, reason in summary["problems"].items()]
    if missing:
        lines += ["", "Not measured in this run:", "", *missing]
    if summary["plots"]:
        lines += ["", *(f"![{p.removesuffix('.png')}]({images}{p})" for p in summary["plots"])]
    else:
        lines += ["", "No plots: matplotlib is not installed (`make bench` installs it)."]
    return "\n".join(lines) + "\n"


def update_readme(path: Path, block: str) -> None:
    """Replace what stands between the summary markers of a README with ``block``."""
    text = path.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    path.write_text(f"{text[:start]}\n{block}{text[end:]}")
