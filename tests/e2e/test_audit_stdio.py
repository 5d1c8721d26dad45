"""The real program over stdio, its audit trail in a file: one line per statement, no values."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from mcp_helpers import payload, unique
from processes import server_env

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

NEEDLE = "needle-VALUE"


async def test_stdio_session_writes_its_audit_file(data_dir: Path, tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    env = server_env(data_dir, DEEPLAKE_MCP_AUDIT_LOG=str(audit), DEEPLAKE_MCP_EMBEDDER="none")
    params = StdioServerParameters(command=sys.executable, args=["-m", "deeplake_mcp"], env=env)
    table = unique("stdio_audit")
    with (tmp_path / "stderr.log").open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            payload(await client.call_tool("execute_sql", {"sql": f"CREATE TABLE {table} (id TEXT) USING deeplake"}))
            payload(await client.call_tool("insert_rows", {"table": table, "rows": [{"id": NEEDLE}, {"id": "b"}]}))
            rows = payload(await client.call_tool("query", {"sql": f"SELECT id FROM {table} WHERE id = '{NEEDLE}'"}))
            assert rows["rows"] == [[NEEDLE]]
            refused = await client.call_tool("execute_sql", {"sql": f"TRUNCATE {table}"})
            assert refused.is_error
    lines = _lines(audit)
    statements = [(line["tool"], line["verdict"], line["outcome"]) for line in lines if line["verdict"] != "server"]
    assert statements == [
        ("execute_sql", "write", "ok"),
        ("query", "read", "ok"),
        ("execute_sql", "destructive", "refused"),
    ]
    copy = next(line for line in lines if line["statement"].startswith("COPY"))  # the embedded backend's insert
    assert (copy["tool"], copy["rows"]) == ("insert_rows", 2)
    assert len({line["session"] for line in lines}) == 1 and re.fullmatch(r"p\d+-[0-9a-f]{6}", lines[0]["session"])
    assert len({line["request_id"] for line in lines}) == 4
    assert all(line["client"].startswith("mcp/") and line["backend"] == "local" for line in lines)


def _lines(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    assert NEEDLE not in text
    return [json.loads(line) for line in text.splitlines()]
