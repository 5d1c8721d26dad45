"""Fewer tokens without losing what an agent needs: the tool list's size per mode, and scripted tasks that use
only what the model sees (the tool list and the result texts) and must succeed on the first try.

The model's view of a tool is its name, its description and its input schema as compact JSON. Each scenario
step names the phrases of that view the call relies on; the test fails when a phrase is gone (a description
was trimmed too far), when an argument is not in the schema, or when a call does not succeed first time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult

from deeplake_mcp.app import build_server
from deeplake_mcp.model_view import view_size
from deeplake_mcp.output import compact_json
from mcp_helpers import settings_for, unique

pytestmark = pytest.mark.anyio

CAPS = {"read-only": 5_000, "read-write": 8_000, "destructive": 8_000}
_FRAME = re.compile(r"<untrusted-data-([0-9a-f]{6})>\n(.*)\n</untrusted-data-\1>", re.DOTALL)
_CURSOR = re.compile(r'cursor="([^"]+)"')


async def listed(client: Client) -> dict[str, dict[str, Any]]:
    return {
        t.name: t.model_dump(by_alias=True, mode="json", exclude_none=True) for t in (await client.list_tools()).tools
    }


@pytest.mark.parametrize("mode", CAPS)
async def test_the_tool_list_fits_its_cap(data_dir: Path, mode: str) -> None:
    async with Client(build_server(settings_for(data_dir, access=mode, embedder="none"))) as client:
        tools = await listed(client)
    size = view_size(tools.values())
    print(f"model's view of the tool list, {mode}: {size} characters in {len(tools)} tools")
    assert size <= CAPS[mode]


async def test_the_published_schemas_are_compact_and_arguments_still_checked(data_dir: Path) -> None:
    async with Client(build_server(settings_for(data_dir, embedder="none"))) as client:
        tools = await listed(client)
        text = json.dumps([tool["inputSchema"] for tool in tools.values()])
        assert '"title"' not in text and '{"type": "null"}' not in text and '"default": null' not in text
        assert tools["semantic_search"]["inputSchema"]["properties"]["k"] == {
            "default": 10,
            "description": "how many rows to return",
            "maximum": 1000,
            "minimum": 1,
            "type": "integer",
        }
        too_long = await client.call_tool("describe_table", {"table": "x" * 300})
        assert too_long.is_error and "at most 255 characters" in too_long.content[0].text  # type: ignore[union-attr]
        zero = await client.call_tool("query", {"sql": "SELECT 1", "max_rows": 0})
        assert zero.is_error


# --- scripted tasks -------------------------------------------------------------------------------------


@dataclass
class Step:
    """One call an agent makes from the model's view: the phrases it relies on must be in that view."""

    tool: str
    args: dict[str, Any] | Callable[[Agent], dict[str, Any]]
    relies_on: tuple[str, ...] = ()
    check: Callable[[Agent, CallToolResult], None] | None = None


@dataclass
class Agent:
    """A scripted agent: it sees the tool list and result texts, and keeps what it read."""

    client: Client
    tools: dict[str, dict[str, Any]]
    memory: dict[str, Any] = field(default_factory=dict)
    calls: int = 0
    first_try: int = 0
    last_text: str = ""

    def view(self, tool: str) -> str:
        """What the model reads of a tool: name, description, and the schema (its strings as text)."""
        spec = self.tools[tool]
        schema = spec["inputSchema"]
        described = [f"{name}: {prop.get('description', '')}" for name, prop in schema.get("properties", {}).items()]
        return "\n".join([spec["name"], spec.get("description", ""), compact_json(schema), *described])

    async def run(self, steps: list[Step]) -> None:
        for step in steps:
            assert step.tool in self.tools, f"{step.tool} is not listed"
            args = step.args(self) if callable(step.args) else step.args
            schema = self.tools[step.tool]["inputSchema"]
            assert set(args) <= set(schema.get("properties", {})), (step.tool, sorted(args))
            assert set(schema.get("required", [])) <= set(args), (step.tool, schema.get("required"))
            view = self.view(step.tool)
            missing = [phrase for phrase in step.relies_on if phrase not in view]
            assert not missing, f"the model's view of {step.tool} no longer says {missing}"
            result = await self.client.call_tool(step.tool, args)
            self.calls += 1
            text = result.content[0].text  # type: ignore[union-attr]
            assert not result.is_error, f"{step.tool}({args}) failed: {text}"
            self.first_try += 1
            self.last_text = text
            if step.check is not None:
                step.check(self, result)


def framed(text: str) -> str:
    match = _FRAME.search(text)
    assert match, text
    return match.group(2)


def remember_columns(agent: Agent, result: CallToolResult) -> None:
    described = json.loads(framed(result.content[0].text))  # type: ignore[union-attr]
    agent.memory["columns"] = {c["name"]: c["type"] for c in described["columns"]}


