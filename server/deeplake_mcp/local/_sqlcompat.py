"""Deep Lake SQL that PostgreSQL cannot run as written, found with pglast.

Only `CREATE INDEX … USING deeplake_index … [WITH (index_type = …, dimension = N)]` needs help:
the local API runs a stand-in (the same statement without `WITH`, plus `WHERE false`, so the
index lists in `pg_indexes` but stores nothing) and records the options in its bookkeeping table.
Everything else, including SQL that pglast cannot parse, goes to PostgreSQL unchanged, one
statement per request (COPY through the client connection is refused: HTTP carries no COPY data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pglast import ast, parse_sql
from pglast.enums import SortByDir
from pglast.parser import ParseError, split
from pglast.stream import RawStream

from ._errors import QueryError

INDEX_TYPES = frozenset(
    {
        "bm25",
        "exact_text",
        "exact",
        "inverted",
        "inverted_index",
        "clustered",
        "clustered_quantized",
        "quantized",
        "binary_quantized",
        "pooled_quantized",
        "unique",
    }
)
_HYBRID_RECORD = "deeplake_hybrid_record"


@dataclass(frozen=True)
class DeeplakeIndex:
    """A `CREATE INDEX … USING deeplake_index` statement."""

    standin_sql: str
    table: str
    columns: tuple[str, ...]
    order: Literal["ASC", "DESC"]
    index_type: str | None
    dimension: int | None


def translate(sql: str) -> DeeplakeIndex | None:
    """Check that `sql` is one statement the API can run and return its deeplake_index form, if any.

    QueryError for several statements and for COPY over the client connection (FROM STDIN, TO STDOUT).
    """
    try:
        statements = split(sql)
    except ParseError:
        return None
    if len(statements) > 1:
        raise QueryError("only one SQL statement per query is allowed; send statements one at a time")
    if not statements:
        return None
    lowered = statements[0].lower()
    if not lowered.startswith("copy") and "deeplake_index" not in lowered:
        return None
    stmt = parse_sql(statements[0])[0].stmt
    if isinstance(stmt, ast.CopyStmt) and stmt.filename is None:
        raise QueryError("COPY FROM STDIN and COPY TO STDOUT are not supported; use INSERT or SELECT")
    if isinstance(stmt, ast.IndexStmt) and (stmt.accessMethod or "").lower() == "deeplake_index":
        return _deeplake_index(stmt)
    return None


def _deeplake_index(stmt: ast.IndexStmt) -> DeeplakeIndex:
    index_type, dimension = _options(stmt.options or ())
    elems: tuple[ast.IndexElem, ...] = stmt.indexParams or ()
    relation = stmt.relation
    assert elems and relation is not None, "the grammar requires a table and a column"
    order: Literal["ASC", "DESC"] = "ASC" if elems[0].ordering == SortByDir.SORTBY_ASC else "DESC"
    columns = tuple(name for elem in elems for name in _columns(elem))
    table = ".".join(_quote(part) for part in (relation.schemaname, relation.relname) if part)
    stmt.options = None
    stmt.whereClause = ast.A_Const(val=ast.Boolean(False))
    return DeeplakeIndex(RawStream()(stmt), table, columns, order, index_type, dimension)


def _options(options: tuple[ast.DefElem, ...]) -> tuple[str | None, int | None]:
    index_type: str | None = None
    dimension: int | None = None
    for option in options:
        value = _as_text(option.arg)
        if option.defname == "index_type":
            index_type = value.lower()
            if index_type not in INDEX_TYPES:
                raise QueryError(
                    f"unknown index_type '{value}'; expected one of: {', '.join(sorted(INDEX_TYPES))}"
                )
        elif option.defname == "dimension":
            if not value.isdigit() or int(value) < 1:
                raise QueryError(f"dimension must be a positive integer, got '{value}'")
            dimension = int(value)
        else:
            raise QueryError(f'unrecognized parameter "{option.defname}"')
    return index_type, dimension


def _as_text(arg: object) -> str:
    if isinstance(arg, ast.String):
        return str(arg.sval)
    if isinstance(arg, ast.Integer):
        return str(arg.ival)
    if isinstance(arg, ast.TypeName) and arg.names:
        return str(arg.names[-1].sval)
    return RawStream()(arg) if isinstance(arg, ast.Node) else ""


def _columns(elem: ast.IndexElem) -> tuple[str, ...]:
    """The column name, the columns of a `(a, b)::deeplake_hybrid_record` cast, or the expression."""
    if elem.name:
        return (elem.name,)
    expr = elem.expr
    assert expr is not None, "an index element is a column or an expression"
    if isinstance(expr, ast.TypeCast) and isinstance(expr.arg, ast.RowExpr):
        refs = expr.arg.args or ()
        if _as_text(expr.typeName) == _HYBRID_RECORD and all(isinstance(ref, ast.ColumnRef) for ref in refs):
            return tuple(RawStream()(ref) for ref in refs)
    return (RawStream()(expr),)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
