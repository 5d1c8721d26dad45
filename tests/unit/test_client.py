"""The REST client against httpx.MockTransport: requests it sends, shapes it accepts, errors it raises."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from deeplake_mcp.deeplake import (
    NO_RETRIES,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DeepLakeClient,
    DeepLakeConnectionError,
    DeepLakeError,
    DeepLakeTimeoutError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    RetryPolicy,
    ServerError,
)

pytestmark = pytest.mark.anyio

KEY = "sk-test-SECRET-key-123"
Handler = Callable[[httpx.Request], httpx.Response]


FAST_RETRIES = RetryPolicy(attempts=4, base_delay=0.001, max_delay=0.01, max_total=5)


def client_for(handler: Handler, **kwargs: Any) -> DeepLakeClient:
    kwargs.setdefault("retries", NO_RETRIES)
    return DeepLakeClient(
        base_url="https://api.example.test", api_key=KEY, transport=httpx.MockTransport(handler), **kwargs
    )


def jwt_with(claims: dict[str, str]) -> str:
    def part(d: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256'})}.{part(claims)}.sig"


async def test_query_sends_bearer_org_and_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"columns": ["a"], "rows": [[1]], "row_count": 1})

    async with client_for(handler, org_id="org-1") as client:
        result = await client.query("my ws", "SELECT $1", ["x"], timeout_ms=5000)
    request = seen[0]
    assert request.method == "POST"
    assert request.url.raw_path == b"/workspaces/my%20ws/tables/query"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["x-activeloop-org-id"] == "org-1"
    assert request.headers["x-deeplake-client"].startswith("deeplake-mcp/")
    assert json.loads(request.content) == {"query": "SELECT $1", "params": ["x"], "timeout_ms": 5000}
    assert result.records() == [{"a": 1}]


async def test_query_omits_params_when_none() -> None:
    bodies: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={})

    async with client_for(handler) as client:
        result = await client.query("ws", "CREATE TABLE t (a int)")
    assert bodies == [{"query": "CREATE TABLE t (a int)"}]
    assert result.rows == [] and result.columns == []


async def test_path_segments_cannot_change_the_route() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path.decode())
        return httpx.Response(200, json={"table_name": "x", "columns": []})

    async with client_for(handler) as client:
        await client.get_table("../admin", "a/b?c")
    assert paths == ["/workspaces/..%2Fadmin/tables/a%2Fb%3Fc"]


async def test_org_id_from_jwt_claim() -> None:
    token = jwt_with({"OrgID": "org-from-token"})
    client = DeepLakeClient(api_key=token, transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    assert client.org_id == "org-from-token"
    await client.aclose()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([{"id": "a", "name": "A"}], ["a"]),
        ({"data": [{"id": "a"}, {"id": "b", "extra": 1}]}, ["a", "b"]),
        (None, []),
    ],
)
async def test_list_workspaces_tolerates_shapes(body: object, expected: list[str]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body) if body is not None else httpx.Response(200)

    async with client_for(handler) as client:
        assert [w.id for w in await client.list_workspaces()] == expected


async def test_list_tables_reads_tables_key() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"tables": [{"table_name": "docs", "row_count": 3}, {"table_name": "x"}]})

    async with client_for(handler) as client:
        tables = await client.list_tables("default")
    assert [(t.table_name, t.row_count) for t in tables] == [("docs", 3), ("x", None)]


@pytest.mark.parametrize(
    ("status", "cls", "fragment"),
    [
        (400, BadRequestError, "rejected"),
        (401, AuthenticationError, "invalid or expired"),
        (402, PaymentRequiredError, "out of credits"),
        (403, PermissionDeniedError, "refused access"),
        (404, NotFoundError, "Not found"),
        (409, ConflictError, "Conflict"),
        (500, ServerError, "failed"),
        (503, ServerError, "HTTP 503"),
    ],
)
async def test_error_envelope_becomes_typed_exception(status: int, cls: type[Exception], fragment: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"error": "boom here", "code": "QUERY_ERROR", "request_id": "rid-9"})

    async with client_for(handler) as client:
        with pytest.raises(cls) as info:
            await client.query("ws", "SELECT 1")
    err = info.value
    assert fragment in str(err)
    assert "boom here" in str(err) and "QUERY_ERROR" in str(err) and "rid-9" in str(err)
    assert err.status_code == status  # type: ignore[attr-defined]
    assert KEY not in str(err)


async def test_rate_limit_carries_retry_after() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "7"}, json={"error": "slow down"})

    async with client_for(handler) as client:
        with pytest.raises(RateLimitError) as info:
            await client.list_workspaces()
    assert info.value.retry_after == 7.0
    assert "retry in 7 s" in str(info.value)


async def test_html_403_is_a_short_message() -> None:
    html = "<!DOCTYPE html><html><body><h1>403 Forbidden</h1>" + "x" * 5000 + "</body></html>"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, text=html, headers={"content-type": "text/html"})

    async with client_for(handler) as client:
        with pytest.raises(PermissionDeniedError) as info:
            await client.list_tables("ws")
    assert "<" not in str(info.value)
    assert "HTML page" in str(info.value)
    assert len(str(info.value)) < 400


async def test_402_balance_body() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(402, json={"balance_cents": 0, "error": "insufficient balance, please top up"})

    async with client_for(handler) as client:
        with pytest.raises(PaymentRequiredError, match="out of credits.*insufficient balance"):
            await client.query("ws", "SELECT 1")


async def test_key_echoed_by_server_is_redacted() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": f"token {KEY} expired"})

    async with client_for(handler) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.me()
    assert KEY not in str(info.value)
    assert "***" in str(info.value)


async def test_connection_and_timeout_errors() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    async with client_for(refuse) as client:
        with pytest.raises(DeepLakeConnectionError, match="Could not reach"):
            await client.health()
    async with client_for(slow) as client:
        with pytest.raises(DeepLakeTimeoutError, match="may still have been carried out"):
            await client.query("ws", "INSERT INTO t VALUES (1)")


async def test_non_json_success_body_is_an_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>maintenance</html>")

    async with client_for(handler) as client:
        with pytest.raises(DeepLakeError, match="not JSON"):
            await client.list_workspaces()


async def test_batch_body() -> None:
    bodies: list[object] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append((request.url.path, json.loads(request.content)))
        return httpx.Response(204)

    async with client_for(handler) as client:
        result = await client.query_batch("ws", "INSERT INTO t VALUES ($1)", [[1], [2]])
    assert bodies == [
        (
            "/workspaces/ws/tables/query/batch",
            {"query": "INSERT INTO t VALUES ($1)", "params_batch": [[1], [2]]},
        )
    ]
    assert result.row_count == 0


class Script:
    """A handler that answers with the given responses in turn, counting calls."""

    def __init__(self, *responses: httpx.Response | Exception) -> None:
        self.responses = list(responses)
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        answer = self.responses[min(self.calls, len(self.responses) - 1)]
        self.calls += 1
        if isinstance(answer, Exception):
            raise answer
        return answer


OK = httpx.Response(200, json={"columns": ["x"], "rows": [[1]], "row_count": 1})


@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_reads_retry_on_transient_statuses(status: int) -> None:
    script = Script(httpx.Response(status, json={"error": "busy"}), OK)
    async with client_for(script, retries=FAST_RETRIES) as client:
        result = await client.query("ws", "SELECT 1", read_only=True)
    assert result.rows == [[1]] and script.calls == 2


async def test_retries_are_bounded() -> None:
    script = Script(httpx.Response(503, json={"error": "down"}))
    async with client_for(script, retries=FAST_RETRIES) as client:
        with pytest.raises(ServerError):
            await client.list_workspaces()
    assert script.calls == 4


async def test_retry_after_is_honoured_within_budget() -> None:
    script = Script(httpx.Response(429, headers={"Retry-After": "0.05"}, json={"error": "slow"}), OK)
    async with client_for(script, retries=FAST_RETRIES) as client:
        await client.query("ws", "SELECT 1", read_only=True)
    assert script.calls == 2
    too_long = Script(httpx.Response(429, headers={"Retry-After": "60"}, json={"error": "slow"}), OK)
    async with client_for(too_long, retries=FAST_RETRIES) as client:
        with pytest.raises(RateLimitError):
            await client.query("ws", "SELECT 1", read_only=True)
    assert too_long.calls == 1


async def test_writes_are_sent_exactly_once_after_ambiguous_failure() -> None:
    for failure in (
        httpx.Response(500, json={"error": "internal"}),
        httpx.Response(503, json={"error": "busy"}),
        httpx.ReadTimeout("slow"),
    ):
        script = Script(failure)
        async with client_for(script, retries=FAST_RETRIES) as client:
            with pytest.raises(DeepLakeError):
                await client.query("ws", "INSERT INTO t VALUES (1)")
            with pytest.raises(DeepLakeError):
                await client.query_batch("ws", "INSERT INTO t VALUES ($1)", [[1]])
        assert script.calls == 2, failure


async def test_unsent_writes_are_retried() -> None:
    script = Script(httpx.ConnectError("refused"), OK)
    async with client_for(script, retries=FAST_RETRIES) as client:
        await client.query("ws", "INSERT INTO t VALUES (1)")
    assert script.calls == 2


async def test_server_errors_on_reads_other_than_transient_are_not_retried() -> None:
    script = Script(httpx.Response(500, json={"error": "bug"}), OK)
    async with client_for(script, retries=FAST_RETRIES) as client:
        with pytest.raises(ServerError):
            await client.list_tables("ws")
    assert script.calls == 1
