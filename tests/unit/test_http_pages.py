"""The plain pages in front of the MCP endpoint: `/`, `/readme`, and a hint for a plain `GET /mcp`."""

from __future__ import annotations

import httpx
import pytest
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from deeplake_mcp import __version__
from deeplake_mcp.http_pages import ServicePages

pytestmark = pytest.mark.anyio


class Inner:
    """The wrapped app: records what reached it."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.seen.append((scope["method"], scope["path"]))
        await PlainTextResponse("inner")(scope, receive, send)


@pytest.fixture
def inner() -> Inner:
    return Inner()


@pytest.fixture
async def http(inner: Inner) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=ServicePages(inner, mcp_path="/mcp"))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000")


async def test_home_says_what_this_is_and_where_the_endpoint_is(http: httpx.AsyncClient, inner: Inner) -> None:
    plain = await http.get("/")
    assert plain.status_code == 200 and plain.headers["content-type"].startswith("text/plain")
    assert f"deeplake-mcp {__version__}" in plain.text and "/mcp" in plain.text and "client-config" in plain.text
    page = await http.get("/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.headers["content-type"].startswith("text/html") and '<a href="/readme">' in page.text
    assert (await http.head("/")).status_code == 200
    assert inner.seen == []


async def test_readme_is_the_installed_one(http: httpx.AsyncClient) -> None:
    readme = await http.get("/readme")
    assert readme.status_code == 200 and readme.text.startswith("# deeplake-mcp")


@pytest.mark.parametrize("accept", [None, "*/*", "text/html", "application/json"])
async def test_a_plain_get_of_the_endpoint_gets_a_hint_at_once(
    http: httpx.AsyncClient, inner: Inner, accept: str | None
) -> None:
    headers = {"Accept": accept} if accept else {}
    answer = await http.get("/mcp", headers=headers)
    assert answer.status_code == 406
    assert "connect an MCP client" in answer.json()["error"]
    assert inner.seen == []


async def test_everything_else_reaches_the_mcp_app(http: httpx.AsyncClient, inner: Inner) -> None:
    await http.get("/mcp", headers={"Accept": "text/event-stream"})
    await http.post("/mcp", json={})
    await http.get("/elsewhere")
    await http.post("/")
    assert inner.seen == [("GET", "/mcp"), ("POST", "/mcp"), ("GET", "/elsewhere"), ("POST", "/")]
