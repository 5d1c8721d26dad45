"""Running statements as the query role: the only way SQL from a request reaches PostgreSQL.

Every call gets a pooled connection of the query role (never a superuser), one transaction —
``READ ONLY`` for reads — whose search_path resolves names in the workspace, then in the compat
schema (pg_catalog stays implicitly first, so no user object can shadow a built-in type or function),
and a statement timeout; a workspace that is not the query role's schema is an error (NotFound),
raised by PostgreSQL so that nothing sent after it runs. Statements always use the extended query
protocol, so PostgreSQL itself refuses more than one per call.

Every transaction starts by cleaning whatever the connection's last user left: ``RESET ALL`` (settings),
``CLOSE ALL`` (cursors), ``UNLISTEN *``, ``DISCARD TEMP`` (temporary objects), ``DISCARD SEQUENCES`` —
``DISCARD ALL`` but for the prepared statements, which it would drop — in one statement,
``deeplake_compat.reset_session()`` (sent as six statements with the check below, they took about 40 µs of
a call, as one 25). What that cannot undo (the random seed, loaded libraries, session locks, another role)
the query role cannot change in the first place.
Prepared statements stay because the server keeps its own: a statement it sees a second time (the
workspace set-up, a search sent again with another vector) is prepared with the protocol on the connection
and from then on only bound and run, which saves PostgreSQL its parsing and planning (a quarter of a
millisecond for a vector search). Of a call's own statements only reads are kept (at most 64 per
connection, the one used longest ago closed to make room for another, in the same round trip; none longer
than 8 KB); the set-up is kept for every transaction. PostgreSQL may plan a kept
statement once for all values; callers ask for a plan per call where a param feeds every row
(``PLANNED_PER_CALL``). A statement prepared by SQL (``PREPARE``, refused by the guard, but possible below
it) could stand in for one of the server's under its name, so every transaction checks, at the end of its
clean-up and before any kept statement, that the session holds none (SQLSTATE DL409 if it does); that, or a
kept statement gone or no longer valid, makes the executor clear the session (``DISCARD ALL``, forgetting what
it kept) and send the round trip once more: what failed was the set-up or a read, so nothing had been
written.

Round trips: a ``session`` sends BEGIN, the clean-up and the set-up together (libpq's pipeline mode), then its
statements one by one, then COMMIT; ``run`` sends all of that with its statements and COMMIT at once, one
round trip, and for a read only the clean-up, the set-up and the statements: PostgreSQL's implicit transaction
up to the pipeline's Sync, without BEGIN and COMMIT (15 µs less), made ``READ ONLY`` by the clean-up
(``transaction_read_only``, which nothing after it can turn off: PostgreSQL refuses read-write mode once a
statement has run); ``outside_transaction`` sends the clean-up and a set-up that holds for the session, then
runs each of the server's own statements in a transaction of its own (CREATE INDEX CONCURRENTLY refuses a
transaction block). A failure anywhere rolls the transaction back, and a connection given back in a
transaction (a BEGIN among a call's statements) is rolled back first. The pipelined round trips are sent and
read on libpq directly (psycopg's ``pq`` layer), with psycopg's own loaders for the rows: psycopg's pipeline
and cursor bookkeeping cost more Python than PostgreSQL takes to run a short statement.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from functools import cache
from typing import Any, NamedTuple, TypedDict
from weakref import WeakKeyDictionary

import psycopg
from psycopg import AsyncConnection, AsyncRawCursor, pq, sql
from psycopg._queries import PostgresQuery
from psycopg.abc import Buffer, PQGen
from psycopg.abc import Transformer as Adapting
from psycopg.adapt import PyFormat, Transformer
from psycopg.errors import error_from_result
from psycopg.waiting import Ready, Wait
from psycopg_pool import AsyncConnectionPool

from ..cache import LRUCache
from ._errors import NotFound, QueryError
from ._values import JSON, Param, result_adapters, to_json, to_param

__all__ = [
    "DEFAULT_TIMEOUT_MS",
    "MAX_TIMEOUT_MS",
    "PLANNED_PER_CALL",
    "Executor",
    "QueryResult",
    "Session",
    "Statement",
    "open_pool",
]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_MS = 60_000
MAX_TIMEOUT_MS = 600_000
"""The longest a statement may run, whatever a request asks for."""

_DISCARD = b"DISCARD ALL"
_BEGIN = {True: b"BEGIN READ ONLY", False: b"BEGIN READ WRITE"}
# The clean-up (RESET ALL, CLOSE ALL, UNLISTEN *, DISCARD TEMP, DISCARD SEQUENCES) in one statement, then
# SQLSTATE DL409 when the session holds a statement prepared by SQL: never kept itself, it comes before any
# statement that is; for a read, the transaction READ ONLY from then on (RESET ALL leaves transaction_read_only
# alone, whichever runs first).
_CLEAN_UP = {
    True: b"SELECT deeplake_compat.reset_session(), pg_catalog.set_config('transaction_read_only', 'on', true)",
    False: b"SELECT deeplake_compat.reset_session()",
}
# Names resolve in the workspace, then in the compat schema (pg_catalog stays implicitly first), under a
# statement timeout, both until the transaction ends (or the session, {local} false); unless the workspace is
# not the role's (SQLSTATE DL404). Other settings follow as `|| set_config($3, $4, {local})` and so on.
_ENTER = """
    SELECT CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_namespace
                             WHERE nspname = $1 AND pg_catalog.pg_get_userbyid(nspowner) = current_user)
           THEN pg_catalog.set_config('search_path', pg_catalog.format('%I, deeplake_compat, pg_temp', $1), {local})
                || pg_catalog.set_config('statement_timeout', $2, {local}){settings}
           ELSE deeplake_compat.workspace_not_found($1) END
