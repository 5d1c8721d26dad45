"""``insert_rows``: typed, batched inserts that say exactly what was written when a batch fails."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import anyio
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from deeplake_mcp.deeplake import DeepLakeConnectionError, DeepLakeError, ServerError
from deeplake_mcp.descriptions import TableDescription
from deeplake_mcp.embeddings import EmbeddingError
from deeplake_mcp.memory import release_soon
from deeplake_mcp.runtime import Runtime
from deeplake_mcp.server_sql import VECTOR_TYPES
from deeplake_mcp.tools._common import Ctx, Name, WorkspaceArg, known_names, runtime, tool_error
from deeplake_mcp.tools.catalog import describe, described, forget_schemas

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from deeplake_mcp.row_writers import Rows

__all__ = ["InsertResult", "insert_rows", "plan_chunks"]

MAX_ROWS_PER_CALL = 50_000
RELEASE_AFTER_ROWS = 1_000
"""After an insert of this many rows the server hands the memory its arguments took back to the system."""
CHUNK_ROWS = 1_000
CHUNK_BYTES = 4 * 1024 * 1024
EMBED_BATCH = 256

log = logging.getLogger(__name__)


class InsertResult(BaseModel):
    """How many rows were written, in how many batches."""

    table: str
    workspace: str
    inserted: int
    batches: int


async def insert_rows(
    ctx: Ctx,
    table: Annotated[Name, Field(description="table to insert into")],
    rows: Annotated[
        list[dict[str, Any]],
        Field(description="rows as objects keyed by column name; vectors as lists of numbers, JSON as objects"),
    ],
    workspace: WorkspaceArg = None,
    embed: Annotated[
        dict[Name, Name] | None,
        Field(description='embed text server-side: {"vector_column": "text_column"}, e.g. {"embedding": "content"}'),
    ] = None,
) -> InsertResult:
    """Insert rows into a table, in batches. Values are sent as parameters, never spliced into SQL.

    Columns missing from a row are inserted as NULL. With `embed`, the server embeds each row's text into the
    vector column. When a batch fails, the error says which rows were written and which were not, so nothing
    is lost or written twice.
    """
    rt = runtime(ctx)
    ws = rt.workspace(workspace)
    if not rows:
        raise ToolError('`rows` is empty; pass at least one row object, e.g. [{"title": "…"}].')
    if len(rows) > MAX_ROWS_PER_CALL:
        raise ToolError(f"{len(rows)} rows is more than {MAX_ROWS_PER_CALL} per call; split the insert.")
    desc = await described(rt, ws, table)
    if _names_unknown_columns(desc, rows, embed):
        desc = await describe(rt, ws, table)  # a column added since the description was cached, else a mistake
    if embed:
        rows = await _with_embeddings(ctx, rt, desc, rows, embed)
    from deeplake_mcp.row_writers import writer_for  # NumPy loads with the first insert, not at start-up

    checked = _checked(ws, desc, rows)
    chunks = plan_chunks(checked.json_sizes())
    writer = writer_for(rt.backend, rt.client, checked, chunks, rt.type_oids)
    written = 0
    try:
        for start, end in chunks:
            try:
                await writer.write(start, end)
            except DeepLakeError as exc:
                detail = str(await tool_error(rt, exc, workspace=ws, table=table))
                raise ToolError(_partial_failure(len(rows), start, end, exc, detail)) from exc
            except anyio.get_cancelled_exc_class():
                # The caller is gone and will not read a reply, so the log keeps the account.
                in_flight = "may or may not have been written" if rt.backend == "cloud" else "were not written"
                log.warning(
                    "insert_rows into %s.%s was cancelled: rows[0:%d] were written, rows[%d:%d] %s, rows[%d:%d] "
                    "were not attempted",
                    ws, table, start, start, end, in_flight, end, len(rows),
                )  # fmt: skip
                raise
            written = end
            done = written + len(rows) * len(embed or {})
            await ctx.report_progress(done, _work(rows, embed), f"inserted {written} of {len(rows)} rows")
    finally:
        if written < len(rows) or embed or _first_vectors(desc, checked):
            forget_schemas(rt, ws, table)  # the description may have changed: kept otherwise, for the next call
        if len(rows) >= RELEASE_AFTER_ROWS:
            release_soon()
    if embed and rt.embedder is not None:
        await _record_models(rt, ws, table, list(embed), rt.embedder.name)
    return InsertResult(table=table, workspace=ws, inserted=written, batches=len(chunks))


def _checked(workspace: str, desc: TableDescription, rows: list[dict[str, Any]]) -> Rows:
    """The rows, checked against the table (known columns, vectors of the right dimension) before any is written."""
    from deeplake_mcp.row_writers import Rows
    from deeplake_mcp.vectors import VectorColumn, VectorValueError, plain, vector_column

    columns = _columns_of(desc, rows)
    types = {c.name: c.type.lower() for c in desc.columns}
    vectors: dict[str, VectorColumn] = {}
    for col in desc.columns:
        if col.name in columns and col.type.lower() in VECTOR_TYPES:
            try:
                vectors[col.name] = vector_column(col.name, [row.get(col.name) for row in rows], col.vector_dimension)
            except VectorValueError as exc:
                raise ToolError(f"rows[{exc.row}].{exc.problem}; nothing was written.") from None
    for name in set(columns) - set(vectors):  # float lists the stdio transport packed, in other kinds of column
        for row in rows:
            if name in row:
                row[name] = plain(row[name])
    return Rows(workspace, desc.table_name, columns, {c: types[c] for c in columns}, rows, vectors)


def _work(rows: list[dict[str, Any]], embed: dict[str, str] | None) -> int:
    """Units of progress: one per row inserted, plus one per row and column embedded."""
    return len(rows) * (1 + len(embed or {}))


async def _with_embeddings(
    ctx: Ctx, rt: Runtime, desc: TableDescription, rows: list[dict[str, Any]], embed: dict[str, str]
) -> list[dict[str, Any]]:
    """Copies of ``rows`` whose vector columns hold the embeddings of their text columns."""
    embedder = rt.embedder
    if embedder is None:
        raise ToolError("This server has no text embedder (DEEPLAKE_MCP_EMBEDDER=none); pass vectors in the rows.")
    names = [c.name for c in desc.columns]
    for vec_col, text_col in embed.items():
        column = next((c for c in desc.columns if c.name == vec_col), None)
        if column is None or column.type.lower() not in VECTOR_TYPES:
            vector_names = [c.name for c in desc.columns if c.type.lower() in VECTOR_TYPES]
            swapped = f' (it maps vector column to text column: {{"{text_col}": "{vec_col}"}}?)'
            raise ToolError(
                f"embed: {vec_col!r} is not a vector column; vector columns are: {known_names(vector_names)}"
                + (swapped if text_col in vector_names and vec_col in names else "")
                + "."
            )
        if text_col not in names:
            raise ToolError(
                f"embed: {text_col!r} is not a column of {desc.table_name!r}; columns are: {known_names(names)}."
            )
        if column.vector_dimension and embedder.dimensions and column.vector_dimension != embedder.dimensions:
            raise ToolError(
                f"embed: {embedder.name} makes {embedder.dimensions}-dimensional vectors but column {vec_col!r} holds "
                f"{column.vector_dimension}-dimensional ones{_made_by(column.vector_model)}; nothing was written."
            )
    out = [dict(row) for row in rows]
    total = _work(rows, embed)
    for pair, (vec_col, text_col) in enumerate(embed.items()):
        positions = [i for i, row in enumerate(out) if row.get(text_col) is not None]
        for i in positions:
            if not isinstance(out[i][text_col], str):
                raise ToolError(f"rows[{i}].{text_col} must be text to embed it; nothing was written.")
            if out[i].get(vec_col) is not None:
                raise ToolError(f"rows[{i}] already has {vec_col!r}; leave it out when using embed.")
        for start in range(0, len(positions), EMBED_BATCH):
            batch = positions[start : start + EMBED_BATCH]
            try:
                vectors = await embedder.embed_documents([out[i][text_col] for i in batch])
            except EmbeddingError as exc:
                raise ToolError(f"Could not embed {text_col!r}: {exc}; nothing was written.") from exc
            for i, vector in zip(batch, vectors, strict=True):
                out[i][vec_col] = vector
            done = start + len(batch)
            await ctx.report_progress(pair * len(rows) + done, total, f"embedded {done} of {len(positions)} texts")
    return out


def _made_by(model: str | None) -> str:
    return f" (made by {model})" if model else ""


async def _record_models(rt: Runtime, workspace: str, table: str, columns: list[str], model: str) -> None:
    """Note the model in each vector column's comment (unless the column carries someone else's comment)."""
    for column in columns:
        try:
            await rt.server_sql.record_embedding_model(workspace, table, column, model)
        except DeepLakeError as exc:  # best effort: the data is written either way
            log.info("could not record the embedding model of %s.%s: %s", table, column, exc)


def plan_chunks(
    sizes: Sequence[int] | NDArray[np.int64], *, max_rows: int = CHUNK_ROWS, max_bytes: int = CHUNK_BYTES
) -> list[tuple[int, int]]:
    """Split rows of the given sizes into ``[start, end)`` batches bounded by row count and by bytes."""
    chunks: list[tuple[int, int]] = []
    start, total = 0, 0
    for i, row_bytes in enumerate(map(int, sizes)):
        if i > start and (i - start >= max_rows or total + row_bytes > max_bytes):
            chunks.append((start, i))
            start, total = i, 0
        total += row_bytes
    if start < len(sizes):
        chunks.append((start, len(sizes)))
    return chunks


def _names_unknown_columns(desc: TableDescription, rows: list[dict[str, Any]], embed: dict[str, str] | None) -> bool:
    """Whether the rows (or ``embed``) name a column ``desc`` lacks: one set union, in C, over every row."""
    embedding = embed or {}
    named = set().union(*(row for row in rows if isinstance(row, dict)), embedding.keys(), embedding.values())
    return not named <= {c.name for c in desc.columns}


def _first_vectors(desc: TableDescription, rows: Rows) -> bool:
    """Whether ``rows`` give a vector column of no known dimension its first vectors (its dimension then shows)."""
    unknown = {c.name for c in desc.columns if c.vector_dimension is None}
    return not unknown.isdisjoint(rows.vectors)


def _columns_of(desc: TableDescription, rows: list[dict[str, Any]]) -> list[str]:
    known = [c.name for c in desc.columns]
    seen: dict[str, None] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not row:
            raise ToolError(f"rows[{i}] is not a non-empty object of column values.")
        for key in row:
            if key not in known:
                raise ToolError(
                    f"rows[{i}] has column {key!r}, which {desc.table_name!r} does not have; "
                    f"columns are: {known_names(known)}."
                )
            seen.setdefault(key)
    return list(seen)


def _partial_failure(total: int, start: int, end: int, exc: DeepLakeError, detail: str) -> str:
    ambiguous = isinstance(exc, DeepLakeConnectionError | ServerError)
    fate = (
        "may or may not have been written (the service gave no clear answer); check with a query before retrying them"
        if ambiguous
        else "were not written"
    )
    parts = [f"rows[0:{start}] ({start} rows) were written" if start else "no rows were written before it"]
    parts.append(f"rows[{start}:{end}] {fate}")
    if end < total:
        parts.append(f"rows[{end}:{total}] were not attempted")
    return f"Batch rows[{start}:{end}] failed: {detail} — " + "; ".join(parts) + "."
