"""The local Deep Lake API end to end: real embedded PostgreSQL, reached through httpx.ASGITransport."""

from __future__ import annotations

import json
import random
import sys
import textwrap
import time
import uuid
from pathlib import Path

import anyio
import httpx
import pytest

from deeplake_mcp.local import LocalBackend, create_app
from local_api_helpers import query_error, rows, run

pytestmark = pytest.mark.anyio

DOCUMENTS = (
    "CREATE TABLE documents (id SERIAL PRIMARY KEY, title TEXT, content TEXT, metadata JSONB, "
    "embedding FLOAT4[], created_at TIMESTAMPTZ DEFAULT NOW()) USING deeplake"
)


def assert_envelope(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "code", "request_id"}
    assert body["code"] == code
    assert uuid.UUID(body["request_id"]).version == 4
    assert "Traceback" not in body["error"]
    return str(body["error"])


# Health, identity, workspaces


async def test_health_and_ready(local_client: httpx.AsyncClient) -> None:
    assert (await local_client.get("/health")).json() == {"status": "ok"}
    assert (await local_client.get("/ready")).json() == {"status": "ready"}


async def test_me_and_organizations(local_client: httpx.AsyncClient) -> None:
    me = (await local_client.get("/me")).json()
    assert me == {
        "id": "local-user",
        "email": "local@localhost",
        "name": "Local User",
        "verified": True,
        "organizations": me["organizations"],
        "display_name": "Local User",
        "date_joined": me["date_joined"],
    }
    assert isinstance(me["date_joined"], int)
    orgs = (await local_client.get("/organizations")).json()
    assert orgs[0] == {
        "id": "local",
        "name": "Local Organization",
        "creator": "local-user",
        "created_at": orgs[0]["created_at"],
    }
    assert me["organizations"][0] == "local"


async def test_workspaces(local_client: httpx.AsyncClient) -> None:
    listed = (await local_client.get("/workspaces")).json()["data"]
    default = next(item for item in listed if item["id"] == "default")
    assert set(default) == {"id", "org_id", "name", "type", "created_at"}
    assert (default["org_id"], default["type"]) == ("local", "local")

    workspace_id = f"ws-{uuid.uuid4().hex[:8]}"
    created = await local_client.post("/workspaces", json={"id": workspace_id, "name": "My Workspace"})
    assert created.status_code == 201
    assert created.json()["name"] == "My Workspace"
    fetched = await local_client.get(f"/workspaces/{workspace_id}")
    assert fetched.json() == created.json()
    listed_ids = [item["id"] for item in (await local_client.get("/workspaces")).json()["data"]]
    assert workspace_id in listed_ids

    duplicate = await local_client.post("/workspaces", json={"id": workspace_id})
    assert "already exists" in assert_envelope(duplicate, 409, "CONFLICT")
    missing = await local_client.post("/workspaces", json={"name": "x"})
    assert assert_envelope(missing, 400, "INVALID_REQUEST") == "workspace ID is required"
    unknown = await local_client.get("/workspaces/no_such_workspace")
    assert assert_envelope(unknown, 404, "NOT_FOUND") == "workspace 'no_such_workspace' not found"


async def test_workspace_name_defaults_to_id(local_client: httpx.AsyncClient, ws: str) -> None:
    assert (await local_client.get(f"/workspaces/{ws}")).json()["name"] == ws


async def test_dropping_the_schema_removes_the_workspace(local_client: httpx.AsyncClient, ws: str) -> None:
    await run(local_client, "default", f'DROP SCHEMA "{ws}" CASCADE')
    assert_envelope(await local_client.get(f"/workspaces/{ws}"), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    "workspace_id",
    ["Upper", "1starts_with_digit", "has space", "a" * 64, "public", "pg_x", "deeplake_compat"],
)
async def test_invalid_workspace_ids(local_client: httpx.AsyncClient, workspace_id: str) -> None:
    response = await local_client.post("/workspaces", json={"id": workspace_id})
    assert "invalid workspace ID" in assert_envelope(response, 400, "INVALID_REQUEST")


# Tables


