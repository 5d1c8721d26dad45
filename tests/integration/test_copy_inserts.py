"""insert_rows' binary COPY path on the embedded backend: same values and same refusals as parameterised INSERTs."""

from __future__ import annotations

import json
import math
import uuid
from array import array
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from deeplake_mcp.app import build_server
from deeplake_mcp.copy_binary import CopyUnsupported, encode_rows
from deeplake_mcp.deeplake import COPY_MEDIA_TYPE, DeepLakeError
from deeplake_mcp.local import LocalBackend, in_process_copies
from deeplake_mcp.row_writers import CopyWriter, InsertWriter, Rows
from deeplake_mcp.runtime import Runtime, open_runtime
from deeplake_mcp.vectors import vector_column
from local_api_helpers import rows as query_rows
from local_api_helpers import run
from mcp_helpers import error_text, payload, settings_for, unique

pytestmark = pytest.mark.anyio

COLUMNS = {
    "k": "INT",
    "t": "TEXT",
    "vc": "VARCHAR(6)",
    "i2": "SMALLINT",
    "i4": "INT",
    "i8": "BIGINT",
    "f4": "REAL",
    "f8": "DOUBLE PRECISION",
    "b": "BOOLEAN",
    "j": "JSON",
    "jb": "JSONB",
    "u": "UUID",
    "v": "FLOAT4[]",
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
uuid_text = st.uuids().flatmap(
    lambda u: st.sampled_from([str(u), u.hex, "{" + str(u) + "}", "urn:uuid:" + str(u), str(u).upper()])
)
numbers = st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "t": st.text() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.booleans(),
    "vc": st.text(max_size=8),
    "i2": numbers | st.sampled_from(["7", "x"]),
    "i4": numbers,
    "i8": numbers,
    "f4": numbers,
    "f8": numbers | st.just("1.5"),
    "b": st.booleans() | st.just("yes"),
    "j": json_values,
    "jb": json_values,
    "u": uuid_text | st.just("not-a-uuid"),
    # numbers float4 can hold (the tool refuses the rest before any writer sees them)
    "v": st.lists(st.floats(-1e6, 1e6).filter(lambda x: x == 0 or abs(x) > 1e-37), min_size=3, max_size=3),
}


def row_strategy() -> st.SearchStrategy[dict[str, Any]]:
    """A row that sets some columns, each to a fitting value most of the time."""
    present = st.sets(st.sampled_from(sorted(VALUES)), min_size=1)
    return present.flatmap(lambda names: st.fixed_dictionaries({n: VALUES[n] | st.none() for n in sorted(names)}))


@pytest.fixture(scope="module")
async def rt(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Runtime]:
    from data_dirs import reachable

    data_dir = reachable(tmp_path_factory.mktemp("copy-data"))
    async with open_runtime(settings_for(data_dir, embedder="none")) as runtime:
        yield runtime


async def new_table(rt: Runtime) -> str:
    table = unique("copy")
    columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS.items())
    await rt.client.query("default", f"CREATE TABLE {table} ({columns})")
    return table


def checked(table: str, records: list[dict[str, Any]]) -> Rows:
    columns = sorted({name for record in records for name in record})
    types = {name: "float4[]" if name == "v" else COLUMNS[name].lower() for name in columns}
    vectors = {"v": vector_column("v", [r.get("v") for r in records], 3)} if "v" in columns else {}
    return Rows("default", table, columns, types, records, vectors)


async def written(rt: Runtime, table: str) -> list[list[Any]]:
    result = await rt.client.query("default", f"SELECT * FROM {table} ORDER BY k", read_only=True)
    return [list(row) for row in result.rows]


async def outcome(writer: InsertWriter | CopyWriter, count: int) -> str | None:
    try:
        await writer.write(0, count)
    except DeepLakeError as exc:
        return type(exc).__name__
    return None


