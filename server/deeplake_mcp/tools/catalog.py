"""Read tools that explore what exists: workspaces, tables, a table's shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from deeplake_mcp.deeplake import DeepLakeError
from deeplake_mcp.descriptions import ColumnInfo, IndexInfo, TableDescription, display_type
from deeplake_mcp.output import Limits, Page, fit_page
from deeplake_mcp.paging import Cursor, make_cursor
from deeplake_mcp.results import Paging, position, tool_result
from deeplake_mcp.runtime import Runtime
from deeplake_mcp.server_sql import VECTOR_TYPES
from deeplake_mcp.tools._common import Ctx, CursorArg, Name, WorkspaceArg, fetch_table, runtime, tool_error

__all__ = [
    "describe",
    "describe_table",
    "described",
    "forget_schemas",
    "list_tables",
    "list_workspaces",
]


class WorkspaceInfo(BaseModel):
    id: str
    name: str


class WorkspaceList(BaseModel):
    default_workspace: str
    workspaces: list[WorkspaceInfo]


class TableInfo(BaseModel):
    table_name: str
    row_count: int | None = None


class TableList(BaseModel):
    workspace: str
    tables: list[TableInfo] = Field(description="in name order")
    truncated: bool = Field(False, description="true when more tables follow this page")
    cursor: str | None = Field(None, description="pass back with the same arguments for the next page")


async def list_workspaces(ctx: Ctx) -> WorkspaceList:
    """List the workspaces this key can use, and the default one tools use when none is given."""
    rt = runtime(ctx)
    try:
        workspaces = await rt.client.list_workspaces()
    except DeepLakeError as exc:
        raise await tool_error(rt, exc, workspace=rt.settings.workspace) from exc
    return WorkspaceList(
        default_workspace=rt.settings.workspace,
        workspaces=[WorkspaceInfo(id=w.id, name=w.name or w.id) for w in workspaces],
    )


async def list_tables(
    ctx: Ctx, workspace: WorkspaceArg = None, cursor: CursorArg = None
) -> Annotated[CallToolResult, TableList]:
    """List the tables of a workspace, by name, with their row counts."""
    rt = runtime(ctx)
    ws = rt.workspace(workspace)
    paging = Paging("list_tables", "l", (ws,))
    after = position(cursor, paging)
    try:
        tables = await rt.client.list_tables(ws)
    except DeepLakeError as exc:
        raise await tool_error(rt, exc, workspace=ws) from exc
    rows = sorted([t.table_name, t.row_count] for t in tables if after is None or t.table_name > (after.key or ""))
    limits = Limits(rt.settings.max_rows * 10, rt.settings.max_result_chars, rt.settings.max_cell_chars)
    page, text = fit_page(["table_name", "row_count"], rows, limits=limits, render=_tables_text(ws, paging))
    return tool_result(
        TableList(
            workspace=ws,
            tables=[TableInfo(table_name=name, row_count=count) for name, count in page.originals],
            truncated=page.more,
            cursor=_tables_cursor(page, paging),
        ),
        text,
    )


def _tables_cursor(page: Page, paging: Paging) -> str | None:
    """Keyset: the next page lists the tables named after the last one shown."""
    if not page.more or not page.originals:
        return None
    return make_cursor(paging.kind, paging.digest, Cursor(offset=len(page.rows), key=str(page.originals[-1][0])))


def _tables_text(workspace: str, paging: Paging) -> Callable[[Page], str]:
    def render(page: Page) -> str:
        n = len(page.rows)
        header = f"{n} table{'' if n == 1 else 's'} in workspace {workspace}"
        cursor = _tables_cursor(page, paging)
        if cursor is not None:
            header += f', truncated; next page: the same call with cursor="{cursor}"'
        body = page.framed_rows()
        return "\n".join(line for line in (header, body, *(f"note: {n}" for n in page.notes)) if line)

    return render


async def describe_table(
    ctx: Ctx,
    table: Annotated[Name, Field(description="table name, as list_tables shows it")],
    workspace: WorkspaceArg = None,
) -> TableDescription:
    """Describe a table: columns (name, type, nullable, default), row count, indexes and vector dimensions."""
    rt = runtime(ctx)
    return await describe(rt, rt.workspace(workspace), table)


async def described(rt: Runtime, workspace: str, table: str) -> TableDescription:
    """A recent description of the table: cached briefly, for calls that need only its shape."""
    cached = rt.schemas.get((workspace, table))
    if cached is not None:
        return cached
    return await describe(rt, workspace, table)


def forget_schemas(rt: Runtime, workspace: str | None = None, table: str | None = None) -> None:
    """Drop cached descriptions and column types (of a table, of a workspace's tables, or all) after writes that
    change them."""

    def matches(key: tuple[str, str]) -> bool:
        return workspace in (None, key[0]) and table in (None, key[1])

    rt.schemas.invalidate(matches)
    rt.type_oids.invalidate(matches)


async def describe(rt: Runtime, workspace: str, table: str) -> TableDescription:
    """The full, fresh description of one table (the tool and the schema resource); refreshes the cache."""
    details = await fetch_table(rt, workspace, table)
    vector_columns = [c.name for c in details.columns if c.type.lower() in VECTOR_TYPES]
    dimensions = await _vector_dimensions(rt, workspace, table, vector_columns)
    models = await _vector_models(rt, workspace, table) if vector_columns else {}
    description = TableDescription(
        workspace=workspace,
        table_name=details.table_name,
        columns=[
            ColumnInfo(
                name=c.name,
                type=display_type(c.type),
                nullable=c.nullable,
                default=c.default,
                vector_dimension=dimensions.get(c.name),
                vector_model=models.get(c.name),
            )
            for c in details.columns
        ],
        row_count=details.row_count,
        size_mb=details.size_mb,
        indexes=await _indexes(rt, workspace, table),
    )
    rt.schemas.put((workspace, table), description)
    return description


async def _indexes(rt: Runtime, workspace: str, table: str) -> list[IndexInfo] | None:
    try:
        found = await rt.server_sql.index_definitions(workspace, table)
    except DeepLakeError:
        return None
    return [IndexInfo(name=name, definition=definition) for name, definition in found]


async def _vector_dimensions(rt: Runtime, workspace: str, table: str, columns: list[str]) -> dict[str, int]:
    try:
        return await rt.server_sql.vector_dimensions(workspace, table, columns)
    except DeepLakeError:
        return {}


async def _vector_models(rt: Runtime, workspace: str, table: str) -> dict[str, str]:
    try:
        return await rt.server_sql.embedding_models(workspace, table)
    except DeepLakeError:
        return {}