async def test_table_routes(local_client: httpx.AsyncClient, ws: str) -> None:
    await run(local_client, ws, DOCUMENTS)
    await run(local_client, ws, "INSERT INTO documents (title, embedding) VALUES ('a', '{1,2}'), ('b', '{3,4}')")

    tables = (await local_client.get(f"/workspaces/{ws}/tables")).json()
    assert tables == {
        "tables": [{"table_name": "documents", "row_count": 2, "size_mb": tables["tables"][0]["size_mb"]}]
    }
    assert isinstance(tables["tables"][0]["size_mb"], float)

    detail = (await local_client.get(f"/workspaces/{ws}/tables/documents")).json()
    assert detail["table_name"] == "documents"
    assert detail["row_count"] == 2
    assert detail["columns"] == [
        {"name": "id", "type": "int4", "nullable": False, "default": "nextval('documents_id_seq'::regclass)"},
        {"name": "title", "type": "text", "nullable": True, "default": None},
        {"name": "content", "type": "text", "nullable": True, "default": None},
        {"name": "metadata", "type": "jsonb", "nullable": True, "default": None},
        {"name": "embedding", "type": "_float4", "nullable": True, "default": None},
        {"name": "created_at", "type": "timestamptz", "nullable": True, "default": "now()"},
    ]

    assert (await local_client.delete(f"/workspaces/{ws}/tables/documents")).status_code == 204
    gone = await local_client.get(f"/workspaces/{ws}/tables/documents")
    assert assert_envelope(gone, 404, "NOT_FOUND") == f"table 'documents' not found in workspace '{ws}'"
    assert_envelope(await local_client.delete(f"/workspaces/{ws}/tables/documents"), 404, "NOT_FOUND")
    assert (await local_client.get(f"/workspaces/{ws}/tables")).json() == {"tables": []}


async def test_unknown_workspace_is_404_everywhere(local_client: httpx.AsyncClient) -> None:
    base = "/workspaces/no_such_workspace/tables"
    for response in (
        await local_client.get(base),
        await local_client.get(f"{base}/t"),
        await local_client.delete(f"{base}/t"),
        await local_client.post(f"{base}/query", json={"query": "SELECT 1"}),
        await local_client.post(f"{base}/query/batch", json={"query": "SELECT 1", "params_batch": []}),
    ):
        assert assert_envelope(response, 404, "NOT_FOUND") == "workspace 'no_such_workspace' not found"


async def test_workspaces_isolate_same_named_tables(local_client: httpx.AsyncClient, ws: str) -> None:
    other = f"t_{uuid.uuid4().hex[:12]}"
    await local_client.post("/workspaces", json={"id": other})
    for workspace_id, value in ((ws, "first"), (other, "second")):
        await run(local_client, workspace_id, "CREATE TABLE notes (body TEXT) USING deeplake")
        await run(local_client, workspace_id, "INSERT INTO notes VALUES ($1)", [value])
    assert await rows(local_client, ws, "SELECT body FROM notes") == [["first"]]
    assert await rows(local_client, other, "SELECT body FROM notes") == [["second"]]
    assert await rows(local_client, ws, f'SELECT body FROM "{other}"."notes"') == [["second"]]
    columns = await rows(
        local_client,
        ws,
        "SELECT table_schema, column_name FROM information_schema.columns WHERE table_name = 'notes' "
        "AND table_schema = $1",
        [ws],
    )
    assert columns == [[ws, "body"]]


# Queries


async def test_query_result_shapes(local_client: httpx.AsyncClient, ws: str) -> None:
    assert await run(local_client, ws, "SELECT 1") == {"columns": ["?column?"], "rows": [[1]], "row_count": 1}
    assert await run(local_client, ws, DOCUMENTS) == {"columns": [], "rows": [], "row_count": 0}
    inserted = await run(local_client, ws, "INSERT INTO documents (title) VALUES ('a'), ('b'), ('c')")
    assert inserted == {"columns": [], "rows": [], "row_count": 3}
    updated = await run(local_client, ws, "UPDATE documents SET content = 'x' WHERE title <> 'a'")
    assert updated["row_count"] == 2
    returning = await run(local_client, ws, "DELETE FROM documents WHERE title = 'c' RETURNING title")
    assert returning == {"columns": ["title"], "rows": [["c"]], "row_count": 1}
    qualified = await rows(local_client, ws, f'SELECT count(*) FROM "{ws}"."documents"')
    assert qualified == [[2]]
    assert await rows(local_client, ws, "SELECT deeplake_sync_table('documents')") == [[None]]