def same_cells(copied: list[list[Any]], inserted: list[list[Any]]) -> bool:
    """Equal, except that a float4 may differ in its last bit: COPY rounds the double, INSERT the decimal text."""
    for a_row, b_row in zip(copied, inserted, strict=True):
        for name, a, b in zip(COLUMNS, a_row, b_row, strict=True):
            if name in ("f4", "v") and a is not None and b is not None:
                a32, b32 = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
                if not np.all(np.abs(a32 - b32) <= np.spacing(np.maximum(np.abs(a32), np.abs(b32)))):
                    return False
            elif a != b:
                return False
    return True


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(row_strategy(), min_size=1, max_size=6))
async def test_copy_stores_and_refuses_what_insert_does(rt: Runtime, records: list[dict[str, Any]]) -> None:
    records = [{**record, "k": i} for i, record in enumerate(records)]
    by_copy, by_insert = await new_table(rt), await new_table(rt)
    copy_rows, insert_rows = checked(by_copy, records), checked(by_insert, records)
    copy_error = await outcome(CopyWriter(rt.client, copy_rows, [(0, len(records))]), len(records))
    insert_error = await outcome(InsertWriter(rt.client, insert_rows), len(records))
    assert copy_error == insert_error
    assert same_cells(await written(rt, by_copy), await written(rt, by_insert))


def test_encoder_takes_only_what_it_can_carry_exactly() -> None:
    vectors = vector_column("v", [[1.0, 2.0], None], 2)
    stream = encode_rows([25, 1021], [["a", None], vectors])
    assert stream.startswith(b"PGCOPY\n\xff\r\n\x00") and stream.endswith(b"\xff\xff")
    for oid, value in [(23, "7"), (23, 2**31), (16, 1), (701, True), (25, {"a": 1}), (2950, "nope"), (1082, "x")]:
        with pytest.raises(CopyUnsupported):
            encode_rows([oid], [[value]])
    with pytest.raises(CopyUnsupported):
        encode_rows([1022], [vectors])  # float8[] is not a packed float4 vector


async def test_a_batch_copy_cannot_carry_goes_as_inserts(rt: Runtime) -> None:
    table = unique("stamps")
    await rt.client.query("default", f"CREATE TABLE {table} (k INT, at TIMESTAMPTZ, v FLOAT4[])")
    records = [{"k": 1, "at": "2024-05-06 07:08:09+00", "v": [1.0, 2.0]}, {"k": 2, "at": None, "v": None}]
    vectors = {"v": vector_column("v", [r["v"] for r in records], 2)}
    types = {"k": "int", "at": "timestamptz", "v": "float4[]"}
    rows = Rows("default", table, ["k", "at", "v"], types, records, vectors)
    await CopyWriter(rt.client, rows, [(0, 2)]).write(0, 2)
    result = await rt.client.query("default", f"SELECT k, at, v FROM {table} ORDER BY k", read_only=True)
    assert result.rows == [[1, "2024-05-06T07:08:09+00:00", [1.0, 2.0]], [2, None, None]]


async def test_vectors_packed_by_the_stdio_transport_write_as_lists_do(rt: Runtime) -> None:
    vector = [0.25, -1.5, 3.0]
    stored = []
    for packed in (False, True):
        for make in (lambda rows: InsertWriter(rt.client, rows), lambda rows: CopyWriter(rt.client, rows, [(0, 2)])):
            table = await new_table(rt)
            records = [{"k": 1, "v": array("d", vector) if packed else list(vector)}, {"k": 2, "v": None}]
            await make(checked(table, records)).write(0, 2)
            stored.append([[row[0], row[-1]] for row in await written(rt, table)])
    assert stored == [[[1, vector], [2, None]]] * 4


# The copy route of the local API


async def copy(client: httpx.AsyncClient, ws: str, table: str, columns: dict[str, int], data: bytes, **headers: str):
    params = [*(("column", c) for c in columns), *(("type", str(oid)) for oid in columns.values())]
    return await client.post(
        f"/workspaces/{ws}/tables/{table}/copy",
        params=params,
        content=data,
        headers={"Content-Type": COPY_MEDIA_TYPE, **headers},
    )


