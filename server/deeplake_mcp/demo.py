"""``deeplake-mcp demo``: the embedded backend, a small data set, and a scripted MCP session.

It shows a newcomer every tool in a minute, offline: a real MCP client talks to the real server
in-process, exactly as Claude Desktop would over stdio. It builds its RAG table in the recommended
order (load, then index) and, with the ``tensordb`` extra, runs TQL on a small Deep Lake dataset it
makes. Unless given ``--data-dir``, everything lives in a temporary directory that is deleted when the
process ends. Output goes to stdout (this is a CLI).
"""

from __future__ import annotations

import atexit
import importlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from mcp.types import CallToolResult

from deeplake_mcp.app import build_server
from deeplake_mcp.local._tensordb import INSTALL_HINT, TENSORDB_DIR, dataset_path
from deeplake_mcp.settings import Settings

__all__ = ["demo_data_dir", "run_demo"]

TABLE = "demo_articles"
ARTICLES = [
    ("Lava erupted from the mountain and ash covered the nearby villages.", "geology", 2021),
    ("Knead the dough, let it rise for an hour, then bake until the crust is golden.", "cooking", 2019),
    ("The striker scored twice in the final minutes and the stadium went wild.", "sport", 2023),
    ("The vaccine trains the immune system to recognise the virus before an infection.", "health", 2022),
    ("Share prices fell sharply after the central bank raised interest rates.", "finance", 2023),
    ("The rover drilled into red dust on the fourth planet looking for ancient water.", "space", 2024),
    ("Grind the roasted beans finely and pour hot water slowly through the filter.", "cooking", 2020),
    ("Adults need seven to nine hours of sleep each night to stay healthy and alert.", "health", 2018),
]
CSV = "city,country,population\nLisbon,Portugal,545000\nOslo,Norway,709000\nQuito,Ecuador,2800000\n"
PLANETS = {"Mercury": 0, "Venus": 0, "Earth": 1, "Mars": 2, "Jupiter": 95, "Saturn": 146}
DATASET = ("demo", "planets")
"""The Tensor Database dataset ``hub://demo/planets``."""
WIDTH = 100


async def run_demo(settings: Settings, out: Any) -> int:
    """Run the scripted session against ``settings`` (a fresh temporary data dir when not given)."""
    say = _Printer(out)
    say.title("deeplake-mcp demo: an MCP client talking to the embedded Deep Lake backend")
    hub = await anyio.to_thread.run_sync(_tensordb_dataset, settings.data_dir)
    async with Client(build_server(settings)) as client:
        tools = [t.name for t in (await client.list_tools()).tools]
        say.note(f"{len(tools)} tools: {', '.join(tools)}")
        for step, (tool, args, why) in enumerate(_script(hub), start=1):
            say.step(step, why, tool, args)
            say.result(await client.call_tool(tool, args))
    if hub is None:
        say.note(f"\n(tql_query skipped: the Tensor Database needs the deeplake package; {INSTALL_HINT})")
    say.title("Done. Point Claude Desktop at `deeplake-mcp` (see README) to do the same in plain language.")
    return 0


def _tensordb_dataset(data_dir: Path) -> str | None:
    """``hub://demo/planets``, made with the deeplake package where the embedded Tensor Database looks
    (kept if it exists); None without the package (the ``tensordb`` extra)."""
    try:
        deeplake = importlib.import_module("deeplake")
    except ImportError:
        return None
    path = dataset_path(data_dir / TENSORDB_DIR, *DATASET)
    if not path.exists():
        ds = deeplake.create(f"file://{path}")
        ds.add_column("name", deeplake.types.Text())
        ds.add_column("moons", deeplake.types.Int32())
        ds.append({"name": list(PLANETS), "moons": list(PLANETS.values())})
        ds.commit()
    return "hub://{}/{}".format(*DATASET)


