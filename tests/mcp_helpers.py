"""Helpers for tests that talk to the MCP server through a real client."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from deeplake_mcp.settings import Settings, load_settings

T = TypeVar("T")


def settings_for(data_dir: Path, **flags: Any) -> Settings:
    """Settings for the embedded backend on ``data_dir``, ignoring the developer's environment."""
    return load_settings({"data_dir": data_dir, "backend": "local", **flags}, environ={})


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def payload(result: CallToolResult) -> Any:
    """The structured result of a successful call (asserting it succeeded)."""
    assert not result.is_error, error_text(result)
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(result.content[0].text)  # type: ignore[union-attr]


def error_text(result: CallToolResult) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
"""A bare ``initialize`` request, for tests that look at the HTTP answer itself."""


async def post_initialize(url: str, token: str | None = None, scheme: str = "Bearer") -> httpx.Response:
    """POST ``initialize`` to an MCP endpoint, with ``Authorization: <scheme> <token>`` when given."""
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"{scheme} {token}"
    async with httpx.AsyncClient() as http:
        return await http.post(url, json=INITIALIZE, headers=headers)


@asynccontextmanager
async def bearer_client(url: str, token: str, mode: str) -> AsyncIterator[Client]:
    """The SDK client over streamable HTTP, sending ``token``; ``mode`` is the protocol era (auto, legacy)."""
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
    async with http, Client(streamable_http_client(url, http_client=http), mode=mode) as client:
        yield client


def run_in_new_loop(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """``anyio.run`` in a thread of its own: pytest's anyio runner may own this thread's event loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(anyio.run, fn, *args).result()