async def test_copy_route_writes_rows(local_client: httpx.AsyncClient, ws: str) -> None:
    await run(local_client, ws, "CREATE TABLE items (id INT, v FLOAT4[])")
    data = encode_rows([23, 1021], [[1, 2], vector_column("v", [[0.5, 1.5], None], 2)])
    response = await copy(local_client, ws, "items", {"id": 23, "v": 1021}, data)
    assert response.status_code == 200, response.text
    assert response.json()["row_count"] == 2
    assert await query_rows(local_client, ws, "SELECT id, v FROM items ORDER BY id") == [[1, [0.5, 1.5]], [2, None]]


async def test_copy_route_refuses_streams_it_cannot_trust(local_client: httpx.AsyncClient, ws: str) -> None:
    await run(local_client, ws, "CREATE TABLE counts (id BIGINT, note TEXT)")
    good = encode_rows([20, 25], [[1], ["a"]])
    as_int4 = encode_rows([23, 25], [[1], ["a"]])

    response = await copy(local_client, ws, "counts", {"id": 23, "note": 25}, as_int4)
    assert response.status_code == 409 and "do not have the types" in response.json()["error"]
    response = await copy(local_client, ws, "counts", {"id": 20, "note": 25}, good, **{"Content-Type": "text/csv"})
    assert response.status_code == 400 and COPY_MEDIA_TYPE in response.json()["error"]
    response = await local_client.post(
        f"/workspaces/{ws}/tables/counts/copy", params=[("column", "id")], content=good,
        headers={"Content-Type": COPY_MEDIA_TYPE},
    )  # fmt: skip
    assert response.status_code == 400 and "type OID" in response.json()["error"]
    response = await copy(local_client, ws, "counts", {"id": 20, "note": 25}, b"PGCOPY\n\xff\r\n\x00garbage")
    assert response.status_code == 400 and response.json()["code"] == "QUERY_ERROR"
    response = await copy(local_client, ws, "counts", {"id": 20, "note": 25}, good, **{"X-Deeplake-Read-Only": "true"})
    assert response.status_code == 400 and "read-only" in response.json()["error"]
    response = await copy(local_client, ws, "missing", {"id": 20}, good)
    assert response.status_code == 400 and "does not exist" in response.json()["error"]
    assert await query_rows(local_client, ws, "SELECT count(*) FROM counts") == [[0]]


async def test_the_copy_route_in_process_answers_as_over_http(
    local_backend: LocalBackend, local_client: httpx.AsyncClient, ws: str
) -> None:
    """The client in the server's own process calls the copy route as a function: same statuses, same errors."""
    await run(local_client, ws, "CREATE TABLE pairs (id BIGINT, note TEXT)")
    copy_in_process = in_process_copies(local_backend)
    good = encode_rows([20, 25], [[1], ["a"]])
    cases: list[tuple[str, dict[str, int], bytes]] = [
        ("pairs", {"id": 23, "note": 25}, encode_rows([23, 25], [[1], ["a"]])),  # encoded as int4: 409
        ("pairs", {"id": 20, "note": 25}, b"PGCOPY\n\xff\r\n\x00garbage"),
        ("missing", {"id": 20}, good),
        ("pairs", {"id": 20, "note": 25}, good),
    ]
    for table, columns, data in cases:
        over_http = await copy(local_client, ws, table, columns, data)
        status, answer = await copy_in_process(ws, table, list(columns), list(columns.values()), data)
        assert (status, answer.get("code"), answer.get("error")) == (
            over_http.status_code, over_http.json().get("code"), over_http.json().get("error"),
        ), table  # fmt: skip
    for columns, oids in [(["id", "id"], [20, 20]), ([], []), (["id", "note"], [20])]:
        status, answer = await copy_in_process(ws, "pairs", columns, oids, good)
        assert status == 400 and answer["code"] == "INVALID_REQUEST", answer
    assert await query_rows(local_client, ws, "SELECT id, note FROM pairs") == [[1, "a"], [1, "a"]]


# Through the tool


@pytest.fixture
async def client(data_dir: Path) -> AsyncIterator[Client]:
    async with Client(build_server(settings_for(data_dir, embedder="none"))) as c:
        yield c


