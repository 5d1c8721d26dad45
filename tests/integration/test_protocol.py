"""The whole protocol through real clients: log levels and notifications, completions, open-world hints,
resources that change (list-changed and updated notifications, subscriptions), icons."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import (
    LoggingMessageNotificationParams,
    PromptReference,
    ResourceListChangedNotification,
    ResourceTemplateReference,
    ResourceUpdatedNotification,
)

from deeplake_mcp.app import build_server
from deeplake_mcp.protocol import changes, schema_uri
from deeplake_mcp.settings import load_settings
from fault_server import FaultServer, running
from mcp_helpers import payload, settings_for, unique

pytestmark = pytest.mark.anyio


class Received:
    """What a client was sent besides answers: log messages and notifications."""

    def __init__(self) -> None:
        self.logs: list[LoggingMessageNotificationParams] = []
        self.notifications: list[Any] = []

    async def on_log(self, params: LoggingMessageNotificationParams) -> None:
        self.logs.append(params)

    async def on_message(self, message: Any) -> None:
        root = getattr(message, "root", message)
        if isinstance(root, ResourceListChangedNotification | ResourceUpdatedNotification):
            self.notifications.append(root)

    def texts(self) -> list[str]:
        return [str(entry.data) for entry in self.logs]


@pytest.fixture
def received(caplog: pytest.LogCaptureFixture) -> Received:
    caplog.set_level(logging.INFO, logger="deeplake_mcp")  # as `serve` logs by default (--log-level INFO)
    return Received()


@pytest.fixture
async def legacy(data_dir: Path, received: Received) -> AsyncIterator[Client]:
    server = build_server(settings_for(data_dir, access="read-write", embedder="none"))
    async with Client(
        server, mode="legacy", logging_callback=received.on_log, message_handler=received.on_message
    ) as client:
        yield client


async def test_log_notifications_follow_the_level_the_client_sets(legacy: Client, received: Received) -> None:
    await legacy.call_tool("query", {"sql": "SELECT 1 AS one"})
    assert any("query: rows 1-1" in text for text in received.texts())
    assert {entry.level for entry in received.logs} == {"info"}
    assert all(entry.logger and entry.logger.startswith("deeplake_mcp") for entry in received.logs)
    await legacy.set_logging_level("warning")
    received.logs.clear()
    await legacy.call_tool("query", {"sql": "SELECT 1 AS one"})
    assert received.logs == []
    await legacy.set_logging_level("debug")
    await legacy.call_tool("query", {"sql": "SELECT 2 AS two"})
    assert any("query: rows 1-1" in text for text in received.texts())
    received.logs.clear()
    await legacy.call_tool("query", {"sql": "SELECT 3 AS three WHERE false"})
    assert "query: no rows" in received.texts()


async def test_modern_clients_get_logs_only_when_a_request_opts_in(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="deeplake_mcp")
    server = build_server(settings_for(data_dir, embedder="none"))
    for level, expected in ((None, False), ("info", True), ("error", False)):
        got = Received()
        async with Client(server, mode="auto", logging_callback=got.on_log, log_level=level) as client:
            assert client.protocol_version == "2026-07-28"
            await client.call_tool("query", {"sql": "SELECT 1 AS one"})
        assert any("query: rows" in text for text in got.texts()) is expected, level


async def test_completions_offer_workspaces_and_tables(legacy: Client) -> None:
    table = unique("complete_me")
    await legacy.call_tool("execute_sql", {"sql": f"CREATE TABLE {table} (n INT) USING deeplake"})
    prompt = PromptReference(type="ref/prompt", name="explore_table")
    found = await legacy.complete(prompt, {"name": "table", "value": "complete_me"})
    assert table in found.completion.values
    assert all(v.startswith("complete_me") for v in found.completion.values)
    template = ResourceTemplateReference(type="ref/resource", uri="deeplake://{workspace}/{table}/schema")
    workspaces = await legacy.complete(template, {"name": "workspace", "value": "def"})
    assert workspaces.completion.values == ["default"]
    tables = await legacy.complete(template, {"name": "table", "value": table[:-2]}, {"workspace": "default"})
    assert tables.completion.values == [table]
    assert (await legacy.complete(template, {"name": "other", "value": ""})).completion.values == []
    assert legacy.server_capabilities.completions is not None


@pytest.fixture
def cloud() -> Iterator[FaultServer]:
    with running(FaultServer()) as server:
        yield server


async def test_tools_that_talk_to_the_managed_cloud_say_open_world(cloud: FaultServer, data_dir: Path) -> None:
    settings = load_settings(
        {"api_url": cloud.url, "embedder": "none"}, environ={"DEEPLAKE_API_KEY": "dl-key-0123456789"}
    )
    async with Client(build_server(settings)) as client:
        hints = {t.name: t.annotations.open_world_hint for t in (await client.list_tools()).tools if t.annotations}
    assert hints.pop("server_info") is False
    assert hints and all(hints.values()), hints
    async with Client(build_server(settings_for(data_dir, embedder="none"))) as client:
        local = {t.name: t.annotations.open_world_hint for t in (await client.list_tools()).tools if t.annotations}
    assert not any(local.values()), local


async def test_creating_and_dropping_tables_changes_the_resource_list(data_dir: Path) -> None:
    got = Received()
    server = build_server(settings_for(data_dir, access="destructive", embedder="none"))
    async with Client(server, mode="legacy", message_handler=got.on_message) as client:
        assert client.server_capabilities.resources is not None
        assert client.server_capabilities.resources.list_changed is True
        assert client.server_capabilities.resources.subscribe is True
        table = unique("listed")
        await client.call_tool("execute_sql", {"sql": f"CREATE TABLE {table} (n INT) USING deeplake"})
        assert any(isinstance(n, ResourceListChangedNotification) for n in got.notifications)
        uris = [str(r.uri) for r in (await client.list_resources()).resources]
        assert "deeplake://workspaces" in uris and schema_uri("default", table) in uris
        got.notifications.clear()
        await client.call_tool("query", {"sql": f"SELECT * FROM {table}"})
        assert got.notifications == []  # reads change nothing
        await client.call_tool("execute_sql", {"sql": f"DROP TABLE {table}"})
        assert any(isinstance(n, ResourceListChangedNotification) for n in got.notifications)
        assert schema_uri("default", table) not in [str(r.uri) for r in (await client.list_resources()).resources]


async def test_subscribers_hear_when_a_table_changes(data_dir: Path) -> None:
    got = Received()
    server = build_server(settings_for(data_dir, access="read-write", embedder="none"))
    async with Client(server, mode="legacy", message_handler=got.on_message) as client:
        table, other = unique("watched"), unique("unwatched")
        for name in (table, other):
            await client.call_tool("execute_sql", {"sql": f"CREATE TABLE {name} (n INT) USING deeplake"})
        uri = schema_uri("default", table)
        await client.subscribe_resource(uri)
        got.notifications.clear()
        payload(await client.call_tool("insert_rows", {"table": other, "rows": [{"n": 1}]}))
        assert got.notifications == []
        payload(await client.call_tool("insert_rows", {"table": table, "rows": [{"n": 1}]}))
        assert [str(n.params.uri) for n in got.notifications if isinstance(n, ResourceUpdatedNotification)] == [uri]
        got.notifications.clear()
        await client.call_tool("execute_sql", {"sql": f"INSERT INTO {table} VALUES (2)"})
        assert len(got.notifications) == 1
        await client.unsubscribe_resource(uri)
        got.notifications.clear()
        await client.call_tool("execute_sql", {"sql": f"INSERT INTO {table} VALUES (3)"})
        assert got.notifications == []


async def test_listen_streams_hear_table_changes(data_dir: Path) -> None:
    server = build_server(settings_for(data_dir, access="read-write", embedder="none"))
    table = unique("listened")
    async with Client(server, mode="auto") as client:
        assert client.server_capabilities.resources is not None
        assert client.server_capabilities.resources.list_changed is True
        async with client.listen(
            resources_list_changed=True, resource_subscriptions=[schema_uri("default", table)]
        ) as sub:
            await client.call_tool("execute_sql", {"sql": f"CREATE TABLE {table} (n INT) USING deeplake"})
            await client.call_tool("insert_rows", {"table": table, "rows": [{"n": 1}]})
            kinds: set[str] = set()
            with anyio.fail_after(10):
                async for event in sub:  # events are level triggers: several of a kind may arrive as one
                    kinds.add(type(event).__name__)
                    if kinds == {"ResourcesListChanged", "ResourceUpdated"}:
                        break


def test_what_a_statement_changes() -> None:
    assert changes("execute_sql", {"sql": "CREATE TABLE t (n INT) USING deeplake"}, "ws") == (
        True,
        ["deeplake://ws/t/schema"],
    )
    assert changes("execute_sql", {"sql": "DROP TABLE a, b"}, "ws") == (True, [])
    assert changes("execute_sql", {"sql": "ALTER TABLE a RENAME TO b"}, "ws") == (True, [])
    assert changes("execute_sql", {"sql": "ALTER TABLE a RENAME COLUMN x TO y"}, "ws") == (
        False,
        ["deeplake://ws/a/schema"],
    )
    assert changes("execute_sql", {"sql": "INSERT INTO other.t VALUES (1)", "workspace": "w2"}, "ws") == (
        False,
        ["deeplake://other/t/schema"],
    )
    assert changes("execute_sql", {"sql": "CREATE INDEX i ON t USING deeplake_index (v)"}, "ws") == (
        False,
        ["deeplake://ws/t/schema"],
    )
    assert changes("execute_sql", {"sql": "SELECT 1"}, "ws") == (False, [])
    assert changes("upload_file", {"table": "u"}, "ws") == (True, ["deeplake://ws/u/schema"])
    assert changes("query", {"sql": "SELECT 1"}, "ws") == (False, [])


async def test_the_server_has_an_icon(legacy: Client) -> None:
    info = legacy.server_info
    assert info is not None and info.icons
    assert info.icons[0].src.startswith("data:image/svg+xml;base64,")
    assert info.icons[0].mime_type == "image/svg+xml"
