"""The database enforces the mode on its own: attacks sent straight to the local API, with no guard in front.

Every statement from the query routes runs as a non-superuser role that owns the workspace schemas and
nothing else, reads run READ ONLY, and pooled sessions come back clean. Each attack is judged by its
effect (files on disk, rows and catalogs as the superuser sees them), not by an error message.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from deeplake_mcp.deeplake import READ_ONLY_HEADER
from deeplake_mcp.local import LocalBackend
from local_api_helpers import query_error, rows, run, superuser_rows

pytestmark = pytest.mark.anyio

READ_ONLY = {READ_ONLY_HEADER: "true"}


def marker(tmp_path: Path) -> Path:
    """A file an attack would create; world-writable directory, so the server's user could write it."""
    tmp_path.chmod(0o777)
    return tmp_path / f"pwned-{uuid.uuid4().hex[:8]}"


async def read_only_error(client: httpx.AsyncClient, ws: str, query: str) -> str:
    response = await client.post(f"/workspaces/{ws}/tables/query", json={"query": query}, headers=READ_ONLY)
    assert response.status_code == 400, response.text
    return str(response.json()["error"])


async def test_statements_run_as_an_ordinary_role(local_client: httpx.AsyncClient, local_backend: LocalBackend) -> None:
    assert await rows(local_client, "default", "SELECT current_user, session_user") == [
        ["deeplake_query", "deeplake_query"]
    ]
    attributes = await superuser_rows(
        local_backend.data_dir,
        "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication, "
        "(SELECT count(*) FROM pg_auth_members WHERE member = r.oid), "
        "has_database_privilege(r.oid, current_database(), 'CREATE') FROM pg_roles r WHERE rolname = 'deeplake_query'",
    )
    assert attributes == [(False, False, False, False, False, 0, False)]
    for predefined in (
        "pg_read_server_files",
        "pg_write_server_files",
        "pg_execute_server_program",
        "pg_read_all_settings",
        "pg_read_all_data",
        "pg_signal_backend",
    ):
        assert await superuser_rows(
            local_backend.data_dir, "SELECT pg_has_role('deeplake_query', %s, 'MEMBER')", (predefined,)
        ) == [(False,)]


@pytest.mark.parametrize(
    "attack",
    [
        "COPY (SELECT 1) TO PROGRAM 'touch {file}'",
        "DO $$ BEGIN EXECUTE 'COPY (SELECT 1) TO PROGRAM ''touch {file}'''; END $$",
        "COPY (SELECT 'x') TO '{file}'",
        "SELECT lo_export(lo_from_bytea(0, 'x'), '{file}')",
        "CREATE FUNCTION f_{tag}() RETURNS int LANGUAGE c AS '/lib/x86_64-linux-gnu/libc.so.6', 'system'",
        "CREATE EXTENSION adminpack",
        "CREATE EXTENSION dblink",
        "DO $$ BEGIN EXECUTE 'CREATE EXTENSION file_fdw'; END $$",
        "ALTER SYSTEM SET archive_command = 'touch {file}'",
        "LOAD 'auto_explain'",
    ],
)
async def test_no_host_commands_or_server_files(
    local_client: httpx.AsyncClient, ws: str, tmp_path: Path, attack: str
) -> None:
    file = marker(tmp_path)
    await query_error(local_client, ws, attack.format(file=file, tag=uuid.uuid4().hex[:6]))
    assert not file.exists()


@pytest.mark.parametrize(
    "read",
    [
        "SELECT pg_read_file('/etc/hostname')",
        "SELECT pg_read_binary_file('/etc/hostname')",
        "SELECT * FROM pg_ls_dir('/')",
        "SELECT lo_import('/etc/hostname')",
        "COPY documents FROM '/etc/hostname'",
        "SELECT rolpassword FROM pg_authid",
        "SELECT * FROM pg_hba_file_rules",
        "SELECT * FROM pg_file_settings",
        "SELECT * FROM deeplake_internal.workspaces",
        "SELECT * FROM deeplake_internal.members",
        "SELECT query_to_xml('SELECT 1', true, true, '')",
        "SELECT ts_rewrite('a'::tsquery, 'SELECT ''a''::tsquery, ''b''::tsquery')",
    ],
)
async def test_no_secrets_and_no_sql_from_text(local_client: httpx.AsyncClient, ws: str, read: str) -> None:
    await run(local_client, ws, "CREATE TABLE documents (body TEXT) USING deeplake")
    message = await query_error(local_client, ws, read)
    assert "permission denied" in message or "must be superuser" in message or "does not exist" in message
    assert "Traceback" not in message


