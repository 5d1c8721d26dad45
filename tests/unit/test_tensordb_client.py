"""TensorDBClient against httpx.MockTransport: the request it sends, both answer shapes, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from deeplake_mcp.deeplake import (
    DEFAULT_TENSORDB_URL,
    NO_RETRIES,
    AuthenticationError,
    BadRequestError,
    DeepLakeError,
    NotFoundError,
    RetryPolicy,
    TensorDBClient,
    TQLResult,
)
from deeplake_mcp.settings import ENV_NAMES, SettingsError, load_settings

pytestmark = pytest.mark.anyio

KEY = "tdb-SECRET-key-0123"
QUERY = 'SELECT text FROM "hub://org/ds" LIMIT 2'
Handler = Callable[[httpx.Request], httpx.Response]

ROWS = {
    "message": "Query successful.",
    "tensors": ["text", "score"],
    "data": [{"text": "a", "score": 0.9}, {"text": "b", "score": 0.5}],
}
COLUMNS = {
    "message": "Query successful.",
    "tensors": ["text", "score"],
    "data": {"text": ["a", "b"], "score": [0.9, 0.5]},
}


def client_for(handler: Handler, **kwargs: Any) -> TensorDBClient:
    kwargs.setdefault("retries", NO_RETRIES)
    return TensorDBClient(api_key=KEY, transport=httpx.MockTransport(handler), **kwargs)


async def test_request_shape_and_bearer() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=ROWS)

    async with client_for(handler) as client:
        assert client.base_url == DEFAULT_TENSORDB_URL == "https://app.activeloop.ai"
        await client.tql_query(QUERY)
        await client.tql_query(QUERY, as_list=False)
    assert [str(r.url) for r in seen] == ["https://app.activeloop.ai/api/query/v1"] * 2
    assert all(r.method == "POST" for r in seen)
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in seen)
    assert all(r.headers["content-type"] == "application/json" for r in seen)
    assert [json.loads(r.content) for r in seen] == [
        {"query": QUERY, "as_list": True},
        {"query": QUERY, "as_list": False},
    ]


async def test_base_url_override() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json=ROWS)

    async with client_for(handler, base_url="http://tdb.test/") as client:
        await client.tql_query(QUERY)
    assert seen == ["http://tdb.test/api/query/v1"]


@pytest.mark.parametrize("body", [ROWS, COLUMNS])
async def test_both_shapes_give_the_same_table(body: dict[str, Any]) -> None:
    async with client_for(lambda request: httpx.Response(200, json=body)) as client:
        result = await client.tql_query(QUERY, as_list=isinstance(body["data"], list))
    assert result.message == "Query successful."
    assert result.table() == (["text", "score"], [["a", 0.9], ["b", 0.5]])


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"data": [{"b": 1, "a": 2}, {"a": 3}]}, (["b", "a"], [[1, 2], [None, 3]])),
        ({"data": {"b": [1, 2], "a": [3]}}, (["b", "a"], [[1, 3], [2, None]])),
        ({"tensors": ["a"], "data": {"a": [1], "extra": [2]}}, (["a"], [[1]])),
        ({"tensors": ["a", "b"], "data": [[1, 2]]}, (["a", "b"], [[1, 2]])),
        ({"tensors": ["a"], "data": []}, (["a"], [])),
        ({"tensors": ["a"], "data": {}}, (["a"], [])),
        ({"message": "Query successful."}, ([], [])),
        ({}, ([], [])),
    ],
)
def test_table_columns_and_rows(body: dict[str, Any], expected: tuple[list[str], list[list[Any]]]) -> None:
    assert TQLResult.model_validate(body).table() == expected


@pytest.mark.parametrize("body", [{"data": {"a": 1}}, {"data": ["row"]}])
def test_table_rejects_odd_shapes(body: dict[str, Any]) -> None:
    with pytest.raises(DeepLakeError):
        TQLResult.model_validate(body).table()


async def test_unexpected_body_is_an_error() -> None:
    async with client_for(lambda request: httpx.Response(200, json={"data": "nope"})) as client:
        with pytest.raises(DeepLakeError, match="unexpected TQLResult"):
            await client.tql_query(QUERY)


@pytest.mark.parametrize(
    ("status", "body", "error", "text"),
    [
        (400, {"description": "Tensor score does not exist"}, BadRequestError, "Tensor score does not exist"),
        (400, {"error": "bad TQL", "description": "ignored"}, BadRequestError, "bad TQL"),
        (401, {"description": f"token {KEY} expired"}, AuthenticationError, "token *** expired"),
        (404, {}, NotFoundError, "POST /api/query/v1"),
    ],
)
async def test_error_bodies(status: int, body: dict[str, Any], error: type[Exception], text: str) -> None:
    async with client_for(lambda request: httpx.Response(status, json=body)) as client:
        with pytest.raises(error) as caught:
            await client.tql_query(QUERY)
    assert text in str(caught.value)
    assert KEY not in str(caught.value)


async def test_read_only_query_is_retried() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) < 3:
            return httpx.Response(502, json={"description": "bad gateway"})
        return httpx.Response(200, json=ROWS)

    fast = RetryPolicy(attempts=4, base_delay=0.001, max_delay=0.01, max_total=5)
    async with client_for(handler, retries=fast) as client:
        result = await client.tql_query(QUERY)
    assert len(calls) == 3
    assert result.tensors == ["text", "score"]


def test_settings_tensordb_url() -> None:
    assert ENV_NAMES["tensordb_url"] == "DEEPLAKE_TENSORDB_URL"
    assert load_settings(environ={}).tensordb_url == "https://app.activeloop.ai"
    settings = load_settings(environ={"DEEPLAKE_TENSORDB_URL": "http://tdb.test/", "DEEPLAKE_API_KEY": "k"})
    assert settings.tensordb_url == "http://tdb.test"
    assert settings.summary()["tensordb_url"] == "http://tdb.test"
    with pytest.raises(SettingsError, match="DEEPLAKE_TENSORDB_URL"):
        load_settings(environ={"DEEPLAKE_TENSORDB_URL": "ftp://tdb.test"})
