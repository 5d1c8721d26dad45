"""Activeloop's own Python client (`deeplake.managed.Client`) against the local API, unchanged.

The local API runs over real HTTP (uvicorn on a free loopback port, in a background thread), as
`deeplake-mcp local-api` serves it. Skipped when the `deeplake` package is not installed
(`pip install 'deeplake>=4.7,<5'`, the `test` extra).
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

managed = pytest.importorskip("deeplake.managed", reason="the deeplake package (test extra) is not installed")

import uvicorn  # noqa: E402

from data_dirs import reachable  # noqa: E402
from deeplake_mcp.http import local_api_app  # noqa: E402
from mcp_helpers import settings_for  # noqa: E402


def jwt(claims: dict[str, Any]) -> str:
    """A token shaped like Deep Lake's API keys (HS256 JWT); the local API compares it as a string."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


TOKEN = jwt({"Type": "api", "Name": "local", "UserID": "local-user", "OrgID": "local", "Exp": 4102444800})


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = reachable(tmp_path_factory.mktemp("official-client"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        local_api_app(settings_for(data_dir, http_token=TOKEN), port=port),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="local-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the local API did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def workspace(api_url: str) -> str:
    workspace_id = f"sdk_{uuid.uuid4().hex[:10]}"
    response = httpx.post(
        f"{api_url}/workspaces",
        json={"id": workspace_id, "name": "SDK"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 201, response.text
    return workspace_id


def test_table_lifecycle_query_and_search(api_url: str, workspace: str) -> None:
    client = managed.Client(token=TOKEN, workspace_id=workspace, api_url=api_url)
    assert client.org_id == "local"

    schema = {"title": "TEXT", "body": "TEXT", "embedding": "EMBEDDING(3)", "n": "INT64", "meta": "JSON"}
    created = client.create_table("docs", schema)
    assert created == {"table_name": "docs", "created": True, "dataset_path": f"al://{workspace}/docs"}
    assert client.create_table("docs", schema)["created"] is False  # 409 "already exists" is tolerated
    assert client.list_tables() == ["docs"]

    insert = "INSERT INTO docs (title, body, embedding, n, meta) VALUES ($1, $2, {}, $3, $4::jsonb)"
    rows = [
        ("a", "The quick brown fox", [1.0, 0.0, 0.0], 1, {"lang": "en"}),
        ("b", "A lazy dog sleeps", [0.0, 1.0, 0.0], 2, {"lang": "en"}),
        ("c", "Fox and dog, quick friends", [0.7, 0.7, 0.0], 3, {"lang": "fr"}),
    ]
    for title, body, vector, n, meta in rows:
        client.query(insert.format(managed.client.vector_literal(vector)), (title, body, n, json.dumps(meta)))

    assert client.query("SELECT title FROM docs WHERE n >= $1 ORDER BY n", (2,)) == [
        {"title": "b"},
        {"title": "c"},
    ]
    assert client.query("SELECT meta->>'lang' AS lang FROM docs WHERE title = $1", ("c",)) == [{"lang": "fr"}]

    client.create_index("docs", "embedding")
    client.create_index("docs", "body", index_type="bm25")
    client.create_index("docs", "body", index_type="bm25")  # the same index again is a no-op
    client.create_index("docs", "n", index_type="inverted")
    indexes = {
        row["indexname"]: row["indexdef"]
        for row in client.query("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'docs'")
    }
    assert set(indexes) == {"idx_docs_embedding", "idx_docs_body", "idx_docs_n"}
    assert indexes["idx_docs_body"].endswith("USING deeplake_index (body) WITH (index_type=bm25)")
    assert indexes["idx_docs_n"].endswith("USING deeplake_index (n) WITH (index_type=inverted_index)")
    # A different type on an indexed column is refused, as on the managed service.
    with pytest.raises(managed.TableError, match="already has a 'bm25' index"):
        client.create_index("docs", "body", index_type="exact_text")
    client.drop_index("docs", "body")
    client.create_index("docs", "body", index_type="exact_text")

    vector = managed.client.vector_literal([1.0, 0.1, 0.0])
    nearest = client.query(f"SELECT title, embedding <#> {vector} AS score FROM docs ORDER BY score DESC LIMIT 2")
    assert [row["title"] for row in nearest] == ["a", "c"]
    keyword = client.query("SELECT title, body <#> $1 AS score FROM docs ORDER BY score DESC LIMIT 5", ("fox",))
    assert sorted(row["title"] for row in keyword) == ["a", "c"]  # only rows containing the term
    assert all(row["score"] > 0 for row in keyword)

    built = (
        client.table("docs")
        .select("title", "n")
        .where("n >= $1", 2)
        .where("title <> $2", "z")
        .order_by("n DESC")
        .limit(1)
    )
    assert built() == [{"title": "c", "n": 3}]
    assert client.table("docs").select("count(*) AS c")() == [{"c": 3}]

    client.query("SELECT deeplake_sync_table($1)", ('"docs"',))
    client.drop_table("docs")
    assert client.list_tables() == []
    client.drop_table("docs")  # if_exists: the 404 is ignored
    with pytest.raises(managed.ManagedServiceError, match="Not found"):
        client.drop_table("docs", if_exists=False)
    with pytest.raises(managed.TableError, match='relation "docs" does not exist'):
        client.query("SELECT * FROM docs")


def test_org_id_from_me_or_argument(api_url: str, workspace: str) -> None:
    # The local API accepts one bearer token; a Client built with it and org_id= works too.
    client = managed.Client(token=TOKEN, workspace_id=workspace, api_url=api_url, org_id="local")
    assert client.org_id == "local"
    client.create_table("t", {"a": "TEXT"})
    assert client.list_tables() == ["t"]


def test_token_without_org_claim_asks_me(new_data_dir: Path) -> None:
    token = jwt({"Type": "api", "UserID": "local-user"})
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            local_api_app(settings_for(new_data_dir, http_token=token), port=port),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        client = managed.Client(token=token, api_url=f"http://127.0.0.1:{port}")
        assert client.org_id == "local"  # from GET /me
        assert client.list_tables() == []
        with pytest.raises(managed.AuthError):
            managed.Client(token=TOKEN, api_url=f"http://127.0.0.1:{port}", org_id="local").list_tables()
    finally:
        server.should_exit = True
        thread.join(timeout=30)
