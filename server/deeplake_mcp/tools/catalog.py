"""Read tools that explore what exists: workspaces, tables, a table's shape."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from deeplake_mcp.deeplake import DeepLakeError
from deeplake_mcp.descriptions import ColumnInfo, IndexInfo, TableDescription
from deeplake_mcp.runtime import Runtime
from deeplake_mcp.server_sql import VECTOR_TYPES
from deeplake_mcp.tools._common import Ctx, Name, WorkspaceArg, fetch_table, runtime, tool_error

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
    tables: list[TableInfo]


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


async def list_tables(ctx: Ctx, workspace: WorkspaceArg = None) -> TableList:
    """List the tables of a workspace with their row counts."""
    rt = runtime(ctx)
    ws = rt.workspace(workspace)
    try:
        tables = await rt.client.list_tables(ws)
    except DeepLakeError as exc:
        raise await tool_error(rt, exc, workspace=ws) from exc
    return TableList(
        workspace=ws,
        tables=[TableInfo(table_name=t.table_name, row_count=t.row_count) for t in tables],
    )


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
    """Drop cached descriptions (of a table, of a workspace's tables, or all) after writes that change them."""
    rt.schemas.invalidate(lambda key: workspace in (None, key[0]) and table in (None, key[1]))


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
                type=c.type,
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
