"""``tql_query``: one read-only TQL SELECT on the Tensor Database (``/api/query/v1``)."""

from __future__ import annotations

import re
from typing import Annotated

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from deeplake_mcp.deeplake import (
    DeepLakeAPIError,
    DeepLakeConnectionError,
    DeepLakeError,
    DeepLakeTimeoutError,
)
from deeplake_mcp.guard import StatementClass, check_tql
from deeplake_mcp.output import RowsResult, shape_rows
from deeplake_mcp.runtime import Runtime
from deeplake_mcp.tools._common import Ctx, runtime

__all__ = ["tql_query"]

_MISSING_TENSOR = re.compile(r'Tensor "([^"]+)" does not exist')

TqlArg = Annotated[
    str,
    Field(description='one TQL SELECT; name each dataset as a quoted hub path: FROM "hub://org/dataset"'),
]


async def tql_query(
    ctx: Ctx,
    query: TqlArg,
    as_list: Annotated[
        bool, Field(description="ask the API for rows as objects (true) or columns as lists (false)")
    ] = True,
    max_rows: Annotated[
        int | None, Field(ge=1, le=10_000, description="row cap for this call (server default when omitted)")
    ] = None,
) -> RowsResult:
    """Run one TQL (Tensor Query Language) SELECT on Deep Lake's Tensor Database and return its rows.

    Vector search: `SELECT text, COSINE_SIMILARITY(embedding, ARRAY[0.1, …]) AS score FROM "hub://org/ds"
    ORDER BY COSINE_SIMILARITY(embedding, ARRAY[0.1, …]) DESC LIMIT 5` (higher is closer; ORDER BY cannot
    use a SELECT alias, so repeat the expression or order a subquery). Also `L2_NORM(embedding - ARRAY[…])`
    ASC, `BM25_SIMILARITY(text, 'words')` DESC, `CONTAINS(text, 'word')`, `x[0:10]`, `SHAPE(x)[0]`.
    SELECT only; results are capped and `truncated` says when more rows exist.
    """
    rt = runtime(ctx)
    verdict = check_tql(query)
    if verdict.cls is not StatementClass.READ:
        raise ToolError(f"Refused by the TQL guard: {verdict.reason}; {verdict.hint}")
    limit = max_rows or rt.settings.max_rows
    capped = f"SELECT * FROM (\n{_without_terminator(query)}\n) LIMIT {int(limit) + 1}"
    try:
        result = await rt.tensordb.tql_query(capped, as_list=as_list)
        columns, rows = result.table()
    except DeepLakeError as exc:
        raise _tool_error(rt, exc) from exc
    return shape_rows(columns, rows, max_rows=limit, max_chars=rt.settings.max_result_chars)


def _without_terminator(query: str) -> str:
    """The query without its trailing ``;`` (the guard allows no comments, so it ends the text)."""
    text = query.rstrip()
    return text[:-1] if text.endswith(";") else text


def _tool_error(rt: Runtime, exc: DeepLakeError) -> ToolError:
    if isinstance(exc, DeepLakeTimeoutError):
        return ToolError(f"{exc} Narrow the query (WHERE, LIMIT) or raise DEEPLAKE_MCP_QUERY_TIMEOUT.")
    if isinstance(exc, DeepLakeConnectionError):
        where = "DEEPLAKE_TENSORDB_URL" if rt.backend == "cloud" else "the embedded Tensor Database"
        return ToolError(f"{exc}. Check {where} and the network, then try again.")
    if isinstance(exc, DeepLakeAPIError) and exc.status_code == 400 and exc.message:
        return ToolError(f"The TQL query failed: {exc.message.rstrip('. ')}{_hint(exc.message)}")
    if isinstance(exc, DeepLakeAPIError) and exc.status_code == 501 and exc.message:
        return ToolError(exc.message)
    return ToolError(str(exc))


def _hint(message: str) -> str:
    missing = _MISSING_TENSOR.search(message)
    if missing:
        return (
            f". If {missing.group(1)!r} is a SELECT alias, ORDER BY cannot use it: repeat the expression, "
            "or select from a subquery and order outside it"
        )
    if "syntax error" in message.lower():
        return '. TQL reads SELECT … FROM "hub://org/dataset" [WHERE …] [ORDER BY …] [LIMIT n]'
    return ""
