"""The ASGI guards on their own: body caps and pace, Host matching."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from deeplake_mcp.asgi_security import BodyLimit, host_allowed

pytestmark = pytest.mark.anyio


def reject(status: int, code: str, message: str) -> Response:
    return JSONResponse({"code": code, "error": message}, status_code=status)


async def echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse({"size": len(body)})


def client(read_timeout: float) -> httpx.AsyncClient:
    app = BodyLimit(
        Starlette(routes=[Route("/", echo, methods=["POST"])]), 100, reject=reject, read_timeout=read_timeout
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_bodies_are_capped_in_size_and_in_pace() -> None:
    async with client(read_timeout=0.2) as http:
        assert (await http.post("/", content=b"x" * 100)).json() == {"size": 100}
        assert (await http.post("/", content=b"x" * 101)).status_code == 413

        async def growing() -> AsyncIterator[bytes]:
            for _ in range(5):
                yield b"x" * 30

        assert (await http.post("/", content=growing())).status_code == 413

        async def stalling() -> AsyncIterator[bytes]:
            yield b"x"
            await anyio.sleep(1)
            yield b"y"

        slow = await http.post("/", content=stalling())
        assert slow.status_code == 408 and slow.json()["code"] == "REQUEST_TIMEOUT"


@pytest.mark.parametrize(
    ("host", "allowed", "expected"),
    [
        ("127.0.0.1:8000", ["127.0.0.1:*"], True),
        ("127.0.0.1:8000", ["127.0.0.1:8000"], True),
        ("127.0.0.1:8001", ["127.0.0.1:8000"], False),
        ("LOCALHOST:8000", ["localhost"], True),
        ("[::1]:8000", ["[::1]:*"], True),
        ("evil.example", ["127.0.0.1:*"], False),
        ("", ["127.0.0.1:*"], False),
        ("127.0.0.1.evil.example:80", ["127.0.0.1:*"], False),
    ],
)
def test_host_matching(host: str, allowed: list[str], expected: bool) -> None:
    assert host_allowed(host, allowed) is expected