async def test_cosine_similarity_operator(local_client: httpx.AsyncClient, ws: str) -> None:
    [[reference, self_score, orthogonal, empty]] = await rows(
        local_client,
        ws,
        "SELECT ARRAY[.1,.2,.3,.4,.5]::float4[] <#> ARRAY[.2,.3,.4,.5,.6]::float4[], "
        "ARRAY[1,2,3]::float4[] <#> ARRAY[1,2,3]::float4[], "
        "ARRAY[1,0]::float4[] <#> ARRAY[0,1]::float4[], '{}'::float4[] <#> ARRAY[1]::float4[]",
    )
    assert reference == pytest.approx(0.99493665, abs=1e-6)
    assert self_score == pytest.approx(1.0)
    assert orthogonal == pytest.approx(0.0)
    assert empty is None
    message = await query_error(local_client, ws, "SELECT ARRAY[1,2,3]::float4[] <#> ARRAY[1,2]::float4[]")
    assert message == "different vector dimensions 3 and 2"

    await run(local_client, ws, DOCUMENTS)
    await run(
        local_client,
        ws,
        "INSERT INTO documents (title, embedding) VALUES "
        "('far', '{-1,0,0}'), ('near', '{1,0.1,0}'), ('exact', '{1,0,0}'), ('side', '{0,1,0}')",
    )
    ranked = await rows(
        local_client,
        ws,
        "SELECT title, embedding <#> ARRAY[1,0,0]::float4[] AS score FROM documents ORDER BY score DESC",
    )
    assert [title for title, _ in ranked] == ["exact", "near", "side", "far"]
    assert ranked[-1][1] == pytest.approx(-1.0)
    by_param = await rows(
        local_client,
        ws,
        "SELECT title FROM documents ORDER BY embedding <#> $1 DESC LIMIT $2",
        [[1.0, 0.0, 0.0], 2],
    )
    assert by_param == [["exact"], ["near"]]


async def test_text_relevance_operator(local_client: httpx.AsyncClient, ws: str) -> None:
    await run(local_client, ws, DOCUMENTS)
    loaded = await local_client.post(
        f"/workspaces/{ws}/tables/query/batch",
        json={
            "query": "INSERT INTO documents (title, content) VALUES ($1, $2)",
            "params_batch": [
                ["dogs", "The lazy dogs sleep all day, dogs dream of dogs"],
                ["cat", "A cat chases a mouse"],
                ["mixed", "One dog and one cat"],
            ],
        },
    )
    assert loaded.json()["row_count"] == 3
    # BM25 (see test_local_search.py): ranking returns only the rows that contain a query term.
    ranked = await rows(
        local_client,
        ws,
        "SELECT title, content <#> 'sleep dog' AS score FROM documents ORDER BY score DESC",
    )
    # One term each; the shorter document ranks first (BM25 length normalisation).
    assert [title for title, _ in ranked] == ["mixed", "dogs"]
    assert ranked[0][1] > ranked[1][1] > 0
    scored = await rows(local_client, ws, "SELECT title, content <#> 'sleep dog' FROM documents ORDER BY 1")
    assert [title for title, _ in scored] == ["cat", "dogs", "mixed"]
    assert scored[0][1] == 0


async def test_jsonb_operators(local_client: httpx.AsyncClient, ws: str) -> None:
    await run(local_client, ws, DOCUMENTS)
    await run(
        local_client,
        ws,
        "INSERT INTO documents (title, metadata) VALUES ($1, $2), ($3, $4::jsonb)",
        [
            "a",
            {"source": "manual", "tags": ["x", "y"], "n": 1, "w": 0.5},
            "b",
            '{"source": "crawler", "n": 2}',
        ],
    )
    assert await rows(
        local_client, ws, "SELECT title FROM documents WHERE metadata->>$1 = $2", ["source", "manual"]
    ) == [["a"]]
    assert await rows(
        local_client, ws, "SELECT title FROM documents WHERE metadata @> $1", [{"source": "crawler"}]
    ) == [["b"]]
    assert await rows(local_client, ws, "SELECT title FROM documents WHERE metadata ? 'tags'") == [["a"]]
    assert await rows(
        local_client, ws, "SELECT metadata->'w', jsonb_typeof(metadata->'w') FROM documents ORDER BY title"
    ) == [
        [0.5, "number"],
        [None, None],
    ]
    assert await rows(
        local_client, ws, "SELECT metadata->'tags', (metadata->>'n')::int FROM documents ORDER BY title"
    ) == [[["x", "y"], 1], [None, 2]]
    grouped = await run(
        local_client,
        ws,
        "SELECT metadata->>$1 AS source, COUNT(*) AS doc_count FROM documents GROUP BY metadata->>$1 ORDER BY source",
        ["source"],
    )
    assert grouped == {
        "columns": ["source", "doc_count"],
        "rows": [["crawler", 1], ["manual", 1]],
        "row_count": 2,
    }


