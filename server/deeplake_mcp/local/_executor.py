"""Running statements as the query role: the only way SQL from a request reaches PostgreSQL.

Every call gets a pooled connection of the query role (never a superuser), one transaction —
``READ ONLY`` for reads — whose search_path resolves names in the workspace, then in the compat
schema (pg_catalog stays implicitly first, so no user object can shadow a built-in type or function),
and a statement timeout. Statements always use the extended query protocol, so PostgreSQL itself
refuses more than one per call. A connection is cleaned with ``DISCARD ALL`` before it is reused
(settings, temporary objects, prepared statements, cursors, session locks, LISTEN); what that
cannot undo (the random seed, loaded libraries) the query role cannot change in the first place.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypedDict

import psycopg
from psycopg import AsyncConnection, AsyncRawCursor, sql
from psycopg._queries import PostgresQuery
from psycopg_pool import AsyncConnectionPool

from deeplake_mcp.identifiers import quote_ident

from ._errors import NotFound, QueryError
from ._values import JSON, result_adapters, to_json, to_param

__all__ = ["DEFAULT_TIMEOUT_MS", "MAX_TIMEOUT_MS", "Executor", "QueryResult", "Session", "Statement", "open_pool"]

DEFAULT_TIMEOUT_MS = 60_000
MAX_TIMEOUT_MS = 600_000

# The workspace must be a schema the query role owns; the search_path and timeout last until the transaction ends.
_ENTER = b"""
    SELECT set_config('search_path', $1, true), set_config('statement_timeout', $2, true)
    FROM pg_catalog.pg_namespace WHERE nspname = $3 AND nspowner = (
        SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)
"""
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


def open_pool(conninfo: str, *, name: str, max_size: int, options: str) -> AsyncConnectionPool[AsyncConnection[Any]]:
    """A closed pool of autocommit connections with lenient result loaders (open it with ``await pool.open()``)."""
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
        reset=_discard_session_state,
    )


async def _discard_session_state(conn: AsyncConnection[Any]) -> None:
    await conn.execute("DISCARD ALL")


class Session:
    """One transaction of the query role in a workspace; statements run on ``cursor``."""

    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self.conn = conn
        self.cursor: AsyncRawCursor[Any] = _ExtendedCursor(conn)

    async def execute(self, statement: Statement, params: Sequence[JSON] = ()) -> None:
        """Run one statement; ``params`` fill ``$1``, ``$2`` … (sent as text, typed by PostgreSQL)."""
        query = statement.encode() if isinstance(statement, str) else statement
        await self.cursor.execute(query, [to_param(value) for value in params])

    async def executemany(self, statement: str, params_batch: Sequence[Sequence[JSON]]) -> int:
        """Run one statement per params list; the rows affected in all."""
        await self.cursor.executemany(statement.encode(), [[to_param(v) for v in params] for params in params_batch])
        return max(self.cursor.rowcount, 0)

    async def copy_in(self, statement: sql.Composed, data: bytes) -> int:
        """Run a ``COPY … FROM STDIN`` statement with ``data`` as its input; the rows copied."""
        async with self.cursor.copy(statement) as copy:
            await copy.write(data)
        return max(self.cursor.rowcount, 0)

    async def run(self, statement: Statement, params: Sequence[JSON] = ()) -> QueryResult:
        """Run one statement and return its rows, JSON-ready."""
        await self.execute(statement, params)
        return await result(self.cursor)

    async def rows(self, statement: Statement, params: Sequence[JSON] = ()) -> list[Any]:
        """Run one statement and return its rows as loaded (tuples of Python values)."""
        await self.execute(statement, params)
        return await self.cursor.fetchall()

    async def value(self, statement: Statement, params: Sequence[JSON] = ()) -> Any:
        """The first column of the first row (None without rows)."""
        await self.execute(statement, params)
        row = await self.cursor.fetchone()
        return None if row is None else row[0]


async def result(cur: AsyncRawCursor[Any]) -> QueryResult:
    """The rows a cursor holds (or the rows its statement affected), JSON-ready."""
    if cur.description is None:
        return QueryResult(columns=[], rows=[], row_count=max(cur.rowcount, 0))
    rows = [[to_json(value) for value in row] for row in await cur.fetchall()]
    columns = [column.name for column in cur.description]
    return QueryResult(columns=columns, rows=rows, row_count=len(rows))


class Executor:
    """Transactions of the query role on its pool (see the module docstring)."""

    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[Any]]) -> None:
        self._pool = pool

    @asynccontextmanager
    async def session(
        self, workspace: str, *, read_only: bool, timeout_ms: int = DEFAULT_TIMEOUT_MS
    ) -> AsyncIterator[Session]:
        """A transaction in ``workspace``; NotFound if it does not exist, PostgreSQL's errors as QueryError."""
        timeout = str(min(max(timeout_ms, 1), MAX_TIMEOUT_MS))
        try:
            async with self._pool.connection() as conn:
                await conn.set_read_only(read_only)
                async with conn.transaction():
                    session = Session(conn)
                    search_path = f"{quote_ident(workspace)}, deeplake_compat, pg_temp"
                    if await session.value(_ENTER, [search_path, timeout, workspace]) is None:
                        raise NotFound(f"workspace '{workspace}' not found")
                    yield session
        except psycopg.Error as exc:
            mapped = query_error(exc)
            if mapped is exc:
                raise
            raise mapped from exc


def query_error(exc: psycopg.Error) -> Exception:
    """A statement's error as QueryError (PostgreSQL's message); the server's own failures stay as they are."""
    state = exc.sqlstate
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