"""
_SETTING = " || pg_catalog.set_config(${}, ${}, {local})"
_COMMIT = b"COMMIT"
_NO_WORKSPACE = "DL404"  # deeplake_compat.workspace_not_found's SQLSTATE
_SQL_PREPARED = "DL409"  # deeplake_compat.reset_session's SQLSTATE
# A kept statement that cannot run as it was: gone (26000), or a table changed under it so that its rows would
# change shape (0A000).
_STALE = ("26000", "0A000")
_KEPT_PER_CONNECTION = 64  # the least recently used is closed to make room for another
_KEPT_LONGEST = 8192  # bytes of text: longer statements are seldom sent twice, and would crowd the caches
_IN_TRANSACTION = (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR)
_COPY = (pq.ExecStatus.COPY_IN, pq.ExecStatus.COPY_OUT, pq.ExecStatus.COPY_BOTH)
# SQLSTATEs that mean the server, not the statement, failed: connection (but 08P01, a params count
# mismatch), resources, shutdown (57P; 57014 is a statement timeout), system and internal errors.
_SERVER_FAULTS = ("08", "53", "57P", "58", "XX")
_STATEMENT_FAULTS = ("08P01",)


PLANNED_PER_CALL: Mapping[str, str] = {"plan_cache_mode": "force_custom_plan"}
"""Settings for a statement whose params feed every row it reads (a query vector ranking a scan): kept, it may
get PostgreSQL's generic plan, made once for any values, which casts the vector again for each row; planned for
the call's values, the cast is done once (an exact search of 1 000 rows: 1.3 ms instead of 1.9)."""

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
    without, whoever takes it must (the Executor does, in the same round trip as its first statements, keeping
    the statements it prepared). Idle connections are handed out most recently used first (see _HotFirstPool).
    """
    return _HotFirstPool(
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


class _HotFirstPool(AsyncConnectionPool[AsyncConnection[Any]]):
    """psycopg's pool, but handing out the idle connection used last rather than the one idle longest.

    In turn, every call lands on the backend whose caches have gone coldest (with four idle connections, a
    search at 100 000 rows took 1.85–2.06 ms instead of 1.49–1.52), and every kept statement has to be
    prepared on every connection. The pool keeps its idle connections in a deque it takes from the left and
    returns to the right; taking from the right instead makes it a stack (tests/integration check the effect:
    calls one after another run on one backend). That deque is psycopg_pool's own (3.x): should a release keep
    its idle connections otherwise, the pool is left as it is, in its own order, and says so.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        idle = getattr(self, "_pool", None)
        if type(idle) is deque and not idle:
            self._pool = _Stack()
        else:
            log.warning("psycopg_pool's idle connections are not in the deque expected: handed out in the pool's order")


