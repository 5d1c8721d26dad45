"""PNG plots of a suite's summary (``run.py`` calls ``make_plots``); needs matplotlib, a bench-only dependency.

* ``insert.png``: rows/s by batch size (insert_rows, the no-op tool, binary COPY);
* ``http.png``: calls/s by concurrent clients (no-op tool, query, semantic_search);
* ``search_by_size.png``: p50 latency by table size, from every result with a ``search_by_rows`` series;
* ``memory.png``: server RSS over time during the 10k insert, and over the biggest load that ran;
* ``embeddings.png``: sentences/s of the local embedder by batch size.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from _common import Json

COLOURS = ["#3b7dd8", "#999999", "#e07b39", "#4caf50", "#9c27b0"]


def make_plots(benches: dict[str, Json], out: Path) -> list[str]:
    """Write the plots the results allow into ``out``; their file names (none without matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    series = {name: bench.get("series", {}) for name, bench in benches.items()}
    written = []
    for filename, draw in PLOTS.items():
        fig = draw(plt, series)
        if fig is not None:
            fig.tight_layout()
            fig.savefig(out / filename, dpi=110)
            plt.close(fig)
            written.append(filename)
    return written


def _lines(ax: Any, x: list[float], lines: dict[str, list[float]]) -> None:
    for colour, (label, ys) in zip(COLOURS, lines.items(), strict=False):
        ax.plot(x, ys, marker="o", color=colour, label=label)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)


def _events(ax: Any, events: dict[str, float]) -> None:
    """Mark the steps of a run on a time axis."""
    for event, t in events.items():
        ax.axvline(t, color=COLOURS[1], linestyle="--", linewidth=1)
        ax.annotate(event, (t, 0.02), xycoords=("data", "axes fraction"), fontsize=7, rotation=90, va="bottom")


def _insert(plt: Any, series: dict[str, Json]) -> Any:
    data = series.get("insert", {}).get("rows_per_s_by_batch")
    if not data:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.6))
    sizes = data["batch_sizes"]
    _lines(ax, sizes, {k: v for k, v in data.items() if k != "batch_sizes"})
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.set_xlabel("rows per call (× 384 dims)")
    ax.set_ylabel("rows / s (log)")
    ax.set_title("insert: rows/s by batch size, stdio")
    return fig


def _http(plt: Any, series: dict[str, Json]) -> Any:
    data = series.get("http", {}).get("calls_per_s_by_clients")
    if not data:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.6))
    clients = data["clients"]
    _lines(ax, clients, {k: v for k, v in data.items() if k != "clients"})
    ax.set_xscale("log", base=2)
    ax.set_xticks(clients, [str(c) for c in clients])
    ax.set_xlabel("concurrent clients")
    ax.set_ylabel("calls / s")
    ax.set_title("streamable HTTP: throughput by concurrent clients")
    return fig


def _search(plt: Any, series: dict[str, Json]) -> Any:
    points: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for bench in series.values():
        for point in bench.get("search_by_rows", []):
            for label, ms in point.items():
                if label != "rows":
                    points[label].append((point["rows"], ms))
    if not points:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for colour, (label, xy) in zip(COLOURS, sorted(points.items()), strict=False):
        xy.sort()
        ax.plot([x for x, _ in xy], [y for _, y in xy], marker="o", color=colour, label=label)
    ax.set_xscale("log")
    ax.set_xlabel("rows in the table (× 384 dims)")
    ax.set_ylabel("p50 latency (ms)")
    ax.set_title("vector search: p50 latency by table size, k = 10")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def _memory(plt: Any, series: dict[str, Json]) -> Any:
    insert = series.get("memory", {}).get("rss_over_time")
    loads = [s["load_over_time"] for name, s in series.items() if name.startswith("load") and "load_over_time" in s]
    load = max(loads, key=lambda run: int(run["rows"]), default=None)  # the biggest load
    panels = [p for p in (insert, load) if p]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 3.6), squeeze=False)
    if insert:
        ax = axes[0][0]
        ax.plot([t for t, _ in insert["samples"]], [mb for _, mb in insert["samples"]], color=COLOURS[0])
        _events(ax, insert["events"])
        ax.set_ylim(bottom=0)
        ax.set_xlabel("seconds")
        ax.set_ylabel("server RSS (MB)")
        ax.set_title(f"server RSS: idle, warmed, one {insert['rows']} × 384 insert_rows")
    if load:
        ax = axes[0][-1]
        ax.plot([t for t, _ in load["rss"]], [mb for _, mb in load["rss"]], color=COLOURS[0], label="server RSS")
        ax.set_xlabel("seconds")
        ax.set_ylabel("server RSS (MB)")
        rows = ax.twinx()
        rows.plot([t for t, _ in load["progress"]], [n for _, n in load["progress"]], color=COLOURS[2])
        rows.set_ylabel("rows loaded", color=COLOURS[2])
        _events(ax, load["events"])
        ax.set_ylim(bottom=0)
        ax.set_title(f"big load: {load['rows']} × 384 through insert_rows, then the index")
    return fig


def _embeddings(plt: Any, series: dict[str, Json]) -> Any:
    result = series.get("embed", {}).get("embedder")
    if not result:
        return None
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    sizes = [str(row["batch_size"]) for row in result["throughput"]]
    rates = [1000 / result["single_sentence"]["median_ms"], *(row["sentences_per_s"] for row in result["throughput"])]
    ax.bar(["1 (query)", *sizes], rates, color=[COLOURS[1]] + [COLOURS[0]] * len(sizes))
    for x, rate in enumerate(rates):
        ax.annotate(f"{rate:.0f}", (x, rate), ha="center", va="bottom", fontsize=8)
    ax.set_xlabel("batch size")
    ax.set_ylabel("sentences / s")
    ax.set_title(f"{result['model']}, {result['environment']['cpus']} CPUs", fontsize=10)
    return fig


PLOTS = {
    "insert.png": _insert,
    "http.png": _http,
    "search_by_size.png": _search,
    "memory.png": _memory,
    "embeddings.png": _embeddings,
}
