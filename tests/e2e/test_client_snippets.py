"""Every client snippet in ``config/`` and the README starts exactly what it says and lists the tools.

Each snippet is read the way its client reads it (Claude Code's ``${VAR:-default}`` expansion, Cursor's
``${env:NAME}``, bash for ``claude mcp add`` lines), its placeholders become this checkout's venv and a
free port, and it is started: stdio entries as a subprocess through the SDK's client, in a shell
environment that exports every variable the snippets mention (a stdio entry inherits them and must
not fail on them); HTTP entries against a running ``serve --transport http``, with and without a token.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from client_snippets import (
    CONFIG,
    README,
    ROOT,
    Expand,
    Target,
    expand_claude_code,
    expand_cursor,
    mcp_servers,
    no_expansion,
    readme_targets,
    referenced_variables,
    tool_names,
)
from deeplake_mcp.settings import ENV_NAMES
from npx import INSPECTOR, npx
from processes import http_server

pytestmark = pytest.mark.slow

TOKEN = "snippet-test-token-0123456789"
CONFIG_FILES: dict[str, Expand] = {
    "claude_desktop_config.json": no_expansion,
    "claude_code.mcp.json": expand_claude_code,
    "cursor.mcp.json": expand_cursor,
    "cloud.mcp.json": no_expansion,
}
VENV = Path(sys.executable).parent.parent
SHELL_VARIABLES = {
    "DEEPLAKE_MCP_HTTP_TOKEN": TOKEN,  # exported for the HTTP entries' header
    **referenced_variables((CONFIG / "claude_code.mcp.json").read_text(encoding="utf-8")),
}


def _shell(data_dir: Path) -> dict[str, str]:
    """The user's shell: none of the developer's settings, the snippets' variables, a test data dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPLAKE_")} | SHELL_VARIABLES
    return env | {
        "DEEPLAKE_MCP_DATA_DIR": str(data_dir),
        "DEEPLAKE_MCP_EMBEDDER": "none",
        "DEEPLAKE_MCP_LOG_LEVEL": "WARNING",
    }


def _config_targets() -> list[Target]:
    env = {**os.environ, **SHELL_VARIABLES}
    return [
        target
        for name, expand in CONFIG_FILES.items()
        for target in mcp_servers(json.loads((CONFIG / name).read_text(encoding="utf-8")), name, expand, env)
    ]


def _unique(targets: list[Target]) -> list[Target]:
    seen: dict[tuple[object, ...], Target] = {}
    for target in targets:
        seen.setdefault(target.key, target)
    return list(seen.values())


TARGETS = _unique(_config_targets() + readme_targets({**os.environ, **SHELL_VARIABLES}))


@pytest.fixture(scope="module")
def ports(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[bool, int]]:
    """Two HTTP servers, as `make run` starts them: without a token, and with one. Keyed by 'has token'."""
    logs = tmp_path_factory.mktemp("snippet-servers")
    with (
        http_server(data_dir, logs / "open.log", DEEPLAKE_MCP_EMBEDDER="none") as open_url,
        http_server(data_dir, logs / "token.log", DEEPLAKE_MCP_EMBEDDER="none", DEEPLAKE_MCP_HTTP_TOKEN=TOKEN) as url,
    ):
        yield {False: _port(open_url), True: _port(url)}


def _port(url: str) -> int:
    port = httpx.URL(url).port
    assert port is not None
    return port


def test_every_config_file_is_covered() -> None:
    assert {p.name for p in CONFIG.glob("*.json")} == set(CONFIG_FILES)


def test_the_readme_has_snippets_for_every_client() -> None:
    sources = {(t.source, t.name) for t in readme_targets({**os.environ, **SHELL_VARIABLES})}
    assert {("README", "deeplake"), ("README", "deeplake-http"), ("README", "deeplake-cloud")} <= sources


@pytest.mark.anyio
@pytest.mark.parametrize("target", TARGETS, ids=str)
async def test_snippet_starts_and_lists_tools(
    target: Target, ports: dict[bool, int], data_dir: Path, tmp_path: Path
) -> None:
    token = any(key.lower() == "authorization" for key, _ in target.headers)
    local = target.localized(VENV, ports[token])
    names = await tool_names(local, _shell(data_dir), tmp_path / "stderr.log")
    assert {"query", "describe_table", "server_info"} <= names


def test_the_cloud_variant_is_marked_and_the_rest_is_embedded() -> None:
    """Only entries named ``*-cloud`` carry an API key; everything else runs on the embedded backend."""
    for target in TARGETS:
        keyed = any(name == ENV_NAMES["api_key"] for name, _ in target.env)
        assert keyed == target.name.endswith("-cloud"), target


@pytest.mark.parametrize("path", [README, *CONFIG.iterdir(), ROOT / "Dockerfile"], ids=lambda p: p.name)
def test_snippets_name_only_variables_the_server_knows(path: Path) -> None:
    """A ``DEEPLAKE_MCP_*`` name the server does not know would stop a stdio entry that inherits it."""
    known = {*ENV_NAMES.values(), "DEEPLAKE_MCP_CONFIG"}
    text = path.read_text(encoding="utf-8")
    mentioned = set(re.findall(r"\bDEEPLAKE_MCP_[A-Z_]+[A-Z]", text))
    assert mentioned <= known, sorted(mentioned - known)
    assert "uvx" not in text  # not on PyPI yet: install from the checkout


@pytest.mark.parametrize("target", [t for t in TARGETS if t.source in CONFIG_FILES], ids=str)
def test_the_inspector_starts_config_entries(
    target: Target, ports: dict[bool, int], data_dir: Path, tmp_path: Path
) -> None:
    """The official inspector CLI starts each entry of a Claude-style ``mcpServers`` file (``--config``)."""
    local = target.localized(VENV, ports[False])
    shell = _shell(data_dir)
    if local.url is not None:
        entry: dict[str, object] = {"type": "http", "url": local.url}
    else:  # the inspector may not pass its own environment on: give the entry the shell's settings
        deeplake = {k: v for k, v in shell.items() if k.startswith("DEEPLAKE_")}
        entry = {"command": local.command[0], "args": list(local.command[1:]), "env": deeplake | dict(local.env)}
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {local.name: entry}}), encoding="utf-8")
    args = ["--cli", "--config", str(config), "--server", local.name, "--method", "tools/list", "--format", "json"]
    done = npx(INSPECTOR, *args, env=shell | {"MCP_INSPECTOR_SECRET_STORE": "memory"})
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert "query" in {tool["name"] for tool in result.get("result", result)["tools"]}
