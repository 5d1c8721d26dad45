"""The prompt, the README and the demo recommend one order for a RAG table: load the rows, then index."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from deeplake_mcp.app import build_server
from deeplake_mcp.demo import _script
from mcp_helpers import settings_for

README = Path(__file__).resolve().parents[2] / "README.md"


def _load_before_index(text: str) -> bool:
    return text.index("insert_rows") < text.index("CREATE INDEX")


@pytest.mark.anyio
async def test_the_prompt_loads_then_indexes(data_dir: Path) -> None:
    async with Client(build_server(settings_for(data_dir))) as client:
        prompt = await client.get_prompt("build_rag_table", {"table": "docs"})
    assert _load_before_index(prompt.messages[0].content.text)  # type: ignore[union-attr]


def test_the_readme_loads_then_indexes() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("**Building a RAG table: load, then index.**") :].split("\n\n")[0]
    assert _load_before_index(section)
    assert "`build_rag_table` prompt and the demo follow" in section


@pytest.mark.parametrize("hub", [None, "hub://demo/planets"])
def test_the_demo_loads_then_indexes(hub: str | None) -> None:
    steps = _script(hub)
    loaded = next(i for i, (tool, _, _) in enumerate(steps) if tool == "insert_rows")
    indexed = next(i for i, (_, args, _) in enumerate(steps) if "CREATE INDEX" in args.get("sql", ""))
    assert loaded < indexed
    assert ("tql_query" in [tool for tool, _, _ in steps]) == (hub is not None)
