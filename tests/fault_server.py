"""A real HTTP server that misbehaves on cue, for faults the real backend cannot produce on demand."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp


@dataclass
class Reply:
    """One scripted answer: a status, a JSON or text body, headers, and an optional delay."""

    status: int = 200
    json: Any = None
    text: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    hold: bool = False
    """Answer only when the client gives up: the server notes the request as abandoned."""

    def response(self) -> Response:
        if self.text is not None:
            return Response(self.text, status_code=self.status, headers=self.headers, media_type="text/html")
        if self.status == 204:
            return Response(status_code=204, headers=self.headers)
        return JSONResponse(self.json if self.json is not None else {}, self.status, headers=self.headers)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class FaultServer:
    """Answers each ``(method, path)`` with its scripted replies in turn (the last one repeats)."""

    def __init__(self) -> None:
        self.script: dict[tuple[str, str], list[Reply]] = {}
        self.computed: dict[tuple[str, str], Callable[[Any], Any]] = {}
        self.seen: list[Seen] = []
        self.abandoned = 0
        self.url = ""

    def on(self, method: str, path: str, *replies: Reply) -> None:
        self.script[(method, path)] = list(replies)

    def compute(self, method: str, path: str, answer: Callable[[Any], Any]) -> None:
        """Answer ``(method, path)`` with ``answer(json_body)`` as JSON (a well-behaved fake)."""
        self.computed[(method, path)] = answer

    def count(self, method: str, path: str) -> int:
        return sum(1 for s in self.seen if (s.method, s.path) == (method, path))

    async def _handle(self, request: Request) -> Response:
        key = (request.method, request.url.path)
        body = await request.body()
        self.seen.append(Seen(request.method, request.url.path, dict(request.headers), body))
        if key in self.computed:
            return JSONResponse(self.computed[key](json.loads(body or b"null")))
        replies = self.script.get(key)
        if not replies:
            return JSONResponse({"error": f"no script for {key}", "code": "NOT_FOUND"}, 404)
        reply = replies.pop(0) if len(replies) > 1 else replies[0]
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.hold:
            while (await request.receive())["type"] != "http.disconnect":
                pass
            self.abandoned += 1
        return reply.response()

    def app(self) -> Starlette:
        methods = ["GET", "POST", "PATCH", "DELETE"]
        return Starlette(routes=[Route("/{path:path}", self._handle, methods=methods)])


@contextmanager
def serving(app: ASGIApp, *, lifespan: Literal["on", "off"] = "off") -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a background thread; yields its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan)
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(timeout=10)


@contextmanager
def running(server: FaultServer) -> Iterator[FaultServer]:
    """Serve ``server`` with uvicorn on a free loopback port in a background thread."""
    with serving(server.app()) as url:
        server.url = url
        yield server
