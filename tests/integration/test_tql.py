"""tql_query end to end: the embedded Tensor Database on the real Deep Lake engine, and the cloud path
against a real HTTP server standing in for app.activeloop.ai."""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import numpy as np
import pytest
from mcp import Client

import deeplake_mcp.local._tensordb as local_tensordb
from deeplake_mcp.app import build_server
from deeplake_mcp.local import Exposure, LocalBackend, create_app
from deeplake_mcp.settings import load_settings
from fault_server import FaultServer, Reply, running
from mcp_helpers import error_text, payload, settings_for, unique

pytestmark = pytest.mark.anyio

needs_engine = pytest.mark.skipif(
    importlib.util.find_spec("deeplake") is None,
    reason="the deeplake package is not installed (pip install 'deeplake-mcp[tensordb]')",
)

KEY = "tdb-SECRET-key-0123456789"
TQL = ("POST", "/api/query/v1")
ROWS = 50
DIM = 8


class Dataset(NamedTuple):
    hub: str
    path: Path
    texts: list[str]
    embeddings: np.ndarray[Any, Any]


def vector(values: np.ndarray[Any, Any]) -> str:
    return "ARRAY[" + ", ".join(repr(float(x)) for x in values) + "]"


def cosine_top(ds: Dataset, query: np.ndarray[Any, Any], k: int) -> list[tuple[str, float]]:
    sims = ds.embeddings @ query / (np.linalg.norm(ds.embeddings, axis=1) * np.linalg.norm(query))
    return [(ds.texts[i], float(sims[i])) for i in np.argsort(-sims)[:k]]


@pytest.fixture(scope="module")
def dataset(data_dir: Path) -> Dataset:
    """50 rows (text + 8-dim embedding) made with the deeplake library where hub://ORG/NAME resolves."""
    deeplake = pytest.importorskip("deeplake")
    org, name = unique("org"), unique("docs")
    path = data_dir / "tensordb" / org / name
    ds = deeplake.create(f"file://{path}")
    ds.indexing_mode = deeplake.IndexingMode.Always
    ds.add_column("text", deeplake.types.Text())
    ds.add_column("embedding", deeplake.types.Embedding(DIM))
    ds.add_column("n", deeplake.types.Int32())
    embeddings = np.random.default_rng(6).normal(size=(ROWS, DIM)).astype("float32")
    texts = [f"document {i}" for i in range(ROWS)]
    ds.append({"text": texts, "embedding": embeddings, "n": list(range(ROWS))})
    ds.commit()
    return Dataset(f"hub://{org}/{name}", path, texts, embeddings)


@pytest.fixture
async def client(data_dir: Path) -> AsyncIterator[Client]:
    async with Client(build_server(settings_for(data_dir, access="read-only"))) as c:
        yield c


async def tql(client: Client, query: str, **args: Any) -> Any:
    return payload(await client.call_tool("tql_query", {"query": query, **args}))


async def tql_error(client: Client, query: str, **args: Any) -> str:
    result = await client.call_tool("tql_query", {"query": query, **args})
    assert result.is_error, f"unexpectedly succeeded: {result.structured_content}"
    return error_text(result)


# Embedded: the real engine over a dataset made with the deeplake library


@needs_engine
async def test_cosine_search_returns_nearest_rows_in_order(client: Client, dataset: Dataset) -> None:
    query = dataset.embeddings[17] + 0.05
    expr = f"COSINE_SIMILARITY(embedding, {vector(query)})"
    found = await tql(
        client,
        f'SELECT text, {expr} AS score FROM "{dataset.hub}" ORDER BY {expr} DESC LIMIT 5',
    )
    expected = cosine_top(dataset, query, 5)
    assert found["columns"] == ["text", "score"]
    assert [row[0] for row in found["rows"]] == [text for text, _ in expected]
    assert [row[1] for row in found["rows"]] == pytest.approx([score for _, score in expected], abs=1e-5)
    assert found["rows"][0][0] == "document 17"
    assert (found["row_count"], found["truncated"]) == (5, False)


