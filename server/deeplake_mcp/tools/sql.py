"""SQL tools: ``query`` (one read-only statement) and ``execute_sql`` (writes, when allowed)."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from deeplake_mcp import audit
from deeplake_mcp.deeplake import DeepLakeError
from deeplake_mcp.guard import StatementClass, Verdict
from deeplake_mcp.output import RowsResult, shape_rows
from deeplake_mcp.runtime import Runtime
from deeplake_mcp.tools._common import Ctx, WorkspaceArg, runtime, timeout_ms, tool_error, without_terminator
from deeplake_mcp.tools.catalog import forget_schemas
from deeplake_mcp.vector_text import lift

__all__ = ["StatementResult", "execute_sql", "query"]

_WRAPPABLE = ("SELECT", "WITH", "VALUES", "TABLE")

SqlArg = Annotated[str, Field(description="one PostgreSQL statement; use $1, $2 … for values")]
ParamsArg = Annotated[
    list[Any] | None,
    Field(description="values for $1, $2 …: strings, numbers, booleans, null, lists (vectors), objects (JSON)"),
]


class StatementResult(BaseModel):
    """What a write statement did."""

    statement: str = Field(description="the statement kind, e.g. INSERT or CREATE INDEX")
    statement_class: str = Field(description="read, write or destructive")
    row_count: int = Field(description="rows affected, or rows returned (capped like query's)")
    columns: list[str] = Field(default_factory=list)
    rows: list[list[Any]] = Field(default_factory=list)
    truncated: bool = False


async def query(
    ctx: Ctx,
    sql: SqlArg,
    params: ParamsArg = None,
    workspace: WorkspaceArg = None,
    max_rows: Annotated[
        int | None, Field(ge=1, le=10_000, description="row cap for this call (server default when omitted)")
    ] = None,
) -> RowsResult:
    """Run one read-only SQL statement (SELECT, WITH, VALUES, TABLE, SHOW, EXPLAIN) and return its rows.

    Unqualified table names resolve to the workspace. Similarity: `embedding <#> ARRAY[…]::float4[]` is
    cosine similarity, higher is better (ORDER BY score DESC). Results are capped; `truncated` says when
    more rows exist.
    """
    rt = runtime(ctx)
    sql, params = _inline_vectors_as_params(rt, sql, params)
    analysed = rt.policy.classify(sql)
    verdict = rt.policy.decide(analysed)
    _refuse_unless_allowed(sql, verdict, reads_only=True)
    return await _read(rt, rt.workspace(workspace), sql, analysed.statement, params, max_rows or rt.settings.max_rows)


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
    ctx: Ctx, sql: SqlArg, params: ParamsArg = None, workspace: WorkspaceArg = None
) -> StatementResult:
    """Run one write statement: CREATE TABLE … USING deeplake, CREATE INDEX … USING deeplake_index, INSERT ….

    UPDATE, DELETE, DROP, TRUNCATE and ALTER are destructive and run only when the server allows
    destructive access. One statement per call; transaction control and session settings are refused.
    """
    rt = runtime(ctx)
    ws = rt.workspace(workspace)
    analysed = rt.policy.classify(sql)
    verdict = rt.policy.decide(analysed)
    _refuse_unless_allowed(sql, verdict)
    if verdict.cls is StatementClass.READ:
        shaped = await _read(rt, ws, sql, analysed.statement, params, rt.settings.max_rows)
        return StatementResult(
            statement=analysed.statement,
            statement_class=verdict.cls.label,
            row_count=shaped.row_count,
            columns=shaped.columns,
            rows=shaped.rows,
            truncated=shaped.truncated,
        )
    try:
        result = await rt.client.query(ws, sql, params, timeout_ms=timeout_ms(rt))
    except DeepLakeError as exc:
        raise await tool_error(rt, exc, workspace=ws) from exc
    finally:
        forget_schemas(rt)  # DDL may name any workspace's tables
    shaped = shape_rows(
        result.columns, result.rows, max_rows=rt.settings.max_rows, max_chars=rt.settings.max_result_chars
    )
    return StatementResult(
        statement=analysed.statement,
        statement_class=verdict.cls.label,
        row_count=result.row_count,
        columns=shaped.columns,
        rows=shaped.rows,
        truncated=shaped.truncated,
    )


async def _read(rt: Runtime, ws: str, sql: str, statement: str, params: list[Any] | None, limit: int) -> RowsResult:
    """Run a read with at most ``limit`` rows back (the backend stops at ``limit + 1``, so truncation is exact)."""
    wrapped = _limit_wrapped(sql, statement, limit + 1)
    try:
        result = await rt.client.query(ws, wrapped or sql, params, timeout_ms=timeout_ms(rt), read_only=True)
    except DeepLakeError as exc:
        raise await tool_error(rt, exc, workspace=ws) from exc
    return shape_rows(result.columns, result.rows, max_rows=limit, max_chars=rt.settings.max_result_chars)


def _refuse_unless_allowed(sql: str, verdict: Verdict, *, reads_only: bool = False) -> None:
    """Raise a tool error unless the guard allows ``sql`` (and, with ``reads_only``, it is a read); audit both."""
    is_read = verdict.cls is StatementClass.READ
    audit.guarded(sql, verdict.cls.label, allowed=verdict.allowed and (is_read or not reads_only))
    if not verdict.allowed:
        raise ToolError(f"Refused by the SQL guard: {verdict.reason}")
    if reads_only and not is_read:
        raise ToolError(
            f"query runs read-only statements only, and this one is a {verdict.cls.label} "
            f"({verdict.reason}). Use execute_sql for writes."
        )


def _limit_wrapped(sql: str, statement: str, limit: int) -> str | None:
    """``SELECT * FROM (<sql>) AS q LIMIT n`` for row-returning queries, else ``None``.

    The cap is applied by the backend, so a huge result is never materialised here. The
    statement's own trailing ``;`` is dropped (comments stay, on their own lines).
    """
    if statement not in _WRAPPABLE:
        return None
    body = without_terminator(sql)
    return f"SELECT * FROM (\n{body}\n) AS _deeplake_mcp_q LIMIT {int(limit)}"