async def test_params_are_typed_by_postgres(local_client: httpx.AsyncClient, ws: str) -> None:
    await run(
        local_client,
        ws,
        "CREATE TABLE typed (id INT, ok BOOLEAN, at TIMESTAMPTZ, day DATE, uid UUID, score NUMERIC, "
        "vec FLOAT4[], multi FLOAT4[][], tags TEXT[], doc JSONB) USING deeplake",
    )
    values = [
        5,
        True,
        "2024-05-06T07:08:09Z",
        "2024-05-06",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        3.14159265358979323846,
        [0.5, 1, -2.5e-3],
        [[1, 2], [3, 4]],
        ["plain", "with space", 'quo"te', "back\\slash", "", None, "NULL", "{braces}", "comma,inside"],
        {"nested": {"list": [1, 2]}},
    ]
    await run(local_client, ws, "INSERT INTO typed VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", values)
    [row] = await rows(local_client, ws, "SELECT * FROM typed WHERE id = $1 AND ok = $2", [5, True])
    assert row == [
        5,
        True,
        "2024-05-06T07:08:09+00:00",
        "2024-05-06",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        pytest.approx(3.141592653589793),
        [0.5, 1.0, -0.0025],
        [[1.0, 2.0], [3.0, 4.0]],
        ["plain", "with space", 'quo"te', "back\\slash", "", None, "NULL", "{braces}", "comma,inside"],
        {"nested": {"list": [1, 2]}},
    ]
    exact = await local_client.post(
        f"/workspaces/{ws}/tables/query",
        content=b'{"query": "SELECT $1::numeric::text", "params": [3.14159265358979323846]}',
    )
    assert exact.json()["rows"] == [["3.14159265358979323846"]]  # JSON digits reach PostgreSQL unrounded
    assert await run(local_client, ws, "SELECT $1, $2", ["text", None]) == {
        "columns": ["?column?", "?column?"],
        "rows": [["text", None]],
        "row_count": 1,
    }
    assert await rows(local_client, ws, "SELECT g FROM generate_series(1, 10) g LIMIT $1", [2]) == [[1], [2]]
    assert await rows(local_client, ws, "SELECT $1::float4[]", [[1.5, 2]]) == [[[1.5, 2.0]]]


@pytest.mark.parametrize(
    "payload",
    [
        "'; DROP TABLE notes; --",
        "Robert'); DROP TABLE students;--",
        '"; SELECT 1; --',
        "$1 $2 \\' \\\\ %s %(x)s",
        "ünïcødé ✓ 🦆",
    ],
)
async def test_params_are_data_not_sql(local_client: httpx.AsyncClient, ws: str, payload: str) -> None:
    await run(local_client, ws, "CREATE TABLE notes (body TEXT, tags TEXT[]) USING deeplake")
    await run(local_client, ws, "INSERT INTO notes VALUES ($1, $2)", [payload, [payload, payload]])
    assert await rows(local_client, ws, "SELECT body, tags FROM notes") == [[payload, [payload, payload]]]
    assert await rows(local_client, ws, "SELECT count(*) FROM notes WHERE body = $1", [payload]) == [[1]]


