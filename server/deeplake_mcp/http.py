"""Serving over HTTP: the MCP server (streamable HTTP at /mcp) and the local REST API."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from deeplake_mcp.settings import Settings

__all__ = ["BearerTokenMiddleware", "local_api_app", "mcp_http_app", "serve_http"]

log = logging.getLogger(__name__)
MCP_PATH = "/mcp"


class BearerTokenMiddleware:
    """Refuse HTTP requests that lack ``Authorization: Bearer <token>`` (constant-time compare)."""

    def __init__(self, app: ASGIApp, token: str, *, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()
        self._exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._exempt:
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        if hmac.compare_digest(given, self._expected):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": "missing or invalid bearer token", "code": "UNAUTHORIZED"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Bearer realm="deeplake-mcp"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def mcp_http_app(server: MCPServer[Any], settings: Settings) -> ASGIApp:
    """The stateless streamable-HTTP app, with Host checks and the optional bearer token."""
    security = None
    if not settings.binds_loopback or settings.allowed_hosts:
        hosts = [f"{settings.host}:*", "127.0.0.1:*", "localhost:*", *settings.allowed_hosts]
        security = TransportSecuritySettings(allowed_hosts=hosts, allowed_origins=[])
    app: ASGIApp = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=False,
        transport_security=security,
        host=settings.host,
    )
    if settings.http_token is not None:
        app = BearerTokenMiddleware(app, settings.http_token.get_secret_value())
    return app


def serve_http(server: MCPServer[Any], settings: Settings) -> None:
    """Run the MCP server over HTTP until interrupted."""
    if not settings.binds_loopback and settings.http_token is None:
        log.warning(
            "binding %s without DEEPLAKE_MCP_HTTP_TOKEN: anyone who can reach this port can use the tools",
            settings.host,
        )
    log.info("MCP endpoint: http://%s:%d%s", settings.host, settings.port, MCP_PATH)
    uvicorn.run(
        mcp_http_app(server, settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
    )


def local_api_app(data_dir: Path, *, token: str | None = None) -> Starlette:
    """The embedded Deep Lake-compatible API as a standalone app that owns its backend."""
    from deeplake_mcp.local import LocalBackend, create_app

    inner: list[ASGIApp] = []

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with LocalBackend(data_dir) as backend:
            inner.append(create_app(backend, token=token))
            yield

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        await inner[0](scope, receive, send)

    app = Starlette(lifespan=lifespan)
    app.mount("/", dispatch)
    return app
