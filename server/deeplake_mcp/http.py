"""Serving over HTTP: the MCP server (streamable HTTP at /mcp) and the local REST API."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from deeplake_mcp.asgi_security import LOOPBACK_HOSTS
from deeplake_mcp.auth import protect, split_tokens
from deeplake_mcp.settings import Settings, reveal

__all__ = ["local_api_app", "mcp_http_app", "serve_http"]

log = logging.getLogger(__name__)
MCP_PATH = "/mcp"


def _reject(status: int, code: str, message: str) -> Response:
    return JSONResponse({"error": message, "code": code}, status_code=status)


def mcp_http_app(server: MCPServer[Any], settings: Settings) -> ASGIApp:
    """The stateless streamable-HTTP app, with Host checks and, when configured, authentication."""
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
    if settings.http_auth_enabled:
        app = protect(app, settings)
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


def local_api_app(settings: Settings, *, port: int) -> Starlette:
    """The embedded Deep Lake-compatible API as a standalone app that owns its backend.

    It answers the loopback names, the bind address and ``allowed_hosts`` on ``port`` (no DNS
    rebinding, no cross-site browser requests), caps bodies at ``max_body_mb`` and, with
    ``http_token``, requires it.
    """
    from deeplake_mcp.local import Exposure, LocalBackend, create_app

    token = reveal(settings.http_token)
    hosts = [f"{name}:{port}" for name in (*LOOPBACK_HOSTS, settings.host)] + list(settings.allowed_hosts)
    exposure = Exposure(
        tokens=split_tokens(token) if token else [], allowed_hosts=hosts, max_body_bytes=settings.max_body_mb * 2**20
    )
    inner: list[ASGIApp] = []

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with LocalBackend(
            settings.data_dir,
            postgres_url=reveal(settings.postgres_url),
            postgres_admin_url=reveal(settings.postgres_admin_url),
        ) as backend:
            inner.append(create_app(backend, exposure=exposure))
            yield

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        await inner[0](scope, receive, send)

    app = Starlette(lifespan=lifespan)
    app.mount("/", dispatch)
    return app
