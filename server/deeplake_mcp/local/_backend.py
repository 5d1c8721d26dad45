"""LocalBackend: embedded PostgreSQL as a Deep Lake database (organizations, workspaces, tables, SQL)."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypedDict

import psycopg
from psycopg import AsyncConnection, AsyncRawCursor, sql
from psycopg_pool import AsyncConnectionPool

from . import _ann
from ._errors import Conflict, InvalidRequest, NotFound, QueryError
from ._postgres import start_postgres
from ._search import rewrite_search
from ._sqlcompat import DeeplakeIndex, column_definition, rewrite_types, translate
from ._upload import parse_upload
from ._values import JSON, result_adapters, to_json, to_param

log = logging.getLogger(__name__)

ORG_ID = "local"
USER_ID = "local-user"
USER_NAME = "Local User"
USER_EMAIL = "local@localhost"
ROLES = ("admin", "member")
COMPAT_SCHEMA = "deeplake_compat"
DEFAULT_TIMEOUT_MS = 60_000
UPLOAD_TIMEOUT_MS = 300_000
MAX_TIMEOUT_MS = 600_000
_ORG_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_ORGANIZATION_COLUMNS = f"SELECT id, name, creator, created_at FROM {COMPAT_SCHEMA}.organizations"
_MEMBER_COLUMNS = f"SELECT user_id, name, email, role FROM {COMPAT_SCHEMA}.members"
_WORKSPACE_ID = re.compile(r"^[a-z_][a-z0-9_-]{0,62}$")
_RESERVED_WORKSPACES = frozenset({"public", "information_schema", COMPAT_SCHEMA})
# SQLSTATEs that mean the server, not the statement, failed: connection (but 08P01, a params count
# mismatch), resources, shutdown (57P; 57014 is a statement timeout), system and internal errors.
_SERVER_FAULTS = ("08", "53", "57P", "58", "XX")
_STATEMENT_FAULTS = ("08P01",)

_ENTER_WORKSPACE = f"""
    SELECT set_config('search_path', format('%%I, {COMPAT_SCHEMA}, pg_catalog', id), true),
           set_config('statement_timeout', %s, true)
    FROM {COMPAT_SCHEMA}.workspaces WHERE id = %s
"""
_TABLES = f"""
    SELECT c.relname, {COMPAT_SCHEMA}.exact_row_count(c.oid),
           round(pg_total_relation_size(c.oid) / 1048576.0, 3)::float8
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = %(workspace)s AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND (%(table)s::name IS NULL OR c.relname = %(table)s::name)
    ORDER BY c.relname
"""
_COLUMNS = """
    SELECT column_name, udt_name, is_nullable = 'YES', column_default
    FROM information_schema.columns
    WHERE table_schema = %s AND table_name = %s
    ORDER BY ordinal_position
"""
_TABLE_ACCESS_METHOD = """
    SELECT n.nspname, c.relname, am.amname
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_am am ON am.oid = c.relam
    WHERE c.oid = to_regclass($1)
"""
# The stand-in is the only index this transaction created, so xmin finds it, named or not.
_RECORD_INDEX = f"""
    INSERT INTO {COMPAT_SCHEMA}.indexes (index_oid, columns, sort_order, index_type, dimension)
    SELECT c.oid, $1, $2, $3, $4
    FROM pg_class c JOIN pg_am am ON am.oid = c.relam
    WHERE c.relkind = 'i' AND am.amname = 'deeplake_index' AND c.xmin = pg_current_xact_id()::xid
    RETURNING index_oid
