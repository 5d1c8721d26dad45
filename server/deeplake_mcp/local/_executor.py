"""Running statements as the query role: the only way SQL from a request reaches PostgreSQL.

Every call gets a pooled connection of the query role (never a superuser), one transaction —
``READ ONLY`` for reads — whose search_path resolves names in the workspace, then in the compat
schema (pg_catalog stays implicitly first, so no user object can shadow a built-in type or function),
and a statement timeout; a workspace that is not the query role's schema is an error (NotFound),
raised by PostgreSQL so that nothing sent after it runs. Statements always use the extended query
protocol, so PostgreSQL itself refuses more than one per call. Every use of a connection starts with
``DISCARD ALL``, which cleans whatever its last user left (settings, temporary objects, prepared
statements, cursors, session locks, LISTEN); what that cannot undo (the random seed, loaded libraries)
the query role cannot change in the first place.

Round trips: a ``session`` sends DISCARD ALL, BEGIN and the workspace set-up together (libpq's pipeline
mode), then its statements one by one, then COMMIT; ``run`` sends all of that with its statements and
COMMIT at once, which is one round trip for a read. A failure anywhere rolls the transaction back. The
pipelined round trips are sent and read on libpq directly (psycopg's ``pq`` layer), with psycopg's own
loaders for the rows: psycopg's pipeline and cursor bookkeeping cost more Python than PostgreSQL takes to
run a short statement.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from functools import cache
from typing import Any, TypedDict

import psycopg
from psycopg import AsyncConnection, AsyncRawCursor, pq, sql
from psycopg._queries import PostgresQuery
from psycopg.abc import Buffer, PQGen
from psycopg.abc import Transformer as Adapting
from psycopg.adapt import PyFormat, Transformer
from psycopg.errors import error_from_result
from psycopg.waiting import Ready, Wait
from psycopg_pool import AsyncConnectionPool

from ._errors import NotFound, QueryError
from ._values import JSON, Param, result_adapters, to_json, to_param

__all__ = ["DEFAULT_TIMEOUT_MS", "MAX_TIMEOUT_MS", "Executor", "QueryResult", "Session", "Statement", "open_pool"]

DEFAULT_TIMEOUT_MS = 60_000
MAX_TIMEOUT_MS = 600_000
"""The longest a statement may run, whatever a request asks for."""

_DISCARD = b"DISCARD ALL"
_BEGIN = {True: b"BEGIN READ ONLY", False: b"BEGIN READ WRITE"}
# Names resolve in the workspace, then in the compat schema (pg_catalog stays implicitly first), under a
# statement timeout, both until the transaction ends; unless the workspace is not the role's (SQLSTATE DL404).
# Other settings for the transaction follow as `|| set_config($3, $4, true)` and so on.
_ENTER = """
    SELECT CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_namespace
                             WHERE nspname = $1 AND pg_catalog.pg_get_userbyid(nspowner) = current_user)
           THEN pg_catalog.set_config('search_path', pg_catalog.format('%I, deeplake_compat, pg_temp', $1), true)
                || pg_catalog.set_config('statement_timeout', $2, true){}
           ELSE deeplake_compat.workspace_not_found($1) END