class _Stack(deque[AsyncConnection[Any]]):
    def popleft(self) -> AsyncConnection[Any]:
        return self.pop()


async def _discard_session_state(conn: AsyncConnection[Any]) -> None:
    """DISCARD ALL, which drops the statements kept on the connection too: forgotten with it."""
    await conn.execute(_DISCARD)
    _KEPT.pop(conn, None)


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
        self,
        workspace: str,
        *,
        read_only: bool,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        longest_ms: int = MAX_TIMEOUT_MS,
        first: Statement | None = None,
    ) -> AsyncIterator[Session]:
        """A transaction in ``workspace``; NotFound if it does not exist, PostgreSQL's errors as QueryError.

        Its statement timeout is ``timeout_ms``, at most ``longest_ms`` (a longer cap is for the server's own
        index builds, never for a request's statements). ``first`` (a statement without rows, e.g. a LOCK) runs
        in the round trip that opens it.
        """
        async with self._transaction() as conn:
            enter = _enter(workspace, read_only=read_only, timeout_ms=timeout_ms, longest_ms=longest_ms)
            then = [_Step(first)] if first is not None else []
            await _round_trip(conn, [_Step(_BEGIN[read_only]), *enter, *then])
            session = Session(conn)
            yield session
            await session.execute(_COMMIT)

    @asynccontextmanager
    async def outside_transaction(self, workspace: str, *, timeout_ms: int) -> AsyncIterator[Session]:
        """A session whose statements each run in a transaction of their own, for the server's own statements
        that PostgreSQL refuses in a transaction block (CREATE and DROP INDEX CONCURRENTLY); never for a request's.

        The clean-up and the workspace's set-up (``timeout_ms`` uncapped, as the caller chose it) hold for the
        connection's session, until the next transaction on it cleans up as after any other.
        """
        async with self._transaction() as conn:
            enter = _enter(workspace, read_only=False, timeout_ms=timeout_ms, longest_ms=timeout_ms, local=False)
            await _round_trip(conn, [_Step(_BEGIN[False]), *enter, _Step(_COMMIT)])
            yield Session(conn)

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
            steps = _enter(workspace, read_only=read_only, timeout_ms=timeout_ms, settings=settings)
            end: list[_Step] = []
            if not read_only:  # explicit: an implicit one would start read-only if the last user made that the default
                steps, end = [_Step(_BEGIN[False]), *steps], [_Step(_COMMIT)]
            sent = [_Step(statement, params, keep=read_only) for statement, params in statements]
            results = await _round_trip(conn, [*steps, *sent, *end])
            loader = Transformer(conn)
            return [_query_result(found, loader) for found in results[len(steps) : len(steps) + len(sent)]]

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection[Any]]:
        """A pooled connection, given back out of any transaction (a failed one, or one that a BEGIN among a call's
        statements left open, is rolled back); PostgreSQL's errors as QueryError or NotFound.

        Taken and given back by hand: the pool's context manager would also COMMIT an autocommit connection
        (a no-op that costs about 20 µs of Python a call)."""
        try:
            conn = await self._pool.getconn()
            try:
                yield conn
            finally:
                await _rollback(conn)
                await self._pool.putconn(conn)
        except psycopg.Error as exc:
            mapped = query_error(exc)
            if mapped is exc:
                raise
            raise mapped from exc


