"""The real ``deeplake-mcp serve --transport http`` with OAuth and static tokens: a local issuer in this
process, the server as a subprocess logging at DEBUG."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mcp_helpers import bearer_client, payload, post_initialize
from oauth_issuer import local_issuer
from processes import SERVER_CMD, free_port, http_server, server_env

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

AUD = "https://mcp.example.com/mcp"
STATIC = ("env-token-one", "env-token-two", "file-token-three")


async def test_oauth_and_static_tokens_and_no_token_in_the_log(data_dir: Path, tmp_path: Path) -> None:
    token_file = tmp_path / "tokens"
    token_file.write_text(f"# the team's tokens\n{STATIC[2]}\n")
    log = tmp_path / "server.log"
    with local_issuer() as issuer:
        env = {
            "DEEPLAKE_MCP_OAUTH_ISSUER": issuer.url,
            "DEEPLAKE_MCP_OAUTH_RESOURCE_URL": AUD,
            "DEEPLAKE_MCP_HTTP_TOKEN": f"{STATIC[0]},{STATIC[1]}",
            "DEEPLAKE_MCP_HTTP_TOKEN_FILE": str(token_file),
        }
        read, write = issuer.token(AUD, scope="deeplake:read"), issuer.token(AUD, scope="deeplake:write", kid="ec-1")
        expired = issuer.token(AUD, exp=1_000_000)
        with http_server(data_dir, log, "--access", "read-write", "--log-level", "DEBUG", **env) as url:
            assert (await post_initialize(url)).status_code == 401
            for wrong in ("wrong-token", expired):
                assert (await post_initialize(url, wrong)).status_code == 401
            for token in STATIC:
                assert (await post_initialize(url, token, scheme="bearer")).status_code == 200
            async with bearer_client(url, read, "legacy") as client:
                names = {t.name for t in (await client.list_tools()).tools}
                assert "query" in names and "execute_sql" not in names
                assert payload(await client.call_tool("query", {"sql": "SELECT 1 AS one"}))["rows"] == [[1]]
            async with bearer_client(url, write, "auto") as client:
                assert "execute_sql" in {t.name for t in (await client.list_tools()).tools}
    text = log.read_text()
    assert "bearer token sha256:" in text and "refused: Signature has expired" in text  # DEBUG auth lines
    for secret in (*STATIC, "wrong-token", read, write, expired):
        assert secret not in text


def test_an_unreachable_issuer_stops_the_start_with_one_line(data_dir: Path) -> None:
    env = server_env(
        data_dir,
        DEEPLAKE_MCP_OAUTH_ISSUER=f"http://127.0.0.1:{free_port()}",
        DEEPLAKE_MCP_OAUTH_RESOURCE_URL=AUD,
    )
    done = subprocess.run(
        [*SERVER_CMD, "serve", "--transport", "http", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    [line] = [line for line in done.stderr.splitlines() if "configuration error" in line]
    assert "cannot read the metadata of OAuth issuer http://127.0.0.1:" in line
    assert "DEEPLAKE_MCP_OAUTH_ISSUER" in line
    assert "Traceback" not in done.stderr