"""


class Organization(TypedDict):
    id: str
    name: str
    creator: str
    created_at: str


class Member(TypedDict):
    user_id: str
    name: str
    email: str
    role: str


class Workspace(TypedDict):
    id: str
    org_id: str
    name: str
    type: str
    created_at: str


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


class QueryResult(TypedDict):
    columns: list[str]
    rows: list[list[JSON]]
    row_count: int


class LocalBackend:
    """Owns the embedded server handle and a connection pool for `data_dir`.

    Use as `async with LocalBackend(data_dir) as backend:`. Other processes may open the same
    directory at the same time; the server stops when the last of them exits.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self._pool: AsyncConnectionPool[AsyncConnection[Any]] | None = None
        self._created_at: datetime | None = None

    async def __aenter__(self) -> LocalBackend:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        uri = await start_postgres(self.data_dir / "pg")
        pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
            uri,
            min_size=1,
            max_size=8,
            open=False,
            name="deeplake-local",
            kwargs={
                "autocommit": True,
                "prepare_threshold": None,
                "context": result_adapters(),
                "options": "-c TimeZone=UTC",
                "application_name": "deeplake-mcp-local",
            },
            reset=_discard_session_state,
        )
        await pool.open(wait=True)
        try:
            self._created_at = await _bootstrap(pool)
        except BaseException:
            await pool.close()
            raise
        self._pool = pool
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @property
    def ready(self) -> bool:
        """Whether the backend is open."""
        return self._pool is not None

    @property
    def created_at(self) -> datetime:
        """When this data directory was set up (the `default` workspace's creation time)."""
        if self._created_at is None:
            raise RuntimeError("LocalBackend is not open; use `async with LocalBackend(...)`")
        return self._created_at

    # Organizations and members (bookkeeping only: workspaces belong to no organization)

    async def list_organizations(self) -> list[Organization]:
        """Every organization, the built-in `local` first."""
        async with self._connection() as conn:
            cur = await conn.execute(f"{_ORGANIZATION_COLUMNS} ORDER BY id <> %s, created_at, id", (ORG_ID,))
            return [_organization(*row) for row in await cur.fetchall()]

    async def get_organization(self, org_id: str) -> Organization:
        async with self._connection() as conn:
            return await _find_organization(conn, org_id)

    async def create_organization(self, org_id: str, name: str) -> Organization:
        """Create an organization with the local user as its admin; Conflict if the id is taken."""
        if not _ORG_ID.match(org_id):
            raise InvalidRequest(
                f"invalid organization ID '{org_id}': use 1-128 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        try:
            async with self._connection() as conn, conn.transaction():
                cur = await conn.execute(
                    f"INSERT INTO {COMPAT_SCHEMA}.organizations (id, name, creator) VALUES (%s, %s, %s) "
                    "RETURNING id, name, creator, created_at",
                    (org_id, name, USER_ID),
                )
                row = await cur.fetchone()
                await conn.execute(
                    f"INSERT INTO {COMPAT_SCHEMA}.members (org_id, user_id, name, email, role) "
                    "VALUES (%s, %s, %s, %s, 'admin')",
                    (org_id, USER_ID, USER_NAME, USER_EMAIL),
                )
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(f"organization '{org_id}' already exists") from exc
        assert row is not None
        return _organization(*row)

    async def update_organization(self, org_id: str, name: str | None) -> Organization:
        async with self._connection() as conn:
            if name is None:
                return await _find_organization(conn, org_id)
            cur = await conn.execute(
                f"UPDATE {COMPAT_SCHEMA}.organizations SET name = %s WHERE id = %s "
                "RETURNING id, name, creator, created_at",
                (name, org_id),
            )
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"organization '{org_id}' not found")
        return _organization(*row)

    async def delete_organization(self, org_id: str) -> None:
        """Delete it and its members (the built-in `local` comes back at the next start)."""
        async with self._connection() as conn:
            cur = await conn.execute(f"DELETE FROM {COMPAT_SCHEMA}.organizations WHERE id = %s", (org_id,))
        if cur.rowcount == 0:
            raise NotFound(f"organization '{org_id}' not found")

    async def list_members(self, org_id: str) -> list[Member]:
        async with self._connection() as conn:
            await _find_organization(conn, org_id)
            cur = await conn.execute(f"{_MEMBER_COLUMNS} WHERE org_id = %s ORDER BY created_at, user_id", (org_id,))
            return [_member(*row) for row in await cur.fetchall()]

    async def invite_member(self, org_id: str, email: str, role: str) -> Member:
        """Add a member (at once: there is no invitation to accept); Conflict if the email is a member."""
        if not _EMAIL.match(email):
            raise InvalidRequest(f"email '{email}' is not an email address")
        _check_role(role)
        try:
            async with self._connection() as conn, conn.transaction():
                await _find_organization(conn, org_id)
                cur = await conn.execute(
                    f"INSERT INTO {COMPAT_SCHEMA}.members (org_id, user_id, name, email, role) "
                    "VALUES (%s, %s, %s, %s, %s) RETURNING user_id, name, email, role",
                    (org_id, str(uuid.uuid4()), email.split("@")[0], email, role),
                )
                row = await cur.fetchone()
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(f"'{email}' is already a member of organization '{org_id}'") from exc
        assert row is not None
        return _member(*row)

    async def update_member_role(self, org_id: str, user_id: str, role: str) -> Member:
        _check_role(role)
        async with self._connection() as conn:
            await _find_organization(conn, org_id)
            cur = await conn.execute(
                f"UPDATE {COMPAT_SCHEMA}.members SET role = %s WHERE org_id = %s AND user_id = %s "
                "RETURNING user_id, name, email, role",
                (role, org_id, user_id),
            )
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"user '{user_id}' is not a member of organization '{org_id}'")
        return _member(*row)

    async def remove_member(self, org_id: str, user_id: str) -> None:
        async with self._connection() as conn:
            await _find_organization(conn, org_id)
            cur = await conn.execute(
                f"DELETE FROM {COMPAT_SCHEMA}.members WHERE org_id = %s AND user_id = %s", (org_id, user_id)
            )
        if cur.rowcount == 0:
            raise NotFound(f"user '{user_id}' is not a member of organization '{org_id}'")

    # Workspaces

    async def list_workspaces(self) -> list[Workspace]:
        async with self._connection() as conn:
            cur = await conn.execute(
                f"SELECT id, name, created_at FROM {COMPAT_SCHEMA}.workspaces ORDER BY created_at, id"
            )
            return [_workspace(*row) for row in await cur.fetchall()]

    async def get_workspace(self, workspace_id: str) -> Workspace:
        async with self._connection() as conn:
            cur = await conn.execute(
                f"SELECT id, name, created_at FROM {COMPAT_SCHEMA}.workspaces WHERE id = %s", (workspace_id,)
            )
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"workspace '{workspace_id}' not found")
        return _workspace(*row)

    async def create_workspace(self, workspace_id: str, name: str) -> Workspace:
        """Create the workspace (a schema); InvalidRequest for a bad id, Conflict if it exists."""
        if not _WORKSPACE_ID.match(workspace_id) or (
            workspace_id in _RESERVED_WORKSPACES or workspace_id.startswith("pg_")
        ):
            raise InvalidRequest(
                f"invalid workspace ID '{workspace_id}': use 1-63 lowercase letters, digits, '_' or '-', "
                "starting with a letter or '_'; public, information_schema, pg_* and "
                f"{COMPAT_SCHEMA} are reserved"
            )
        try:
            async with self._connection() as conn, conn.transaction():
                await conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(workspace_id)))
                cur = await conn.execute(
                    f"INSERT INTO {COMPAT_SCHEMA}.workspaces (id, name) VALUES (%s, %s) RETURNING id, name, created_at",
                    (workspace_id, name),
                )
                row = await cur.fetchone()
        except (psycopg.errors.DuplicateSchema, psycopg.errors.UniqueViolation) as exc:
            raise Conflict(f"workspace '{workspace_id}' already exists") from exc
        assert row is not None
        return _workspace(*row)

    async def update_workspace(self, workspace_id: str, name: str) -> Workspace:
        async with self._connection() as conn:
            cur = await conn.execute(
                f"UPDATE {COMPAT_SCHEMA}.workspaces SET name = %s WHERE id = %s RETURNING id, name, created_at",
                (name, workspace_id),
            )
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"workspace '{workspace_id}' not found")
        return _workspace(*row)

    async def delete_workspace(self, workspace_id: str) -> None:
        """Drop the workspace's schema with all its tables (`default` is recreated at the next start)."""
        async with self._connection() as conn, conn.transaction():
            cur = await conn.execute(
                f"SELECT FROM {COMPAT_SCHEMA}.workspaces WHERE id = %s FOR UPDATE", (workspace_id,)
            )
            if await cur.fetchone() is None:
                raise NotFound(f"workspace '{workspace_id}' not found")
            await conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(workspace_id)))
            await conn.execute(f"DELETE FROM {COMPAT_SCHEMA}.workspaces WHERE id = %s", (workspace_id,))

    # Tables

    async def list_tables(self, workspace_id: str) -> list[TableSummary]:
        async with self._in_workspace(workspace_id) as conn:
            cur = await conn.execute(_TABLES, {"workspace": workspace_id, "table": None})
            return [_table_summary(*row) for row in await cur.fetchall()]

    async def describe_table(self, workspace_id: str, table: str) -> TableDetail:
        async with self._in_workspace(workspace_id) as conn:
            return await _describe(conn, workspace_id, table)

    async def create_table(self, workspace_id: str, table: str, schema: Sequence[tuple[str, str]]) -> TableDetail:
        """`CREATE TABLE … USING deeplake` with these (column, SQL type) in order; Conflict if it exists."""
        _check_table_name(table)
        columns = sql.SQL(", ").join(
            sql.SQL(column_definition(_checked_column(name), column_type)) for name, column_type in schema
        )
        async with self._in_workspace(workspace_id) as conn:
            await _create_table(conn, workspace_id, table, columns)
            return await _describe(conn, workspace_id, table)

    async def upload_table(self, workspace_id: str, table: str, filename: str, data: bytes) -> TableDetail:
        """Create a table from a CSV or JSON file, inferring its schema; rows load in the same transaction."""
        _check_table_name(table)
        parsed = parse_upload(filename, data)
        columns = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(column_type)) for name, column_type in parsed.columns
        )
        copy = sql.SQL("COPY {}.{} ({}) FROM STDIN").format(
            sql.Identifier(workspace_id),
            sql.Identifier(table),
            sql.SQL(", ").join(sql.Identifier(name) for name, _ in parsed.columns),
        )
        async with self._in_workspace(workspace_id, UPLOAD_TIMEOUT_MS) as conn:
            await _create_table(conn, workspace_id, table, columns)
            try:
                async with conn.cursor() as cur, cur.copy(copy) as loader:
                    for row in parsed.rows:
                        await loader.write_row(row)
            except psycopg.Error as exc:
                where = f" ({exc.diag.context.strip()})" if exc.diag.context else ""
                raise QueryError(f"could not load {filename!r}: {exc.diag.message_primary or exc}{where}") from exc
            return await _describe(conn, workspace_id, table)

    async def drop_table(self, workspace_id: str, table: str) -> None:
        async with self._in_workspace(workspace_id) as conn:
            await _find_table(conn, workspace_id, table)
            await conn.execute(sql.SQL("DROP TABLE {}.{}").format(sql.Identifier(workspace_id), sql.Identifier(table)))

    # SQL

    async def query(
        self,
        workspace_id: str,
        query: str,
        params: Sequence[JSON] = (),
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
    ) -> QueryResult:
        """Run one statement in its own transaction, with `$n` params; rows come back JSON-ready.

        A ranking SELECT on a column with a vector deeplake_index goes through its HNSW index (_ann.py).
        """
        index = translate(query)
        args = [to_param(value) for value in params]
        search = None
        if index is None:
            query = _rewrite(query, params)
            search = _ann.plan_search(query, params)
        if search is not None:
            return await self._vector_search(workspace_id, query, search, args, timeout_ms)
        async with self._in_workspace(workspace_id, timeout_ms) as conn:
            cur = AsyncRawCursor(conn)
            if index is not None:
                await _create_deeplake_index(cur, index, args, _build_timeout(timeout_ms))
                return QueryResult(columns=[], rows=[], row_count=0)
            await cur.execute(query.encode(), args)
            return await _result(cur)

    async def _vector_search(
        self, workspace_id: str, query: str, search: _ann.VectorSearch, args: list[str | None], timeout_ms: int
    ) -> QueryResult:
        """Run a ranking SELECT through the column's vector index, building it first if it is pending."""
        async with self._in_workspace(workspace_id, timeout_ms) as conn:
            cur = AsyncRawCursor(conn)
            target = await _ann.lookup(cur, search)
            if target is None or target.status != "pending":
                await _ann.run(cur, query, search, target, args)
                return await _result(cur)
        # Its own transaction, so that the index stays built whatever becomes of the search.
        async with self._in_workspace(workspace_id, _build_timeout(timeout_ms)) as conn:
            await _ann.build(AsyncRawCursor(conn), target.index_oid)
        async with self._in_workspace(workspace_id, timeout_ms) as conn:
            cur = AsyncRawCursor(conn)
            await _ann.run(cur, query, search, await _ann.lookup(cur, search), args)
            return await _result(cur)

    async def query_batch(
        self,
        workspace_id: str,
        query: str,
        params_batch: Sequence[Sequence[JSON]],
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
    ) -> int:
        """Run one statement per params list, all in one transaction; return the rows affected."""
        if translate(query) is not None:
            raise InvalidRequest("CREATE INDEX … USING deeplake_index cannot run in a batch; send it to /tables/query")
        batch = [[to_param(value) for value in params] for params in params_batch]
        query = _rewrite(query, params_batch[0] if params_batch else ())
        async with self._in_workspace(workspace_id, timeout_ms) as conn:
            cur = AsyncRawCursor(conn)
            await cur.executemany(query.encode(), batch)
            return max(cur.rowcount, 0)

    # Connections

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConnection[Any]]:
        if self._pool is None:
            raise RuntimeError("LocalBackend is not open; use `async with LocalBackend(...)`")
        async with self._pool.connection() as conn:
            yield conn

    @asynccontextmanager
    async def _in_workspace(
        self, workspace_id: str, timeout_ms: int = DEFAULT_TIMEOUT_MS
    ) -> AsyncIterator[AsyncConnection[Any]]:
        """A transaction that resolves unqualified names in the workspace, then in the compat schema.

        NotFound if the workspace does not exist; PostgreSQL's errors become QueryError.
        """
        timeout = str(min(max(timeout_ms, 1), MAX_TIMEOUT_MS))
        try:
            async with self._connection() as conn, conn.transaction():
                cur = await conn.execute(_ENTER_WORKSPACE, (timeout, workspace_id))
                if await cur.fetchone() is None:
                    raise NotFound(f"workspace '{workspace_id}' not found")
                yield conn
        except psycopg.Error as exc:
            state = exc.sqlstate
            if state is None or (state.startswith(_SERVER_FAULTS) and state not in _STATEMENT_FAULTS):
                raise
            raise QueryError(exc.diag.message_primary or str(exc)) from exc


