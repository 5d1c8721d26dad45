"""Serving over HTTP: the MCP server (streamable HTTP at /mcp) and the local REST API.

Both refuse to listen beyond loopback without authentication (unless the operator passes
``--allow-unauthenticated``, which is logged loudly), check ``Host`` and ``Origin``, cap request
bodies, and run uvicorn with a connection limit, short keep-alive and a graceful shutdown on
SIGTERM/SIGINT. The MCP endpoint also bounds its event streams (``GET /mcp``): per client, in all,
and in time.
"""

from __future__ import annotations

import errno
import logging
import resource
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from deeplake_mcp.asgi_security import LOOPBACK_HOSTS, BodyLimit, StreamLimits
from deeplake_mcp.auth import protect, split_tokens
from deeplake_mcp.errors import StartupError
from deeplake_mcp.http_pages import ServicePages
from deeplake_mcp.settings import Settings, reveal

__all__ = ["check_http_exposure", "listening_socket", "local_api_app", "mcp_http_app", "serve_http", "serve_local_api"]

log = logging.getLogger(__name__)
MCP_PATH = "/mcp"
LOCAL_API_PORT = 8765
_GRACEFUL_SHUTDOWN_S = 10


def _reject(status: int, code: str, message: str) -> Response:
    return JSONResponse({"error": message, "code": code}, status_code=status)


def mcp_http_app(server: MCPServer[Any], settings: Settings) -> ASGIApp:
    """The stateless streamable-HTTP app: Host checks, bounded bodies and streams and, when configured,
    authentication (bearer tokens, OAuth)."""
    security = None
    if not settings.binds_loopback or settings.allowed_hosts:
        hosts = [f"{settings.host}:*", "127.0.0.1:*", "localhost:*", *settings.allowed_hosts]
        security = TransportSecuritySettings(allowed_hosts=hosts, allowed_origins=[])
    max_body = settings.max_body_mb * 2**20
    app: ASGIApp = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=False,
        transport_security=security,
        host=settings.host,
        max_request_body_size=max_body,
    )
    app = StreamLimits(
        app,
        total=max(1, settings.http_streams // settings.workers),
        per_client=settings.http_streams_per_client,
        timeout=settings.http_stream_timeout,
        reject=_reject,
    )
    app = BodyLimit(app, max_body, reject=_reject)
    if settings.http_auth_enabled:
        app = protect(app, settings)
    return app


def check_http_exposure(settings: Settings, *, port: int | None = None, authenticated: bool | None = None) -> None:
    """Refuse to serve beyond loopback without authentication, and a port that is taken (StartupError).

    ``authenticated`` defaults to whether the MCP endpoint's authentication is configured.
    """
    if authenticated is None:
        authenticated = settings.http_auth_enabled
    if not settings.binds_loopback and not authenticated:
        if not settings.allow_unauthenticated:
            raise StartupError(
                f"refusing to serve HTTP on {settings.host} without authentication: anyone who reaches the port "
                "would get the tools. Set DEEPLAKE_MCP_HTTP_TOKEN, or pass --allow-unauthenticated if something "
                "in front of this server authenticates every request"
            )
        log.warning(
            "!!! serving HTTP on %s WITHOUT AUTHENTICATION (--allow-unauthenticated): anyone who reaches this port "
            "can use every tool this server lists !!!",
            settings.host,
        )
    _check_port_free(settings.host, settings.port if port is None else port)


async def serve_http(server: MCPServer[Any], settings: Settings, *, sockets: list[socket.socket] | None = None) -> None:
    """Serve the MCP server over HTTP until SIGTERM or SIGINT (on ``sockets`` when given: a worker's share)."""
    if sockets is None:
        log.info("MCP endpoint: http://%s:%d%s", settings.host, settings.port, MCP_PATH)
    app = ServicePages(mcp_http_app(server, settings), mcp_path=MCP_PATH)
    await _uvicorn(app, settings, settings.port, sockets=sockets)


async def serve_local_api(settings: Settings) -> None:
    """``deeplake-mcp local-api``: the embedded REST API over HTTP until SIGTERM or SIGINT."""
    port = settings.port if "port" in settings.model_fields_set else LOCAL_API_PORT
    check_http_exposure(settings, port=port, authenticated=settings.http_token is not None)  # its only auth
    if settings.http_token is None:
        log.warning("local-api has no token: every user and program on this machine can use it")
    log.info("local Deep Lake API on http://%s:%d (data in %s)", settings.host, port, settings.data_dir)
    await _uvicorn(local_api_app(settings, port=port), settings, port)


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


async def _uvicorn(app: ASGIApp, settings: Settings, port: int, *, sockets: list[socket.socket] | None = None) -> None:
    """Run uvicorn in this event loop: bounded connections, quiet unless DEBUG, graceful on SIGTERM/SIGINT.

    With ``sockets`` (a worker process) it serves those instead of binding, and takes its share of the
    connection limit.
    """
    _raise_open_file_limit()
    debug = settings.log_level == "DEBUG"
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=port,
        log_config=None,  # our handlers (stderr, filters) serve uvicorn's loggers too
        access_log=debug,
        limit_concurrency=max(1, settings.http_max_connections // settings.workers),
        timeout_keep_alive=5,
        timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_S,
        lifespan="on",
    )
    logging.getLogger("uvicorn.error").setLevel(logging.DEBUG if debug else logging.WARNING)
    # uvicorn re-raises the signal it shut down on; let that find a handler that does nothing, so the
    # caller's resources (the embedded PostgreSQL) close normally instead of the process dying mid-way.
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        await uvicorn.Server(config).serve(sockets=sockets)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _check_port_free(host: str, port: int) -> None:
    if port != 0:
        _bind(host, port).close()


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port``, for worker processes to share (StartupError when it cannot)."""
    sock = _bind(host, port)
    sock.listen(2048)
    return sock


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # asyncio sets TCP_NODELAY only then
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(
                f"port {port} on {host} is already in use; stop the other server or choose another with --port"
            ) from None
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror}; check --host and --port") from None
    return sock


def _raise_open_file_limit() -> None:
    """Use the hard limit on open files: each connection holds one, and running out stops accepting."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = 65536 if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
