"""The local API's bookkeeping, kept by the admin role in the internal schema.

Organizations and their members (workspaces belong to none), workspaces (each a schema that the
query role owns, plus a display name and creation time), and the Deep Lake options of deeplake_index
stand-ins with the state of their vector companions. Nothing here runs a request's SQL or touches a
workspace's tables; it reads PostgreSQL's catalogs and writes only the internal tables.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

import psycopg
from psycopg import AsyncConnection, sql
from psycopg_pool import AsyncConnectionPool

from ._ann import Form, Metric
from ._errors import Conflict, InvalidRequest, NotFound
from ._sqlcompat import VECTOR_INDEX_TYPES

__all__ = [
    "ORG_ID",
    "QUANTIZED_INDEX_TYPES",
    "USER_EMAIL",
    "USER_ID",
    "USER_NAME",
    "Catalog",
    "Member",
    "Organization",
    "VectorIndex",
    "Workspace",
]

ORG_ID = "local"
USER_ID = "local-user"
USER_NAME = "Local User"
USER_EMAIL = "local@localhost"
ROLES = ("admin", "member")
INTERNAL_SCHEMA = "deeplake_internal"
_REBUILD_LOCK = 0x646C7262  # "dlrb", with the index's oid: one rebuild of its companions at a time
_ORG_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_ORGANIZATION_COLUMNS = f"SELECT id, name, creator, created_at FROM {INTERNAL_SCHEMA}.organizations"
_MEMBER_COLUMNS = f"SELECT user_id, name, email, role FROM {INTERNAL_SCHEMA}.members"
_WORKSPACE_ID = re.compile(r"^[a-z_][a-z0-9_-]{0,62}$")
_RESERVED = frozenset({"public", "information_schema"})
_PREFIXES = ("pg_", "deeplake_")
QUANTIZED_INDEX_TYPES = frozenset(VECTOR_INDEX_TYPES) - {"clustered"}
"""Index types that trade the last digits of precision for a smaller, faster index (see _ann.Form)."""
# A stand-in on exactly one column whose type is float4[] (or a domain over it, e.g. `embedding`).
_VECTOR_COLUMN = """
    SELECT FROM pg_index i
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
    JOIN pg_type ty ON ty.oid = a.atttypid
    WHERE i.indexrelid = %s AND i.indnatts = 1 AND i.indkey[0] <> 0
      AND coalesce(nullif(ty.typbasetype, 0), ty.oid) = 'real[]'::regtype
"""
# What a companion indexes (see Form): unit halfvec when its expression normalizes, else its operator class's type.
_FORM = """(
    SELECT CASE WHEN position('l2_normalize(' IN pg_get_expr(ci.indexprs, ci.indrelid)) > 0 THEN 'unit halfvec'
                ELSE ty.typname::text END
    FROM pg_index ci JOIN pg_opclass o ON o.oid = ci.indclass[0] JOIN pg_type ty ON ty.oid = o.opcintype
    WHERE ci.indexrelid = x.{}
)"""
# The ef_construction a companion was built with (NULL: pgvector's default, or no companion).
_EF_CONSTRUCTION = """(
    SELECT o.option_value::int FROM pg_class ci, pg_options_to_table(ci.reloptions) o
    WHERE ci.oid = x.{} AND o.option_name = 'ef_construction'
)"""


def _companion(oid: str, error: str) -> str:
    """A companion's columns (see Companion): its status, oid, form and ef_construction."""
    status = f"CASE WHEN x.{oid} IS NOT NULL THEN 'ready' WHEN x.{error} IS NOT NULL THEN 'failed' ELSE 'pending' END"
    return f"{status}, x.{oid}, {_FORM.format(oid)}, {_EF_CONSTRUCTION.format(oid)}"


