"""LocalBackend: a PostgreSQL server set up as a Deep Lake database, with the parts the routes use.

Two roles, two pools. The admin role (a superuser) bootstraps the database and keeps the bookkeeping
(``catalog``); it never runs a request's SQL or touches a workspace's tables. The query role (never a
superuser) owns the workspace schemas and runs everything else (``tables``, ``query``,
``query_batch``): each statement is compiled first (``_compile``) and runs in its own transaction,
read-only when the caller says it reads (``_executor``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import AsyncConnection, sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool

from deeplake_mcp.identifiers import qualified

from ._bootstrap import bootstrap
from ._catalog import Catalog
from ._compile import compile_sql
from ._errors import Conflict, InvalidRequest
from ._executor import DEFAULT_TIMEOUT_MS, PLANNED_PER_CALL, Executor, QueryResult, open_pool
from ._indexes import EF_SEARCH, Indexes
from ._postgres import EmbeddedPostgres, Endpoints, PostgresSetupError, external_endpoints
from ._tables import Tables
from ._values import JSON

_COLUMN_TYPES = (
    "SELECT attname, atttypid::int FROM pg_catalog.pg_attribute "
    "WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped"
)

__all__ = ["LocalBackend"]

# Settings a query-role connection starts with; being client settings they outrank any the role gave
# itself (ALTER ROLE … SET), and RESET ALL (each transaction's clean-up) returns to them. hnsw.ef_search is what
# a search of the agent's own pgvector index gets too (pgvector's default, 40, trades recall for speed).
_QUERY_OPTIONS = (
    "-c statement_timeout=600000 -c idle_in_transaction_session_timeout=600000 -c lock_timeout=600000 "
    f"-c default_transaction_read_only=off -c search_path=pg_temp -c hnsw.ef_search={EF_SEARCH}"
)
_ADMIN_OPTIONS = "-c search_path=pg_catalog,pg_temp"


class LocalBackend:
    """A Deep Lake database on the embedded server of ``data_dir``, or on an operator's own server.

    Use as ``async with LocalBackend(data_dir) as backend:``. With ``postgres_url`` (the query role)
    and ``postgres_admin_url`` (a superuser) it uses that server instead of starting one. Other
    processes may open the same data directory at once; its server stops when the last one exits.
    """

    def __init__(
        self, data_dir: Path, *, postgres_url: str | None = None, postgres_admin_url: str | None = None
    ) -> None:
        self.data_dir = Path(data_dir)
        self._external = (postgres_url, postgres_admin_url) if postgres_url or postgres_admin_url else None
        self._server: EmbeddedPostgres | None = None
        self._pools: list[AsyncConnectionPool[AsyncConnection[Any]]] = []
        self._created_at: datetime | None = None
        self._parts: tuple[Catalog, Tables, Indexes, Executor] | None = None

    async def __aenter__(self) -> LocalBackend:
        endpoints = await self._start_server()
        try:
            admin = open_pool(endpoints.admin, name="admin", max_size=4, options=_ADMIN_OPTIONS)
            query = open_pool(endpoints.query, name="query", max_size=8, options=_QUERY_OPTIONS, reset=False)
            self._pools = [admin, query]
            await admin.open(wait=True)
            async with admin.connection() as conn:
                self._created_at = await bootstrap(conn, endpoints.query_role, embedded=self._server is not None)
            await query.open(wait=True)
        except BaseException:
            await self.__aexit__()
            raise
        executor = Executor(query)
        catalog = Catalog(admin, endpoints.query_role)
        self._parts = (catalog, Tables(executor), Indexes(catalog, executor), executor)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        parts, self._parts = self._parts, None
        if parts is not None:
            await parts[2].aclose()
        pools, self._pools = self._pools, []
        for pool in pools:
            await pool.close()
        server, self._server = self._server, None
        if server is not None:
            await asyncio.to_thread(server.close)

    async def _start_server(self) -> Endpoints:
        if self._external is not None:
            query_url, admin_url = self._external
            if not (query_url and admin_url):
                raise PostgresSetupError(
                    "set both DEEPLAKE_MCP_POSTGRES_URL (the role agents' SQL runs as) and "
                    "DEEPLAKE_MCP_POSTGRES_ADMIN_URL (a superuser for set-up and bookkeeping)"
                )
            endpoints = external_endpoints(query_url, admin_url)
            for conninfo, name in ((endpoints.admin, "ADMIN_URL"), (endpoints.query, "URL")):
                await _probe(conninfo, f"DEEPLAKE_MCP_POSTGRES_{name}")
            return endpoints
        server = EmbeddedPostgres(self.data_dir)
        endpoints = await asyncio.to_thread(server.open)
        self._server = server
        return endpoints

    @property
    def ready(self) -> bool:
        """Whether the backend is open."""
        return self._parts is not None

    @property
    def created_at(self) -> datetime:
        """When this database was set up (the `default` workspace's creation time)."""
        if self._created_at is None:
            raise RuntimeError("LocalBackend is not open; use `async with LocalBackend(...)`")
        return self._created_at

    @property
    def catalog(self) -> Catalog:
        """Organizations, members, workspaces (bookkeeping, as the admin role)."""
        return self._open()[0]

    @property
    def tables(self) -> Tables:
        """The table routes (as the query role)."""
        return self._open()[1]

    async def query(
        self,
        workspace: str,
        query: str,
        params: Sequence[JSON] = (),
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        *,
        read_only: bool = False,
    ) -> QueryResult:
        """Run one statement in its own transaction (READ ONLY when ``read_only``), with `$n` params."""
        _, _, indexes, executor = self._open()
        plan = compile_sql(query, params)
        try:
            if plan.index is not None:
                return await indexes.create(workspace, plan, timeout_ms)
            if plan.search is not None:
                return await indexes.search(workspace, plan, read_only=read_only, timeout_ms=timeout_ms)
            statement = [(plan.sql, plan.bound_params())]
            settings = PLANNED_PER_CALL if plan.has_vector_params else None
            found = await executor.run(
                workspace, statement, read_only=read_only, timeout_ms=timeout_ms, settings=settings
            )
            return found[0]
        finally:
            if not read_only:  # it may have changed tables or indexes
                indexes.forget()

    async def query_batch(
        self,
        workspace: str,
        query: str,
        params_batch: Sequence[Sequence[JSON]],
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        *,
        read_only: bool = False,
    ) -> int:
        """Run one statement per params list, all in one transaction; return the rows affected."""
        first = list(params_batch[0]) if params_batch else []
        plan = compile_sql(query, first)
        if plan.index is not None:
            raise InvalidRequest("CREATE INDEX … USING deeplake_index cannot run in a batch; send it to /tables/query")
        lifted = plan.params[len(first) :]  # query vectors the compiler moved out of the text
        executor = self._open()[3]
        async with executor.session(workspace, read_only=read_only, timeout_ms=timeout_ms) as session:
            return await session.executemany(plan.sql, [[*params, *lifted] for params in params_batch])

    async def copy_rows(
        self,
        workspace: str,
        table: str,
        columns: dict[str, int],
        data: bytes,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        *,
        read_only: bool = False,
    ) -> int:
        """Write a binary COPY stream into ``workspace.table`` in one transaction; the rows written.

        ``columns`` maps each column of the stream, in order, to the type OID its values are encoded
        for; Conflict when the table's columns (checked under lock, so no ALTER can slip in) differ.
        """
        target = sql.Identifier(workspace, table)
        names = sql.SQL(", ").join(map(sql.Identifier, columns))
        executor = self._open()[3]
        lock = sql.SQL("LOCK TABLE {} IN ROW EXCLUSIVE MODE").format(target)
        async with executor.session(workspace, read_only=read_only, timeout_ms=timeout_ms, first=lock) as session:
            found = dict(await session.rows(_COLUMN_TYPES, [qualified(workspace, table)]))
            changed = [name for name, oid in columns.items() if found.get(name) != oid]
            if changed:
                raise Conflict(f"columns {changed} of {table!r} do not have the types the rows were encoded for")
            return await session.copy_in(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(target, names), data)

    def _open(self) -> tuple[Catalog, Tables, Indexes, Executor]:
        if self._parts is None:
            raise RuntimeError("LocalBackend is not open; use `async with LocalBackend(...)`")
        return self._parts


async def _probe(conninfo: str, setting: str) -> None:
    """Connect once, so that a wrong address or password is one clear error instead of a pool timeout."""
    try:
        conn = await psycopg.AsyncConnection.connect(conninfo, connect_timeout=10)
    except psycopg.OperationalError as exc:
        where = conninfo_to_dict(conninfo)
        target = f"{where.get('user')}@{where.get('host') or 'localhost'}/{where.get('dbname') or ''}"
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise PostgresSetupError(f"cannot connect to {setting} ({target}): {detail}") from None
    await conn.close()
