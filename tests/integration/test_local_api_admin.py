"""Organizations, members, workspace and table management of the local API (real embedded PostgreSQL)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from deeplake_mcp.deeplake import (
    NO_RETRIES,
    BadRequestError,
    ConflictError,
    DeepLakeClient,
    NotFoundError,
)
from deeplake_mcp.local import Exposure, LocalBackend, create_app
from local_api_helpers import rows

pytestmark = pytest.mark.anyio


@pytest.fixture
async def org(local_client: httpx.AsyncClient) -> Any:
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    response = await local_client.post("/organizations", json={"id": org_id, "name": "Test Org"})
    assert response.status_code == 201, response.text
    yield org_id
    await local_client.delete(f"/organizations/{org_id}")


def error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "code", "request_id"}
    assert body["code"] == code
    return str(body["error"])


async def upload(client: httpx.AsyncClient, ws: str, table: str, filename: str, content: bytes) -> httpx.Response:
    return await client.post(
        f"/workspaces/{ws}/tables",
        files={"file": (filename, content)},
        data={"filename": filename, "table_name": table},
    )


# Organizations


async def test_organizations(local_client: httpx.AsyncClient) -> None:
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    created = await local_client.post("/organizations", json={"id": org_id, "name": "Acme"})
    assert created.status_code == 201
    body = created.json()
    assert body == {"id": org_id, "name": "Acme", "creator": "local-user", "created_at": body["created_at"]}

    listed = (await local_client.get("/organizations")).json()
    assert listed[0]["id"] == "local"
    assert body in listed
    assert org_id in (await local_client.get("/me")).json()["organizations"]
    assert (await local_client.get(f"/organizations/{org_id}")).json() == {"organization": body}
    local = (await local_client.get("/organizations/local")).json()["organization"]
    assert (local["id"], local["name"]) == ("local", "Local Organization")

    renamed = await local_client.patch(f"/organizations/{org_id}", json={"name": "Acme Inc"})
    assert renamed.status_code == 200
    assert renamed.json() == {**body, "name": "Acme Inc"}
    unchanged = await local_client.patch(f"/organizations/{org_id}", json={})
    assert unchanged.json()["name"] == "Acme Inc"

    duplicate = await local_client.post("/organizations", json={"id": org_id, "name": "Again"})
    assert "already exists" in error(duplicate, 409, "CONFLICT")

    deleted = await local_client.delete(f"/organizations/{org_id}")
    assert deleted.status_code == 204 and deleted.content == b""
    error(await local_client.get(f"/organizations/{org_id}"), 404, "NOT_FOUND")
    error(await local_client.delete(f"/organizations/{org_id}"), 404, "NOT_FOUND")
    error(await local_client.patch(f"/organizations/{org_id}", json={"name": "x"}), 404, "NOT_FOUND")
    assert org_id not in (await local_client.get("/me")).json()["organizations"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "x"}, "organization ID is required"),
        ({"id": "x"}, "name is required"),
        ({"id": "", "name": "x"}, "organization ID is required"),
        ({"id": "has space", "name": "x"}, "invalid organization ID"),
        ({"id": 7, "name": "x"}, "organization ID is required"),
    ],
)
async def test_organization_validation(local_client: httpx.AsyncClient, body: Any, message: str) -> None:
    assert message in error(await local_client.post("/organizations", json=body), 400, "INVALID_REQUEST")


async def test_organization_patch_validation(local_client: httpx.AsyncClient, org: str) -> None:
    response = await local_client.patch(f"/organizations/{org}", json={"name": ""})
    error(response, 400, "INVALID_REQUEST")
    error(await local_client.patch(f"/organizations/{org}", content=b"nope"), 400, "INVALID_REQUEST")


# Members


async def test_members(local_client: httpx.AsyncClient, org: str) -> None:
    base = f"/organizations/{org}/members"
    assert (await local_client.get(base)).json() == {
        "members": [{"user_id": "local-user", "name": "Local User", "email": "local@localhost", "role": "admin"}]
    }
    invited = await local_client.post(base, json={"email": "ada@example.com", "role": "member"})
    assert invited.status_code == 201
    member = invited.json()
    assert member == {
        "user_id": member["user_id"],
        "name": "ada",
        "email": "ada@example.com",
        "role": "member",
    }
    uuid.UUID(member["user_id"])
    assert member in (await local_client.get(base)).json()["members"]

    duplicate = await local_client.post(base, json={"email": "ada@example.com", "role": "admin"})
    assert "already a member" in error(duplicate, 409, "CONFLICT")

    promoted = await local_client.patch(f"{base}/{member['user_id']}", json={"role": "admin"})
    assert promoted.status_code == 200
    assert promoted.json() == {**member, "role": "admin"}

    removed = await local_client.delete(f"{base}/{member['user_id']}")
    assert removed.status_code == 204 and removed.content == b""
    assert [m["user_id"] for m in (await local_client.get(base)).json()["members"]] == ["local-user"]
    error(await local_client.delete(f"{base}/{member['user_id']}"), 404, "NOT_FOUND")
    error(await local_client.patch(f"{base}/nobody", json={"role": "member"}), 404, "NOT_FOUND")


async def test_member_validation(local_client: httpx.AsyncClient, org: str) -> None:
    base = f"/organizations/{org}/members"
    cases = [
        ({"email": "a@example.com", "role": "owner"}, "role must be 'admin' or 'member'"),
        ({"email": "a@example.com"}, "role is required"),
        ({"role": "member"}, "email is required"),
        ({"email": "not-an-email", "role": "member"}, "is not an email address"),
    ]
    for body, message in cases:
        assert message in error(await local_client.post(base, json=body), 400, "INVALID_REQUEST")
    bad_role = await local_client.patch(f"{base}/local-user", json={"role": "root"})
    assert "role must be" in error(bad_role, 400, "INVALID_REQUEST")
    error(await local_client.patch(f"{base}/local-user", json={}), 400, "INVALID_REQUEST")


async def test_members_of_unknown_organization(local_client: httpx.AsyncClient) -> None:
    base = "/organizations/no-such-org/members"
    for response in (
        await local_client.get(base),
        await local_client.post(base, json={"email": "a@example.com", "role": "member"}),
        await local_client.patch(f"{base}/local-user", json={"role": "admin"}),
        await local_client.delete(f"{base}/local-user"),
    ):
        assert error(response, 404, "NOT_FOUND") == "organization 'no-such-org' not found"


async def test_local_organization_members(local_client: httpx.AsyncClient) -> None:
    members = (await local_client.get("/organizations/local/members")).json()["members"]
    assert {
        "user_id": "local-user",
        "name": "Local User",
        "email": "local@localhost",
        "role": "admin",
    } in members


# Workspaces


async def test_workspace_rename_and_delete(local_client: httpx.AsyncClient, ws: str) -> None:
    renamed = await local_client.patch(f"/workspaces/{ws}", json={"name": "Renamed"})
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Renamed"
    assert (await local_client.get(f"/workspaces/{ws}")).json() == renamed.json()
    error(await local_client.patch(f"/workspaces/{ws}", json={}), 400, "INVALID_REQUEST")
    error(await local_client.patch("/workspaces/no_such_ws", json={"name": "x"}), 404, "NOT_FOUND")

    await rows(local_client, ws, "CREATE TABLE t (a INT) USING deeplake")
    await rows(local_client, ws, "INSERT INTO t VALUES (1)")
    deleted = await local_client.delete(f"/workspaces/{ws}")
    assert deleted.status_code == 204 and deleted.content == b""
    error(await local_client.get(f"/workspaces/{ws}"), 404, "NOT_FOUND")
    error(await local_client.get(f"/workspaces/{ws}/tables"), 404, "NOT_FOUND")
    assert ws not in [w["id"] for w in (await local_client.get("/workspaces")).json()["data"]]
    schemas = await rows(local_client, "default", "SELECT count(*) FROM pg_namespace WHERE nspname = $1", [ws])
    assert schemas == [[0]]
    error(await local_client.delete(f"/workspaces/{ws}"), 404, "NOT_FOUND")
    # The id is free again.
    assert (await local_client.post("/workspaces", json={"id": ws})).status_code == 201
    assert (await local_client.get(f"/workspaces/{ws}/tables")).json() == {"tables": []}


async def test_default_workspace_comes_back_at_the_next_start(new_data_dir: Path) -> None:
    for attempt in range(2):
        async with LocalBackend(new_data_dir) as backend:
            transport = httpx.ASGITransport(app=create_app(backend))
            async with httpx.AsyncClient(transport=transport, base_url="http://deeplake.local") as client:
                assert (await client.get("/workspaces/default")).status_code == 200
                if attempt == 0:
                    await rows(client, "default", "CREATE TABLE old (a INT) USING deeplake")
                    assert (await client.delete("/workspaces/default")).status_code == 204
                    assert (await client.delete("/organizations/local")).status_code == 204
                    error(await client.get("/workspaces/default"), 404, "NOT_FOUND")
                else:
                    assert (await client.get("/workspaces/default/tables")).json() == {"tables": []}
                    assert (await client.get("/organizations/local")).status_code == 200


# Tables: JSON create


async def test_create_table_from_schema(local_client: httpx.AsyncClient, ws: str) -> None:
    schema = {
        "title": "TEXT",
        "embedding": "EMBEDDING(3)",
        "n": "BIGINT",
        "score": "DOUBLE PRECISION",
        "meta": "JSONB",
        "vec": "float4[]",
        "picture": "IMAGE",
        "id": "TEXT NOT NULL DEFAULT 'x'",
    }
    created = await local_client.post(f"/workspaces/{ws}/tables", json={"table_name": "docs", "table_schema": schema})
    assert created.status_code == 201, created.text
    detail = created.json()
    assert detail == (await local_client.get(f"/workspaces/{ws}/tables/docs")).json()
    assert detail["row_count"] == 0 and isinstance(detail["size_mb"], float)
    assert [(c["name"], c["type"]) for c in detail["columns"]] == [
        ("title", "text"),
        ("embedding", "_float4"),
        ("n", "int8"),
        ("score", "float8"),
        ("meta", "jsonb"),
        ("vec", "_float4"),
        ("picture", "bytea"),
        ("id", "text"),
    ]
    assert detail["columns"][-1] == {"name": "id", "type": "text", "nullable": False, "default": "'x'::text"}
    assert await rows(
        local_client,
        ws,
        "SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam WHERE c.oid = $1::regclass",
        [f'"{ws}"."docs"'],
    ) == [["deeplake"]]
    await rows(local_client, ws, "INSERT INTO docs (title, embedding) VALUES ('a', ARRAY[1,0,0])")
    await rows(
        local_client,
        ws,
        "CREATE INDEX ON docs USING deeplake_index (embedding) WITH (index_type = 'clustered')",
    )
    assert await rows(local_client, ws, "SELECT title, embedding <#> ARRAY[1,0,0]::float4[] FROM docs") == [["a", 1.0]]

    duplicate = await local_client.post(f"/workspaces/{ws}/tables", json={"table_name": "docs", "table_schema": schema})
    assert error(duplicate, 409, "CONFLICT") == f"table '{ws}.docs' already exists"


async def test_create_table_without_schema(local_client: httpx.AsyncClient, ws: str) -> None:
    created = await local_client.post(f"/workspaces/{ws}/tables", json={"table_name": "bare"})
    assert created.status_code == 201
    assert created.json()["columns"] == []
    listed = (await local_client.get(f"/workspaces/{ws}/tables")).json()["tables"]
    assert [t["table_name"] for t in listed] == ["bare"]


@pytest.mark.parametrize(
    ("body", "status", "code", "message"),
    [
        ({"table_schema": {"a": "TEXT"}}, 400, "INVALID_REQUEST", "table_name is required"),
        (
            {"table_name": "t", "table_schema": ["a"]},
            400,
            "INVALID_REQUEST",
            "table_schema must be an object",
        ),
        (
            {"table_name": "t", "table_schema": {"a": 1}},
            400,
            "INVALID_REQUEST",
            "table_schema must be an object",
        ),
        (
            {"table_name": "t", "table_schema": {"a": "nope"}},
            400,
            "QUERY_ERROR",
            'type "nope" does not exist',
        ),
        (
            {"table_name": "t", "table_schema": {"a": "TEXT); DROP TABLE x; --"}},
            400,
            "INVALID_REQUEST",
            "invalid type",
        ),
        (
            {"table_name": "t", "table_schema": {"a": "TEXT) USING heap; --"}},
            400,
            "INVALID_REQUEST",
            "invalid type",
        ),
        (
            {"table_name": "x" * 64, "table_schema": {"a": "TEXT"}},
            400,
            "INVALID_REQUEST",
            "invalid table name",
        ),
        ({"table_name": "t", "table_schema": {"": "TEXT"}}, 400, "INVALID_REQUEST", "invalid column name"),
        ({"table_name": "t", "table_schema": {"a": "TEXT", "A": "INT"}}, 201, None, None),
    ],
)
async def test_create_table_errors(
    local_client: httpx.AsyncClient, ws: str, body: Any, status: int, code: str | None, message: str | None
) -> None:
    response = await local_client.post(f"/workspaces/{ws}/tables", json=body)
    if code is None or message is None:
        assert response.status_code == status, response.text
        return
    assert message in error(response, status, code)
    assert (await local_client.get(f"/workspaces/{ws}/tables")).json() == {"tables": []}


async def test_create_table_in_unknown_workspace(local_client: httpx.AsyncClient) -> None:
    response = await local_client.post("/workspaces/nope_ws/tables", json={"table_name": "t"})
    error(response, 404, "NOT_FOUND")
    upload_response = await upload(local_client, "nope_ws", "t", "t.csv", b"a\n1\n")
    error(upload_response, 404, "NOT_FOUND")


# Tables: uploads


async def test_upload_csv_infers_types(local_client: httpx.AsyncClient, ws: str) -> None:
    csv_text = (
        "id,name,score,active,born,meta,note,empty\n"
        '1,Ada,3.5,true,1815-12-10,"{""lang"": ""en""}",x,\n'
        "2,Alan,4,FALSE,1912-06-23T10:00:00Z,[1],,\n"
        '3,"Grace, H",,true,2024-01-02 03:04:05+02:00,,"multi\nline",\n'
    )
    response = await upload(local_client, ws, "people", "people.csv", csv_text.encode())
    assert response.status_code == 201, response.text
    detail = response.json()
    assert detail == (await local_client.get(f"/workspaces/{ws}/tables/people")).json()
    assert detail["row_count"] == 3
    assert [(c["name"], c["type"]) for c in detail["columns"]] == [
        ("id", "int8"),
        ("name", "text"),
        ("score", "float8"),
        ("active", "bool"),
        ("born", "timestamptz"),
        ("meta", "jsonb"),
        ("note", "text"),
        ("empty", "text"),
    ]
    assert await rows(local_client, ws, "SELECT * FROM people ORDER BY id") == [
        [1, "Ada", 3.5, True, "1815-12-10T00:00:00+00:00", {"lang": "en"}, "x", None],
        [2, "Alan", 4.0, False, "1912-06-23T10:00:00+00:00", [1], None, None],
        [3, "Grace, H", None, True, "2024-01-02T01:04:05+00:00", None, "multi\nline", None],
    ]
    assert await rows(
        local_client,
        ws,
        "SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam WHERE c.relname = 'people' "
        "AND c.relnamespace = $1::regnamespace",
        [ws],
    ) == [["deeplake"]]


async def test_upload_json_array(local_client: httpx.AsyncClient, ws: str) -> None:
    items = [
        {"id": 1, "flag": True, "x": 1.5, "emb": [0.1, 0.2], "tags": ["a"], "meta": {"k": 1}, "text": "hi"},
        {"id": 2, "flag": False, "x": 2, "emb": [1, 2], "tags": ["b", 3], "mixed": 1, "text": None},
        {"id": 3, "mixed": "one", "grid": [[1, 2], [3, 4]]},
    ]
    response = await upload(local_client, ws, "items", "items.json", json.dumps(items).encode())
    assert response.status_code == 201, response.text
    detail = response.json()
    assert detail["row_count"] == 3
    assert [(c["name"], c["type"]) for c in detail["columns"]] == [
        ("id", "int8"),
        ("flag", "bool"),
        ("x", "float8"),
        ("emb", "_float4"),
        ("tags", "jsonb"),
        ("meta", "jsonb"),
        ("text", "text"),
        ("mixed", "jsonb"),
        ("grid", "_float4"),
    ]
    assert await rows(local_client, ws, "SELECT * FROM items ORDER BY id") == [
        [1, True, 1.5, [0.1, 0.2], ["a"], {"k": 1}, "hi", None, None],
        [2, False, 2.0, [1.0, 2.0], ["b", 3], None, None, 1, None],
        [3, None, None, None, None, None, None, "one", [[1.0, 2.0], [3.0, 4.0]]],
    ]
    scores = await rows(local_client, ws, "SELECT id, emb <#> ARRAY[1,2]::float4[] FROM items WHERE id = 2")
    assert scores == [[2, 1.0]]


@pytest.mark.parametrize("filename", ["rows.jsonl", "rows.ndjson", "rows.json"])
async def test_upload_json_lines(local_client: httpx.AsyncClient, ws: str, filename: str) -> None:
    content = b'{"a": 1, "b": "x"}\n\n{"a": 2, "c": [1.5]}\n'
    response = await upload(local_client, ws, "lines", filename, content)
    assert response.status_code == 201, response.text
    assert [(c["name"], c["type"]) for c in response.json()["columns"]] == [
        ("a", "int8"),
        ("b", "text"),
        ("c", "_float4"),
    ]
    assert await rows(local_client, ws, "SELECT * FROM lines ORDER BY a") == [[1, "x", None], [2, None, [1.5]]]


async def test_upload_conflicts_and_loads_atomically(local_client: httpx.AsyncClient, ws: str) -> None:
    assert (await upload(local_client, ws, "t", "t.csv", b"a\n1\n")).status_code == 201
    duplicate = await upload(local_client, ws, "t", "t.csv", b"a\n2\n")
    assert error(duplicate, 409, "CONFLICT") == f"table '{ws}.t' already exists"
    assert await rows(local_client, ws, "SELECT a FROM t") == [[1]]
    # A value PostgreSQL refuses (a NUL in text) fails the whole upload: no table is left behind.
    bad = await upload(local_client, ws, "bad", "bad.json", b'[{"a": "ok"}, {"a": "nul\\u0000"}]')
    assert "could not load 'bad.json'" in error(bad, 400, "QUERY_ERROR")
    assert [t["table_name"] for t in (await local_client.get(f"/workspaces/{ws}/tables")).json()["tables"]] == ["t"]


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("empty.csv", b"", "is empty"),
        ("blank.json", b"  \n ", "is empty"),
        ("data.xlsx", b"a,b\n1,2\n", "unsupported file type '.xlsx'"),
        ("noext", b"a\n1\n", "unsupported file type"),
        ("ragged.csv", b"a,b\n1,2\n3\n", "line 3 has 1 fields but the header has 2"),
        ("dup.csv", b"a,a\n1,2\n", "appears more than once"),
        ("noname.csv", b"a,\n1,2\n", "column 2 of 'noname.csv' has no name"),
        ("broken.json", b'[{"a": 1}', "could not parse 'broken.json' as JSON"),
        ("scalars.json", b"[1, 2]", "must hold an array of JSON objects"),
        ("emptylist.json", b"[]", "has no rows"),
        ("lines.jsonl", b'{"a": 1}\n[2]\n', "line 2 of 'lines.jsonl' is not a JSON object"),
        ("bad.jsonl", b'{"a": 1}\n{"a": \n', "could not parse line 2"),
        ("latin1.csv", "a\né\n".encode("latin-1"), "is not UTF-8 text"),
    ],
)
async def test_upload_bad_files(
    local_client: httpx.AsyncClient, ws: str, filename: str, content: bytes, message: str
) -> None:
    response = await upload(local_client, ws, "t", filename, content)
    assert message in error(response, 400, "INVALID_REQUEST")
    assert (await local_client.get(f"/workspaces/{ws}/tables")).json() == {"tables": []}


async def test_upload_form_errors(local_client: httpx.AsyncClient, ws: str) -> None:
    url = f"/workspaces/{ws}/tables"
    no_file = await local_client.post(url, data={"table_name": "t", "filename": "t.csv"}, files={"x": ("a", b"")})
    assert "file part named 'file'" in error(no_file, 400, "INVALID_REQUEST")
    no_table = await local_client.post(url, files={"file": ("t.csv", b"a\n1\n")})
    assert "table_name is required" in error(no_table, 400, "INVALID_REQUEST")
    # The file part's own name stands in for a missing filename field.
    implicit = await local_client.post(url, files={"file": ("t.csv", b"a\n1\n")}, data={"table_name": "t"})
    assert implicit.status_code == 201, implicit.text
    garbage = await local_client.post(
        url, content=b"--x\r\nbroken", headers={"content-type": "multipart/form-data; boundary=x"}
    )
    error(garbage, 400, "INVALID_REQUEST")


# SQL catalog views and managed-only functions


async def test_catalog_views_with_the_workspace_as_schema(local_client: httpx.AsyncClient, ws: str) -> None:
    await rows(local_client, ws, "CREATE TABLE docs (id INT, body TEXT, e EMBEDDING(4)) USING deeplake")
    await rows(
        local_client,
        ws,
        "CREATE INDEX idx_docs_body ON docs USING deeplake_index (body) WITH (index_type = 'bm25')",
    )
    columns = await rows(
        local_client,
        ws,
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = $1 AND table_name = 'docs' ORDER BY ordinal_position",
        [ws],
    )
    assert columns == [["id", "integer"], ["body", "text"], ["e", "ARRAY"]]
    indexes = await rows(
        local_client,
        ws,
        "SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = $1",
        [ws],
    )
    assert [row[:3] for row in indexes] == [[ws, "docs", "idx_docs_body"]]
    # As pg_deeplake shows it: the options in WITH, not the local stand-in's `WHERE false`.
    assert indexes[0][3] == (
        f"CREATE INDEX idx_docs_body ON {ws}.docs USING deeplake_index (body) WITH (index_type=bm25)"
    )
    await rows(local_client, ws, "CREATE INDEX idx_e ON docs USING deeplake_index (e DESC) WITH (dimension = 4)")
    await rows(local_client, ws, "CREATE INDEX idx_id ON docs USING deeplake_index (id)")
    await rows(local_client, ws, "CREATE INDEX idx_plain ON docs (id)")
    definitions = await rows(
        local_client, ws, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY 1", [ws]
    )
    assert definitions[1:] == [
        ["idx_e", f"CREATE INDEX idx_e ON {ws}.docs USING deeplake_index (e DESC) WITH (dimension='4')"],
        ["idx_id", f"CREATE INDEX idx_id ON {ws}.docs USING deeplake_index (id)"],
        ["idx_plain", f"CREATE INDEX idx_plain ON {ws}.docs USING btree (id)"],
    ]
    assert await rows(local_client, ws, "SELECT deeplake_sync_table('\"docs\"')") == [[None]]
    assert await rows(local_client, ws, "ALTER TABLE docs ADD COLUMN e2 EMBEDDING(8)") == []


# The typed client over the local API


async def test_typed_client_round_trip(local_backend: LocalBackend) -> None:
    exposure = Exposure(tokens=["t0ken"], allowed_hosts=["deeplake.local"])
    transport = httpx.ASGITransport(app=create_app(local_backend, exposure=exposure))
    async with DeepLakeClient(
        base_url="http://deeplake.local", api_key="t0ken", transport=transport, retries=NO_RETRIES
    ) as client:
        assert await client.health() == {"status": "ok"}
        assert await client.ready() == {"status": "ready"}
        me = await client.me()
        assert me.id == "local-user" and me.organizations[0] == "local"
        assert (await client.list_organizations())[0].id == "local"
        assert (await client.get_organization("local")).name == "Local Organization"

        org_id = f"org-{uuid.uuid4().hex[:8]}"
        org = await client.create_organization(org_id, "Typed")
        assert (org.id, org.name, org.creator) == (org_id, "Typed", "local-user")
        assert (await client.update_organization(org_id, "Typed 2")).name == "Typed 2"
        member = await client.invite_member(org_id, "grace@example.com", "member")
        assert member.user_id and member.role == "member"
        assert (await client.update_member_role(org_id, member.user_id, "admin")).role == "admin"
        assert {m.email for m in await client.list_members(org_id)} == {
            "local@localhost",
            "grace@example.com",
        }
        await client.remove_member(org_id, member.user_id)
        with pytest.raises(BadRequestError, match="role must be"):
            await client.invite_member(org_id, "x@example.com", "owner")
        await client.delete_organization(org_id)
        with pytest.raises(NotFoundError):
            await client.get_organization(org_id)

        ws = f"c_{uuid.uuid4().hex[:10]}"
        assert (await client.create_workspace(ws)).name == ws
        assert (await client.update_workspace(ws, "Typed WS")).name == "Typed WS"
        assert (await client.get_workspace(ws)).name == "Typed WS"
        assert ws in [w.id for w in await client.list_workspaces()]

        created = await client.create_table(ws, "notes", {"body": "TEXT", "n": "INT"})
        assert [(c.name, c.type) for c in created.columns] == [("body", "text"), ("n", "int4")]
        with pytest.raises(ConflictError, match="already exists"):
            await client.create_table(ws, "notes", {"body": "TEXT"})
        uploaded = await client.upload_table(ws, "people", "people.csv", b"name,age\nada,36\nalan,41\n")
        assert uploaded.row_count == 2
        assert [(c.name, c.type) for c in uploaded.columns] == [("name", "text"), ("age", "int8")]
        assert sorted(t.table_name for t in await client.list_tables(ws)) == ["notes", "people"]
        assert (await client.get_table(ws, "people")).row_count == 2
        batch = await client.query_batch(ws, "INSERT INTO notes VALUES ($1, $2)", [["a", 1], ["b", 2]])
        assert batch.row_count == 2
        result = await client.query(ws, "SELECT body FROM notes ORDER BY body <#> $1 LIMIT 5", ["b"])
        assert result.rows == [["b"]]
        await client.drop_table(ws, "notes")
        with pytest.raises(NotFoundError):
            await client.get_table(ws, "notes")
        await client.delete_workspace(ws)
        with pytest.raises(NotFoundError):
            await client.get_workspace(ws)