_VECTOR_INDEXES = f"""
    SELECT x.index_oid, c.relname, n.nspname, t.relname, a.attname, x.dimension, d.index_type,
           {_companion("companion_oid", "error")}, {_companion("l2_companion_oid", "l2_error")}
    FROM {INTERNAL_SCHEMA}.ann_indexes x
    LEFT JOIN {INTERNAL_SCHEMA}.indexes d ON d.index_oid = x.index_oid
    JOIN pg_index i ON i.indexrelid = x.index_oid
    JOIN pg_class c ON c.oid = x.index_oid
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
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


@dataclass(frozen=True)
class Companion:
    """The HNSW index a vector index has for one distance (cosine or L2), or its absence."""

    status: str
    """ready (built), pending (not built yet; the L2 one until a search first ranks by `<->`) or failed (searches
    by that distance stay exact)."""
    oid: int | None
    form: Form | None
    """What it indexes, once built (read from the index: older servers built others)."""
    ef_construction: int | None
    """What its graph was built with (None: pgvector's default, or not built)."""


@dataclass(frozen=True)
class VectorIndex:
    """A vector deeplake_index stand-in, where it is, and its HNSW companions."""

    index_oid: int
    name: str
    schema: str
    table: str
    column: str
    dimension: int | None
    index_type: str | None
    """Deep Lake's `index_type` option (None: the default, clustered)."""
    cosine: Companion
    l2: Companion

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> VectorIndex:
        """From a row of _VECTOR_INDEXES."""
        index_oid, name, schema, table, column, dimension, index_type = row[:7]
        return cls(
            index_oid, name, schema, table, column, dimension, index_type, Companion(*row[7:11]), Companion(*row[11:15])
        )

    def companion(self, metric: Metric) -> Companion:
        return self.cosine if metric == "cosine" else self.l2


class CompanionBuild:
    """A vector index locked for a companion's build or rebuild; the outcome is recorded when the lock is
    released."""

    def __init__(self, conn: AsyncConnection[Any], index: VectorIndex) -> None:
        self._conn = conn
        self.index = index

    async def has_companion_of(self, dimension: int) -> bool:
        """Whether another index of the same column already has a companion of this dimension."""
        cur = await self._conn.execute(
            f"SELECT FROM {INTERNAL_SCHEMA}.ann_indexes x JOIN pg_index i ON i.indexrelid = x.index_oid "
            f"JOIN pg_index s ON s.indexrelid = %s "
            "WHERE i.indrelid = s.indrelid AND i.indkey[0] = s.indkey[0] AND x.dimension = %s "
            "AND x.companion_oid IS NOT NULL",
            (self.index.index_oid, dimension),
        )
        return await cur.fetchone() is not None

    async def ready(self, dimension: int, companion_oid: int, metric: Metric = "cosine") -> None:
        column = "companion_oid" if metric == "cosine" else "l2_companion_oid"
        await self._record(f"dimension = %s, {column} = %s", (dimension, companion_oid))

    async def failed(self, dimension: int | None, error: str, metric: Metric = "cosine") -> None:
        column = "error" if metric == "cosine" else "l2_error"
        await self._record(f"dimension = %s, {column} = %s", (dimension, error))

    async def replaced(self, metric: Metric, old: int, new: int) -> bool:
        """Record ``new`` as the ``metric`` companion in place of ``old``; False if that is no longer the one
        recorded (dropped meanwhile, with its index or by itself)."""
        column = "companion_oid" if metric == "cosine" else "l2_companion_oid"
        cur = await self._conn.execute(
            f"UPDATE {INTERNAL_SCHEMA}.ann_indexes SET {column} = %s WHERE index_oid = %s AND {column} = %s",
            (new, self.index.index_oid, old),
        )
        return cur.rowcount == 1

    async def _record(self, assignments: str, values: tuple[object, ...]) -> None:
        await self._conn.execute(
            f"UPDATE {INTERNAL_SCHEMA}.ann_indexes SET {assignments} WHERE index_oid = %s",
            (*values, self.index.index_oid),
        )


class Catalog:
    """Bookkeeping on the admin role's pool (see the module docstring)."""

    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[Any]], query_role: str) -> None:
        self._pool = pool
        self.query_role = query_role

    # Organizations and members (bookkeeping only: workspaces belong to no organization)

    async def list_organizations(self) -> list[Organization]:
        """Every organization, the built-in `local` first."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(f"{_ORGANIZATION_COLUMNS} ORDER BY id <> %s, created_at, id", (ORG_ID,))
            return [_organization(*row) for row in await cur.fetchall()]

    async def get_organization(self, org_id: str) -> Organization:
        async with self._pool.connection() as conn:
            return await _find_organization(conn, org_id)

    async def create_organization(self, org_id: str, name: str) -> Organization:
        """Create an organization with the local user as its admin; Conflict if the id is taken."""
        if not _ORG_ID.match(org_id):
            raise InvalidRequest(
                f"invalid organization ID '{org_id}': use 1-128 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        try:
            async with self._pool.connection() as conn, conn.transaction():
                cur = await conn.execute(
                    f"INSERT INTO {INTERNAL_SCHEMA}.organizations (id, name, creator) VALUES (%s, %s, %s) "
                    "RETURNING id, name, creator, created_at",
                    (org_id, name, USER_ID),
                )
                row = await cur.fetchone()
                await conn.execute(
                    f"INSERT INTO {INTERNAL_SCHEMA}.members (org_id, user_id, name, email, role) "
                    "VALUES (%s, %s, %s, %s, 'admin')",
                    (org_id, USER_ID, USER_NAME, USER_EMAIL),
                )
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(f"organization '{org_id}' already exists") from exc
        assert row is not None
        return _organization(*row)

    async def update_organization(self, org_id: str, name: str | None) -> Organization:
        async with self._pool.connection() as conn:
            if name is None:
                return await _find_organization(conn, org_id)
            cur = await conn.execute(
                f"UPDATE {INTERNAL_SCHEMA}.organizations SET name = %s WHERE id = %s "
                "RETURNING id, name, creator, created_at",
                (name, org_id),
            )
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"organization '{org_id}' not found")
        return _organization(*row)

    async def delete_organization(self, org_id: str) -> None:
        """Delete it and its members (the built-in `local` comes back at the next start)."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(f"DELETE FROM {INTERNAL_SCHEMA}.organizations WHERE id = %s", (org_id,))
        if cur.rowcount == 0:
            raise NotFound(f"organization '{org_id}' not found")

    async def list_members(self, org_id: str) -> list[Member]:
        async with self._pool.connection() as conn:
            await _find_organization(conn, org_id)
            cur = await conn.execute(f"{_MEMBER_COLUMNS} WHERE org_id = %s ORDER BY created_at, user_id", (org_id,))
            return [_member(*row) for row in await cur.fetchall()]

    async def invite_member(self, org_id: str, email: str, role: str) -> Member:
        """Add a member (at once: there is no invitation to accept); Conflict if the email is a member."""
        if not _EMAIL.match(email):
            raise InvalidRequest(f"email '{email}' is not an email address")
        _check_role(role)
        try:
            async with self._pool.connection() as conn, conn.transaction():
                await _find_organization(conn, org_id)
                cur = await conn.execute(
                    f"INSERT INTO {INTERNAL_SCHEMA}.members (org_id, user_id, name, email, role) "
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
        async with self._pool.connection() as conn:
            await _find_organization(conn, org_id)
            cur = await conn.execute(
                f"UPDATE {INTERNAL_SCHEMA}.members SET role = %s WHERE org_id = %s AND user_id = %s "
                "RETURNING user_id, name, email, role",
                (role, org_id, user_id),
            )
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"user '{user_id}' is not a member of organization '{org_id}'")
        return _member(*row)

    async def remove_member(self, org_id: str, user_id: str) -> None:
        async with self._pool.connection() as conn:
            await _find_organization(conn, org_id)
            cur = await conn.execute(
                f"DELETE FROM {INTERNAL_SCHEMA}.members WHERE org_id = %s AND user_id = %s", (org_id, user_id)
            )
        if cur.rowcount == 0:
            raise NotFound(f"user '{user_id}' is not a member of organization '{org_id}'")

    # Workspaces

    async def list_workspaces(self) -> list[Workspace]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT id, name, created_at FROM {INTERNAL_SCHEMA}.workspaces ORDER BY created_at, id"
            )
            return [_workspace(*row) for row in await cur.fetchall()]

    async def get_workspace(self, workspace_id: str) -> Workspace:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT id, name, created_at FROM {INTERNAL_SCHEMA}.workspaces WHERE id = %s", (workspace_id,)
            )
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"workspace '{workspace_id}' not found")
        return _workspace(*row)

    async def create_workspace(self, workspace_id: str, name: str) -> Workspace:
        """Create the workspace (a schema); InvalidRequest for a bad id, Conflict if it exists."""
        if not _WORKSPACE_ID.match(workspace_id) or workspace_id in _RESERVED or workspace_id.startswith(_PREFIXES):
            raise InvalidRequest(
                f"invalid workspace ID '{workspace_id}': use 1-63 lowercase letters, digits, '_' or '-', "
                "starting with a letter or '_'; public, information_schema, pg_* and deeplake_* are reserved"
            )
        try:
            async with self._pool.connection() as conn, conn.transaction():
                await conn.execute(
                    sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(
                        sql.Identifier(workspace_id), sql.Identifier(self.query_role)
                    )
                )
                cur = await conn.execute(
                    f"INSERT INTO {INTERNAL_SCHEMA}.workspaces (id, name) VALUES (%s, %s) "
                    "RETURNING id, name, created_at",
                    (workspace_id, name),
                )
                row = await cur.fetchone()
        except (psycopg.errors.DuplicateSchema, psycopg.errors.UniqueViolation) as exc:
            raise Conflict(f"workspace '{workspace_id}' already exists") from exc
        assert row is not None
        return _workspace(*row)

    async def update_workspace(self, workspace_id: str, name: str) -> Workspace:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"UPDATE {INTERNAL_SCHEMA}.workspaces SET name = %s WHERE id = %s RETURNING id, name, created_at",
                (name, workspace_id),
            )
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"workspace '{workspace_id}' not found")
        return _workspace(*row)

    async def delete_workspace(self, workspace_id: str) -> None:
        """Drop the workspace's schema with all its tables (`default` is recreated at the next start)."""
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                f"SELECT FROM {INTERNAL_SCHEMA}.workspaces WHERE id = %s FOR UPDATE", (workspace_id,)
            )
            if await cur.fetchone() is None:
                raise NotFound(f"workspace '{workspace_id}' not found")
            await conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(workspace_id)))
            await conn.execute(f"DELETE FROM {INTERNAL_SCHEMA}.workspaces WHERE id = %s", (workspace_id,))

    # deeplake_index options and vector companions

    async def record_index(
        self, index_oid: int, columns: list[str], order: str, index_type: str | None, dimension: int | None
    ) -> VectorIndex | None:
        """Record a new stand-in's options; a vector index (one float4[] column) is registered for a companion.

        Returns the vector index, or None when the stand-in indexes anything else.
        """
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute(
                f"INSERT INTO {INTERNAL_SCHEMA}.indexes (index_oid, columns, sort_order, index_type, dimension) "
                "VALUES (%s, %s, %s, %s, %s)",
                (index_oid, columns, order, index_type, dimension),
            )
            if index_type is not None and index_type not in VECTOR_INDEX_TYPES:
                return None
            cur = await conn.execute(_VECTOR_COLUMN, (index_oid,))
            if await cur.fetchone() is None:
                return None
            await conn.execute(
                f"INSERT INTO {INTERNAL_SCHEMA}.ann_indexes (index_oid, dimension) VALUES (%s, %s)",
                (index_oid, dimension),
            )
            cur = await conn.execute(f"{_VECTOR_INDEXES} WHERE x.index_oid = %s", (index_oid,))
            row = await cur.fetchone()
        return None if row is None else VectorIndex.from_row(row)

    async def vector_index(self, schema: str, table: str, column: str) -> VectorIndex | None:
        """The vector index a search of ``schema.table.column`` would use: one with a companion first, else a
        pending one, else a failed one."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"{_VECTOR_INDEXES} WHERE n.nspname = %s AND t.relname = %s AND a.attname = %s "
                "ORDER BY x.companion_oid IS NULL, x.error IS NOT NULL, x.index_oid LIMIT 1",
                (schema, table, column),
            )
            row = await cur.fetchone()
        return None if row is None else VectorIndex.from_row(row)

    @asynccontextmanager
    async def building(self, index_oid: int) -> AsyncIterator[CompanionBuild | None]:
        """The vector index, locked for building its companion until the block ends (None if it is gone, or if
        another build holds it)."""
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                f"{_VECTOR_INDEXES} WHERE x.index_oid = %s FOR UPDATE OF x SKIP LOCKED", (index_oid,)
            )
            row = await cur.fetchone()
            yield None if row is None else CompanionBuild(conn, VectorIndex.from_row(row))

    @asynccontextmanager
    async def rebuilding(self, index_oid: int) -> AsyncIterator[CompanionBuild | None]:
        """The vector index, locked for rebuilding a companion until the block ends (None if it is gone, or if
        another rebuild holds it). The lock is an advisory one held by the session outside any transaction:
        CREATE INDEX CONCURRENTLY waits for the transactions open when it starts, a build's lock among them."""
        key = _REBUILD_LOCK << 32 | index_oid
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (key,))
            if await cur.fetchone() != (True,):
                yield None
                return
            try:
                cur = await conn.execute(f"{_VECTOR_INDEXES} WHERE x.index_oid = %s", (index_oid,))
                row = await cur.fetchone()
                yield None if row is None else CompanionBuild(conn, VectorIndex.from_row(row))
            finally:
                with suppress(psycopg.Error):  # a connection that broke took its lock with it
                    await conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


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


def _workspace(workspace_id: str, name: str, created_at: datetime) -> Workspace:
    return Workspace(id=workspace_id, org_id=ORG_ID, name=name, type="local", created_at=created_at.isoformat())
