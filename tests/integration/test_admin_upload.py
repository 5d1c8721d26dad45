"""File uploads and the opt-in administration tools, through the MCP client on the embedded backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from deeplake_mcp.app import build_server
from mcp_helpers import error_text, payload, settings_for, unique

pytestmark = pytest.mark.anyio

CSV = "id,title,score,published\n1,Apples,0.5,true\n2,Bananas,1.25,false\n3,Cherries,,true\n"


async def call(client: Client, tool: str, **args: Any) -> Any:
    return payload(await client.call_tool(tool, args))


async def fails(client: Client, tool: str, **args: Any) -> str:
    result = await client.call_tool(tool, args)
    assert result.is_error, result.structured_content
    return error_text(result)


async def test_admin_tools_are_opt_in(data_dir: Path) -> None:
    async with Client(build_server(settings_for(data_dir))) as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert "upload_file" in names
    assert not names & {"manage_workspaces", "manage_members"}
    async with Client(build_server(settings_for(data_dir, admin_tools=True, access="read-only"))) as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert not names & {"manage_workspaces", "manage_members", "upload_file"}
    async with Client(build_server(settings_for(data_dir, admin_tools=True))) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    ann = tools["manage_workspaces"].annotations
    assert ann is not None and not ann.read_only_hint and not ann.destructive_hint


async def test_upload_csv_content_infers_types(data_dir: Path) -> None:
    table = unique("fruit")
    progress: list[float] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(done)

    async with Client(build_server(settings_for(data_dir))) as client:
        result = await client.call_tool(
            "upload_file", {"table": table, "content": CSV, "filename": "fruit.csv"}, progress_callback=on_progress
        )
        uploaded = payload(result)
        assert uploaded["row_count"] == 3
        types = {c["name"]: c["type"] for c in uploaded["columns"]}
        assert types == {"id": "int8", "title": "text", "score": "float8", "published": "bool"}
        rows = await call(client, "query", sql=f"SELECT title, score FROM {table} ORDER BY id")
        assert rows["rows"] == [["Apples", 0.5], ["Bananas", 1.25], ["Cherries", None]]
        message = await fails(client, "upload_file", table=table, content=CSV, filename="again.csv")
        assert "already exists" in message
    assert progress[-1] == 2


async def test_upload_json_from_a_path_over_stdio(data_dir: Path, tmp_path: Path) -> None:
    file = tmp_path / "notes.json"
    file.write_text('[{"k": "a", "tags": ["x"], "v": [0.1, 0.2]}, {"k": "b", "tags": [], "v": [0.3, 0.4]}]')
    table = unique("notes")
    async with Client(build_server(settings_for(data_dir, upload_dirs=[tmp_path]))) as client:
        uploaded = await call(client, "upload_file", table=table, path=str(file))
        assert uploaded["row_count"] == 2
        assert "empty" in await fails(client, "upload_file", table=unique("e"), content="  ", filename="x.csv")
        assert "must end with" in await fails(client, "upload_file", table=unique("e"), content="a", filename="x.txt")
        assert "exactly one" in await fails(client, "upload_file", table=unique("e"))


async def test_upload_path_is_refused_over_http(data_dir: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    async with Client(build_server(settings_for(data_dir, transport="http"))) as client:
        message = await fails(client, "upload_file", table=unique("x"), path=str(secret))
    assert "only when the server runs locally over stdio" in message


async def test_manage_workspaces(data_dir: Path) -> None:
    ws = unique("ws")
    async with Client(build_server(settings_for(data_dir, admin_tools=True))) as client:
        created = await call(client, "manage_workspaces", action="create", workspace=ws, name="Team space")
        assert created["id"] == ws
        renamed = await call(client, "manage_workspaces", action="rename", workspace=ws, name="Renamed")
        assert renamed["name"] == "Renamed"
        listed = await call(client, "manage_workspaces", action="list")
        assert ws in [w["id"] for w in listed["workspaces"]]
        message = await fails(client, "manage_workspaces", action="delete", workspace=ws)
        assert "destructive" in message
        assert "required" in await fails(client, "manage_workspaces", action="create")
    async with Client(build_server(settings_for(data_dir, admin_tools=True, access="destructive"))) as client:
        assert (await call(client, "manage_workspaces", action="delete", workspace=ws)) == {"deleted": ws}
        assert "not found" in await fails(client, "manage_workspaces", action="get", workspace=ws)


async def test_manage_members(data_dir: Path) -> None:
    async with Client(build_server(settings_for(data_dir, admin_tools=True))) as client:
        listed = await call(client, "manage_members", action="list")
        assert listed["org_id"] == "local" and listed["members"]
        invited = await call(client, "manage_members", action="invite", email="ada@example.com", role="member")
        assert invited["email"] == "ada@example.com"
        message = await fails(client, "manage_members", action="remove", user_id="someone")
        assert "destructive" in message