async def test_value_encoding(local_client: httpx.AsyncClient, ws: str) -> None:
    [row] = await rows(
        local_client,
        ws,
        "SELECT 1::int2, 2::int4, 9007199254740993::int8, 1.5::float4, 2.25::float8, 1.25::numeric, "
        "'NaN'::float8, 'Infinity'::float4, 'NaN'::numeric, true, 'text', '{\"a\": [1, null]}'::jsonb, "
        "'[1, 2]'::json, ARRAY[1.5, 2.5]::float4[], ARRAY[[1, 2], [3, 4]]::float4[][], ARRAY['a', NULL], "
        "'2024-01-02 03:04:05.5+02'::timestamptz, '2024-01-02 03:04:05'::timestamp, '2024-01-02'::date, "
        "'03:04:05'::time, '1 year 2 mons 3 days 04:05:06'::interval, "
        "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, '\\x00ff10'::bytea, NULL, "
        "'infinity'::timestamptz, ARRAY['2024-01-02'::date], '[1,2]'::vector, "
        "ARRAY[0.5, 'NaN', '-Infinity']::float4[], ARRAY[1e308, 1e308]::float8[]",
    )
    expected = [
        1,
        2,
        9007199254740993,
        1.5,
        2.25,
        1.25,
        None,
        None,
        None,
        True,
        "text",
        {"a": [1, None]},
        [1, 2],
        [1.5, 2.5],
        [[1.0, 2.0], [3.0, 4.0]],
        ["a", None],
        "2024-01-02T01:04:05.500000+00:00",
        "2024-01-02T03:04:05",
        "2024-01-02",
        "03:04:05",
        "1 year 2 mons 3 days 04:05:06",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "AP8Q",
        None,
        "infinity",
        ["2024-01-02"],
        "[1,2]",
        [0.5, None, None],
        [1e308, 1e308],
    ]
    assert row == expected


# deeplake_index


async def test_deeplake_index_statements(local_client: httpx.AsyncClient, ws: str) -> None:
    await run(local_client, ws, DOCUMENTS)
    statements = [
        "CREATE INDEX idx_vec ON documents USING deeplake_index (embedding DESC)",
        "CREATE INDEX IF NOT EXISTS idx_vec ON documents USING deeplake_index (embedding DESC)",
        f'CREATE INDEX IF NOT EXISTS "idx_bm25" ON "{ws}"."documents" USING deeplake_index ("content") '
        "WITH (index_type = 'bm25')",
        "CREATE INDEX idx_clustered ON documents USING deeplake_index (embedding) "
        "WITH (index_type = 'clustered', dimension = 3)",
        "CREATE INDEX idx_meta ON documents USING deeplake_index (metadata ASC)",
        "CREATE INDEX idx_hybrid ON documents USING deeplake_index "
        "(((embedding, content)::deeplake_hybrid_record) deeplake_hybrid_ops DESC)",
    ]
    for statement in statements:
        assert await run(local_client, ws, statement) == {"columns": [], "rows": [], "row_count": 0}

    duplicate = "CREATE INDEX idx_vec ON documents USING deeplake_index (embedding DESC)"
    assert await query_error(local_client, ws, duplicate) == 'relation "idx_vec" already exists'

    listed = await rows(
        local_client, ws, "SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname", [ws]
    )
    assert listed == [
        ["documents_pkey"],
        ["idx_bm25"],
        ["idx_clustered"],
        ["idx_hybrid"],
        ["idx_meta"],
        ["idx_vec"],
    ]
    recorded = await rows(
        local_client,
        ws,
        "SELECT index_name, table_name, columns, sort_order, index_type, dimension "
        "FROM deeplake_indexes WHERE schema_name = $1 ORDER BY index_name",
        [ws],
    )
    assert recorded == [
        ["idx_bm25", "documents", ["content"], "DESC", "bm25", None],
        ["idx_clustered", "documents", ["embedding"], "DESC", "clustered", 3],
        ["idx_hybrid", "documents", ["embedding", "content"], "DESC", None, None],
        ["idx_meta", "documents", ["metadata"], "ASC", None, None],
        ["idx_vec", "documents", ["embedding"], "DESC", None, None],
    ]

    # The stand-ins store nothing, so long vectors and texts insert fine.
    await run(
        local_client,
        ws,
        "INSERT INTO documents (content, embedding) VALUES ($1, $2)",
        [" ".join(uuid.uuid4().hex for _ in range(500)), [0.25] * 3072],
    )
    await run(local_client, ws, "DROP INDEX idx_vec")
    assert await rows(
        local_client, ws, "SELECT index_name FROM deeplake_indexes WHERE schema_name = $1 ORDER BY 1", [ws]
    ) == [["idx_bm25"], ["idx_clustered"], ["idx_hybrid"], ["idx_meta"]]