async def test_settings_show_no_server_secrets(local_client: httpx.AsyncClient) -> None:
    hidden = await rows(
        local_client,
        "default",
        "SELECT name FROM pg_settings WHERE name IN ('data_directory', 'config_file', 'hba_file')",
    )
    assert hidden == []


async def test_no_role_or_configuration_changes(
    local_client: httpx.AsyncClient, local_backend: LocalBackend, ws: str
) -> None:
    attacks = [
        "ALTER ROLE deeplake_query SUPERUSER",
        "CREATE ROLE intruder SUPERUSER LOGIN",
        "GRANT pg_execute_server_program TO deeplake_query",
        "SET ROLE postgres",
        "SET SESSION AUTHORIZATION postgres",
        "DO $$ BEGIN EXECUTE 'ALTER ROLE deeplake_query CREATEROLE'; END $$",
        "SELECT pg_reload_conf()",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'postgres'",
        "CREATE SCHEMA intruder",
        "ALTER SCHEMA deeplake_compat OWNER TO deeplake_query",
    ]
    for attack in attacks:
        await query_error(local_client, ws, attack)
    assert await superuser_rows(
        local_backend.data_dir,
        "SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = 'deeplake_query' "
        "UNION ALL SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = 'intruder'",
    ) == [(False, False)]
    assert await superuser_rows(local_backend.data_dir, "SELECT FROM pg_namespace WHERE nspname = 'intruder'") == []


@pytest.mark.parametrize(
    ("attack", "count"),
    [
        ("INSERT INTO pg_catalog.pg_proc SELECT * FROM pg_catalog.pg_proc LIMIT 1", "SELECT count(*) FROM pg_proc"),
        ("DELETE FROM pg_catalog.pg_description", "SELECT count(*) FROM pg_description"),
        ("UPDATE pg_catalog.pg_class SET relpages = 12345 WHERE false", "SELECT count(*) FROM pg_class"),
        (
            "INSERT INTO deeplake_internal.workspaces (id, name) VALUES ('x', 'x')",
            "SELECT count(*) FROM deeplake_internal.workspaces",
        ),
        ("DELETE FROM deeplake_internal.organizations", "SELECT count(*) FROM deeplake_internal.organizations"),
        ("CREATE TABLE deeplake_compat.evil (a int)", "SELECT count(*) FROM pg_class WHERE relname = 'evil'"),
        ("CREATE TABLE deeplake_internal.evil (a int)", "SELECT count(*) FROM pg_class WHERE relname = 'evil'"),
        (
            "CREATE FUNCTION deeplake_compat.bm25_terms(query text) RETURNS text[] LANGUAGE sql RETURN '{}'",
            "SELECT count(*) FROM pg_proc WHERE proname = 'bm25_terms'",
        ),
        ("CREATE TABLE public.evil (a int)", "SELECT count(*) FROM pg_class WHERE relname = 'evil'"),
    ],
)
async def test_catalogs_and_internal_schemas_are_not_writable(
    local_client: httpx.AsyncClient, local_backend: LocalBackend, ws: str, attack: str, count: str
) -> None:
    before = await superuser_rows(local_backend.data_dir, count)
    await query_error(local_client, ws, attack)
    assert await superuser_rows(local_backend.data_dir, count) == before