@needs_engine
async def test_as_list_true_and_false_give_the_same_result(client: Client, dataset: Dataset) -> None:
    query = dataset.embeddings[3]
    score = f"cosine_similarity(embedding, {vector(query)})"
    text = f'SELECT * FROM (SELECT text, n, {score} AS score FROM "{dataset.hub}") ORDER BY score DESC LIMIT 4;'
    as_rows = await tql(client, text)
    as_columns = await tql(client, text, as_list=False)
    assert as_rows == as_columns
    assert as_rows["columns"] == ["text", "n", "score"]
    assert as_rows["rows"][0][:2] == ["document 3", 3]
    assert [row[0] for row in as_rows["rows"]] == [t for t, _ in cosine_top(dataset, query, 4)]


@needs_engine
async def test_rows_are_capped_and_vectors_abbreviated(client: Client, dataset: Dataset) -> None:
    found = await tql(client, f'SELECT * FROM "{dataset.hub}" WHERE n < 30', max_rows=5)
    assert found["columns"] == ["text", "embedding", "n"]
    assert (found["row_count"], found["truncated"]) == (5, True)
    assert found["rows"][0][0] == "document 0"
    assert found["rows"][0][1] == pytest.approx(dataset.embeddings[0].tolist())
    tql_only = await tql(client, f'SELECT SHAPE(embedding)[0] AS dim FROM "{dataset.hub}" LIMIT 2')
    assert tql_only["rows"] == [[DIM], [DIM]]


@needs_engine
async def test_pages_follow_the_cursor_to_every_row_once(client: Client, dataset: Dataset) -> None:
    query = f'SELECT text, n FROM "{dataset.hub}" ORDER BY n'
    seen: list[int] = []
    cursor: str | None = None
    for _ in range(10):
        page = await tql(client, query, max_rows=15, **({"cursor": cursor} if cursor else {}))
        seen += [row[1] for row in page["rows"]]
        cursor = page.get("cursor")
        if not page["truncated"]:
            break
    assert seen == list(range(ROWS))
    other = await client.call_tool("tql_query", {"query": query, "as_list": False, "cursor": cursor or "x"})
    assert other.is_error


@needs_engine
async def test_engine_errors_come_back_with_advice(client: Client, dataset: Dataset) -> None:
    expr = f"COSINE_SIMILARITY(embedding, {vector(dataset.embeddings[0])})"
    message = await tql_error(client, f'SELECT text, {expr} AS s FROM "{dataset.hub}" ORDER BY s DESC')
    assert 'Tensor "s" does not exist' in message and "repeat the expression" in message
    assert "file://" not in message


@needs_engine
async def test_missing_dataset_names_it_and_where_it_was_looked_for(
    client: Client, dataset: Dataset, data_dir: Path
) -> None:
    org = dataset.hub.split("/")[2]
    message = await tql_error(client, f'SELECT * FROM "hub://{org}/missing_ds" LIMIT 1')
    assert f"hub://{org}/missing_ds" in message
    assert str(data_dir / "tensordb" / org / "missing_ds") in message
    assert "deeplake.create" in message


@pytest.mark.parametrize(
    "source",
    [
        "hub://../etc",
        "hub://org/../../pg",
        "hub://org/ds/sub",
        "file:///etc",
        "s3://bucket/ds",
        "al://org/ds",
        "/etc/passwd",
        "../pg",
    ],
)
async def test_path_traversal_and_other_schemes_are_refused(client: Client, source: str) -> None:
    message = await tql_error(client, f'SELECT * FROM "{source}"')
    assert message.startswith("Error executing tool tql_query: Refused by the TQL guard")
    assert 'FROM "hub://org/dataset"' in message


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ('SELECT * FROM "hub://o/d"; DELETE FROM "hub://o/d"', "stacked statements"),
        ('SELECT * FROM "hub://o/d"; SELECT 1', "stacked statements"),
        ('DELETE FROM "hub://o/d" WHERE n = 1', "DELETE"),
        ('INSERT INTO "hub://o/d" (n) VALUES (1)', "INSERT"),
        ("CREATE TABLE t (n int)", "CREATE TABLE"),
        ('DROP TABLE "hub://o/d"', "DROP"),
    ],
)
async def test_guard_refuses_stacked_and_non_select(client: Client, query: str, why: str) -> None:
    message = await tql_error(client, query)
    assert "Refused by the TQL guard" in message and why in message


