"""Set up a database for the local API (as its admin role) and check the role agents' SQL runs as.

The checks are the same for the embedded server and for an operator's own: the query role must not
be a superuser or able to create roles or databases, bypass row security or replicate, must belong to
no other role (so it cannot ``SET ROLE`` to one; that covers ``pg_read_server_files``,
``pg_execute_server_program``, ``pg_read_all_settings`` and the like), and may not create schemas or
extensions in the database.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import AsyncConnection, sql

from ._postgres import PostgresSetupError

__all__ = ["bootstrap"]

_SCRIPT = Path(__file__).with_name("bootstrap.sql")
_ROLE = """
    SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolbypassrls, r.rolreplication,
           array(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                 WHERE m.member = r.oid ORDER BY 1),
           has_database_privilege(r.oid, current_database(), 'CREATE'),
           d.datdba = r.oid
    FROM pg_roles r, pg_database d
    WHERE r.rolname = %s AND d.datname = current_database()
"""
_ATTRIBUTES = ("SUPERUSER", "CREATEROLE", "CREATEDB", "BYPASSRLS", "REPLICATION")


_BOOTSTRAP_LOCK = 0x646C6D63  # "dlmc": one set-up at a time, however many processes open the database


async def bootstrap(admin: AsyncConnection[Any], query_role: str, *, embedded: bool) -> datetime:
    """Create or update the compat objects, bookkeeping and privileges; return the setup time.

    On the embedded server the query role is created (and its per-role settings cleared) here; on
    an operator's server it must exist. PostgresSetupError says what is wrong and how to fix it.
    """
    try:
        async with admin.transaction():
            await admin.execute("SELECT pg_advisory_xact_lock(%s)", (_BOOTSTRAP_LOCK,))  # workers start together
            if embedded:
                await _ensure_role(admin, query_role)
            await _check_role(admin, query_role)
            await admin.execute("SELECT set_config('deeplake.query_role', %s, true)", (query_role,))
            await admin.execute(_SCRIPT.read_bytes())
            cur = await admin.execute("SELECT created_at FROM deeplake_internal.workspaces WHERE id = 'default'")
            row = await cur.fetchone()
    except psycopg.errors.InsufficientPrivilege as exc:
        raise PostgresSetupError(
            f"the admin role cannot set up the database ({exc.diag.message_primary}); "
            "DEEPLAKE_MCP_POSTGRES_ADMIN_URL must name a superuser"
        ) from None
    assert row is not None
    created_at: datetime = row[0]
    return created_at


async def _ensure_role(admin: AsyncConnection[Any], role: str) -> None:
    cur = await admin.execute("SELECT FROM pg_roles WHERE rolname = %s", (role,))
    if await cur.fetchone() is None:
        await admin.execute(
            sql.SQL(
                "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT"
            ).format(sql.Identifier(role))
        )
    # Defaults the role gave itself (ALTER ROLE … SET) would apply to every new connection.
    await admin.execute(sql.SQL("ALTER ROLE {} RESET ALL").format(sql.Identifier(role)))


async def _check_role(admin: AsyncConnection[Any], role: str) -> None:
    cur = await admin.execute(_ROLE, (role,))
    row = await cur.fetchone()
    if row is None:
        raise PostgresSetupError(
            f"the role {role!r} of DEEPLAKE_MCP_POSTGRES_URL does not exist; create it as the README says "
            f"(CREATE ROLE {role} LOGIN PASSWORD '…')"
        )
    *attributes, memberships, may_create, owns_database = row
    problems = [name for name, held in zip(_ATTRIBUTES, attributes, strict=True) if held]
    if memberships:
        problems.append("member of " + ", ".join(memberships))
    if owns_database:
        problems.append("owner of the database")
    elif may_create:
        problems.append("CREATE on the database")
    if problems:
        raise PostgresSetupError(
            f"the role {role!r} that agents' SQL runs as has {'; '.join(problems)}: it must be an ordinary role "
            "(NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION, no role memberships, no CREATE on "
            "the database); see the README's section on your own PostgreSQL"
        )
