"""``tql_query``: one read-only TQL SELECT on the Tensor Database (``/api/query/v1``)."""

from __future__ import annotations

import re
from typing import Annotated

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from deeplake_mcp import audit
from deeplake_mcp.deeplake import DeepLakeError
from deeplake_mcp.guard import StatementClass, check_tql
from deeplake_mcp.output import RowsResult, shape_rows
from deeplake_mcp.tools._common import Ctx, Dialect, runtime, tool_error, without_terminator

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
    audit.guarded(query, verdict.cls.label, allowed=verdict.cls is StatementClass.READ, lang="tql")
    if verdict.cls is not StatementClass.READ:
        raise ToolError(f"Refused by the TQL guard: {verdict.reason}; {verdict.hint}")
    limit = max_rows or rt.settings.max_rows
    capped = f"SELECT * FROM (\n{without_terminator(query)}\n) LIMIT {int(limit) + 1}"
    try:
        result = await rt.tensordb.tql_query(capped, as_list=as_list)
        columns, rows = result.table()
    except DeepLakeError as exc:
        raise await tool_error(rt, exc, workspace=rt.settings.workspace, dialect=TQL) from exc
    return shape_rows(columns, rows, max_rows=limit, max_chars=rt.settings.max_result_chars)


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
