"""Helpers shared by the tools: context access, identifier quoting, error translation."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pglast.parser import ParseError, scan
from pydantic import AfterValidator, Field

from deeplake_mcp import identifiers
from deeplake_mcp.deeplake import (
    DeepLakeAPIError,
    DeepLakeConnectionError,
    DeepLakeError,
    DeepLakeTimeoutError,
    NotFoundError,
    TableDetails,
)
from deeplake_mcp.runtime import Runtime

__all__ = [
    "SQL",
    "Ctx",
    "CursorArg",
    "Dialect",
    "Name",
    "WorkspaceArg",
    "fetch_table",
    "known_names",
    "qualified",
    "quote_ident",
    "runtime",
    "timeout_ms",
    "tool_error",
    "without_terminator",
]

Ctx = Context[Runtime, Any]


def _printable(name: str) -> str:
    bad = next((char for char in name if ord(char) < 32 or ord(char) == 127), None)
    if bad is not None:
        raise ValueError(
            f"names cannot contain control characters (found {bad!r}); pass the name as list_tables shows it"
        )
    return name


Name = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_printable)]
"""A workspace, table or column name as the agent passes it: 1-255 characters, no control characters."""
WorkspaceArg = Annotated[Name | None, Field(description="workspace id (default: the server's)")]
CursorArg = Annotated[
    str | None,
    Field(max_length=4096, description="the cursor of a truncated result: the same call with it gives the next page"),
]

_COMMENTS = frozenset({"SQL_COMMENT", "C_COMMENT"})
_SEMICOLON = "ASCII_59"
_MISSING_RELATION = re.compile(r'relation "([^"]+)" does not exist')
_MISSING_COLUMN = re.compile(r'column "([^"]+)" does not exist')


def runtime(ctx: Ctx) -> Runtime:
    """The server's shared state."""
    return ctx.request_context.lifespan_context


def timeout_ms(rt: Runtime) -> int:
    """The server-side deadline sent with every query."""
    return int(rt.settings.query_timeout * 1000)


def quote_ident(name: str) -> str:
    """A PostgreSQL quoted identifier (any name becomes exactly one identifier), or a tool error."""
    try:
        return identifiers.quote_ident(name)
    except ValueError as exc:
        raise ToolError(str(exc)) from None


def qualified(workspace: str, table: str) -> str:
    """``"workspace"."table"``, or a tool error."""
    return f"{quote_ident(workspace)}.{quote_ident(table)}"


def known_names(names: list[str], limit: int = 30) -> str:
    """A short list of names for an error message."""
    if not names:
        return "(none)"
    shown = ", ".join(names[:limit])
    return shown + (f", … ({len(names)} in all)" if len(names) > limit else "")


async def fetch_table(rt: Runtime, workspace: str, table: str) -> TableDetails:
    """The table's details, or a tool error that lists the tables that do exist."""
    try:
        return await rt.client.get_table(workspace, table)
    except DeepLakeError as exc:
        raise await tool_error(rt, exc, workspace=workspace, table=table) from exc


@dataclass(frozen=True)
class Dialect:
    """How errors of one query language are told: what a failed query is called, where the service's
    address is set, and hints that fit the language's messages."""

    failed: str
    url_setting: str
    embedded: str
    hint: Callable[[str, str], str]


def _sql_hint(message: str, workspace: str) -> str:
    if _MISSING_RELATION.search(message):
        return f". Call list_tables(workspace={workspace!r}) to see the tables that exist."
    if _MISSING_COLUMN.search(message):
        return ". Call describe_table to see the table's columns."
    if "syntax error" in message:
        return ". The backend speaks PostgreSQL SQL; fix the syntax and try again."
    if "does not have DeepLake access method" in message:
        return (
            ". deeplake_index indexes tables created with `USING deeplake`: create one "
            "(CREATE TABLE … USING deeplake), copy the rows over (INSERT INTO … SELECT), and index that"
        )
    return ""


SQL = Dialect("The statement failed", "DEEPLAKE_API_URL", "the embedded Deep Lake API", _sql_hint)


async def tool_error(
    rt: Runtime, exc: DeepLakeError, *, workspace: str, table: str | None = None, dialect: Dialect = SQL
) -> ToolError:
    """Translate a client error into a message that says what went wrong and what to do."""
    if isinstance(exc, NotFoundError) and dialect is SQL:
        return await _not_found(rt, workspace, table)
    if isinstance(exc, DeepLakeTimeoutError):
        return ToolError(f"{exc} Narrow the query (WHERE, LIMIT, fewer columns) or raise DEEPLAKE_MCP_QUERY_TIMEOUT.")
    if isinstance(exc, DeepLakeConnectionError):
        where = dialect.url_setting if rt.backend == "cloud" else dialect.embedded
        return ToolError(f"{exc}. Check {where} and the network, then try again.")
    if isinstance(exc, DeepLakeAPIError) and exc.status_code == 400 and exc.message:
        return ToolError(f"{dialect.failed}: {exc.message.rstrip('. ')}{dialect.hint(exc.message, workspace)}")
    if isinstance(exc, DeepLakeAPIError) and exc.status_code == 501 and exc.message:
        return ToolError(exc.message)
    return ToolError(str(exc))


async def _not_found(rt: Runtime, workspace: str, table: str | None) -> ToolError:
    try:
        workspaces = [w.id for w in await rt.client.list_workspaces()]
    except DeepLakeError:
        workspaces = []
    if workspaces and workspace not in workspaces:
        return ToolError(
            f"Workspace {workspace!r} not found. Workspaces are: {known_names(workspaces)}. "
            "Pass one of them as `workspace`."
        )
    if table is None:
        return ToolError(f"Workspace {workspace!r} not found.")
    try:
        tables = [t.table_name for t in await rt.client.list_tables(workspace)]
    except DeepLakeError:
        tables = []
    return ToolError(f"Table {table!r} not found in workspace {workspace!r}. Tables are: {known_names(tables)}.")


def without_terminator(sql: str) -> str:
    """The statement without its final ``;`` (the guards allow only a trailing one; comments after it stay).

    PostgreSQL's own scanner finds it (sqlparse takes milliseconds on a long vector literal); text it
    cannot scan is returned as it is, for the backend to judge.
    """
    if ";" not in sql:
        return sql
    try:
        tokens = scan(sql)
    except ParseError:
        return sql
    code = [token for token in tokens if token.name not in _COMMENTS]
    if not code or code[-1].name != _SEMICOLON:
        return sql
    return sql[: code[-1].start] + sql[code[-1].end + 1 :]