"""
_SETTING = " || pg_catalog.set_config(${}, ${}, true)"
_COMMIT = b"COMMIT"
_NO_WORKSPACE = "DL404"  # deeplake_compat.workspace_not_found's SQLSTATE
_IN_TRANSACTION = (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR)
_COPY = (pq.ExecStatus.COPY_IN, pq.ExecStatus.COPY_OUT, pq.ExecStatus.COPY_BOTH)
# SQLSTATEs that mean the server, not the statement, failed: connection (but 08P01, a params count
# mismatch), resources, shutdown (57P; 57014 is a statement timeout), system and internal errors.
_SERVER_FAULTS = ("08", "53", "57P", "58", "XX")
_STATEMENT_FAULTS = ("08P01",)


Statement = str | bytes | sql.SQL | sql.Composed
"""SQL text, or SQL composed from quoted identifiers and literals (psycopg's ``sql`` module)."""


class QueryResult(TypedDict):
    columns: list[str]
    rows: list[list[JSON]]
    row_count: int


def open_pool(
    conninfo: str, *, name: str, max_size: int, options: str, reset: bool = True
) -> AsyncConnectionPool[AsyncConnection[Any]]:
    """A closed pool of autocommit connections with lenient result loaders (open it with ``await pool.open()``).

    With ``reset``, a connection is cleaned with ``DISCARD ALL`` when it comes back (in the background);
    without, whoever takes it must (the Executor does, in the same round trip as its first statements).
    """
    return AsyncConnectionPool(
        conninfo,
        min_size=1,
        max_size=max_size,
        open=False,
        name=name,
        kwargs={
            "autocommit": True,
            "prepare_threshold": None,
            "context": result_adapters(),
            "options": f"-c TimeZone=UTC {options}",
            "application_name": f"deeplake-mcp-{name}",
        },
        reset=_discard_session_state if reset else None,
    )


async def _discard_session_state(conn: AsyncConnection[Any]) -> None:
    await conn.execute(_DISCARD)


class Session:
    """One transaction of the query role in a workspace; statements run on ``cursor``."""

    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self.conn = conn
        self.cursor: AsyncRawCursor[Any] = _ExtendedCursor(conn)

    async def execute(self, statement: Statement, params: Sequence[Param] = ()) -> None:
        """Run one statement; ``params`` fill ``$1``, ``$2`` … (sent as text, typed by PostgreSQL; a Float4Array as
        binary float4[])."""
        await _execute(self.cursor, statement, params)

    async def executemany(self, statement: str, params_batch: Sequence[Sequence[Param]]) -> int:
        """Run one statement per params list; the rows affected in all."""
        await self.cursor.executemany(statement.encode(), [[to_param(v) for v in params] for params in params_batch])
        return max(self.cursor.rowcount, 0)

    async def copy_in(self, statement: sql.Composed, data: bytes) -> int:
        """Run a ``COPY … FROM STDIN`` statement with ``data`` as its input; the rows copied."""
        async with self.cursor.copy(statement) as copy:
            await copy.write(data)
        return max(self.cursor.rowcount, 0)

    async def rows(self, statement: Statement, params: Sequence[Param] = ()) -> list[Any]:
        """Run one statement and return its rows as loaded (tuples of Python values)."""
        await self.execute(statement, params)
        return await self.cursor.fetchall()

    async def value(self, statement: Statement, params: Sequence[Param] = ()) -> Any:
        """The first column of the first row (None without rows)."""
        await self.execute(statement, params)
        row = await self.cursor.fetchone()
        return None if row is None else row[0]


class Executor:
    """Transactions of the query role on its pool (see the module docstring)."""

    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[Any]]) -> None:
        self._pool = pool

    @asynccontextmanager
    async def session(
        self, workspace: str, *, read_only: bool, timeout_ms: int = DEFAULT_TIMEOUT_MS, longest_ms: int = MAX_TIMEOUT_MS
    ) -> AsyncIterator[Session]:
        """A transaction in ``workspace``; NotFound if it does not exist, PostgreSQL's errors as QueryError.

        Its statement timeout is ``timeout_ms``, at most ``longest_ms`` (a longer cap is for the server's own
        index builds, never for a request's statements).
        """
        async with self._transaction() as conn:
            begin = _begin(workspace, read_only=read_only, timeout_ms=timeout_ms, longest_ms=longest_ms)
            await _round_trip(conn, begin)
            session = Session(conn)
            yield session
            await session.execute(_COMMIT)

    async def run(
        self,
        workspace: str,
        statements: Sequence[tuple[Statement, Sequence[Param]]],
        *,
        read_only: bool,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        settings: Mapping[str, str] | None = None,
    ) -> list[QueryResult]:
        """Run ``statements`` (with their params) in one transaction, in one round trip; the rows of each.

        ``settings`` are further configuration parameters for the transaction (e.g. planner settings).
        """
        async with self._transaction() as conn:
            steps = _begin(workspace, read_only=read_only, timeout_ms=timeout_ms, settings=settings)
            results = await _round_trip(conn, [*steps, *statements, (_COMMIT, ())])
            loader = Transformer(conn)
            return [_query_result(found, loader) for found in results[len(steps) : len(steps) + len(statements)]]

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection[Any]]:
        """A pooled connection, rolled back on any failure; PostgreSQL's errors as QueryError or NotFound."""
        try:
            async with self._pool.connection() as conn:
                try:
                    yield conn
                except BaseException:
                    await _rollback(conn)
                    raise
        except psycopg.Error as exc:
            mapped = query_error(exc)
            if mapped is exc:
                raise
            raise mapped from exc


_Step = tuple[Statement, Sequence[Param]]


def _begin(
    workspace: str,
    *,
    read_only: bool,
    timeout_ms: int,
    settings: Mapping[str, str] | None = None,
    longest_ms: int = MAX_TIMEOUT_MS,
) -> list[_Step]:
    """DISCARD ALL (whatever the connection's last user left), BEGIN, then the workspace's search_path, the
    statement timeout (at most ``longest_ms``) and ``settings`` (see _ENTER)."""
    extra = list(settings.items()) if settings else []
    enter = [workspace, str(min(max(timeout_ms, 1), longest_ms)), *(part for pair in extra for part in pair)]
    return [(_DISCARD, ()), (_BEGIN[read_only], ()), (_enter_statement(len(extra)), enter)]


@cache
def _enter_statement(settings: int) -> bytes:
    return _ENTER.format("".join(_SETTING.format(3 + 2 * i, 4 + 2 * i) for i in range(settings))).encode()


