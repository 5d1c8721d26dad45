"""Secrets never leave: known secrets fed through every path, then everything the server emitted is grepped.

A real misbehaving HTTP server stands in for the Deep Lake API, the Tensor Database and an
OpenAI-compatible embedding endpoint, and echoes the credentials it is sent (and some it is not) in
results, error bodies, health answers and a crashing route. The server runs in-process (tool results,
tool and resource errors, log records of every logger at DEBUG, uvicorn's traceback, the audit file)
and as the real program over HTTP at DEBUG (its stdout, stderr and audit file).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult

from deeplake_mcp import logs
from deeplake_mcp.app import build_server
from deeplake_mcp.settings import load_settings
from fault_server import FaultServer, Reply, running
from processes import http_server

pytestmark = pytest.mark.anyio

API_KEY = "dl-SECRET-apikey-0123456789"
HTTP_TOKEN = "http-SECRET-token-9876543210"
HTTP_TOKEN_2 = "http-SECRET-rotated-5555555"
FILE_TOKEN = "file-SECRET-token-7777777"
"""Read from DEEPLAKE_MCP_HTTP_TOKEN_FILE, which only an HTTP server with authentication reads."""
EMB_KEY = "sk-test-SECRET-emb-42"
PG_PASSWORD = "pg-SECRET-pw-1111"
PG_ADMIN_PASSWORD = "pg-SECRET-admin-2222"
PG_URL = f"postgresql://deeplake_query:{PG_PASSWORD}@db.invalid/deeplake"
PG_ADMIN_URL = f"postgresql://postgres:{PG_ADMIN_PASSWORD}@db.invalid/deeplake"
UNKNOWN = "unknown-T0KEN-abcdef"
"""A credential nobody configured, echoed in credential positions: only the patterns can catch it."""
SECRETS = (API_KEY, HTTP_TOKEN, HTTP_TOKEN_2, EMB_KEY, PG_PASSWORD, PG_ADMIN_PASSWORD, UNKNOWN)
ECHO = f"key {API_KEY}, tokens {HTTP_TOKEN} {HTTP_TOKEN_2} {FILE_TOKEN}, url {PG_URL}, Authorization: Bearer {UNKNOWN}"

QUERY = ("POST", "/workspaces/default/tables/query")
DOCS = {
    "table_name": "docs",
    "columns": [{"name": "id", "type": "text", "nullable": True}, {"name": "v", "type": "float4[]", "nullable": True}],
}


def _answer_query(body: Any) -> dict[str, Any]:
    """The server's own statements get plausible rows; any other statement gets rows full of secrets."""
    sql = body["query"]
    if "array_length" in sql:
        return {"columns": ["d"], "rows": [[3]], "row_count": 1}
    if "pg_indexes" in sql or "col_description" in sql:
        return {"columns": ["a", "b"], "rows": [], "row_count": 0}
    return {"columns": ["note", "conninfo"], "rows": [[ECHO, f"password={PG_ADMIN_PASSWORD}"]], "row_count": 1}


def _crash(_body: Any) -> Any:
    raise RuntimeError(f"upstream crashed while using {API_KEY} on {PG_ADMIN_URL}")


def _script(fault: FaultServer) -> None:
    fault.on("GET", "/health", Reply(json={"status": f"ok for Bearer {EMB_KEY}"}))
    fault.compute(*QUERY, _answer_query)
    fault.on("GET", "/workspaces/default/tables/docs", Reply(json=DOCS))
    fault.compute("GET", "/workspaces/default/tables/boom", _crash)
    fault.on("GET", "/workspaces", Reply(401, {"error": f"bad token {API_KEY}; Authorization: Bearer {HTTP_TOKEN}"}))
    fault.on("GET", "/workspaces/default/tables", Reply(500, {"error": f"cannot reach {PG_ADMIN_URL}: {ECHO}"}))
    fault.on("POST", "/api/query/v1", Reply(400, {"description": f"TQL failed for Bearer {API_KEY}: {ECHO}"}))
    fault.on(
        "POST",
        "/v1/embeddings",
        Reply(401, {"error": {"message": f"Incorrect API key provided: Authorization: Bearer {EMB_KEY}"}}),
    )


def _settings_env(fault: FaultServer, audit: Path) -> dict[str, str]:
    return {
        "DEEPLAKE_API_KEY": API_KEY,
        "DEEPLAKE_API_URL": fault.url,
        "DEEPLAKE_TENSORDB_URL": fault.url,
        "DEEPLAKE_MCP_BACKEND": "cloud",
        "DEEPLAKE_MCP_HTTP_TOKEN": f"{HTTP_TOKEN}, {HTTP_TOKEN_2}",
        "DEEPLAKE_MCP_EMBEDDER": "openai",
        "DEEPLAKE_MCP_EMBEDDING_URL": f"{fault.url}/v1",
        "DEEPLAKE_MCP_EMBEDDING_MODEL": "fake-model",
        "DEEPLAKE_MCP_EMBEDDING_API_KEY": EMB_KEY,
        "DEEPLAKE_MCP_POSTGRES_URL": PG_URL,
        "DEEPLAKE_MCP_POSTGRES_ADMIN_URL": PG_ADMIN_URL,
        "DEEPLAKE_MCP_AUDIT_LOG": str(audit),
        "DEEPLAKE_MCP_LOG_LEVEL": "DEBUG",
    }