# The local API route itself


@pytest.fixture
async def api(local_backend: LocalBackend) -> AsyncIterator[httpx.AsyncClient]:
    exposure = Exposure(tokens=["tok"], allowed_hosts=["deeplake.local"])
    transport = httpx.ASGITransport(app=create_app(local_backend, exposure=exposure))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://deeplake.local", headers={"Authorization": "Bearer tok"}
    ) as http:
        yield http


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json", "valid JSON"),
        (b"[]", "JSON object"),
        (b"{}", "query is required"),
        (b'{"query": "  "}', "query is required"),
        (b'{"query": "SELECT 1", "as_list": "yes"}', "as_list"),
    ],
)
async def test_api_validates_the_body(api: httpx.AsyncClient, content: bytes, message: str) -> None:
    response = await api.post("/api/query/v1", content=content)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "INVALID_REQUEST"
    assert message in body["error"] and body["description"] == body["error"]
    assert body["request_id"]


async def test_api_needs_the_bearer_token(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/query/v1", json={"query": 'SELECT * FROM "hub://o/d"'}, headers={"Authorization": "Bearer no"}
    )
    assert response.status_code == 401


async def test_api_runs_the_guard(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/query/v1", json={"query": 'SELECT * FROM "hub://o/d"; SELECT 1'})
    assert response.status_code == 400
    assert response.json()["code"] == "QUERY_ERROR"
    assert "stacked statements" in response.json()["description"]


async def test_api_says_to_install_the_extra_without_the_engine(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_tensordb, "_engine", lambda: None)
    response = await api.post("/api/query/v1", json={"query": 'SELECT * FROM "hub://o/d"'})
    assert response.status_code == 501
    assert "pip install 'deeplake-mcp[tensordb]'" in response.json()["description"]


@needs_engine
async def test_api_refuses_a_source_that_leaves_the_tensordb_dir(
    api: httpx.AsyncClient, dataset: Dataset, data_dir: Path, tmp_path: Path
) -> None:
    link = data_dir / "tensordb" / unique("escape")
    os.symlink(tmp_path, link)
    (tmp_path / "ds").mkdir()
    response = await api.post("/api/query/v1", json={"query": f'SELECT * FROM "hub://{link.name}/ds"'})
    assert response.status_code == 400
    assert "resolves outside" in response.json()["description"]


@needs_engine
async def test_api_shapes_and_json_encoding(api: httpx.AsyncClient, data_dir: Path) -> None:
    deeplake = pytest.importorskip("deeplake")
    org, name = unique("org"), unique("kinds")
    ds = deeplake.create(f"file://{data_dir / 'tensordb' / org / name}")
    for column, kind in [
        ("meta", deeplake.types.Dict()),
        ("raw", deeplake.types.Bytes()),
        ("x", deeplake.types.Float64()),
        ("flag", deeplake.types.Bool()),
        ("grid", deeplake.types.Array("int32", 2)),
    ]:
        ds.add_column(column, kind)
    ds.append(
        {
            "meta": [{"a": 1, "b": [1.5, 2]}, {"s": "t"}],
            "raw": [b"\x00\xff", b"hi"],
            "x": [1.5, float("nan")],
            "flag": [True, False],
            "grid": [np.ones((2, 2), dtype="int32"), np.zeros((1, 3), dtype="int32")],
        }
    )
    ds.commit()
    query = f'SELECT * FROM "hub://{org}/{name}"'
    rows = await api.post("/api/query/v1", json={"query": query})
    columns = await api.post("/api/query/v1", json={"query": query, "as_list": False})
    assert rows.status_code == columns.status_code == 200, rows.text
    assert rows.json() == {
        "message": "Query successful.",
        "tensors": ["meta", "raw", "x", "flag", "grid"],
        "data": [
            {
                "meta": {"a": 1, "b": [1.5, 2.0]},
                "raw": "AP8=",
                "x": 1.5,
                "flag": True,
                "grid": [[1, 1], [1, 1]],
            },
            {"meta": {"s": "t"}, "raw": "aGk=", "x": None, "flag": False, "grid": [[0, 0, 0]]},
        ],
    }
    assert columns.json()["data"] == {
        "meta": [{"a": 1, "b": [1.5, 2.0]}, {"s": "t"}],
        "raw": ["AP8=", "aGk="],
        "x": [1.5, None],
        "flag": [True, False],
        "grid": [[[1, 1], [1, 1]], [[0, 0, 0]]],
    }


# Cloud: a real HTTP server stands in for app.activeloop.ai


@pytest.fixture
def fault() -> Iterator[FaultServer]:
    with running(FaultServer()) as server:
        yield server


@pytest.fixture
async def cloud(fault: FaultServer) -> AsyncIterator[Client]:
    settings = load_settings(
        {"api_url": "http://127.0.0.1:9", "tensordb_url": fault.url, "max_rows": 10},
        environ={"DEEPLAKE_API_KEY": KEY},
    )
    async with Client(build_server(settings)) as c:
        yield c


@pytest.mark.parametrize("as_list", [True, False])
async def test_cloud_request_shape_and_rendering(fault: FaultServer, cloud: Client, as_list: bool) -> None:
    data: Any = [{"text": "a", "score": 0.9}, {"text": "b", "score": 0.5}]
    if not as_list:
        data = {"text": ["a", "b"], "score": [0.9, 0.5]}
    fault.on(*TQL, Reply(json={"message": "Query successful.", "tensors": ["text", "score"], "data": data}))
    query = 'select text, score from "hub://acme/docs" order by score desc limit 5'
    found = await tql(cloud, query, as_list=as_list)
    assert found == {
        "columns": ["text", "score"],
        "rows": [["a", 0.9], ["b", 0.5]],
        "row_count": 2,
        "truncated": False,
    }
    (seen,) = fault.seen
    assert (seen.method, seen.path) == TQL
    assert seen.headers["authorization"] == f"Bearer {KEY}"
    body = json.loads(seen.body)
    assert set(body) == {"query", "as_list"} and body["as_list"] is as_list
    assert body["query"] == f"SELECT * FROM (\n{query}\n) LIMIT 11"


async def test_cloud_truncates_and_reports_errors(fault: FaultServer, cloud: Client) -> None:
    fault.on(*TQL, Reply(json={"tensors": ["n"], "data": [{"n": i} for i in range(11)]}))
    found = await tql(cloud, 'SELECT n FROM "hub://acme/docs"', max_rows=3)
    assert (found["rows"], found["truncated"]) == ([[0], [1], [2]], True)
    fault.on(*TQL, Reply(400, {"description": "Dataset hub://acme/nope does not exist"}))
    message = await tql_error(cloud, 'SELECT n FROM "hub://acme/nope"')
    assert "The TQL query failed: Dataset hub://acme/nope does not exist" in message
    assert KEY not in message


async def test_cloud_guard_refusals_never_reach_the_api(fault: FaultServer, cloud: Client) -> None:
    for query in (
        'SELECT * FROM "hub://acme/docs"; DELETE FROM "hub://acme/docs"',
        'DELETE FROM "hub://acme/docs"',
        'SELECT * FROM "file:///etc/passwd"',
    ):
        assert "Refused by the TQL guard" in await tql_error(cloud, query)
    assert fault.seen == []