async def _round_trip(conn: AsyncConnection[Any], steps: Sequence[_Step]) -> list[pq.abc.PGresult]:
    """Send the steps in one round trip (each with the extended query protocol: one statement apiece) and
    return their results; the first error, if any (PostgreSQL skips what follows it)."""
    adapters = Transformer(conn)
    commands = [_command(statement, params, adapters) for statement, params in steps]
    pgconn = conn.pgconn
    async with conn.lock:
        pgconn.enter_pipeline_mode()
        try:
            results = await conn.wait(_exchange(pgconn, commands))
        finally:
            _leave_pipeline_mode(pgconn)
    for found in results:
        if found.status == pq.ExecStatus.FATAL_ERROR:
            raise error_from_result(found, encoding=adapters.encoding)
    return results


_Command = tuple[bytes, Sequence[Buffer | None] | None, Sequence[int] | None, Sequence[pq.Format] | None]


def _command(statement: Statement, params: Sequence[Param], adapters: Adapting) -> _Command:
    """A statement and its params as libpq sends them, dumped as a cursor would (text of unknown type; a
    Float4Array binary)."""
    query = statement.encode() if isinstance(statement, str) else statement
    if not isinstance(query, bytes):
        query = query.as_bytes(adapters)
    if not params:
        return query, None, None, None
    values = adapters.dump_sequence([to_param(param) for param in params], [PyFormat.AUTO] * len(params))
    return query, values, adapters.types, adapters.formats


def _exchange(pgconn: pq.abc.PGconn, commands: Sequence[_Command]) -> PQGen[list[pq.abc.PGresult]]:
    """Queue the commands and a Sync, send them, and read one result per command up to the Sync."""
    for query, values, types, formats in commands:
        pgconn.send_query_params(query, values, types, formats)
    pgconn.pipeline_sync()
    while pgconn.flush():  # more to send than the socket took at once
        if (yield Wait.RW) & Ready.R:
            pgconn.consume_input()
    results: list[pq.abc.PGresult] = []
    while True:
        while pgconn.is_busy():
            yield Wait.R
            pgconn.consume_input()
            while pgconn.notifies():  # LISTEN is the agent's (DISCARD ALL ends it): drop what it brings
                pass
        found = pgconn.get_result()
        if found is None:  # the end of one command's results
            continue
        if found.status == pq.ExecStatus.PIPELINE_SYNC:
            return results
        if found.status in _COPY:  # never sent here (the compiler refuses COPY … STDIN/STDOUT); a bad state
            raise psycopg.NotSupportedError("COPY cannot run in a pipelined round trip")
        results.append(found)


def _leave_pipeline_mode(pgconn: pq.abc.PGconn) -> None:
    """Back to one statement at a time; a connection left busy (an error halfway) is closed, so the pool
    drops it."""
    try:
        pgconn.exit_pipeline_mode()
    except psycopg.Error:
        pgconn.finish()


def _query_result(found: pq.abc.PGresult, loader: Adapting) -> QueryResult:
    """A statement's rows (or the rows it affected), JSON-ready."""
    if found.status != pq.ExecStatus.TUPLES_OK:
        return QueryResult(columns=[], rows=[], row_count=found.command_tuples or 0)
    loader.set_pgresult(found)
    rows = [[to_json(value) for value in row] for row in loader.load_rows(0, found.ntuples, tuple)]
    columns = [(found.fname(i) or b"").decode(loader.encoding) for i in range(found.nfields)]
    return QueryResult(columns=columns, rows=rows, row_count=len(rows))


async def _execute(cursor: AsyncRawCursor[Any], statement: Statement, params: Sequence[Param]) -> None:
    query = statement.encode() if isinstance(statement, str) else statement
    await cursor.execute(query, [to_param(value) for value in params])


async def _rollback(conn: AsyncConnection[Any]) -> None:
    """End a failed transaction, if the connection still works (else the pool discards it)."""
    if conn.info.transaction_status in _IN_TRANSACTION:
        with suppress(psycopg.Error):
            await conn.execute(b"ROLLBACK")


def query_error(exc: psycopg.Error) -> Exception:
    """A statement's error as QueryError (PostgreSQL's message); the server's own failures stay as they are."""
    state = exc.sqlstate
    if state == _NO_WORKSPACE:
        return NotFound(exc.diag.message_primary or "workspace not found")
    if state is None or (state.startswith(_SERVER_FAULTS) and state not in _STATEMENT_FAULTS):
        return exc
    return QueryError(exc.diag.message_primary or str(exc))


class _ExtendedCursor(AsyncRawCursor[Any]):
    """A raw cursor that always uses the extended query protocol.

    psycopg sends a statement without params with the simple protocol, which runs any number of
    ``;``-separated statements; the extended protocol runs exactly one, whatever the text says.
    """

    def _execute_send(self, query: PostgresQuery, *, force_extended: bool = False, binary: bool | None = None) -> None:
        super()._execute_send(query, force_extended=True, binary=binary)