async def test_state_changing_functions_are_refused_even_where_read_only_is_not_enough(
    local_client: httpx.AsyncClient, local_backend: LocalBackend, ws: str
) -> None:
    await run(local_client, ws, "CREATE TABLE t (id int, v text) USING deeplake")
    await run(local_client, ws, "INSERT INTO t SELECT g, 'x' FROM generate_series(1, 500) g")
    await run(local_client, ws, "ANALYZE t")
    await run(local_client, ws, "CREATE INDEX t_brin ON t USING brin (id)")
    stats = f"SELECT relpages, reltuples FROM pg_class WHERE oid = '\"{ws}\".t'::regclass"
    before = await superuser_rows(local_backend.data_dir, stats)
    attacks = [
        f"SELECT pg_restore_relation_stats('schemaname', '{ws}', 'relname', 't', 'relpages', 999::int)",
        f"SELECT pg_clear_relation_stats('{ws}', 't')",
        f"SELECT pg_clear_attribute_stats('{ws}', 't', 'id', false)",
        "SELECT brin_summarize_new_values('t_brin')",
        "SELECT brin_desummarize_range('t_brin', 0)",
        "SELECT pg_logical_emit_message(true, 'x', 'y')",
        "SELECT txid_current()",
        "SELECT pg_current_xact_id()",
        "SELECT setseed(0.5)",
        "SELECT pg_advisory_lock(42)",
        "SELECT pg_cancel_backend(pg_backend_pid())",
    ]
    for attack in attacks:
        assert "permission denied" in await read_only_error(local_client, ws, attack), attack
        assert "permission denied" in await query_error(local_client, ws, attack), attack
    assert await superuser_rows(local_backend.data_dir, stats) == before


async def test_reads_run_read_only(local_client: httpx.AsyncClient, ws: str) -> None:
    await run(local_client, ws, "CREATE TABLE t (id int) USING deeplake")
    await run(local_client, ws, "CREATE SEQUENCE s")
    # A function whose body no guard sees: called from a read, its write is refused.
    await run(
        local_client,
        ws,
        "CREATE FUNCTION sneaky() RETURNS int LANGUAGE plpgsql AS $$ BEGIN INSERT INTO t VALUES (1); RETURN 1; END $$",
    )
    assert "read-only transaction" in await read_only_error(local_client, ws, "SELECT sneaky()")
    # Without the header, what the SQL guard classes as a read runs READ ONLY all the same.
    assert await rows(local_client, ws, "SELECT current_setting('transaction_read_only')") == [["on"]]
    for write in ("INSERT INTO t VALUES (2)", "SELECT nextval('s')", "CREATE TABLE t2 (a int)", "DELETE FROM t"):
        assert "read-only transaction" in await read_only_error(local_client, ws, write), write
    assert await rows(local_client, ws, "SELECT count(*) FROM t") == [[0]]
    escapes = [
        "SET TRANSACTION READ WRITE",
        "SELECT set_config('transaction_read_only', 'off', true)",
        "COMMIT",
    ]
    for escape in escapes:
        await read_only_error(local_client, ws, escape)
    # The same writes without the header and classed as writes do run.
    await run(local_client, ws, "INSERT INTO t VALUES (3)")
    assert await rows(local_client, ws, "SELECT count(*) FROM t") == [[1]]


async def test_one_statement_per_call_even_past_the_compiler(local_backend: LocalBackend, ws_plain: str) -> None:
    """The extended protocol itself refuses a second statement: the compiler's check is not the only one."""
    executor = local_backend._open()[3]  # below the compiler, as if its multi-statement check were gone
    with pytest.raises(Exception, match="cannot insert multiple commands"):
        async with executor.session(ws_plain, read_only=False) as session:
            await session.execute("SELECT 1; DROP TABLE keep")
    assert await superuser_rows(
        local_backend.data_dir,
        "SELECT count(*) FROM pg_class WHERE relname = 'keep' AND relnamespace = %s::regnamespace",
        (ws_plain,),
    ) == [(1,)]


@pytest.fixture
async def ws_plain(local_client: httpx.AsyncClient, ws: str) -> str:
    await run(local_client, ws, "CREATE TABLE keep (a int) USING deeplake")
    return ws


async def test_sessions_come_back_clean(local_client: httpx.AsyncClient, ws: str) -> None:
    """Whatever a call leaves in its pooled session is gone for the next call, on every pooled connection."""
    await run(local_client, ws, "CREATE TABLE t (a int) USING deeplake")
    leaks = [
        "SET work_mem = '64kB'",
        "SELECT set_config('search_path', 'pg_temp', false)",
        "SELECT set_config('statement_timeout', '1', false)",
        "CREATE TEMP TABLE float4 (a int)",
        "PREPARE sneaky AS SELECT 1",
        "LISTEN channel",
        "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
    ]
    for _ in range(3):  # more calls than pooled connections are likely to be in use
        for leak in leaks:
            await run(local_client, ws, leak)
    checks = (
        "SELECT current_setting('work_mem'), current_setting('statement_timeout'), "
        "(SELECT count(*) FROM pg_prepared_statements WHERE from_sql), (SELECT count(*) FROM pg_listening_channels()), "
        "(SELECT count(*) FROM pg_cursors WHERE is_holdable), pg_typeof('1'::float4)::text, "
        "(SELECT count(*) FROM pg_class WHERE relpersistence = 't')"
    )
    for _ in range(12):
        assert await rows(local_client, ws, checks) == [["4MB", "1min", 0, 0, 0, "real", 0]]
        assert await rows(local_client, ws, "INSERT INTO t VALUES (1) RETURNING a") == [[1]]


