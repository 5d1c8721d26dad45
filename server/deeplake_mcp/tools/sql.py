"""SQL tools: ``query`` (one read-only statement) and ``execute_sql`` (writes, when allowed)."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from deeplake_mcp import audit
from deeplake_mcp.deeplake import DeepLakeError
from deeplake_mcp.guard import StatementClass, Verdict
from deeplake_mcp.output import Limits, RowsResult
from deeplake_mcp.paging import Window, window
from deeplake_mcp.results import Paging, limits_for, page_result, position, rows_page, tool_result
from deeplake_mcp.runtime import Runtime
from deeplake_mcp.sql_errors import pointed_syntax_error
from deeplake_mcp.tools._common import (
    Ctx,
    CursorArg,
    WorkspaceArg,
    runtime,
    timeout_ms,
    tool_error,
    without_terminator,
)
from deeplake_mcp.tools.catalog import forget_schemas
from deeplake_mcp.vector_text import lift

__all__ = ["StatementResult", "execute_sql", "query"]

_WRAPPABLE = ("SELECT", "WITH", "VALUES", "TABLE")
_CURSOR_KIND = "s"

SqlArg = Annotated[str, Field(description="one PostgreSQL statement; $1, $2 … for values")]
ParamsArg = Annotated[
    list[Any] | None,
    Field(description="values for $1, $2 …: strings, numbers, booleans, null, lists (vectors), objects (JSON)"),
]


class StatementResult(BaseModel):
    """What a statement did, and the rows it returned (one page of them)."""

    statement: str = Field(description="the statement kind, e.g. INSERT or CREATE INDEX")
    statement_class: str = Field(description="read, write or destructive")
    row_count: int = Field(description="rows affected by a write; rows in this page for a read")
    columns: list[str] = Field(default_factory=list)
    rows: list[list[Any]] = Field(default_factory=list)
    truncated: bool = False
    cursor: str | None = Field(None, description="pass back with the same arguments for the next page")
    note: str | None = None
    changed: bool | None = None


async def query(
    ctx: Ctx,
    sql: SqlArg,
    params: ParamsArg = None,
    workspace: WorkspaceArg = None,
    max_rows: Annotated[int | None, Field(ge=1, le=10_000, description="rows per page (default: server's)")] = None,
    cursor: CursorArg = None,
) -> Annotated[CallToolResult, RowsResult]:
    """Run one read-only SQL statement (SELECT, WITH, VALUES, TABLE, SHOW, EXPLAIN) and return its rows.

    Unqualified table names resolve to the workspace. `embedding <#> ARRAY[…]::float4[]` is cosine
    similarity, higher is better (ORDER BY … DESC).
    """
    rt = runtime(ctx)
    sql, params = _inline_vectors_as_params(rt, sql, params)
    analysed = rt.policy.classify(sql)
    verdict = rt.policy.decide(analysed)
    _refuse_unless_allowed(sql, verdict, reads_only=True)
    ws = rt.workspace(workspace)
    paging = Paging("query", _CURSOR_KIND, (ws, sql, params))
    found = await _read(rt, ws, sql, analysed.statement, params, limits_for(rt.settings, max_rows), paging, cursor)
    return page_result(found, limits=limits_for(rt.settings, max_rows), paging=paging)


def _inline_vectors_as_params(rt: Runtime, sql: str, params: list[Any] | None) -> tuple[str, list[Any] | None]:
    """On the embedded backend, the statement with its inline query vectors (`<#> ARRAY[…]`) as params.

    The guard then checks, and the API runs, the same statement with `$n` in place of hundreds of
    numbers, which each of them would otherwise parse at about 3 µs a number. The managed API gets the
    statement as written.
    """
    if rt.backend != "local":
        return sql, params
    lifted = lift(sql, len(params or ()))
    if lifted is None:
        return sql, params
    return lifted.text, [*(params or ()), *lifted.vectors]


async def execute_sql(
    ctx: Ctx, sql: SqlArg, params: ParamsArg = None, workspace: WorkspaceArg = None, cursor: CursorArg = None
) -> Annotated[CallToolResult, StatementResult]:
    """Run one write statement: CREATE TABLE … USING deeplake, CREATE INDEX … USING deeplake_index, INSERT ….

    UPDATE, DELETE, DROP, TRUNCATE and ALTER are destructive and run only when the server allows
    destructive access. One statement per call; no transaction control or SET.
    """
    rt = runtime(ctx)
    ws = rt.workspace(workspace)
    analysed = rt.policy.classify(sql)
    verdict = rt.policy.decide(analysed)
    _refuse_unless_allowed(sql, verdict)
    limits = limits_for(rt.settings)
    kind = f"{analysed.statement} ({verdict.cls.label})"
    if verdict.cls is StatementClass.READ:
        paging = Paging("execute_sql", _CURSOR_KIND, (ws, sql, params))
        found = await _read(rt, ws, sql, analysed.statement, params, limits, paging, cursor)
        shown = rows_page(found, limits=limits, paging=paging, lead=f"{kind}: ")
        text, row_count = shown.text, len(shown.page.rows)
    else:
        try:
            result = await rt.client.query(ws, sql, params, timeout_ms=timeout_ms(rt))
        except DeepLakeError as exc:
            raise await tool_error(rt, exc, workspace=ws) from exc
        finally:
            forget_schemas(rt)  # DDL may name any workspace's tables
        found = Window(result.columns, result.rows, 0)
        lead = f"{kind}: {result.row_count} rows affected" + ("; returned " if result.columns else "")
        why = "the returned rows beyond these are not shown; query the table to see them"
        shown = rows_page(found, limits=limits, paging=None, lead=lead, no_cursor_why=why)
        text, row_count = shown.text if result.columns else lead, result.row_count
    return tool_result(
        StatementResult(
            statement=analysed.statement,
            statement_class=verdict.cls.label,
            row_count=row_count,
            columns=shown.page.columns,
            rows=shown.page.rows,
            truncated=shown.page.more,
            cursor=shown.cursor,
            note=shown.note,
            changed=True if found.changed else None,
        ),
        text,
    )


async def _read(
    rt: Runtime,
    ws: str,
    sql: str,
    statement: str,
    params: list[Any] | None,
    limits: Limits,
    paging: Paging,
    cursor: str | None,
) -> Window:
    """The window of a read's rows a page shows: from the start, or after ``cursor`` (see :mod:`paging`).

    Row-returning statements are wrapped in ``LIMIT``/``OFFSET``, so the backend stops one row past the page
    and truncation is exact; others (SHOW, EXPLAIN) run whole and are windowed here.
    """
    after = position(cursor, paging)

    async def fetch(offset: int, limit: int) -> tuple[list[str], list[list[Any]]]:
        wrapped = _limit_wrapped(sql, statement, limit, offset)
        try:
            result = await rt.client.query(ws, wrapped or sql, params, timeout_ms=timeout_ms(rt), read_only=True)
        except DeepLakeError as exc:
            raise await tool_error(rt, exc, workspace=ws) from exc
        rows = result.rows if wrapped else result.rows[offset : offset + limit]
        return result.columns, rows

    return await window(fetch, after, limits.max_rows)


def _refuse_unless_allowed(sql: str, verdict: Verdict, *, reads_only: bool = False) -> None:
    """Raise a tool error unless the guard allows ``sql`` (and, with ``reads_only``, it is a read); audit both.

    Text that does not parse is refused with the parser's message and a caret under the place it names.
    """
    is_read = verdict.cls is StatementClass.READ
    audit.guarded(sql, verdict.cls.label, allowed=verdict.allowed and (is_read or not reads_only))
    if not verdict.allowed:
        pointed = pointed_syntax_error(sql) if verdict.cls is StatementClass.NEVER else None
        if pointed is not None:
            raise ToolError(f"Not valid PostgreSQL: {pointed}\nFix the statement and send it again.")
        raise ToolError(f"Refused by the SQL guard: {verdict.reason}")
    if reads_only and not is_read:
        raise ToolError(
            f"query runs read-only statements only, and this one is a {verdict.cls.label} "
            f"({verdict.reason}). Use execute_sql for writes."
        )


def _limit_wrapped(sql: str, statement: str, limit: int, offset: int = 0) -> str | None:
    """``SELECT * FROM (<sql>) AS q LIMIT n [OFFSET m]`` for row-returning queries, else ``None``.

    The cap is applied by the backend, so a huge result is never materialised here. The
    statement's own trailing ``;`` is dropped (comments stay, on their own lines).
    """
    if statement not in _WRAPPABLE:
        return None
    body = without_terminator(sql)
    skip = f" OFFSET {int(offset)}" if offset else ""
    return f"SELECT * FROM (\n{body}\n) AS _deeplake_mcp_q LIMIT {int(limit)}{skip}"