async def _result(cur: AsyncRawCursor[Any]) -> QueryResult:
    if cur.description is None:
        return QueryResult(columns=[], rows=[], row_count=max(cur.rowcount, 0))
    rows = [[to_json(value) for value in row] for row in await cur.fetchall()]
    columns = [column.name for column in cur.description]
    return QueryResult(columns=columns, rows=rows, row_count=len(rows))


def _build_timeout(timeout_ms: int) -> int:
    """Statement timeout for building an HNSW index: at least the upload one (a build takes a while)."""
    return min(max(timeout_ms, UPLOAD_TIMEOUT_MS), MAX_TIMEOUT_MS)


def _rewrite(query: str, params: Sequence[JSON]) -> str:
    """The statement PostgreSQL runs for `query`: EMBEDDING(n) types and text/hybrid `<#>` rewritten.

    A statement the rewrite cannot handle (a pglast rendering gap) runs as written.
    """
    try:
        typed = rewrite_types(query) or query
        return rewrite_search(typed, params) or typed
    except Exception:  # the rewrite is an improvement, never a reason to fail
        log.warning("could not rewrite a statement for the local API; running it as written", exc_info=True)
        return query


async def _bootstrap(pool: AsyncConnectionPool[AsyncConnection[Any]]) -> datetime:
    """Create the compat objects and the default workspace; return the setup time."""
    script = Path(__file__).with_name("bootstrap.sql").read_bytes()
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(script)
        cur = await conn.execute(f"SELECT created_at FROM {COMPAT_SCHEMA}.workspaces WHERE id = 'default'")
        row = await cur.fetchone()
    assert row is not None
    created_at: datetime = row[0]
    return created_at


