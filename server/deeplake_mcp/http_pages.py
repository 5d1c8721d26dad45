"""The few plain pages the MCP HTTP service answers besides the protocol itself.

* ``GET /``: what this is, where the MCP endpoint is, the version, and a link to ``/readme``;
  also the container's health check.
* ``GET /readme``: the README this version was installed with (from the package metadata).
* ``GET /mcp`` without ``Accept: text/event-stream`` (a browser, a plain ``curl``): 406 at once with
  a hint on connecting an MCP client, instead of an event stream that never ends.

They sit in front of authentication and the ``Host`` checks on purpose: they reveal only what the
package's public README says (name, version, the endpoint's path), never settings, data or tokens,
so a load balancer or health check can reach them without credentials.
"""

from __future__ import annotations

import html
from importlib import metadata

from starlette.datastructures import Headers
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from deeplake_mcp import __version__

__all__ = ["ServicePages"]

DISTRIBUTION = "deeplake-mcp"
_READ_METHODS = ("GET", "HEAD")


class ServicePages:
    """Answer ``/``, ``/readme`` and a plain ``GET`` of the MCP endpoint; pass everything else to ``app``."""

    def __init__(self, app: ASGIApp, *, mcp_path: str) -> None:
        self.app = app
        self._mcp_path = mcp_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = self._page(scope) if scope["type"] == "http" else None
        if response is None:
            await self.app(scope, receive, send)
        else:
            await response(scope, receive, send)

    def _page(self, scope: Scope) -> Response | None:
        method, path, headers = scope["method"], scope["path"], Headers(scope=scope)
        if method not in _READ_METHODS:
            return None
        if path == "/":
            return _home(self._mcp_path, wants_html="text/html" in headers.get("accept", ""))
        if path == "/readme":
            return PlainTextResponse(_readme(), media_type="text/markdown; charset=utf-8")
        if path == self._mcp_path and method == "GET" and "text/event-stream" not in headers.get("accept", ""):
            return _connect_hint(self._mcp_path)
        return None


def _home(mcp_path: str, *, wants_html: bool) -> Response:
    lines = (
        f"deeplake-mcp {__version__}: a Model Context Protocol server for Deep Lake databases.",
        f"MCP endpoint (streamable HTTP): {mcp_path} on this host. Point an MCP client at it;",
        "`deeplake-mcp client-config` prints ready-to-paste client settings.",
        "Documentation: /readme",
    )
    if not wants_html:
        return PlainTextResponse("\n".join(lines) + "\n")
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines[:-1])
    return HTMLResponse(
        f"<!doctype html><title>deeplake-mcp {html.escape(__version__)}</title>{body}"
        '<p>Documentation: <a href="/readme">README</a></p>'
    )


def _readme() -> str:
    try:
        found = metadata.metadata(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        found = None
    if found is not None and "Description" in found:
        return found["Description"]
    return f"The README of {DISTRIBUTION} {__version__} is not installed with this copy.\n"


def _connect_hint(mcp_path: str) -> Response:
    message = (
        f"{mcp_path} is an MCP endpoint (streamable HTTP): connect an MCP client to it (it POSTs JSON-RPC "
        "messages and opens event streams with `Accept: text/event-stream`); a browser or a plain GET gets "
        "nothing here. See / for how to connect a client."
    )
    return JSONResponse({"error": message, "code": "NOT_ACCEPTABLE"}, status_code=406)
