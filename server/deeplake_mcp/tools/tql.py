"""``tql_query``: one read-only TQL SELECT on the Tensor Database (``/api/query/v1``)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from deeplake_mcp import audit
from deeplake_mcp.deeplake import DeepLakeError
from deeplake_mcp.guard import StatementClass, check_tql
from deeplake_mcp.output import RowsResult
from deeplake_mcp.paging import window
from deeplake_mcp.results import Paging, limits_for, page_result, position
from deeplake_mcp.tools._common import Ctx, CursorArg, Dialect, runtime, tool_error, without_terminator

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
    max_rows: Annotated[int | None, Field(ge=1, le=10_000, description="rows per page (default: server's)")] = None,
    cursor: CursorArg = None,
) -> Annotated[CallToolResult, RowsResult]:
    """Run one TQL (Tensor Query Language) SELECT on Deep Lake's Tensor Database and return its rows.

    Vector search: `SELECT text, COSINE_SIMILARITY(embedding, ARRAY[0.1, …]) AS score FROM "hub://org/ds"
    ORDER BY COSINE_SIMILARITY(embedding, ARRAY[0.1, …]) DESC LIMIT 5` (higher is closer; ORDER BY cannot
    use a SELECT alias, so repeat the expression or order a subquery). Also `L2_NORM(embedding - ARRAY[…])`
    ASC, `BM25_SIMILARITY(text, 'words')` DESC, `CONTAINS(text, 'word')`, `x[0:10]`, `SHAPE(x)[0]`.
    SELECT only.
    """
    rt = runtime(ctx)
    verdict = check_tql(query)
    audit.guarded(query, verdict.cls.label, allowed=verdict.cls is StatementClass.READ, lang="tql")
    if verdict.cls is not StatementClass.READ:
        raise ToolError(f"Refused by the TQL guard: {verdict.reason}; {verdict.hint}")
    paging = Paging("tql_query", "t", (query, as_list))
    after = position(cursor, paging)
    body = without_terminator(query)

    async def fetch(offset: int, limit: int) -> tuple[list[str], list[list[Any]]]:
        skip = f" OFFSET {int(offset)}" if offset else ""
        try:
            result = await rt.tensordb.tql_query(
                f"SELECT * FROM (\n{body}\n) LIMIT {int(limit)}{skip}", as_list=as_list
            )
            return result.table()
        except DeepLakeError as exc:
            raise await tool_error(rt, exc, workspace=rt.settings.workspace, dialect=TQL) from exc

    limits = limits_for(rt.settings, max_rows)
    return page_result(await window(fetch, after, limits.max_rows), limits=limits, paging=paging)


def _tql_hint(message: str, workspace: str) -> str:
    missing = _MISSING_TENSOR.search(message)
    if missing:
        return (
            f". If {missing.group(1)!r} is a SELECT alias, ORDER BY cannot use it: repeat the expression, "
            "or select from a subquery and order outside it"
        )
    if "syntax error" in message.lower():
        return '. TQL reads SELECT … FROM "hub://org/dataset" [WHERE …] [ORDER BY …] [LIMIT n]'
    return ""


TQL = Dialect("The TQL query failed", "DEEPLAKE_TENSORDB_URL", "the embedded Tensor Database", _tql_hint)