@pytest.mark.parametrize(
    ("vector", "problem"),
    [
        ([1.0, True, 3.0], "must be a non-empty list of finite numbers"),
        ([1.0, "2", 3.0], "must be a non-empty list of finite numbers"),
        ([], "must be a non-empty list of finite numbers"),
        ({"x": 1}, "must be a non-empty list of finite numbers"),
        ([1.0, 2.0], "has 2 dimensions but column 'v' holds 3-dimensional vectors"),
        ([1.0, 1e39, 3.0], "must hold finite numbers within ±3.403e+38 (float4)"),
        ([1.0, 10**400, 3.0], "must hold finite numbers within ±3.403e+38 (float4)"),
        ([1.0, 1e-50, 3.0], "holds a number too close to 0 for float4"),
    ],
)
async def test_bad_vectors_name_their_row_and_nothing_is_written(client: Client, vector: Any, problem: str) -> None:
    table = unique("vectors")
    payload(await client.call_tool("execute_sql", {"sql": f"CREATE TABLE {table} (id INT, v FLOAT4[])"}))
    rows: list[dict[str, Any]] = [{"id": i, "v": [0.0, 1.0, 2.0]} for i in range(1500)]
    rows[1234] = {"id": 1234, "v": vector}
    result = await client.call_tool("insert_rows", {"table": table, "rows": rows})
    assert result.is_error
    message = error_text(result)
    assert f"rows[1234].v {problem}" in message and "nothing was written" in message
    count = payload(await client.call_tool("query", {"sql": f"SELECT count(*) FROM {table}"}))
    assert count["rows"] == [[0]]


async def test_many_rows_of_every_kind_round_trip(client: Client) -> None:
    table = unique("kinds")
    sql = f"CREATE TABLE {table} (id UUID, n BIGINT, x REAL, meta JSONB, body TEXT, v FLOAT4[])"
    payload(await client.call_tool("execute_sql", {"sql": sql}))
    rng = np.random.default_rng(3)
    rows = [
        {
            "id": str(uuid.UUID(int=i)),
            "n": i * 2**40,
            "x": i / 7,
            "meta": {"i": i, "tags": ["a", "ü"], "nested": {"ok": i % 2 == 0}},
            "body": f"row {i} ✓",
            "v": rng.standard_normal(8).tolist() if i % 10 else None,
        }
        for i in range(2500)
    ]
    result = payload(await client.call_tool("insert_rows", {"table": table, "rows": rows}))
    assert result["inserted"] == 2500 and result["batches"] == 3
    got = payload(
        await client.call_tool(
            "query", {"sql": f"SELECT id, n, x, meta, body, v FROM {table} WHERE n = {1234 * 2**40}"}
        )
    )["rows"]
    expected = rows[1234]
    [[id_, n, x, meta, body, v]] = got
    assert (id_, n, meta, body) == (expected["id"], expected["n"], expected["meta"], expected["body"])
    assert math.isclose(x, expected["x"], rel_tol=1e-6)
    assert np.allclose(v, expected["v"], rtol=1e-6)
    nulls = payload(await client.call_tool("query", {"sql": f"SELECT count(*) FROM {table} WHERE v IS NULL"}))
    assert nulls["rows"] == [[250]]
    assert json.dumps(meta, ensure_ascii=False).count("ü") == 1