async def test_deeplake_index_errors(local_client: httpx.AsyncClient, ws: str) -> None:
    await run(local_client, ws, DOCUMENTS)
    await run(local_client, ws, "CREATE TABLE plain (body TEXT)")
    index = "CREATE INDEX i ON {} USING deeplake_index ({}){}"
    cases = [
        (index.format("documents", "content", " WITH (index_type = 'nope')"), "unknown index_type"),
        (index.format("documents", "content", " WITH (colour = 'red')"), "unrecognized parameter"),
        (index.format("missing", "content", ""), 'relation "missing" does not exist'),
        (index.format("documents", "nope", ""), 'column "nope" does not exist'),
        (index.format("plain", "body", ""), "does not have DeepLake access method"),
    ]
    for statement, message in cases:
        assert message in await query_error(local_client, ws, statement)
    response = await local_client.post(
        f"/workspaces/{ws}/tables/query/batch",
        json={"query": "CREATE INDEX i ON documents USING deeplake_index (content)", "params_batch": [[]]},
    )
    assert_envelope(response, 400, "INVALID_REQUEST")


# Errors


async def test_sql_errors_carry_postgres_messages(local_client: httpx.AsyncClient, ws: str) -> None:
    assert await query_error(local_client, ws, "SELEC 1") == 'syntax error at or near "SELEC"'
    assert await query_error(local_client, ws, "SELECT * FROM docs") == 'relation "docs" does not exist'
    await run(local_client, ws, DOCUMENTS)
    assert await query_error(local_client, ws, "SELECT foo FROM documents") == 'column "foo" does not exist'
    assert "one SQL statement" in await query_error(local_client, ws, "SELECT 1; SELECT 2")
    assert "COPY" in await query_error(local_client, ws, "COPY documents TO STDOUT")
    assert "bind message supplies 1 parameters" in await query_error(
        local_client, ws, "SELECT $1, $2", params=["only one"]
    )
    timeout = await query_error(local_client, ws, "SELECT pg_sleep(2)", timeout_ms=50)
    assert timeout == "canceling statement due to statement timeout"
    response = await local_client.post(f"/workspaces/{ws}/tables/query", json={"query": "SELEC 1"})
    assert_envelope(response, 400, "QUERY_ERROR")


@pytest.mark.parametrize(
    ("path", "content"),
    [
        ("query", b"not json"),
        ("query", b"[1, 2]"),
        ("query", b"{}"),
        ("query", b'{"query": 42}'),
        ("query", b'{"query": "  "}'),
        ("query", b'{"query": "SELECT $1", "params": "x"}'),
        ("query", b'{"query": "SELECT 1", "timeout_ms": -1}'),
        ("query", b'{"query": "SELECT 1", "timeout_ms": 1.5}'),
        ("query", b'{"query": "SELECT $1", "params": ["a\\u0000b"]}'),
        ("query/batch", b'{"query": "SELECT 1"}'),
        ("query/batch", b'{"query": "SELECT 1", "params_batch": [1, 2]}'),
    ],
)
async def test_malformed_bodies(local_client: httpx.AsyncClient, path: str, content: bytes) -> None:
    response = await local_client.post(f"/workspaces/default/tables/{path}", content=content)
    assert_envelope(response, 400, "INVALID_REQUEST")


async def test_unknown_routes_and_methods(local_client: httpx.AsyncClient) -> None:
    assert_envelope(await local_client.get("/nope"), 404, "NOT_FOUND")
    assert_envelope(await local_client.put("/workspaces"), 405, "METHOD_NOT_ALLOWED")