def remember_cursor(agent: Agent, result: CallToolResult) -> None:
    text = result.content[0].text  # type: ignore[union-attr]
    found = _CURSOR.search(text.splitlines()[0])
    agent.memory["cursor"] = found.group(1) if found else None
    agent.memory.setdefault("rows", 0)
    agent.memory["rows"] += len(framed(text).splitlines()) - 1


async def seed(client: Client, table: str) -> None:
    await client.call_tool(
        "execute_sql",
        {"sql": f"CREATE TABLE {table} (id INT, category TEXT, body TEXT, embedding FLOAT4[]) USING deeplake"},
    )
    rows = [
        {"id": i, "category": ["news", "sport", "tech"][i % 3], "body": f"article {i} " + "text " * 40}
        for i in range(300)
    ]
    await client.call_tool("insert_rows", {"table": table, "rows": rows})


async def test_scenarios_succeed_first_time_from_the_model_view(data_dir: Path) -> None:
    settings = settings_for(data_dir, access="read-write", max_result_chars=6_000)
    async with Client(build_server(settings)) as client:
        agent = Agent(client, await listed(client))
        table, rag = unique("articles"), unique("rag")
        await seed(client, table)
        explore = [
            Step("list_tables", {}, ("List the tables",)),
            Step("describe_table", {"table": table}, ("columns", "as list_tables shows it"), remember_columns),
            Step("query", {"sql": f"SELECT id, category FROM {table} LIMIT 10"}, ("read-only SQL",)),
            Step("query", {"sql": f"SELECT category, count(*) FROM {table} GROUP BY category"}, ("SELECT",)),
        ]
        paging = [
            Step("query", {"sql": f"SELECT id, body FROM {table} ORDER BY id"}, (), remember_cursor),
            *[
                Step(
                    "query",
                    lambda a: {"sql": f"SELECT id, body FROM {table} ORDER BY id", "cursor": a.memory["cursor"]},
                    ("cursor", "the same call with it gives the next page"),
                    remember_cursor,
                )
                for _ in range(3)
            ],
        ]
        rag_build = [
            Step(
                "execute_sql",
                {"sql": f"CREATE TABLE {rag} (id TEXT, content TEXT, embedding FLOAT4[]) USING deeplake"},
                ("CREATE TABLE … USING deeplake",),
            ),
            Step(
                "insert_rows",
                {
                    "table": rag,
                    "rows": [
                        {"id": "a", "content": "apples grow on trees in orchards"},
                        {"id": "b", "content": "the football match ended in a draw"},
                        {"id": "c", "content": "a new graphics card was released"},
                    ],
                    "embed": {"embedding": "content"},
                },
                ('{"embedding": "content"}', "embed"),
            ),
            Step(
                "execute_sql",
                {"sql": f"CREATE INDEX IF NOT EXISTS idx_{rag} ON {rag} USING deeplake_index (embedding DESC)"},
                ("CREATE INDEX … USING deeplake_index",),
            ),
            Step(
                "semantic_search",
                {"table": rag, "query": "fruit farming", "k": 2},
                ("in plain language", "how many rows to return"),
                lambda a, r: a.memory.update(best=framed(r.content[0].text).splitlines()[1]),  # type: ignore[union-attr]
            ),
            Step(
                "semantic_search",
                {"table": rag, "query": "football", "text_column": "content", "hybrid_weight": 0.5},
                ("text_column", "hybrid_weight", "BM25"),
            ),
            Step(
                "query",
                {
                    "sql": f"SELECT id, embedding <#> $1::float4[] AS score FROM {rag} ORDER BY score DESC LIMIT 1",
                    "params": [[0.0] * 384],
                },
                ("<#>", "higher is better", "$1"),
            ),
        ]
        await agent.run(explore + paging + rag_build)
        assert agent.memory["columns"]["embedding"] == "float4[]"
        assert agent.memory["rows"] > 0 and agent.memory["cursor"]
        assert agent.memory["best"].startswith("a\t") or agent.memory["best"].startswith('["a"')
        print(f"scripted tasks: {agent.first_try}/{agent.calls} calls right the first time")
        assert agent.first_try == agent.calls


async def test_read_only_scenario_sees_no_write_tools(data_dir: Path) -> None:
    async with Client(build_server(settings_for(data_dir, access="read-only", embedder="none"))) as client:
        agent = Agent(client, await listed(client))
        assert not {"insert_rows", "execute_sql", "upload_file"} & set(agent.tools)
        await agent.run(
            [
                Step("server_info", {}, ("access mode",)),
                Step("list_workspaces", {}, ("default one",)),
                Step("query", {"sql": "SELECT 1 AS one"}, ("read-only SQL",)),
            ]
        )
        assert agent.first_try == agent.calls == 3