class _Step(NamedTuple):
    statement: Statement
    params: Sequence[Param] = ()
    keep: bool = False
    """Whether to keep it prepared on the connection once it has been seen twice."""


def _enter(
    workspace: str,
    *,
    read_only: bool,
    timeout_ms: int,
    settings: Mapping[str, str] | None = None,
    longest_ms: int = MAX_TIMEOUT_MS,
    local: bool = True,
) -> list[_Step]:
    """The clean-up of whatever the connection's last user left, the check for statements prepared by SQL (and
    READ ONLY for a read), then the workspace's search_path, the statement timeout (at most ``longest_ms``) and
    ``settings`` (see _ENTER), until the transaction ends (``local``) or the session does."""
    extra = list(settings.items()) if settings else []
    timeout = str(max(min(timeout_ms, longest_ms), 1))
    enter = [workspace, timeout, *(part for pair in extra for part in pair)]
    return [_Step(_CLEAN_UP[read_only]), _Step(_enter_statement(len(extra), local=local), enter, keep=True)]


@cache
def _enter_statement(settings: int, *, local: bool = True) -> bytes:
    scope = "true" if local else "false"
    extra = "".join(_SETTING.format(3 + 2 * i, 4 + 2 * i, local=scope) for i in range(settings))
    return _ENTER.format(local=scope, settings=extra).encode()


_Key = tuple[bytes, tuple[int, ...]]
_KEPT: WeakKeyDictionary[AsyncConnection[Any], dict[_Key, bytes]] = WeakKeyDictionary()
"""Per connection, the statements prepared on it: (text, param types) → name."""
_SEEN: LRUCache[_Key, bool] = LRUCache(1024)
"""Statements sent lately: one sent again is worth keeping prepared."""
_NAMES = itertools.count()


async def _round_trip(conn: AsyncConnection[Any], steps: Sequence[_Step]) -> list[pq.abc.PGresult]:
    """Send the steps in one round trip (each with the extended query protocol: one statement apiece) and
    return their results; the first error, if any (PostgreSQL skips what follows it). A kept statement that
    cannot run as it was clears the session and sends the round trip again, once."""
    try:
        return await _send(conn, steps)
    except _StaleSession:
        await _rollback(conn)
        await _discard_session_state(conn)
    try:
        return await _send(conn, steps)
    except _StaleSession as stale:
        raise stale.error from None


class _StaleSession(Exception):
    def __init__(self, error: psycopg.Error) -> None:
        self.error = error


class _Command(NamedTuple):
    """A statement and its params as libpq sends them; a kept one by its name (``new``: prepared first, after
    closing the kept statement it takes the place of, if any)."""

    query: bytes
    values: Sequence[Buffer | None] | None
    types: Sequence[int] | None
    formats: Sequence[pq.Format] | None
    name: bytes | None = None
    new: bool = False
    replaces: tuple[_Key, bytes] | None = None


async def _send(conn: AsyncConnection[Any], steps: Sequence[_Step]) -> list[pq.abc.PGresult]:
    adapters = Transformer(conn)
    kept = _KEPT.setdefault(conn, {})
    commands = _making_room([_command(step, adapters, kept) for step in steps], kept)
    pgconn = conn.pgconn
    async with conn.lock:
        pgconn.enter_pipeline_mode()
        try:
            received = await conn.wait(_exchange(pgconn, commands))
        finally:
            _leave_pipeline_mode(pgconn)
    results: list[pq.abc.PGresult] = []
    failed: tuple[pq.abc.PGresult, _Command] | None = None
    for command in commands:
        if command.replaces is not None and next(received).status != pq.ExecStatus.COMMAND_OK:
            key, name = command.replaces  # not closed (the round trip failed before it): still kept
            kept[key] = name
        if command.new:
            made = next(received)
            if made.status == pq.ExecStatus.COMMAND_OK and command.name is not None:
                kept[command.query, tuple(command.types or ())] = command.name
            failed = failed or _failure(made, command)
        found = next(received)
        failed = failed or _failure(found, command)
        results.append(found)
    if failed is not None:
        found, command = failed
        error = error_from_result(found, encoding=adapters.encoding)
        if error.sqlstate == _SQL_PREPARED or (error.sqlstate in _STALE and command.name and not command.new):
            raise _StaleSession(error)
        raise error
    return results


