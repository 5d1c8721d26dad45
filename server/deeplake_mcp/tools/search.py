"""``semantic_search``: text or a vector in, the most similar rows out (optionally blended with BM25)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from deeplake_mcp import audit
from deeplake_mcp.deeplake import DeepLakeError
from deeplake_mcp.descriptions import TableDescription
from deeplake_mcp.embeddings import EmbeddingError
from deeplake_mcp.output import Limits, RowsResult
from deeplake_mcp.paging import window
from deeplake_mcp.results import Paging, page_result, position
from deeplake_mcp.runtime import Runtime
from deeplake_mcp.server_sql import VECTOR_TYPES
from deeplake_mcp.tools._common import (
    Ctx,
    CursorArg,
    Name,
    WorkspaceArg,
    known_names,
    qualified,
    quote_ident,
    runtime,
    timeout_ms,
    tool_error,
)
from deeplake_mcp.tools.catalog import described

__all__ = ["semantic_search", "vector_literal"]

DEFAULT_HYBRID_WEIGHT = 0.5


@dataclass(frozen=True)
class _Ranking:
    """The score expression, the condition a row needs to be ranked, and the statement's parameters."""

    score: str
    needs: str
    params: list[object]


async def semantic_search(
    ctx: Ctx,
    table: Annotated[Name, Field(description="table to search")],
    query: Annotated[
        str | None, Field(description="what to look for, in plain language (embedded by the server)")
    ] = None,
    vector: Annotated[
        list[float] | None,
        Field(description="a ready query embedding instead of `query` (same dimension as the column)"),
    ] = None,
    k: Annotated[int, Field(ge=1, le=1000, description="how many rows to return")] = 10,
    filter: Annotated[
        str | None,
        Field(description="SQL boolean expression on the table's columns, e.g. metadata->>'lang' = 'en'"),
    ] = None,
    columns: Annotated[
        list[Name] | None, Field(description="columns to return; all non-vector columns when omitted")
    ] = None,
    workspace: WorkspaceArg = None,
    text_column: Annotated[
        Name | None, Field(description="text column for keyword (BM25) relevance; turns on hybrid ranking")
    ] = None,
    hybrid_weight: Annotated[
        float | None,
        Field(
            ge=0, le=1, description="share of keyword relevance in hybrid ranking: 0 = meaning only, 1 = keywords only"
        ),
    ] = None,
    vector_column: Annotated[
        Name | None, Field(description="vector column to rank by; found automatically when the table has one")
    ] = None,
    cursor: CursorArg = None,
) -> Annotated[CallToolResult, RowsResult]:
    """Find the rows most relevant to `query` (text) or `vector`, best first, with a `score` column.

    Text is embedded by the server; ranking is cosine similarity on the table's vector column (higher is
    better). With `text_column`, keyword relevance (BM25) is blended in by `hybrid_weight` (default 0.5).
    """
    rt = runtime(ctx)
    ws = rt.workspace(workspace)
    arguments = (ws, table, query, vector, k, filter, columns, text_column, hybrid_weight, vector_column)
    paging = Paging("semantic_search", "v", arguments)
    after = position(cursor, paging)
    if query is None and vector is None:
        raise ToolError("Give `query` (text to search for) or `vector` (a query embedding).")
    if hybrid_weight is not None and text_column is None:
        raise ToolError("`hybrid_weight` needs `text_column`: the text column whose keywords to rank by.")
    if filter is not None:
        verdict = rt.policy.check_filter(filter)
        audit.guarded(filter, verdict.cls.label, allowed=verdict.allowed)
        if not verdict.allowed:
            raise ToolError(f"Refused filter: {verdict.reason}")
    desc = await described(rt, ws, table)
    shown = _output_columns(desc, columns)
    keyword_weight = (DEFAULT_HYBRID_WEIGHT if hybrid_weight is None else hybrid_weight) if text_column else 0.0
    text = _require_text_column(desc, text_column) if text_column else None
    if text is not None and keyword_weight >= 1.0:
        ranking = _keyword_ranking(text, _keywords(query))
    else:
        vec_col = _vector_column(desc, vector_column)
        qvec = vector if vector is not None else await _embed(rt, desc, vec_col, query)
        _check_dimension(desc, vec_col, len(qvec), "`vector`" if vector is not None else rt_embedder_name(rt))
        if text is not None and keyword_weight > 0.0:
            ranking = _hybrid_ranking(vec_col, text, qvec, _keywords(query), keyword_weight)
        else:
            ranking = _vector_ranking(vec_col, qvec, as_param=rt.backend == "local")
    where = ranking.needs + (f" AND ({filter})" if filter is not None else "")
    select = ", ".join([*(quote_ident(c) for c in shown), f"{ranking.score} AS score"])
    ranked = f"SELECT {select} FROM {qualified(ws, table)} WHERE {where} ORDER BY score DESC"

    async def fetch(offset: int, limit: int) -> tuple[list[str], list[list[Any]]]:
        """Rows ``offset`` … of the top ``k`` (a page never reaches past them)."""
        count = max(0, min(limit, k - offset))
        sql = f"{ranked} LIMIT {count}" + (f" OFFSET {offset}" if offset else "")
        try:
            result = await rt.client.query(ws, sql, ranking.params, timeout_ms=timeout_ms(rt), read_only=True)
        except DeepLakeError as exc:
            raise await tool_error(rt, exc, workspace=ws, table=table) from exc
        return result.columns, result.rows

    limits = Limits(k, rt.settings.max_result_chars, rt.settings.max_cell_chars)
    return page_result(await window(fetch, after, k), limits=limits, paging=paging)