def _script(hub: str | None) -> list[tuple[str, dict[str, Any], str]]:
    rows = [{"id": i, "body": text, "topic": topic, "year": year} for i, (text, topic, year) in enumerate(ARTICLES)]
    steps: list[tuple[str, dict[str, Any], str]] = [
        ("server_info", {}, "What is this server, and what may it do?"),
        ("list_workspaces", {}, "Where can data live?"),
        (
            "execute_sql",
            {
                "sql": f"CREATE TABLE IF NOT EXISTS {TABLE} (id INT, body TEXT, topic TEXT, year INT, "
                "embedding FLOAT4[]) USING deeplake"
            },
            "Create a Deep Lake table (a write: allowed in read-write mode)",
        ),
        (
            "insert_rows",
            {"table": TABLE, "rows": rows, "embed": {"embedding": "body"}},
            "Load the articles first; the server embeds each body into the vector column",
        ),
        (
            "execute_sql",
            {
                "sql": f"CREATE INDEX IF NOT EXISTS idx_{TABLE}_embedding ON {TABLE} "
                "USING deeplake_index (embedding DESC)"
            },
            "Then index the loaded vectors (the index build is a bulk job: load first, index after)",
        ),
        ("list_tables", {}, "What tables exist now?"),
        ("describe_table", {"table": TABLE}, "Columns, row count, indexes, vector dimension and model"),
        (
            "query",
            {"sql": f"SELECT topic, count(*) AS n, min(year) AS since FROM {TABLE} GROUP BY topic ORDER BY n DESC"},
            "A read-only SQL question",
        ),
        (
            "semantic_search",
            {"table": TABLE, "query": "what should I eat for breakfast?", "k": 3, "columns": ["id", "topic", "body"]},
            "Search by meaning",
        ),
        (
            "semantic_search",
            {
                "table": TABLE,
                "query": "planet exploration",
                "k": 2,
                "filter": "year >= 2022",
                "columns": ["id", "topic", "year"],
            },
            "Search by meaning with a SQL filter",
        ),
        (
            "semantic_search",
            {
                "table": TABLE,
                "query": "interest rates",
                "k": 2,
                "text_column": "body",
                "hybrid_weight": 0.5,
                "columns": ["id", "topic"],
            },
            "Hybrid: meaning blended with BM25 keywords",
        ),
        ("query", {"sql": f"DROP TABLE {TABLE}"}, "The guard refuses destructive SQL (the table survives)"),
        ("query", {"sql": f"SELECT 1; DELETE FROM {TABLE}"}, "…and stacked statements, in every mode"),
        (
            "upload_file",
            {"table": "demo_cities", "content": CSV, "filename": "cities.csv"},
            "Load a CSV as a new table (types inferred)",
        ),
        ("query", {"sql": "SELECT city, population FROM demo_cities ORDER BY population DESC"}, "Query the upload"),
    ]
    if hub is None:
        return steps
    tql = f'SELECT name, moons FROM "{hub}" WHERE moons > 0 ORDER BY moons DESC'
    return [
        *steps,
        ("tql_query", {"query": tql}, "TQL on a Deep Lake dataset (the Tensor Database), made for the demo"),
    ]


class _Printer:
    def __init__(self, out: Any) -> None:
        self._out = out

    def _line(self, text: str = "") -> None:
        print(text, file=self._out, flush=True)

    def title(self, text: str) -> None:
        self._line("=" * WIDTH)
        self._line(text)
        self._line("=" * WIDTH)

    def note(self, text: str) -> None:
        self._line(text)

    def step(self, n: int, why: str, tool: str, args: dict[str, Any]) -> None:
        self._line()
        self._line(f"[{n}] {why}")
        self._line(f"  → {tool}({_short(json.dumps(args, ensure_ascii=False), WIDTH - 10)})")

    def result(self, result: CallToolResult) -> None:
        if result.is_error:
            text = " ".join(getattr(block, "text", "") for block in result.content)
            self._line(f"  ✗ {_short(text, 400)}")
            return
        data = result.structured_content
        self._line(f"  ✓ {_short(json.dumps(data, ensure_ascii=False, default=str), 600)}")


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def demo_data_dir(given: Path | None) -> Path:
    """The data dir the demo uses: the one given (kept), else a new temporary one (your data stays untouched),
    deleted when the process exits, after an error or Ctrl-C too (the embedded PostgreSQL has stopped by then)."""
    if given is not None:
        return given
    path = Path(tempfile.mkdtemp(prefix="deeplake-mcp-demo-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path
