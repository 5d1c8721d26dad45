"""Table routes: list, describe, create (from a schema or an uploaded file) and drop, as the query role.

Every statement here is composed from quoted identifiers (psycopg's ``sql`` module) and runs through
the executor like a request's own SQL: the tables belong to the query role, which needs no more.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

import psycopg
from psycopg import sql

from ._errors import Conflict, InvalidRequest, NotFound, QueryError
from ._executor import Executor, Session
from ._sqlcompat import column_definition
from ._upload import parse_upload

__all__ = ["Column", "TableDetail", "TableSummary", "Tables"]

UPLOAD_TIMEOUT_MS = 300_000
_TABLES = b"""
    SELECT c.relname, round(pg_total_relation_size(c.oid) / 1048576.0, 3)::float8
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND ($2::name IS NULL OR c.relname = $2::name)
    ORDER BY c.relname
"""
_COLUMNS = b"""
    SELECT column_name, udt_name, is_nullable = 'YES', column_default
    FROM information_schema.columns
    WHERE table_schema = $1 AND table_name = $2
    ORDER BY ordinal_position
"""


class TableSummary(TypedDict):
    table_name: str
    row_count: int
    size_mb: float


class Column(TypedDict):
    name: str
    type: str
    nullable: bool
    default: str | None


class TableDetail(TypedDict):
    table_name: str
    columns: list[Column]
    row_count: int
    size_mb: float


class Tables:
    """The table routes of one database (see the module docstring)."""

    def __init__(self, executor: Executor) -> None:
        self._executor = executor

    async def list(self, workspace: str) -> list[TableSummary]:
        async with self._executor.session(workspace, read_only=True) as session:
            return await _summaries(session, workspace, None)

    async def describe(self, workspace: str, table: str) -> TableDetail:
        _check_name("table", table)
        async with self._executor.session(workspace, read_only=True) as session:
            return await _describe(session, workspace, table)

    async def create(self, workspace: str, table: str, schema: Sequence[tuple[str, str]]) -> TableDetail:
        """`CREATE TABLE … USING deeplake` with these (column, SQL type) in order; Conflict if it exists."""
        _check_name("table", table)
        columns = sql.SQL(", ").join(
            sql.SQL(column_definition(_check_name("column", name), column_type)) for name, column_type in schema
        )
        async with self._executor.session(workspace, read_only=False) as session:
            await _create(session, workspace, table, columns)
            return await _describe(session, workspace, table)

    async def upload(self, workspace: str, table: str, filename: str, data: bytes) -> TableDetail:
        """Create a table from a CSV or JSON file, inferring its schema; rows load in the same transaction."""
        _check_name("table", table)
        parsed = parse_upload(filename, data)
        columns = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(column_type)) for name, column_type in parsed.columns
        )
        copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(workspace, table), sql.SQL(", ").join(sql.Identifier(name) for name, _ in parsed.columns)
        )
        async with self._executor.session(workspace, read_only=False, timeout_ms=UPLOAD_TIMEOUT_MS) as session:
            await _create(session, workspace, table, columns)
            try:
                async with session.cursor.copy(copy) as loader:
                    for row in parsed.rows:
                        await loader.write_row(row)
            except psycopg.Error as exc:
                where = f" ({exc.diag.context.strip()})" if exc.diag.context else ""
                raise QueryError(f"could not load {filename!r}: {exc.diag.message_primary or exc}{where}") from exc
            return await _describe(session, workspace, table)

    async def drop(self, workspace: str, table: str) -> None:
        _check_name("table", table)
        async with self._executor.session(workspace, read_only=False) as session:
            await _find(session, workspace, table)
            await session.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(workspace, table)))


async def _summaries(session: Session, workspace: str, table: str | None) -> list[TableSummary]:
    """Tables with their exact row counts (one count query for all of them)."""
    listed = await session.rows(_TABLES, [workspace, table])
    if not listed:
        return []
    counts = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {}, count(*) FROM {}").format(sql.Literal(i), sql.Identifier(workspace, name))
        for i, (name, _) in enumerate(listed)
    )
    by_position = dict(await session.rows(counts))
    return [
        TableSummary(table_name=name, row_count=by_position[i], size_mb=size) for i, (name, size) in enumerate(listed)
    ]


async def _find(session: Session, workspace: str, table: str) -> TableSummary:
    found = await _summaries(session, workspace, table)
    if not found:
        raise NotFound(f"table '{table}' not found in workspace '{workspace}'")
    return found[0]


async def _describe(session: Session, workspace: str, table: str) -> TableDetail:
    summary = await _find(session, workspace, table)
    columns = [
        Column(name=name, type=udt, nullable=nullable, default=default)
        for name, udt, nullable, default in await session.rows(_COLUMNS, [workspace, table])
    ]
    return TableDetail(
        table_name=summary["table_name"], columns=columns, row_count=summary["row_count"], size_mb=summary["size_mb"]
    )


async def _create(session: Session, workspace: str, table: str, columns: sql.Composable) -> None:
    statement = sql.SQL("CREATE TABLE {} ({}) USING deeplake").format(sql.Identifier(workspace, table), columns)
    try:
        async with session.conn.transaction():  # a savepoint, so that a duplicate is told apart from other errors
            await session.execute(statement)
    except psycopg.errors.DuplicateTable as exc:
        raise Conflict(f"table '{workspace}.{table}' already exists") from exc


def _check_name(kind: str, name: str) -> str:
    if not name or "\x00" in name or len(name.encode()) > 63:
        raise InvalidRequest(f"invalid {kind} name {name!r}: use 1-63 bytes, no NUL characters")
    return name