CALLS: list[tuple[str, dict[str, Any]]] = [
    ("query", {"sql": f"SELECT '{API_KEY}' AS k, note FROM docs"}),
    ("server_info", {}),
    ("list_workspaces", {}),
    ("list_tables", {}),
    ("describe_table", {"table": "boom"}),
    ("semantic_search", {"table": "docs", "query": f"rows like {EMB_KEY}"}),
    ("tql_query", {"query": 'SELECT * FROM "hub://org/ds"'}),
    ("execute_sql", {"sql": f"INSERT INTO docs (id) VALUES ('{PG_PASSWORD}')"}),
]


async def _drive(client: Client) -> dict[str, CallToolResult]:
    return {tool: await client.call_tool(tool, args) for tool, args in CALLS}


def _assert_exercised(results: dict[str, CallToolResult]) -> None:
    """The paths really carried the secrets (masked), so the grep below is not vacuous."""
    rows = results["query"].structured_content
    assert rows is not None and rows["rows"][0][1] == "password=***" and "Bearer ***" in rows["rows"][0][0]
    health = results["server_info"].structured_content
    assert health is not None and health["health"]["status"] == "ok for Bearer ***"
    for tool in ("list_workspaces", "list_tables", "describe_table", "semantic_search", "tql_query"):
        assert results[tool].is_error, tool
    assert "Bearer ***" in results["semantic_search"].content[0].text  # type: ignore[union-attr]


def _assert_clean(where: str, text: str, *also: str) -> None:
    for secret in (*SECRETS, *also):
        assert secret not in text, f"{secret!r} leaked into {where}"


@pytest.fixture
def fault() -> Iterator[FaultServer]:
    with running(FaultServer()) as server:
        _script(server)
        yield server


async def test_no_secret_leaves_in_process(
    fault: FaultServer, tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    logs.install_redaction()
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")  # a CLI run earlier in the process may have quietened it
    audit = tmp_path / "audit.jsonl"
    settings = load_settings({"access": "read-write"}, environ=_settings_env(fault, audit))
    async with Client(build_server(settings)) as client:
        results = await _drive(client)
        with pytest.raises(MCPError) as resource_error:
            await client.read_resource("deeplake://workspaces")
    _assert_exercised(results)
    assert "***" in resource_error.value.error.message
    for tool, result in results.items():
        _assert_clean(f"the result of {tool}", result.model_dump_json())
    _assert_clean("a resource error", json.dumps(resource_error.value.error.model_dump()))
    out, err = capfd.readouterr()
    assert "HTTP Request" in caplog.text and "Tool 'list_workspaces' failed" in caplog.text
    assert "Traceback" in caplog.text and "RuntimeError: upstream crashed while using *** on ***" in caplog.text
    _assert_clean("the log records", caplog.text)
    _assert_clean("stdout", out)
    _assert_clean("stderr", err)
    audited = _text(audit)
    assert '"tool": "query"' in audited and '"outcome": "refused"' not in audited
    _assert_clean("the audit file", audited)
    assert all(s.headers["authorization"] == f"Bearer {API_KEY}" for s in fault.seen if s.path != "/v1/embeddings")


async def test_jsonrpc_errors_are_redacted(fault: FaultServer, tmp_path: Path) -> None:
    """Errors the SDK writes from an exception's text (legacy wire: code 0) carry no secret either."""
    settings = load_settings({}, environ=_settings_env(fault, tmp_path / "audit.jsonl"))
    async with Client(build_server(settings), mode="legacy") as client:
        with pytest.raises(MCPError) as prompt_error:
            await client.get_prompt(f"explore {API_KEY}", {})
        with pytest.raises(MCPError) as resource_error:
            await client.read_resource(f"deeplake://ws/t?api_key={UNKNOWN}")
    assert prompt_error.value.error.message == "Unknown prompt: explore ***"
    assert resource_error.value.error.message == "Unknown resource: deeplake://ws/t?api_key=***"


@pytest.mark.slow
async def test_no_secret_leaves_the_program_over_http(fault: FaultServer, data_dir: Path, tmp_path: Path) -> None:
    audit, out, err = tmp_path / "audit.jsonl", tmp_path / "stdout.log", tmp_path / "stderr.log"
    token_file = tmp_path / "tokens"
    token_file.write_text(f"# rotated in on Monday\n{FILE_TOKEN}\n", encoding="utf-8")
    env = {**_settings_env(fault, audit), "DEEPLAKE_MCP_HTTP_TOKEN_FILE": str(token_file)}
    with http_server(data_dir, err, stdout=out, **env) as url:
        async with httpx.AsyncClient() as http:
            wrong = await http.post(url, json={}, headers={"Authorization": f"Bearer {UNKNOWN}"})
            assert wrong.status_code == 401
        http2 = httpx2.AsyncClient(headers={"Authorization": f"Bearer {HTTP_TOKEN_2}"}, timeout=30)
        async with http2, Client(streamable_http_client(url, http_client=http2)) as client:
            results = await _drive(client)
    _assert_exercised(results)
    for tool, result in results.items():
        _assert_clean(f"the result of {tool}", result.model_dump_json(), FILE_TOKEN)
    emitted = {path.name: _text(path) for path in (out, err, audit)}
    assert "DEBUG" in emitted["stderr.log"] and "Tool 'list_workspaces' failed" in emitted["stderr.log"]
    for name, text in emitted.items():
        _assert_clean(name, text, FILE_TOKEN)


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")