def vector_literal(vector: list[float]) -> str:
    """``ARRAY[…]::float4[]`` written inline (the form every Deep Lake backend accepts)."""
    return "ARRAY[" + ",".join(map(repr, checked_vector(vector))) + "]::float4[]"


def checked_vector(vector: list[float]) -> list[float]:
    """The query vector as floats; refused when empty or not finite, with what to pass instead."""
    if not vector:
        raise ToolError("`vector` is empty; pass the query embedding as a list of numbers.")
    floats = list(map(float, vector))
    if not math.isfinite(sum(floats)) and not all(map(math.isfinite, floats)):  # a finite sum: all are finite
        raise ToolError("`vector` contains NaN or infinity; pass finite numbers only.")
    return floats


def rt_embedder_name(rt: Runtime) -> str:
    return f"the query embedding ({rt.embedder.name})" if rt.embedder else "the query embedding"


def _vector_ranking(column: str, qvec: list[float], *, as_param: bool) -> _Ranking:
    """Cosine similarity to ``qvec``; on the embedded backend the vector goes as a param (no 384 numbers to scan
    in the text, and one cached plan for every query vector)."""
    col = quote_ident(column)
    if as_param:
        return _Ranking(f"{col} <#> $1::float4[]", f"array_length({col}, 1) > 0", [checked_vector(qvec)])
    return _Ranking(f"{col} <#> {vector_literal(qvec)}", f"array_length({col}, 1) > 0", [])


def _keyword_ranking(column: str, keywords: str) -> _Ranking:
    col = quote_ident(column)
    return _Ranking(f"{col} <#> $1::text", f"{col} IS NOT NULL", [keywords])


def _hybrid_ranking(vec_col: str, text_col: str, qvec: list[float], keywords: str, keyword_weight: float) -> _Ranking:
    """Deep Lake's hybrid record: softmax-normalised cosine and BM25 lists, blended by weight."""
    pair = f"({quote_ident(vec_col)}, {quote_ident(text_col)})::deeplake_hybrid_record"
    weights = f"{1.0 - keyword_weight!r}::float8, {keyword_weight!r}::float8"
    target = f"deeplake_hybrid_record({vector_literal(qvec)}, $1::text, {weights})"
    return _Ranking(f"{pair} <#> {target}", f"array_length({quote_ident(vec_col)}, 1) > 0", [keywords])


def _keywords(query: str | None) -> str:
    if not query or not query.strip():
        raise ToolError("Keyword ranking needs `query` text (the words to look for).")
    return query


async def _embed(rt: Runtime, desc: TableDescription, column: str, query: str | None) -> list[float]:
    if query is None or not query.strip():
        raise ToolError("`query` is empty; say what to look for, or pass `vector`.")
    if rt.embedder is None:
        raise ToolError(
            "This server has no text embedder (DEEPLAKE_MCP_EMBEDDER=none): pass `vector`, or rank by keywords "
            "with `text_column` and `hybrid_weight=1`."
        )
    _check_dimension(desc, column, rt.embedder.dimensions, rt_embedder_name(rt))
    try:
        return await rt.embedder.embed_query(query)
    except EmbeddingError as exc:
        raise ToolError(f"Could not embed the query: {exc}") from exc


def _check_dimension(desc: TableDescription, column: str, given: int | None, what: str) -> None:
    """Refuse a query whose dimension differs from the column's, naming both numbers and the fix."""
    stored = next(c.vector_dimension for c in desc.columns if c.name == column)
    if given is None or stored is None or given == stored:
        return
    model = next(c.vector_model for c in desc.columns if c.name == column)
    made_by = f" (made by {model})" if model else ""
    raise ToolError(
        f"{what} has {given} dimensions but column {column!r} of {desc.table_name!r} stores {stored}-dimensional "
        f"vectors{made_by}; embed the query with the model that produced the column (configure "
        "DEEPLAKE_MCP_EMBEDDER / DEEPLAKE_MCP_EMBEDDING_MODEL to match) or pass a matching `vector`."
    )


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
        raise ToolError(
            f"Table {desc.table_name!r} has no vector (float4[]) column; rank by keywords with `text_column` and "
            "`hybrid_weight=1`, or add embeddings with insert_rows(embed=…)."
        )
    raise ToolError(
        f"Table {desc.table_name!r} has several vector columns ({known_names(vectors)}); "
        "say which with `vector_column`."
    )


def _require_text_column(desc: TableDescription, name: str) -> str:
    names = [c.name for c in desc.columns]
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