async def test_unexpected_errors_are_500_without_details(tmp_path: Path) -> None:
    closed = LocalBackend(tmp_path)  # never opened: every database call fails
    transport = httpx.ASGITransport(app=create_app(closed), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://deeplake.local") as client:
        message = assert_envelope(await client.get("/workspaces"), 500, "INTERNAL_ERROR")
        assert "not open" not in message
        assert_envelope(await client.get("/ready"), 503, "UNAVAILABLE")


# Batches


async def test_batch_inserts_updates_and_deletes(local_client: httpx.AsyncClient, ws: str) -> None:
    await run(local_client, ws, DOCUMENTS)
    batch = f"/workspaces/{ws}/tables/query/batch"
    inserted = await local_client.post(
        batch,
        json={
            "query": "INSERT INTO documents (title, content) VALUES ($1, $2)",
            "params_batch": [["Doc A", "Content A"], ["Doc B", "Content B"], ["Doc C", "Content C"]],
        },
    )
    assert inserted.json() == {"columns": [], "rows": [], "row_count": 3}
    updated = await local_client.post(
        batch,
        json={
            "query": "UPDATE documents SET metadata = $1::jsonb WHERE title = $2",
            "params_batch": [['{"reviewed": true}', "Doc A"], [{"reviewed": False}, "Doc B"]],
        },
    )
    assert updated.json()["row_count"] == 2
    deleted = await local_client.post(
        batch, json={"query": "DELETE FROM documents WHERE title = $1", "params_batch": [["Doc C"], ["none"]]}
    )
    assert deleted.json()["row_count"] == 1
    assert await rows(local_client, ws, "SELECT title, metadata FROM documents ORDER BY title") == [
        ["Doc A", {"reviewed": True}],
        ["Doc B", {"reviewed": False}],
    ]


async def test_batch_is_atomic(local_client: httpx.AsyncClient, ws: str) -> None:
    await run(local_client, ws, "CREATE TABLE strict (id INT NOT NULL, body TEXT) USING deeplake")
    response = await local_client.post(
        f"/workspaces/{ws}/tables/query/batch",
        json={
            "query": "INSERT INTO strict VALUES ($1, $2)",
            "params_batch": [[1, "a"], [2, "b"], [None, "c"]],
        },
    )
    assert "violates not-null constraint" in assert_envelope(response, 400, "QUERY_ERROR")
    assert await rows(local_client, ws, "SELECT count(*) FROM strict") == [[0]]


async def test_batch_of_vectors(local_client: httpx.AsyncClient, ws: str) -> None:
    await run(local_client, ws, DOCUMENTS)
    rng = random.Random(0)
    vectors = [[rng.uniform(-1, 1) for _ in range(384)] for _ in range(2000)]
    started = time.perf_counter()
    response = await local_client.post(
        f"/workspaces/{ws}/tables/query/batch",
        json={
            "query": "INSERT INTO documents (title, embedding) VALUES ($1, $2)",
            "params_batch": [[f"doc {i}", vector] for i, vector in enumerate(vectors)],
        },
    )
    elapsed = time.perf_counter() - started
    assert response.json()["row_count"] == 2000, response.text
    print(f"batch insert of 2000 x 384 floats: {elapsed:.2f} s")
    [[title, score]] = await rows(
        local_client,
        ws,
        "SELECT title, embedding <#> $1 AS score FROM documents ORDER BY score DESC LIMIT 1",
        [vectors[1234]],
    )
    assert title == "doc 1234"
    assert score == pytest.approx(1.0)


# Processes


async def test_second_process_shares_the_data_dir(
    local_client: httpx.AsyncClient, local_backend: LocalBackend, ws: str
) -> None:
    await run(local_client, ws, "CREATE TABLE shared (n INT) USING deeplake")
    await run(local_client, ws, "INSERT INTO shared VALUES (1), (2)")
    script = textwrap.dedent(
        """
        import asyncio, json, sys
        from pathlib import Path
        import httpx
        from deeplake_mcp.local import LocalBackend, create_app

        async def main() -> None:
            async with LocalBackend(Path(sys.argv[1])) as backend:
                transport = httpx.ASGITransport(app=create_app(backend))
                async with httpx.AsyncClient(transport=transport, base_url="http://deeplake.local") as client:
                    url = f"/workspaces/{sys.argv[2]}/tables/query"
                    await client.post(url, json={"query": "INSERT INTO shared VALUES (3)"})
                    response = await client.post(url, json={"query": "SELECT sum(n) FROM shared"})
                    print(json.dumps(response.json()))

        asyncio.run(main())
        """
    )
    result = await anyio.run_process([sys.executable, "-c", script, str(local_backend.data_dir), ws])
    assert json.loads(result.stdout)["rows"] == [[6]]
    # The first process keeps working after the second one exits.
    assert await rows(local_client, ws, "SELECT sum(n) FROM shared") == [[6]]