async def _discard_session_state(conn: AsyncConnection[Any]) -> None:
    """Undo session-level changes a query made (SET, temp tables, locks) before reuse."""
    await conn.execute("DISCARD ALL")


async def _find_table(conn: AsyncConnection[Any], workspace_id: str, table: str) -> TableSummary:
    cur = await conn.execute(_TABLES, {"workspace": workspace_id, "table": table})
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"table '{table}' not found in workspace '{workspace_id}'")
    return _table_summary(*row)


async def _describe(conn: AsyncConnection[Any], workspace_id: str, table: str) -> TableDetail:
    summary = await _find_table(conn, workspace_id, table)
    cur = await conn.execute(_COLUMNS, (workspace_id, table))
    columns = [
        Column(name=name, type=udt, nullable=nullable, default=default)
        for name, udt, nullable, default in await cur.fetchall()
    ]
    return TableDetail(
        table_name=summary["table_name"],
        columns=columns,
        row_count=summary["row_count"],
        size_mb=summary["size_mb"],
    )


async def _create_table(conn: AsyncConnection[Any], workspace_id: str, table: str, columns: sql.Composable) -> None:
    statement = sql.SQL("CREATE TABLE {}.{} ({}) USING deeplake").format(
        sql.Identifier(workspace_id), sql.Identifier(table), columns
    )
    try:
        async with conn.transaction():  # a savepoint, so that a duplicate is told apart from other errors
            await conn.execute(statement)
    except psycopg.errors.DuplicateTable as exc:
        raise Conflict(f"table '{workspace_id}.{table}' already exists") from exc


