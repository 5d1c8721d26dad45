"""``compile_sql(sql, params) -> Plan``: what PostgreSQL runs for one statement sent to the local API.

The statement is parsed once (pglast: PostgreSQL's own parser) and the Deep Lake passes run over the
compiler's own tree, in order: a `CREATE INDEX … USING deeplake_index` becomes a stand-in
(_sqlcompat), `EMBEDDING(n)` types lose their modifier, an unqualified `pg_indexes` means Deep Lake's
view of it, text and hybrid `<#>` become BM25 queries (_search), and a ranking SELECT is marked for
the vector index (_ann, also inside EXPLAIN and the `query` tool's LIMIT wrapper). When no pass
changes anything the statement runs exactly as sent; otherwise the rewritten tree is rendered.

It fails closed: text that does not parse, several statements, COPY over the API's connection,
transaction control (the API owns the transaction), and a pass that cannot handle a statement are each
a clear QueryError, never a reason to run the text as
it came. Query vectors written inline (`<#> ARRAY[…]`) become params before parsing, since parsing and
rendering hundreds of numbers costs milliseconds.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from pglast import ast, parse_sql
from pglast.parser import ParseError

from ._ann import VectorSearch, plan_vector_search
from ._errors import LocalAPIError, QueryError
from ._search import rewrite_search
from ._sqlcompat import DeeplakeIndex, deeplake_index, drop_embedding_typmods, point_pg_indexes
from ._tree import render, walk
from ._values import JSON

__all__ = ["Plan", "compile_sql"]

log = logging.getLogger(__name__)

_LITERAL = re.compile(r"<#>(\s*)ARRAY\s*\[([-+0-9.eE,\s]*)\]", re.IGNORECASE)
_AT_INDEX = re.compile(r", at index \d+$")


@dataclass(frozen=True)
class Plan:
    """What to run for one statement: the SQL and its params, and what the statement is."""

    sql: str
    params: list[JSON]
    index: DeeplakeIndex | None = None
    """A deeplake_index to create: ``sql`` is its stand-in."""
    search: VectorSearch | None = field(default=None, compare=False)
    """A ranking a vector index can answer: ``sql`` is the statement as written (for when none can)."""


def compile_sql(sql: str, params: Sequence[JSON] = ()) -> Plan:
    """Compile one statement (see the module docstring); QueryError when it cannot run here."""
    params = list(params)
    root, values = _parse(sql, params)
    try:
        return _plan(sql, params, root, values)
    except LocalAPIError:
        raise
    except Exception as exc:  # a gap in a pass: say so, never run the statement unrewritten
        log.warning("the local API could not compile a statement", exc_info=True)
        raise QueryError(
            f"the local Deep Lake API cannot run this statement ({type(exc).__name__} while rewriting it); "
            "simplify it, e.g. split it into smaller queries"
        ) from exc


def _plan(sql: str, params: list[JSON], root: ast.Node, values: list[JSON]) -> Plan:
    if isinstance(root, ast.CopyStmt) and root.filename is None:
        raise QueryError("COPY FROM STDIN and COPY TO STDOUT are not supported; use INSERT or SELECT")
    if isinstance(root, ast.TransactionStmt):
        raise QueryError("transaction control is not available: every query runs in a transaction of its own")
    index = deeplake_index(root)
    if index is not None:
        return Plan(index.standin_sql, params, index=index)
    changed = drop_embedding_typmods(root)
    changed = point_pg_indexes(root) or changed
    changed = rewrite_search(root, values) or changed
    search = plan_vector_search(root, values)
    if search is not None:
        return Plan(render(root), [*values, *search.extra_params], search=search)
    if changed:
        return Plan(render(root), values)
    return Plan(sql, params)


def _parse(sql: str, params: list[JSON]) -> tuple[ast.Node, list[JSON]]:
    """The one statement in ``sql`` and its params, with inline query vectors lifted into params if any."""
    lifted = _lift_literals(sql, len(params))
    if lifted is not None:
        short, vectors = lifted
        root = _one_statement(short)
        numbers = range(len(params) + 1, len(params) + len(vectors) + 1)
        if sorted(_param_numbers(root, len(params))) == list(numbers):
            return root, [*params, *vectors]
    return _one_statement(sql), params


def _one_statement(sql: str) -> ast.Node:
    try:
        statements = parse_sql(sql)
    except ParseError as exc:
        raise QueryError(_AT_INDEX.sub("", str(exc.args[0]) if exc.args else str(exc))) from exc
    if len(statements) != 1:
        raise QueryError(
            "only one SQL statement per query is allowed; send statements one at a time"
            if statements
            else "the query holds no SQL statement"
        )
    root = statements[0].stmt
    assert isinstance(root, ast.Node)
    return root


def _lift_literals(sql: str, count: int) -> tuple[str, list[JSON]] | None:
    """`sql` with each `<#> ARRAY[numbers]` made `<#> ($n::float4[])`, and the vectors; None if none.

    A literal found inside a string or comment does not come back as a param: the caller then
    parses `sql` as it is.
    """
    vectors: list[JSON] = []

    def lift(match: re.Match[str]) -> str:
        try:
            numbers = [Decimal(item) for item in match.group(2).split(",")]
        except InvalidOperation:
            return match.group(0)
        if not all(number.is_finite() for number in numbers):
            return match.group(0)
        vectors.append(list(numbers))
        return f"<#>{match.group(1)}(${count + len(vectors)}::float4[])"

    short = _LITERAL.sub(lift, sql)
    return (short, vectors) if vectors else None


def _param_numbers(root: ast.Node, above: int) -> Iterator[int]:
    for node in walk(root):
        if isinstance(node, ast.ParamRef) and (node.number or 0) > above:
            yield node.number or 0
