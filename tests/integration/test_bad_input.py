"""Bad input gets a tool error that says what is wrong; a bug gets a short error with an id the log carries."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from mcp import Client

from deeplake_mcp.app import build_server
from mcp_helpers import error_text, payload, settings_for

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(data_dir: Path) -> Client:  # type: ignore[misc]
    async with Client(build_server(settings_for(data_dir, embedder="none"))) as connected:
        yield connected


@pytest.mark.parametrize(
    ("tool", "args", "expected"),
    [
        ("describe_table", {"table": "a\x00b"}, "control characters"),
        ("describe_table", {"table": "tab\tle"}, "control characters"),
        ("describe_table", {"table": ""}, "at least 1 character"),
        ("describe_table", {"table": "t" * 300}, "at most 255 characters"),
        ("describe_table", {"table": "t", "workspace": "w\x1b[31m"}, "control characters"),
        ("list_tables", {"workspace": 42}, "valid string"),
        ("semantic_search", {"table": "t", "vector": [1, 2], "k": "ten"}, "valid integer"),
        ("semantic_search", {"table": "t", "vector": [1, 2], "columns": ["ok", "b\x00d"]}, "control characters"),
        ("insert_rows", {"table": "t\x00", "rows": [{"a": 1}]}, "control characters"),
        ("insert_rows", {"table": "t", "rows": "not a list"}, "valid list"),
        ("upload_file", {"table": "x\ny", "content": "a\n1\n", "filename": "a.csv"}, "control characters"),
        ("query", {"sql": "SELECT '" + "x" * 300_000 + "'"}, "over 256 KiB"),
        ("query", {"sql": "SELECT 1 \x00"}, "control character"),
        ("query", {"sql": None}, "valid string"),
    ],
)
async def test_bad_input_gets_a_clear_tool_error(
    client: Client, tool: str, args: dict[str, object], expected: str
) -> None:
    result = await client.call_tool(tool, args)
    assert result.is_error
    assert expected in error_text(result)
    assert (await client.call_tool("server_info", {})).is_error is False  # and the server keeps serving


async def test_the_local_api_refuses_control_characters_in_names(local_client: httpx.AsyncClient) -> None:
    for method in ("GET", "DELETE"):
        response = await local_client.request(method, "/workspaces/default/tables/a%00b")
        assert response.status_code == 400 and "invalid table name" in response.json()["error"]


async def test_an_unexpected_failure_is_short_and_logged_with_its_id(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise ZeroDivisionError("a bug deep down")

    settings = settings_for(data_dir, backend="cloud", api_key="k", embedder="none")
    with caplog.at_level(logging.ERROR):
        async with Client(build_server(settings, transport=httpx.MockTransport(broken))) as client:
            result = await client.call_tool("list_workspaces", {})
    message = error_text(result)
    assert result.is_error and "internal error in list_workspaces (incident " in message
    assert "ZeroDivisionError" not in message and "bug deep down" not in message
    incident = message.split("incident ")[1].split(")")[0]
    logged = [r for r in caplog.records if incident in r.getMessage()]
    assert logged and logged[0].exc_info is not None and "a bug deep down" in str(logged[0].exc_info[1])


async def test_a_deeplake_index_on_a_plain_table_says_how_to_get_one(client: Client) -> None:
    await client.call_tool("execute_sql", {"sql": "CREATE TABLE IF NOT EXISTS plain_vectors (embedding FLOAT4[])"})
    result = await client.call_tool(
        "execute_sql", {"sql": "CREATE INDEX ON plain_vectors USING deeplake_index (embedding DESC)"}
    )
    assert result.is_error
    message = error_text(result)
    assert "does not have DeepLake access method" in message and "USING deeplake" in message
    indexes = "SELECT indexname FROM pg_catalog.pg_indexes WHERE tablename = 'plain_vectors'"
    assert payload(await client.call_tool("query", {"sql": indexes}))["rows"] == []
