"""The official MCP inspector CLI lists our tools over stdio (skipped when npx is absent)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from npx import INSPECTOR, npx

pytestmark = pytest.mark.slow


def test_inspector_lists_tools(data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPLAKE_")}
    args = ["--cli", "-e", f"DEEPLAKE_MCP_DATA_DIR={data_dir}", "-e", "DEEPLAKE_MCP_BACKEND=local"]
    args += ["--method", "tools/list", "--format", "json", "--", sys.executable, "-m", "deeplake_mcp"]
    done = npx(INSPECTOR, *args, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    tools = {t["name"]: t for t in result.get("result", result)["tools"]}
    assert {
        "list_workspaces",
        "list_tables",
        "describe_table",
        "query",
        "semantic_search",
        "tql_query",
        "insert_rows",
        "execute_sql",
        "server_info",
    } <= set(tools)
    assert tools["query"]["annotations"]["readOnlyHint"] is True
    assert tools["execute_sql"]["annotations"]["destructiveHint"] is False
