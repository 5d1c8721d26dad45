"""The access policy decides the tool list, the annotations and what the guard lets through."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from deeplake_mcp.app import build_server
from mcp_helpers import error_text, payload, settings_for, unique

pytestmark = pytest.mark.anyio

READ_TOOLS = {
    "list_workspaces",
    "list_tables",
    "describe_table",
    "query",
    "semantic_search",
    "tql_query",
    "server_info",
}


async def test_read_only_hides_write_tools(data_dir: Path) -> None:
    async with Client(build_server(settings_for(data_dir, access="read-only"))) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == READ_TOOLS
        assert all(t.annotations and t.annotations.read_only_hint for t in tools.values())
        prompts = {p.name for p in (await client.list_prompts()).prompts}
        assert prompts == {"explore_table"}
        result = await client.call_tool("execute_sql", {"sql": "CREATE TABLE x (a int)"})
        assert result.is_error and "Unknown tool" in error_text(result)
        info = payload(await client.call_tool("server_info", {}))
        assert info["access"] == "read-only" and info["allowed_statement_classes"] == ["read"]


async def test_destructive_mode_marks_execute_sql_destructive(data_dir: Path) -> None:
    table = unique("gone")
    async with Client(build_server(settings_for(data_dir, access="destructive"))) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        execute = tools["execute_sql"].annotations
        assert execute is not None and execute.destructive_hint and not execute.read_only_hint
        insert = tools["insert_rows"].annotations
        assert insert is not None and not insert.destructive_hint
        payload(await client.call_tool("execute_sql", {"sql": f"CREATE TABLE {table} (a int) USING deeplake"}))
        payload(await client.call_tool("execute_sql", {"sql": f"INSERT INTO {table} VALUES (1), (2)"}))
        deleted = payload(await client.call_tool("execute_sql", {"sql": f"DELETE FROM {table} WHERE a = 1"}))
        assert deleted["statement_class"] == "destructive" and deleted["row_count"] == 1
        payload(await client.call_tool("execute_sql", {"sql": f"DROP TABLE {table}"}))
        stacked = await client.call_tool("execute_sql", {"sql": "DROP TABLE a; DROP TABLE b"})
        assert stacked.is_error
        assert error_text(stacked).endswith(
            "Refused by the SQL guard: a call with 2 statements is never allowed in any access mode: "
            "send exactly one statement per call"
        )
