"""Pure ASGI middleware that guards an HTTP service: bearer tokens, Host and Origin checks, body and stream caps.

Each takes a ``reject(status, code, message)`` callable that builds the refusal in the service's own
error format, so the local API answers with Deep Lake's envelope and the MCP endpoint with its own.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence

import anyio
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "LOOPBACK_HOSTS",
    "BearerAuth",
    "BodyLimit",
    "HostCheck",
    "Reject",
    "StreamLimits",
    "host_allowed",
]

Reject = Callable[[int, str, str], Response]
"""Builds a refusal: (HTTP status, short code, message) -> response."""

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


class BearerAuth:
    """``Authorization: Bearer <token>`` on every path but ``public_paths`` (scheme case-insensitive, RFC 7235).

    Several tokens may be valid at once (rotation); each is compared in constant time.
    """

    def __init__(
        self, app: ASGIApp, tokens: Sequence[str], *, reject: Reject, public_paths: Iterable[str] = ()
    ) -> None:
        if not tokens or not all(tokens):
            raise ValueError("BearerAuth needs at least one non-empty token")
        self.app = app
        self._tokens = [token.encode() for token in tokens]
        self._reject = reject
        self._public = frozenset(public_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._public or self._authorized(scope):
            await self.app(scope, receive, send)
            return
        response = self._reject(401, "UNAUTHORIZED", "missing or invalid bearer token")
        response.headers["www-authenticate"] = 'Bearer realm="deeplake-mcp"'
        await response(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        scheme, _, credentials = Headers(scope=scope).get("authorization", "").partition(" ")
        given = credentials.strip().encode()
        matches = [hmac.compare_digest(given, token) for token in self._tokens]
        return scheme.lower() == "bearer" and any(matches)


class HostCheck:
    """Refuse a ``Host`` outside ``allowed_hosts`` (421: DNS rebinding) and a browser ``Origin`` that is not
    one of them either (403: a cross-site page, even with a form or ``text/plain`` request).

    Hosts are ``name`` (any port), ``name:port`` or ``name:*``; a request without ``Origin`` is not a
    cross-site browser request and passes.
    """

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str], *, reject: Reject) -> None:
        self.app = app
        self._hosts = tuple(allowed_hosts)
        self._reject = reject

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            if not host_allowed(headers.get("host", ""), self._hosts):
                await self._reject(421, "MISDIRECTED_REQUEST", "this Host is not served here")(scope, receive, send)
                return
            origin = headers.get("origin")
            if origin is not None and not _origin_allowed(origin, self._hosts):
                await self._reject(403, "FORBIDDEN", "cross-origin requests are not allowed")(scope, receive, send)
                return
        await self.app(scope, receive, send)


def host_allowed(host: str, allowed: Sequence[str]) -> bool:
    """Whether a ``Host`` value (``name[:port]``) matches one of ``allowed``."""
    name, port = _split_host(host.strip().lower())
    if not name:
        return False
    for entry in allowed:
        allowed_name, allowed_port = _split_host(entry.strip().lower())
        if allowed_name == name and allowed_port in (None, "*", port):
            return True
    return False


def _origin_allowed(origin: str, allowed: Sequence[str]) -> bool:
    scheme, sep, rest = origin.strip().partition("://")
    return bool(sep) and scheme.lower() in ("http", "https") and "/" not in rest and host_allowed(rest, allowed)


def _split_host(host: str) -> tuple[str, str | None]:
    if host.startswith("["):  # [::1]:8000
        end = host.find("]")
        name, rest = host[: end + 1], host[end + 1 :]
        return name, rest[1:] if rest.startswith(":") else None
    name, sep, port = host.rpartition(":")
    return (name, port) if sep and name else (host, None)


class BodyLimit:
    """Cap request bodies at ``max_bytes`` and their pace at ``read_timeout`` seconds per chunk.

    A larger ``Content-Length`` gets 413 at once. A body that grows past the cap while being read
    gets 413, and one that stalls 408, answered here before the app answers anything; the app then
    sees the body end there (and, if it reads on, the client leave), and whatever it still sends is
    dropped. So a slow or abandoned client cannot hold a worker, and an oversized body is never held
    whole.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, *, reject: Reject, read_timeout: float = 30.0) -> None:
        self.app = app
        self._max = max_bytes
        self._reject = reject
        self._read_timeout = read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self._max:
            await self._too_large()(scope, receive, send)
            return
        seen = 0
        body_done = answered = started = False

        async def refuse(response: Response) -> Message:
            nonlocal answered
            if not started and not answered:
                answered = True
                await response(scope, receive, send)
            return {"type": "http.request", "body": b"", "more_body": False}

        async def capped_receive() -> Message:
            nonlocal seen, body_done
            if answered:
                return {"type": "http.disconnect"}
            if body_done:  # after the body, receive() only waits for a disconnect: no deadline
                return await receive()
            with anyio.move_on_after(self._read_timeout) as waited:
                message = await receive()
            if waited.cancelled_caught:
                return await refuse(self._reject(408, "REQUEST_TIMEOUT", "the request body stalled; send it whole"))
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if seen > self._max:
                    return await refuse(self._too_large())
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if answered:
                return  # the app answers a client that is gone for it
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, capped_receive, tracked_send)
        except Exception:
            if not answered:
                raise  # the app's own failure; after a refusal, its reaction to the "disconnect" is moot

    def _too_large(self) -> Response:
        return self._reject(413, "PAYLOAD_TOO_LARGE", f"the request body is larger than {self._max} bytes")


class StreamLimits:
    """Bound the event streams a client holds open (``GET`` with ``Accept: text/event-stream``).

    At most ``per_client`` at once per client (its bearer token, else its address) and ``total`` in all;
    a request beyond either gets 503 with ``Retry-After``. Each stream ends after ``timeout`` seconds
    (a clean end of the response, as if the client had gone), so abandoned streams free their slot.
    """

    def __init__(self, app: ASGIApp, *, total: int, per_client: int, timeout: float, reject: Reject) -> None:
        self.app = app
        self._total = total
        self._per_client = per_client
        self._timeout = timeout
        self._reject = reject
        self._open: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_event_stream(scope):
            await self.app(scope, receive, send)
            return
        client = _client_key(scope)
        if sum(self._open.values()) >= self._total or self._open.get(client, 0) >= self._per_client:
            response = self._reject(503, "TOO_MANY_STREAMS", "too many open event streams; retry later")
            response.headers["retry-after"] = "5"
            await response(scope, receive, send)
            return
        self._open[client] = self._open.get(client, 0) + 1
        state = {"started": False, "ended": False}

        async def tracked_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                state["ended"] = True
            await send(message)

        try:
            with anyio.move_on_after(self._timeout):
                await self.app(scope, receive, tracked_send)
            if state["started"] and not state["ended"]:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self._open[client] -= 1
            if not self._open[client]:
                del self._open[client]


def _is_event_stream(scope: Scope) -> bool:
    return (
        scope["type"] == "http"
        and scope["method"] == "GET"
        and "text/event-stream" in Headers(scope=scope).get("accept", "")
    )


def _client_key(scope: Scope) -> str:
    authorization = Headers(scope=scope).get("authorization")
    if authorization:
        return "token:" + hashlib.sha256(authorization.encode()).hexdigest()[:16]
    client = scope.get("client")
    return f"addr:{client[0]}" if client else "addr:?"
