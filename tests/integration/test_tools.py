"""Every tool through the SDK's in-process Client against the real embedded backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from deeplake_mcp.app import build_server
from mcp_helpers import error_text, payload, settings_for, unique

pytestmark = pytest.mark.anyio

DOCS = [
    {
        "id": "a",
        "title": "Apples",
        "body": "red apples grow on trees",
        "meta": {"lang": "en", "n": 1},
        "embedding": [1.0, 0.0, 0.0],
    },
    {
        "id": "b",
        "title": "Bananas",
        "body": "yellow bananas are sweet",
        "meta": {"lang": "en", "n": 2},
        "embedding": [0.0, 1.0, 0.0],
    },
    {
        "id": "c",
        "title": "Kirschen",
        "body": "rote kirschen",
        "meta": {"lang": "de", "n": 3},
        "embedding": [0.0, 0.0, 1.0],
    },
]


@pytest.fixture(params=["auto", "legacy"])
async def client(request: pytest.FixtureRequest, data_dir: Path) -> AsyncIterator[Client]:
    """A client per protocol era: 2026-07-28 (auto) and the 2025-11-25 handshake (legacy)."""
    async with Client(build_server(settings_for(data_dir, access="read-write")), mode=request.param) as c:
        yield c


async def call(client: Client, tool: str, **args: Any) -> Any:
    return payload(await client.call_tool(tool, args))


async def call_error(client: Client, tool: str, **args: Any) -> str:
    result = await client.call_tool(tool, args)
    assert result.is_error, f"{tool} unexpectedly succeeded: {result.structured_content}"
    return error_text(result)


async def make_docs(client: Client) -> str:
    table = unique("docs")
    await call(
        client,
        "execute_sql",
        sql=f"CREATE TABLE {table} (id TEXT, title TEXT, body TEXT, meta JSONB, embedding FLOAT4[]) USING deeplake",
    )
    inserted = await call(client, "insert_rows", table=table, rows=DOCS)
    assert inserted["inserted"] == 3
    return table


async def test_tool_list_and_annotations(client: Client) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == {
        "list_workspaces",
        "list_tables",
        "describe_table",
        "query",
        "semantic_search",
        "tql_query",
        "insert_rows",
        "upload_file",
        "execute_sql",
        "server_info",
    }
    for name in (
        "list_workspaces",
        "list_tables",
        "describe_table",
        "query",
        "semantic_search",
        "tql_query",
        "server_info",
    ):
        ann = tools[name].annotations
        assert ann is not None and ann.read_only_hint and not ann.destructive_hint and ann.idempotent_hint
    insert = tools["insert_rows"].annotations
    execute = tools["execute_sql"].annotations
    assert insert is not None and not insert.read_only_hint and not insert.destructive_hint
    assert execute is not None and not execute.read_only_hint and not execute.destructive_hint
    assert tools["query"].output_schema is not None


async def test_list_workspaces_and_tables(client: Client) -> None:
    table = await make_docs(client)
    workspaces = await call(client, "list_workspaces")
    assert workspaces["default_workspace"] == "default"
    assert "default" in [w["id"] for w in workspaces["workspaces"]]
    tables = await call(client, "list_tables")
    found = {t["table_name"]: t["row_count"] for t in tables["tables"]}
    assert found[table] == 3


async def test_describe_table(client: Client) -> None:
    table = await make_docs(client)
    await call(
        client,
        "execute_sql",
        sql=f"CREATE INDEX IF NOT EXISTS idx_{table} ON {table} USING deeplake_index (embedding DESC)",
    )
    desc = await call(client, "describe_table", table=table)
    columns = {c["name"]: c for c in desc["columns"]}
    assert columns["embedding"]["type"] == "float4[]"  # as users write it, not PostgreSQL's _float4
    assert columns["embedding"]["vector_dimension"] == 3
    assert columns["meta"]["type"] == "jsonb"
    assert desc["row_count"] == 3
    assert [i["name"] for i in desc["indexes"]] == [f"idx_{table}"]


async def test_query_rows_and_exact_truncation(client: Client) -> None:
    table = await make_docs(client)
    full = await call(client, "query", sql=f"SELECT id, meta->>'lang' AS lang FROM {table} ORDER BY id", max_rows=3)
    assert full == {
        "columns": ["id", "lang"],
        "rows": [["a", "en"], ["b", "en"], ["c", "de"]],
        "row_count": 3,
        "truncated": False,
    }
    cut = await call(client, "query", sql=f"SELECT id FROM {table} ORDER BY id;", max_rows=2)
    assert cut["rows"] == [["a"], ["b"]] and cut["truncated"] is True


async def test_query_params_are_data(client: Client) -> None:
    table = await make_docs(client)
    evil = "x'; DROP TABLE " + table + "; --"
    rows = await call(
        client,
        "query",
        sql=f"SELECT count(*) FROM {table} WHERE title = $1 OR title = $2",
        params=[evil, "Apples"],
    )
    assert rows["rows"] == [[1]]
    assert (await call(client, "describe_table", table=table))["row_count"] == 3


async def test_query_refuses_writes_and_stacked_statements(client: Client) -> None:
    table = await make_docs(client)
    message = await call_error(client, "query", sql=f"INSERT INTO {table} (id) VALUES ('z')")
    assert "execute_sql" in message
    message = await call_error(client, "query", sql=f"SELECT 1; DROP TABLE {table}")
    assert "Refused" in message
    message = await call_error(client, "query", sql=f"DELETE FROM {table}")
    assert "destructive" in message
    assert (await call(client, "describe_table", table=table))["row_count"] == 3


async def test_query_errors_name_the_fix(client: Client) -> None:
    message = await call_error(client, "query", sql="SELECT * FROM no_such_table_xyz")
    assert "does not exist" in message and "list_tables" in message
    table = await make_docs(client)
    message = await call_error(client, "query", sql=f"SELECT nope FROM {table}")
    assert "describe_table" in message
    message = await call_error(client, "query", sql="SELEC 1")
    assert "Refused" in message or "syntax" in message
    message = await call_error(client, "list_tables", workspace="no_such_ws")
    assert "not found" in message and "default" in message


async def test_semantic_search_by_vector(client: Client) -> None:
    table = await make_docs(client)
    found = await call(client, "semantic_search", table=table, vector=[0.9, 0.1, 0.0], k=2)
    assert found["columns"] == ["id", "title", "body", "meta", "score"]
    assert [r[0] for r in found["rows"]] == ["a", "b"]
    assert found["rows"][0][-1] > found["rows"][1][-1]
    filtered = await call(
        client,
        "semantic_search",
        table=table,
        vector=[0.0, 0.0, 1.0],
        filter="meta->>'lang' = 'en'",
        columns=["id"],
    )
    assert [r[0] for r in filtered["rows"]] == ["a", "b"]


async def test_semantic_search_by_keywords(client: Client) -> None:
    table = await make_docs(client)
    found = await call(
        client, "semantic_search", table=table, query="bananas", text_column="body", hybrid_weight=1, columns=["id"]
    )
    assert found["rows"][0][0] == "b"


async def test_semantic_search_errors(client: Client) -> None:
    table = await make_docs(client)
    message = await call_error(client, "semantic_search", table=table, vector=[1.0, 0.0])
    assert "2 dimensions" in message and "3-dimensional" in message
    message = await call_error(client, "semantic_search", table=table, query="red fruit")
    assert "384 dimensions" in message and "3-dimensional" in message and "DEEPLAKE_MCP_EMBEDDER" in message
    assert "needs `text_column`" in await call_error(client, "semantic_search", table=table, query="x", hybrid_weight=1)
    message = await call_error(
        client, "semantic_search", table=table, vector=[1.0, 0.0, 0.0], filter="1=1) UNION SELECT 1 --"
    )
    assert "Refused filter" in message
    message = await call_error(
        client, "semantic_search", table=table, vector=[1.0, 0.0, 0.0], filter="pg_sleep(1) IS NULL"
    )
    assert "Refused filter" in message
    message = await call_error(client, "semantic_search", table=table, vector=[1.0, 0.0, 0.0], columns=["nope"])
    assert "no column 'nope'" in message
    message = await call_error(client, "semantic_search", table="missing_tbl", vector=[1.0])
    assert "not found" in message


async def test_insert_rows_validation(client: Client) -> None:
    table = await make_docs(client)
    assert "empty" in await call_error(client, "insert_rows", table=table, rows=[])
    message = await call_error(client, "insert_rows", table=table, rows=[{"id": "z", "colour": "red"}])
    assert "colour" in message and "columns are" in message
    message = await call_error(client, "insert_rows", table=table, rows=[{"id": "z", "embedding": [1.0, 2.0]}])
    assert "2 dimensions" in message and "nothing was written" in message
    assert (await call(client, "describe_table", table=table))["row_count"] == 3


async def test_insert_rows_keeps_odd_values_verbatim(client: Client) -> None:
    table = await make_docs(client)
    odd = {"id": "q", "title": "O'Brien; DROP TABLE x; --", "body": '$1 \\ "quoted"', "meta": {"s": "it's"}}
    await call(client, "insert_rows", table=table, rows=[odd])
    rows = await call(client, "query", sql=f"SELECT title, body, meta FROM {table} WHERE id = 'q'")
    assert rows["rows"] == [[odd["title"], odd["body"], odd["meta"]]]


async def test_insert_failure_reports_written_rows(client: Client) -> None:
    table = unique("strict")
    await call(client, "execute_sql", sql=f"CREATE TABLE {table} (id INT NOT NULL, note TEXT) USING deeplake")
    rows: list[dict[str, Any]] = [{"id": i, "note": "ok"} for i in range(1500)]
    rows[1200] = {"note": "missing id"}
    message = await call_error(client, "insert_rows", table=table, rows=rows)
    assert "rows[0:1000] (1000 rows) were written" in message
    assert "rows[1000:1500] were not written" in message
    count = await call(client, "query", sql=f"SELECT count(*) FROM {table}")
    assert count["rows"] == [[1000]]


async def test_execute_sql_classes(client: Client) -> None:
    table = await make_docs(client)
    created = await call(
        client,
        "execute_sql",
        sql=f"CREATE INDEX IF NOT EXISTS i_{table} ON {table} USING deeplake_index (body) WITH (index_type = 'bm25')",
    )
    assert created["statement_class"] == "write"
    inserted = await call(
        client, "execute_sql", sql=f"INSERT INTO {table} (id) VALUES ($1) RETURNING id", params=["new"]
    )
    assert inserted["rows"] == [["new"]]
    message = await call_error(client, "execute_sql", sql=f"DROP TABLE {table}")
    assert "destructive" in message and "--access destructive" in message
    message = await call_error(client, "execute_sql", sql="COMMIT")
    assert "never" in message


async def test_execute_sql_caps_reads_like_query(client: Client) -> None:
    many = await call(client, "execute_sql", sql="SELECT g FROM generate_series(1, 100000) AS g")
    assert many["statement_class"] == "read" and many["truncated"] is True
    assert many["row_count"] == len(many["rows"]) == 100  # the server's max_rows, fetched as 101 by the backend
    few = await call(client, "execute_sql", sql="SELECT g FROM generate_series(1, 3) AS g")
    assert few["rows"] == [[1], [2], [3]] and few["truncated"] is False


async def test_server_info(client: Client) -> None:
    info = await call(client, "server_info")
    assert info["backend"] == "local"
    assert info["access"] == "read-write"
    assert info["allowed_statement_classes"] == ["read", "write"]
    assert info["health"]["ok"] is True
    assert info["limits"]["max_rows"] == 100


async def test_schema_resource_and_prompts(client: Client) -> None:
    table = await make_docs(client)
    templates = await client.list_resource_templates()
    assert [t.uri_template for t in templates.resource_templates] == ["deeplake://{workspace}/{table}/schema"]
    read = await client.read_resource(f"deeplake://default/{table}/schema")
    text = read.contents[0].text  # type: ignore[union-attr]
    assert '"vector_dimension": 3' in text
    workspaces = await client.read_resource("deeplake://workspaces")
    assert '"default"' in workspaces.contents[0].text  # type: ignore[union-attr]
    prompts = {p.name for p in (await client.list_prompts()).prompts}
    assert prompts == {"explore_table", "build_rag_table"}


async def test_server_keeps_serving_after_bad_input(client: Client) -> None:
    result = await client.call_tool("query", {"sql": 42})
    assert result.is_error
    result = await client.call_tool("semantic_search", {"table": "t", "vector": "not a list"})
    assert result.is_error
    assert (await call(client, "query", sql="SELECT 1 AS one"))["rows"] == [[1]]


Progress = list[tuple[float, float | None, str | None]]


def progress_recorder() -> tuple[Progress, Any]:
    """A list of the progress notifications of a call, and the callback that fills it."""
    progress: Progress = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    return progress, on_progress


async def test_insert_rows_reports_progress(data_dir: Path) -> None:
    progress, on_progress = progress_recorder()
    async with Client(build_server(settings_for(data_dir))) as client:
        table = unique("progress")
        await call(client, "execute_sql", sql=f"CREATE TABLE {table} (n INT) USING deeplake")
        rows = [{"n": i} for i in range(2500)]
        result = await client.call_tool("insert_rows", {"table": table, "rows": rows}, progress_callback=on_progress)
        assert payload(result)["batches"] == 3
    assert [p[0] for p in progress] == [1000, 2000, 2500]
    assert {p[1] for p in progress} == {2500}  # the total counts rows: 2,500 of them, not 5,000


async def test_progress_with_embedding_counts_texts_embedded_and_rows_inserted(data_dir: Path) -> None:
    progress, on_progress = progress_recorder()
    async with Client(build_server(settings_for(data_dir))) as client:
        table = unique("progress_embed")
        await call(client, "execute_sql", sql=f"CREATE TABLE {table} (t TEXT, e FLOAT4[]) USING deeplake")
        rows = [{"t": f"text number {i}"} for i in range(300)]
        args = {"table": table, "rows": rows, "embed": {"e": "t"}}
        payload(await client.call_tool("insert_rows", args, progress_callback=on_progress))
    assert {p[1] for p in progress} == {600}  # 300 texts embedded + 300 rows inserted
    assert progress[-1][0] == 600 and [p[0] for p in progress] == sorted(p[0] for p in progress)
    assert any("embedded" in (p[2] or "") for p in progress) and "inserted 300 of 300 rows" in (progress[-1][2] or "")


async def test_array_types_display_as_users_write_them(client: Client) -> None:
    table = unique("typed")
    await call(client, "execute_sql", sql=f"CREATE TABLE {table} (v FLOAT4[], tags TEXT[], n INT8[]) USING deeplake")
    desc = await call(client, "describe_table", table=table)
    assert [c["type"] for c in desc["columns"]] == ["float4[]", "text[]", "int8[]"]


async def test_search_sees_schema_changes_made_through_the_server(client: Client) -> None:
    table = unique("evolving")
    await call(client, "execute_sql", sql=f"CREATE TABLE {table} (id TEXT, embedding FLOAT4[]) USING deeplake")
    message = await call_error(client, "semantic_search", table=table, vector=[1.0, 0.0], columns=["note"])
    assert "no column 'note'" in message
    await call(client, "execute_sql", sql=f"CREATE TABLE {table}_2 (id TEXT) USING deeplake")
    await call(client, "insert_rows", table=table, rows=[{"id": "x", "embedding": [1.0, 0.0]}])
    found = await call(client, "semantic_search", table=table, vector=[1.0, 0.0])
    assert found["rows"][0][0] == "x"
    message = await call_error(client, "semantic_search", table=table, vector=[1.0, 0.0, 0.0])
    assert "2-dimensional" in message


async def test_create_index_on_a_table_too_big_for_the_call_returns_and_builds_in_the_background(
    data_dir: Path,
) -> None:
    # A one-second query timeout: the companion's build (30 000 random 128-d vectors, seconds) would outlast
    # the call, whose client stops waiting at two seconds. The call returns instead, and the index is ready
    # a little later by itself.
    table = unique("big")
    async with Client(build_server(settings_for(data_dir, embedder="none"))) as setup:
        await call(setup, "execute_sql", sql=f"CREATE TABLE {table} (id INT, e FLOAT4[]) USING deeplake")
        vector = "ARRAY(SELECT random()::float4 FROM generate_series(1, 128) WHERE i > 0)"
        await call(setup, "execute_sql", sql=f"INSERT INTO {table} SELECT i, {vector} FROM generate_series(1, 30000) i")
    async with Client(build_server(settings_for(data_dir, embedder="none", query_timeout=1))) as client:
        await call(client, "execute_sql", sql=f"CREATE INDEX {table}_idx ON {table} USING deeplake_index (e)")
        status = f"SELECT ann_status FROM deeplake_indexes WHERE index_name = '{table}_idx'"
        for _ in range(600):  # up to a minute
            found = (await call(client, "query", sql=status))["rows"]
            if found != [["pending"]]:
                break
            await anyio.sleep(0.1)
        assert found == [["ready"]]
