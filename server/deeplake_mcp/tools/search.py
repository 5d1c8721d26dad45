"""``semantic_search``: rank a table's rows by similarity to a vector (or by keywords)."""

from __future__ import annotations

import math
from typing import Annotated

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from deeplake_mcp.deeplake import DeepLakeError
from deeplake_mcp.output import RowsResult, shape_rows
from deeplake_mcp.tools._common import (
    Ctx,
    known_names,
    qualified,
    quote_ident,
    runtime,
    timeout_ms,
    tool_error,
)
from deeplake_mcp.tools.catalog import VECTOR_TYPES, TableDescription, WorkspaceArg, described

__all__ = ["semantic_search", "vector_literal"]


async def semantic_search(
    ctx: Ctx,
    table: Annotated[str, Field(description="table to search")],
    vector: Annotated[
        list[float] | None, Field(description="query embedding; must have the vector column's dimension")
    ] = None,
    query: Annotated[str | None, Field(description="keywords, ranked against text_column (keyword relevance)")] = None,
    k: Annotated[int, Field(ge=1, le=1000, description="how many rows to return")] = 10,
    filter: Annotated[
        str | None,
        Field(description="SQL boolean expression on the table's columns, e.g. metadata->>'lang' = 'en'"),
    ] = None,
    columns: Annotated[
        list[str] | None, Field(description="columns to return; all non-vector columns when omitted")
    ] = None,
    workspace: WorkspaceArg = None,
    vector_column: Annotated[
        str | None, Field(description="vector column to rank by; found automatically when the table has one")
    ] = None,
    text_column: Annotated[str | None, Field(description="text column that `query` keywords rank")] = None,
) -> RowsResult:
    """Find the rows most similar to a query vector (cosine, higher is better), or best matching keywords.

    Give `vector` for semantic search, or `query` with `text_column` for keyword search. Returns the chosen
    columns plus `score`, best first.
    """
    rt = runtime(ctx)
    ws = rt.workspace(workspace)
    if (vector is None) == (query is None):
        raise ToolError("Give exactly one of `vector` (a query embedding) or `query` (keywords with text_column).")
    if filter is not None:
        verdict = rt.policy.check_filter(filter)
        if not verdict.allowed:
            raise ToolError(f"Refused filter: {verdict.reason}")
    desc = await described(rt, ws, table)
    shown = _output_columns(desc, columns)
    if vector is not None:
        score = _vector_score(desc, vector, vector_column)
        guard_sql = f"array_length({quote_ident(_vector_column(desc, vector_column))}, 1) > 0"
        params: list[object] = []
    else:
        text = _require_column(desc, text_column, "text_column", "a text column to match `query` against")
        score = f"{quote_ident(text)} <#> $1"
        guard_sql = f"{quote_ident(text)} IS NOT NULL"
        params = [query]
    where = guard_sql + (f" AND ({filter})" if filter is not None else "")
    select = ", ".join([*(quote_ident(c) for c in shown), f"{score} AS score"])
    sql = f"SELECT {select} FROM {qualified(ws, table)} WHERE {where} ORDER BY score DESC LIMIT {k}"
    try:
        result = await rt.client.query(ws, sql, params, timeout_ms=timeout_ms(rt), read_only=True)
    except DeepLakeError as exc:
        raise await tool_error(rt, exc, workspace=ws, table=table) from exc
    return shape_rows(result.columns, result.rows, max_rows=k, max_chars=rt.settings.max_result_chars)


def vector_literal(vector: list[float]) -> str:
    """``ARRAY[…]::float4[]`` written inline (the form every Deep Lake backend accepts)."""
    if not vector:
        raise ToolError("`vector` is empty; pass the query embedding as a list of numbers.")
    if not all(math.isfinite(x) for x in vector):
        raise ToolError("`vector` contains NaN or infinity; pass finite numbers only.")
    return "ARRAY[" + ",".join(repr(float(x)) for x in vector) + "]::float4[]"


def _vector_score(desc: TableDescription, vector: list[float], requested: str | None) -> str:
    column = _vector_column(desc, requested)
    dim = next(c.vector_dimension for c in desc.columns if c.name == column)
    if dim is not None and dim != len(vector):
        raise ToolError(
            f"`vector` has {len(vector)} dimensions but column {column!r} of {desc.table_name!r} stores "
            f"{dim}-dimensional vectors; embed the query with the model that produced the column."
        )
    return f"{quote_ident(column)} <#> {vector_literal(vector)}"


def _vector_column(desc: TableDescription, requested: str | None) -> str:
    vectors = [c.name for c in desc.columns if c.type.lower() in VECTOR_TYPES]
    if requested is not None:
        if requested not in vectors:
            raise ToolError(
                f"{requested!r} is not a vector column of {desc.table_name!r}; "
                f"vector columns are: {known_names(vectors)}."
            )
        return requested
    if len(vectors) == 1:
        return vectors[0]
    if not vectors:
        raise ToolError(f"Table {desc.table_name!r} has no vector (float4[]) column to search.")
    raise ToolError(
        f"Table {desc.table_name!r} has several vector columns ({known_names(vectors)}); "
        "say which with `vector_column`."
    )


def _require_column(desc: TableDescription, name: str | None, arg: str, what: str) -> str:
    names = [c.name for c in desc.columns]
    if name is None:
        raise ToolError(f"Give `{arg}`: {what}. Columns are: {known_names(names)}.")
    if name not in names:
        raise ToolError(f"Table {desc.table_name!r} has no column {name!r}; columns are: {known_names(names)}.")
    return name


def _output_columns(desc: TableDescription, requested: list[str] | None) -> list[str]:
    names = [c.name for c in desc.columns]
    if requested is None:
        return [c.name for c in desc.columns if c.type.lower() not in VECTOR_TYPES]
    unknown = [c for c in requested if c not in names]
    if unknown:
        raise ToolError(f"Table {desc.table_name!r} has no column {unknown[0]!r}; columns are: {known_names(names)}.")
    return requested