async def test_inserts_follow_columns_another_server_adds_and_drops(data_dir: Path) -> None:
    """One server's inserts keep the table's description between calls; a column another server (a process of
    its own, here its own runtime) adds is there for the next insert, and one it drops is refused, not lost."""
    table = unique("shared")
    own = settings_for(data_dir, embedder="none")
    other = settings_for(data_dir, embedder="none", access="destructive")
    async with Client(build_server(own)) as ours, Client(build_server(other)) as theirs:
        payload(await ours.call_tool("execute_sql", {"sql": f"CREATE TABLE {table} (id INT, v FLOAT4[])"}))
        for i in range(2):  # the first gives v its dimension; the second leaves the description cached
            payload(await ours.call_tool("insert_rows", {"table": table, "rows": [{"id": i, "v": [1.0, 2.0]}]}))
        payload(await theirs.call_tool("execute_sql", {"sql": f"ALTER TABLE {table} ADD COLUMN note TEXT"}))
        added = [{"id": 2, "v": [3.0, 4.0], "note": "new column"}]
        assert payload(await ours.call_tool("insert_rows", {"table": table, "rows": added}))["inserted"] == 1
        payload(await theirs.call_tool("execute_sql", {"sql": f"ALTER TABLE {table} DROP COLUMN note"}))
        dropped = await ours.call_tool("insert_rows", {"table": table, "rows": [{"id": 3, "note": "gone"}]})
        assert dropped.is_error and "rows[0:1] were not written" in error_text(dropped)
        again = await ours.call_tool("insert_rows", {"table": table, "rows": [{"id": 3, "note": "gone"}]})
        assert again.is_error and "which" in error_text(again) and "does not have" in error_text(again)
        payload(await ours.call_tool("insert_rows", {"table": table, "rows": [{"id": 3, "v": [5.0, 6.0]}]}))
        found = payload(await ours.call_tool("query", {"sql": f"SELECT id, v FROM {table} ORDER BY id"}))
        assert found["rows"] == [[0, [1.0, 2.0]], [1, [1.0, 2.0]], [2, [3.0, 4.0]], [3, [5.0, 6.0]]]


async def test_an_insert_encoded_for_a_type_another_server_changed_goes_again(data_dir: Path) -> None:
    """The column types kept from the last insert are stale once another server changes one: the copy route
    refuses the stream before writing any of it, and the batch goes again, encoded for the table's types now."""
    table = unique("retyped")
    async with (
        Client(build_server(settings_for(data_dir, embedder="none"))) as ours,
        Client(build_server(settings_for(data_dir, embedder="none", access="destructive"))) as theirs,
    ):
        payload(await ours.call_tool("execute_sql", {"sql": f"CREATE TABLE {table} (id INT, x REAL)"}))
        payload(await ours.call_tool("insert_rows", {"table": table, "rows": [{"id": 1, "x": 0.5}]}))
        retype = f"ALTER TABLE {table} ALTER COLUMN id TYPE BIGINT, ALTER COLUMN x TYPE DOUBLE PRECISION"
        payload(await theirs.call_tool("execute_sql", {"sql": retype}))
        rows = [{"id": 2, "x": 0.1}, {"id": 3, "x": 2.5}]
        assert payload(await ours.call_tool("insert_rows", {"table": table, "rows": rows}))["inserted"] == 2
        found = payload(
            await ours.call_tool("query", {"sql": f"SELECT id, x, pg_typeof(x)::text FROM {table} ORDER BY id"})
        )
        assert found["rows"] == [
            [1, 0.5, "double precision"],
            [2, 0.1, "double precision"],
            [3, 2.5, "double precision"],
        ]


async def test_an_insert_embeds_into_a_column_another_server_adds(data_dir: Path) -> None:
    """The vector column `embed` names is looked for in a fresh description when the kept one lacks it."""
    table = unique("embedded")
    async with (
        Client(build_server(settings_for(data_dir))) as ours,
        Client(build_server(settings_for(data_dir, embedder="none", access="destructive"))) as theirs,
    ):
        payload(await ours.call_tool("execute_sql", {"sql": f"CREATE TABLE {table} (id INT, body TEXT)"}))
        payload(await ours.call_tool("insert_rows", {"table": table, "rows": [{"id": 1, "body": "kept"}]}))
        payload(await theirs.call_tool("execute_sql", {"sql": f"ALTER TABLE {table} ADD COLUMN e FLOAT4[]"}))
        rows = [{"id": 2, "body": "a sentence to embed"}]
        payload(await ours.call_tool("insert_rows", {"table": table, "rows": rows, "embed": {"e": "body"}}))
        found = payload(await ours.call_tool("query", {"sql": f"SELECT id, cardinality(e) FROM {table} ORDER BY id"}))
        assert found["rows"] == [[1, None], [2, 384]]