def _failure(found: pq.abc.PGresult, command: _Command) -> tuple[pq.abc.PGresult, _Command] | None:
    return (found, command) if found.status == pq.ExecStatus.FATAL_ERROR else None


def _command(step: _Step, adapters: Adapting, kept: dict[_Key, bytes]) -> _Command:
    """A step as libpq sends it, its params dumped as a cursor would (text of unknown type; a Float4Array
    binary); a statement worth keeping by the name it has on the connection, or will have."""
    statement, params = step.statement, step.params
    query = statement.encode() if isinstance(statement, str) else statement
    if not isinstance(query, bytes):
        query = query.as_bytes(adapters)
    values = types = formats = None
    if params:
        values = adapters.dump_sequence([to_param(param) for param in params], [PyFormat.AUTO] * len(params))
        types, formats = adapters.types, adapters.formats
    if not step.keep or len(query) > _KEPT_LONGEST:
        return _Command(query, values, types, formats)
    key = (query, tuple(types or ()))
    name = kept.pop(key, None)
    if name is not None:
        kept[key] = name  # the most recently used last
        return _Command(query, values, types, formats, name)
    if key not in _SEEN:
        _SEEN.put(key, True)
        return _Command(query, values, types, formats)
    return _Command(query, values, types, formats, b"dl_%d" % next(_NAMES), new=True)


def _making_room(commands: list[_Command], kept: dict[_Key, bytes]) -> list[_Command]:
    """The commands, a new kept statement past the connection's share closing the one used longest ago first
    (forgotten now; the statements of this round trip, just used, are the most recent)."""
    room = _KEPT_PER_CONNECTION - len(kept)
    for i, command in enumerate(commands):
        if command.new and room > 0:
            room -= 1
        elif command.new:
            key = next(iter(kept))
            commands[i] = command._replace(replaces=(key, kept.pop(key)))
    return commands


def _exchange(pgconn: pq.abc.PGconn, commands: Sequence[_Command]) -> PQGen[Iterator[pq.abc.PGresult]]:
    """Queue the commands and a Sync, send them, and read every result up to the Sync (a new kept statement
    has two or three: the close of the one it replaces, its preparation's, then its own)."""
    for query, values, types, formats, name, new, replaces in commands:
        if replaces is not None:
            pgconn.send_close_prepared(replaces[1])  # closing a name the session no longer has is no error
        if name is None:
            pgconn.send_query_params(query, values, types, formats)
            continue
        if new:
            pgconn.send_prepare(name, query, types)
        pgconn.send_query_prepared(name, values, formats)
    pgconn.pipeline_sync()
    while pgconn.flush():  # more to send than the socket took at once
        if (yield Wait.RW) & Ready.R:
            pgconn.consume_input()
    results: list[pq.abc.PGresult] = []
    while True:
        while pgconn.is_busy():
            yield Wait.R
            pgconn.consume_input()
            while pgconn.notifies():  # LISTEN is the agent's (the clean-up ends it): drop what it brings
                pass
        found = pgconn.get_result()
        if found is None:  # the end of one command's results
            continue
        if found.status == pq.ExecStatus.PIPELINE_SYNC:
            return iter(results)
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
    """End a failed or unfinished transaction, if the connection still works (else the pool discards it)."""
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