def _check_table_name(table: str) -> None:
    if not table or "\x00" in table or len(table.encode()) > 63:
        raise InvalidRequest(f"invalid table name {table!r}: use 1-63 bytes, no NUL characters")


def _checked_column(name: str) -> str:
    if not name or "\x00" in name or len(name.encode()) > 63:
        raise InvalidRequest(f"invalid column name {name!r}: use 1-63 bytes, no NUL characters")
    return name


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidRequest(f"role must be 'admin' or 'member', not {role!r}")


async def _find_organization(conn: AsyncConnection[Any], org_id: str) -> Organization:
    cur = await conn.execute(f"{_ORGANIZATION_COLUMNS} WHERE id = %s", (org_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"organization '{org_id}' not found")
    return _organization(*row)


def _organization(org_id: str, name: str, creator: str, created_at: datetime) -> Organization:
    return Organization(id=org_id, name=name, creator=creator, created_at=created_at.isoformat())


def _member(user_id: str, name: str, email: str, role: str) -> Member:
    return Member(user_id=user_id, name=name, email=email, role=role)


async def _create_deeplake_index(
    cur: AsyncRawCursor[Any], index: DeeplakeIndex, args: list[str | None], build_timeout_ms: int
) -> None:
    """Create the stand-in index, record its Deep Lake options and, for a vector index, build its HNSW index."""
    await cur.execute(_TABLE_ACCESS_METHOD, [index.table])
    table = await cur.fetchone()
    if table is not None and table[2] != "deeplake":
        raise QueryError(f"Table '{table[0]}.{table[1]}' does not have DeepLake access method, can't create index.")
    await cur.execute(index.standin_sql.encode(), args)
    dimension = None if index.dimension is None else str(index.dimension)
    await cur.execute(_RECORD_INDEX, [to_param(list(index.columns)), index.order, index.index_type, dimension])
    recorded = await cur.fetchone()
    if recorded is not None:  # None: IF NOT EXISTS found the index
        await _ann.attach(cur, int(recorded[0]), build_timeout_ms)


def _workspace(workspace_id: str, name: str, created_at: datetime) -> Workspace:
    return Workspace(id=workspace_id, org_id=ORG_ID, name=name, type="local", created_at=created_at.isoformat())


def _table_summary(name: str, row_count: int, size_mb: float) -> TableSummary:
    return TableSummary(table_name=name, row_count=row_count, size_mb=size_mb)
