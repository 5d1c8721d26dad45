"""Compile passes for Deep Lake SQL that PostgreSQL cannot run as written (pure, over pglast trees).

* `CREATE INDEX … USING deeplake_index … [WITH (index_type = …, dimension = N)]`: the local API
  runs a stand-in (the same statement without `WITH`, plus `WHERE false`, so the index lists in
  `pg_indexes` but stores nothing) and records the options in its bookkeeping (`deeplake_index`).
* `EMBEDDING(n)` column types: the `embedding` domain takes no type modifier, so it is dropped
  (`drop_embedding_typmods`); `column_definition` checks a `table_schema` entry of `POST /tables`
  the same way.
* an unqualified `pg_indexes` means Deep Lake's view of it (`point_pg_indexes`): pg_catalog comes
  first on the query role's search_path, so it would otherwise find the catalog's own.
* text and hybrid `<#>`: see _search.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pglast import ast, parse_sql
from pglast.enums import SortByDir
from pglast.parser import ParseError
from pglast.stream import RawStream

from deeplake_mcp.identifiers import quote_ident

from ._errors import InvalidRequest, QueryError
from ._tree import walk

VECTOR_INDEX_TYPES = ("clustered", "clustered_quantized", "quantized", "binary_quantized", "pooled_quantized")
"""The index_type values of a vector deeplake_index."""
INDEX_TYPES = frozenset({"bm25", "exact_text", "exact", "inverted", "inverted_index", "unique", *VECTOR_INDEX_TYPES})
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


def deeplake_index(stmt: ast.Node) -> DeeplakeIndex | None:
    """The deeplake_index form of a `CREATE INDEX … USING deeplake_index` statement (made a stand-in), or None."""
    if not isinstance(stmt, ast.IndexStmt) or (stmt.accessMethod or "").lower() != "deeplake_index":
        return None
    index_type, dimension = _options(stmt.options or ())
    elems: tuple[ast.IndexElem, ...] = stmt.indexParams or ()
    relation = stmt.relation
    assert elems and relation is not None, "the grammar requires a table and a column"
    order: Literal["ASC", "DESC"] = "ASC" if elems[0].ordering == SortByDir.SORTBY_ASC else "DESC"
    columns = tuple(name for elem in elems for name in _columns(elem))
    table = ".".join(quote_ident(part) for part in (relation.schemaname, relation.relname) if part)
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
                raise QueryError(f"unknown index_type '{value}'; expected one of: {', '.join(sorted(INDEX_TYPES))}")
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


def column_definition(name: str, column_type: str) -> str:
    """The SQL of one column, `"name" <type> [constraints]`, from a `table_schema` entry of POST /tables.

    InvalidRequest unless `column_type` is exactly one column's type (and optional constraints).
    """
    probe = f"CREATE TABLE t (c {column_type})"
    try:
        statements = parse_sql(probe)
    except ParseError as exc:
        raise InvalidRequest(f"invalid type {column_type!r} for column {name!r}: {exc}") from exc
    stmt = statements[0].stmt if len(statements) == 1 else None
    elements = stmt.tableElts or () if isinstance(stmt, ast.CreateStmt) else ()
    column = elements[0] if len(elements) == 1 else None
    expected = f"CREATE TABLE t ({RawStream()(column)})" if isinstance(column, ast.ColumnDef) else None
    if not isinstance(column, ast.ColumnDef) or stmt is None or RawStream()(stmt) != expected:
        raise InvalidRequest(f"invalid type {column_type!r} for column {name!r}: not a single column type")
    _drop_embedding_typmods(column)
    column.colname = name
    return str(RawStream()(column))


def drop_embedding_typmods(root: ast.Node) -> bool:
    """Make `EMBEDDING(n)` column types of a CREATE/ALTER TABLE plain `EMBEDDING`; whether any changed."""
    if not isinstance(root, ast.CreateStmt | ast.AlterTableStmt):
        return False
    return any([_drop_embedding_typmods(node) for node in walk(root) if isinstance(node, ast.TypeName)])


def point_pg_indexes(root: ast.Node) -> bool:
    """Point every unqualified `pg_indexes` (that is not a CTE's name) at Deep Lake's view; whether any was."""
    nodes = list(walk(root))
    if any(isinstance(node, ast.CommonTableExpr) and node.ctename == "pg_indexes" for node in nodes):
        return False
    found = [n for n in nodes if isinstance(n, ast.RangeVar) and n.schemaname is None and n.relname == "pg_indexes"]
    for relation in found:
        relation.schemaname = "deeplake_compat"
    return bool(found)


def _drop_embedding_typmods(node: ast.Node) -> bool:
    type_name = node.typeName if isinstance(node, ast.ColumnDef) else node
    if not isinstance(type_name, ast.TypeName) or not type_name.typmods:
        return False
    last = (type_name.names or ())[-1] if type_name.names else None
    if not isinstance(last, ast.String) or str(last.sval).lower() != "embedding":
        return False
    type_name.typmods = None
    return True