async def test_no_call_leaves_a_transaction_open_or_the_next_write_read_only(
    local_backend: LocalBackend, local_client: httpx.AsyncClient, ws_plain: str
) -> None:
    """A read's transaction is PostgreSQL's implicit one, ended by the round trip: a BEGIN slipped among its
    statements (below the compiler, which refuses it) must not leave the next call inside it, uncommitted; and a
    session left READ ONLY by default must not turn the next call's write away."""
    executor = local_backend._open()[3]
    await executor.run(ws_plain, [("BEGIN", ())], read_only=True)
    await executor.run(ws_plain, [("INSERT INTO keep VALUES (1)", ())], read_only=False)
    await run(local_client, ws_plain, "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    await executor.run(ws_plain, [("INSERT INTO keep VALUES (2)", ())], read_only=False)
    assert await superuser_rows(local_backend.data_dir, f"SELECT a FROM {ws_plain}.keep ORDER BY a") == [(1,), (2,)]


async def test_user_objects_cannot_shadow_built_ins(local_client: httpx.AsyncClient, ws: str) -> None:
    await run(local_client, ws, "CREATE TABLE float4 (a int)")
    await run(local_client, ws, "CREATE FUNCTION lower(text) RETURNS text LANGUAGE sql RETURN 'hijacked'")
    await run(local_client, ws, "CREATE TABLE docs (id int, e FLOAT4[]) USING deeplake")
    await run(local_client, ws, "INSERT INTO docs VALUES (1, '{1,0}'), (2, '{0,1}')")
    assert await rows(local_client, ws, "SELECT pg_typeof('1'::float4)::text, lower('ABC')") == [["real", "abc"]]
    ranked = await rows(
        local_client, ws, "SELECT id, e <#> ARRAY[1,0]::float4[] AS s FROM docs ORDER BY s DESC LIMIT 1"
    )
    assert ranked == [[1, 1.0]]


async def test_no_callable_function_runs_sql_text(local_backend: LocalBackend) -> None:
    """No function of ours the query role may call builds SQL (EXECUTE); the built-in ones that run SQL
    text are off for it."""
    dynamic = await superuser_rows(
        local_backend.data_dir,
        "SELECT p.oid::regprocedure::text FROM pg_proc p "
        "WHERE p.pronamespace IN ('deeplake_compat'::regnamespace, 'deeplake_internal'::regnamespace) "
        "AND has_function_privilege('deeplake_query', p.oid, 'EXECUTE') AND p.prosrc ~* '\\mexecute\\M'",
    )
    assert dynamic == []
    assert (
        await superuser_rows(
            local_backend.data_dir,
            "SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.proname IN "
            "('query_to_xml', 'query_to_xmlschema', 'query_to_xml_and_xmlschema', 'cursor_to_xml', 'ts_stat') "
            "AND has_function_privilege('deeplake_query', p.oid, 'EXECUTE')",
        )
        == []
    )


async def test_do_blocks_and_functions_run_with_the_roles_rights(
    local_client: httpx.AsyncClient, local_backend: LocalBackend, ws: str, tmp_path: Path
) -> None:
    file = marker(tmp_path)
    await run(
        local_client,
        ws,
        "CREATE FUNCTION escalate() RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS $$ BEGIN "
        f"EXECUTE 'COPY (SELECT 1) TO PROGRAM ''touch {file}'''; END $$",
    )
    await query_error(local_client, ws, "SELECT escalate()")
    await query_error(local_client, ws, "DO $$ BEGIN PERFORM pg_read_file('/etc/hostname'); END $$")
    await query_error(local_client, ws, "DO $$ BEGIN UPDATE deeplake_internal.workspaces SET name = 'x'; END $$")
    assert not file.exists()
    assert ("x",) not in await superuser_rows(local_backend.data_dir, "SELECT name FROM deeplake_internal.workspaces")
