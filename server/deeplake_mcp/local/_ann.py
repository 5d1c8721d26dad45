"""Vector search through HNSW indexes: the local API's stand-in for Deep Lake's vector `deeplake_index`.

Indexes (SQL side in bootstrap.sql, `deeplake_compat.ann_*`). A deeplake_index on one float4[] column
(or a domain over it, e.g. `embedding`), with index_type clustered, clustered_quantized (quantized,
binary_quantized), pooled_quantized or none, also gets a companion pgvector HNSW index (cosine) named
`<index>_dl_hnsw_<oid>` on `deeplake_compat.ann_vector(col, N)::vector(N)`: the vector when it is 1-D
with N dimensions, else NULL, which HNSW leaves out (so do zero vectors); halfvec(N) above 2000
dimensions, no companion above 4000. N is `WITH (dimension = N)`, else the most common length of the
column's vectors when the index is created. On a column without vectors yet (and no dimension) the index
is *pending*: the first ranking search that finds vectors in the column builds it, in its own
transaction, before it runs (so a search right after a bulk load pays the build once, and the load did
not pay HNSW upkeep per row). A build that fails (e.g. NaN in a vector) leaves a warning and an `error`,
and searches on that column stay exact. Dropping the deeplake index (or its table, or workspace) drops
the companion. `deeplake_indexes` shows `ann_index`, `ann_status` and `ann_dimension`; the API's
`pg_indexes` hides companions (`pg_catalog.pg_indexes` lists them).

Once a companion exists, every insert or update of the column maintains it (about 1-2 ms per row at 384
dimensions), and a vector of another dimension is stored but left out of the index: searches through it
never return that row (Deep Lake scores a mismatched row 0.0; the exact scan fails on it). A vector with
NaN, infinity or NULL elements and the index's dimension is refused at insert, with pgvector's message.

Searches. A SELECT (or EXPLAIN of one)

* over one table (`FROM t [AS a]`), without WITH, DISTINCT, GROUP BY, HAVING, windows, set operations
  or locking clauses,
* whose first ORDER BY key is `col <#> q` or `q <#> col` - written out, by its alias or by position,
  ASC or DESC - where q is a constant vector: `ARRAY[numbers]`, `'{numbers}'` (either optionally cast
  to float4[]/real[]/embedding) or a `$n` param holding one,
* with LIMIT (a number or a param) and optionally OFFSET,

is answered through the column's companion when there is one and q has its N dimensions. The result is
the rows whose vector has N dimensions, ranked by cosine similarity, **best first whatever the direction
asked** (deeplake-api.md §7.4), with the `<#>` scores computed exactly as the query wrote them:

* ANN: the first key becomes `ann_vector(col, N)::vector(N) <=> q::vector(N)` (an HNSW index scan), with
  `hnsw.iterative_scan = strict_order` (WHERE filters apply during the scan, which continues until
  LIMIT rows pass them, in exact distance order) and `hnsw.ef_search` = EF_SEARCH or 2 x (LIMIT +
  OFFSET), at most 1000 - or 1000 whenever there is a WHERE (other than conditions on the vector
  column): a filter can exclude q's whole neighbourhood, and then only a wide first pass finds the
  nearest rows that pass it;
  The index scan is forced (enable_seqscan and enable_sort off for the statement): the planner's other
  plans for it compute the index expression for every row and sort, slower than the exact form.
* exact: the first key becomes `col <#> q DESC` and the WHERE gains `array_length(col, 1) = N`, when the
  planner expects the table to have fewer than MIN_ROWS rows (as fast as the index), or the WHERE
  (leaving out conditions on the vector column) to keep fewer than MIN_FRACTION of the rows (an HNSW
  scan would wander far for so few and miss neighbours, while an exact scan only scores the rows that
  pass), and when the ANN scan returns fewer than LIMIT rows (too few rows, or the scan gave up:
  hnsw.max_scan_tuples).

A q of another dimension is a QueryError naming the index's dimension; a zero q, and everything else
(no index, a failed one, other query shapes) runs as written: an exact scan, in the order asked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pglast import ast, parse_sql
from pglast.enums import BoolExprType, LimitOption, SetOperation, SortByDir, SortByNulls
from psycopg import AsyncRawCursor

from ._errors import QueryError
from ._search import _children, _expr, _own_nodes, _ranked_operator, _sql, _type_name, parse_one
from ._values import JSON, to_param

__all__ = [
    "EF_SEARCH",
    "MIN_FRACTION",
    "MIN_ROWS",
    "Target",
    "VectorSearch",
    "attach",
    "build",
    "lookup",
    "plan_search",
    "run",
]

log = logging.getLogger(__name__)

EF_SEARCH = 100
"""Base hnsw.ef_search (pgvector's default is 40): recall@10 ≈ 0.99 on clustered 100k × 384 data."""
MIN_FRACTION = 0.05
"""Below this estimated share of rows kept by the WHERE, rank exactly instead of through the index
(100k x 384 clustered: recall@10 through the index 0.998 at 10 %, 0.98 at 5 %, 0.95 at 3 %, 0.7-0.8 at 1 %,
where the exact scan takes about as long)."""
MAX_EF_SEARCH = 1000  # pgvector's limit

_VECTOR_CASTS = frozenset({"float4", "real"})
_VECTOR_DOMAINS = frozenset({"embedding"})

MIN_ROWS = 1000
"""Tables the planner expects to have fewer rows are ranked exactly (as fast: 8 ms vs 6 ms at 1000 x 384)."""

_LOOKUP = """
    SELECT l.index_oid, l.index_name, l.dimension, l.vector_type, l.status, e.total, e.fraction
    FROM deeplake_compat.ann_lookup($1, $2) AS l
    LEFT JOIN LATERAL deeplake_compat.ann_estimate($3, $4) AS e ON l.status = 'ready'
"""
# The ranking through the index is decided here, not by the planner: its other plans for that statement
# (a scan computing the index expression for every row, then a sort) are slower than the exact form.
_SETTINGS = """
    SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', 'strict_order', true),
           set_config('enable_seqscan', 'off', true), set_config('enable_sort', 'off', true)
"""
_RESET = "SELECT set_config(name, reset_val, true) FROM pg_settings WHERE name IN ('enable_seqscan', 'enable_sort')"


@dataclass(frozen=True)
class Target:
    """The vector index a search found for its column (deeplake_compat.ann_lookup)."""

    index_oid: int
    index_name: str
    dimension: int | None
    vector_type: str | None
    status: str  # ready, pending or failed
    rows: float | None  # the planner's estimate of the table's rows (ready indexes only)
    fraction: float | None  # its estimate of the share of them the WHERE keeps (None: it cannot tell)


@dataclass
class VectorSearch:
    """A ranking SELECT over one table that a vector index could answer (see the module docstring)."""

    root: ast.Node
    select: ast.SelectStmt
    sort: ast.SortBy
    column: str  # the column operand as written (`embedding`, `d.embedding`)
    column_name: str
    table: str  # the table as written, for to_regclass
    from_item: str  # the table with its alias, for estimates
    condition: str | None  # the WHERE without conditions on the vector column, params inlined
    vector: str  # the query vector operand, as SQL typed float4[]
    dimension: int
    limit: int
    offset: int
    explain: bool
    extra_params: list[str]  # params to append (the query vector, when written inline)

    def ann_sql(self, target: Target) -> str:
        """The statement ranked by the index's distance (an HNSW index scan)."""
        n, kind = target.dimension, target.vector_type
        distance = (
            f"(deeplake_compat.ann_vector({self.column}, {n}))::deeplake_compat.{kind}({n}) "
            f"OPERATOR(deeplake_compat.<=>) ({self.vector})::deeplake_compat.{kind}({n})"
        )
        # Should the planner prefer a scan (many rows asked for), the rows the index leaves out stay out.
        indexed = f"deeplake_compat.ann_vector({self.column}, {n}) IS NOT NULL"
        original = self.sort.node, self.sort.sortby_dir, self.sort.sortby_nulls, self.select.whereClause
        self.sort.node = _expr(distance)
        self.sort.sortby_dir = SortByDir.SORTBY_DEFAULT
        self.sort.sortby_nulls = SortByNulls.SORTBY_NULLS_DEFAULT
        self.select.whereClause = _and(self.select.whereClause, _expr(indexed))
        try:
            return _sql(self.root)
        finally:
            self.sort.node, self.sort.sortby_dir, self.sort.sortby_nulls, self.select.whereClause = original

    def exact_sql(self, target: Target) -> str:
        """The same ranking computed exactly: rows with N-dimensional vectors, best score first."""
        original = self.select.whereClause, self.sort.sortby_dir, self.sort.sortby_nulls
        extra = _expr(f"array_ndims({self.column}) = 1 AND array_length({self.column}, 1) = {target.dimension}")
        self.select.whereClause = _and(original[0], extra)
        self.sort.sortby_dir = SortByDir.SORTBY_DESC
        self.sort.sortby_nulls = SortByNulls.SORTBY_NULLS_LAST
        try:
            return _sql(self.root)
        finally:
            self.select.whereClause, self.sort.sortby_dir, self.sort.sortby_nulls = original


def _and(where: ast.Node | None, extra: ast.Node) -> ast.Node:
    return extra if where is None else ast.BoolExpr(boolop=BoolExprType.AND_EXPR, args=(where, extra))


def plan_search(sql: str, params: Sequence[JSON] = ()) -> VectorSearch | None:
    """The VectorSearch that `sql` is, or None; never raises (a failure is logged, the SQL runs as written)."""
    lowered = sql.lower()
    if "<#>" not in sql or "order" not in lowered or ("limit" not in lowered and "fetch" not in lowered):
        return None
    try:
        return _plan(sql, params)
    except Exception:  # an optimisation, never a reason to fail
        log.warning("could not plan a vector search for the local API; running it as written", exc_info=True)
        return None


async def lookup(cur: AsyncRawCursor[Any], search: VectorSearch) -> Target | None:
    """The vector index of the searched column, with the WHERE's estimated share of rows if it is ready."""
    await cur.execute(_LOOKUP.encode(), [search.table, search.column_name, search.from_item, search.condition])
    row = await cur.fetchone()
    if row is None:
        return None
    oid, name, dimension, kind, status, rows, fraction = row
    return Target(
        index_oid=int(oid),
        index_name=str(name),
        dimension=dimension,
        vector_type=kind,
        status=str(status),
        rows=None if rows is None else float(rows),
        fraction=None if fraction is None else float(fraction),
    )


async def build(cur: AsyncRawCursor[Any], index_oid: int) -> str | None:
    """Build a pending companion (deeplake_compat.ann_build); its status, None if the index is gone."""
    await cur.execute(b"SELECT deeplake_compat.ann_build($1::oid)", [str(index_oid)])
    row = await cur.fetchone()
    return None if row is None or row[0] is None else str(row[0])


async def attach(cur: AsyncRawCursor[Any], standin_oid: int, build_timeout_ms: int) -> None:
    """After a deeplake_index is created: register it if it is a vector index and build its companion."""
    await cur.execute(b"SELECT deeplake_compat.ann_register($1::oid)", [str(standin_oid)])
    row = await cur.fetchone()
    if row is None or not row[0]:
        return
    await cur.execute(b"SELECT set_config('statement_timeout', $1, true)", [str(build_timeout_ms)])
    await build(cur, standin_oid)


async def run(
    cur: AsyncRawCursor[Any], sql: str, search: VectorSearch, target: Target | None, args: list[str | None]
) -> None:
    """Execute the search on `cur` (its results stay there): through the index, exactly, or as written."""
    if target is None or target.status != "ready" or target.dimension is None:
        await cur.execute(sql.encode(), args)
        return
    if search.dimension != target.dimension:
        raise QueryError(
            f"the query vector has {search.dimension} dimensions but deeplake_index {target.index_name!r} "
            f"indexes {target.dimension}-dimensional vectors of column {search.column_name!r}; "
            "embed the query with the model that produced the column"
        )
    args = [*args, *search.extra_params]
    small = target.rows is None or target.rows < MIN_ROWS
    if small or target.fraction is None or target.fraction < MIN_FRACTION:
        await cur.execute(search.exact_sql(target).encode(), args)
        return
    # A filter may exclude the whole neighbourhood of q (a filter correlated with the vectors, e.g. a
    # language): only a wide first pass then finds the nearest rows that pass it.
    wide = search.condition is not None
    ef = MAX_EF_SEARCH if wide else min(MAX_EF_SEARCH, max(EF_SEARCH, 2 * (search.limit + search.offset)))
    await cur.execute(_SETTINGS.encode(), [str(ef)])
    await cur.execute(search.ann_sql(target).encode(), args)
    if not search.explain and cur.rowcount < search.limit:
        await cur.execute(_RESET.encode())
        await cur.execute(search.exact_sql(target).encode(), args)


# Recognising a vector search


def _plan(sql: str, params: Sequence[JSON]) -> VectorSearch | None:
    lifted = _lift_literals(sql, len(params))
    if lifted is not None:
        short, literals = lifted
        root = parse_one(short)
        numbers = range(len(params) + 1, len(params) + len(literals) + 1)
        if root is not None and sorted(_param_numbers(root, len(params))) == list(numbers):
            values: list[JSON] = [_json_list(v) for v in literals]
            return _search(root, [*params, *values], ["{" + ",".join(map(str, v)) + "}" for v in literals])
    root = parse_one(sql)
    return None if root is None else _search(root, params, [])


_LITERAL = re.compile(r"<#>(\s*)ARRAY\s*\[([-+0-9.eE,\s]*)\]", re.IGNORECASE)


def _lift_literals(sql: str, count: int) -> tuple[str, list[list[Decimal]]] | None:
    """`sql` with each `<#> ARRAY[numbers]` made `<#> ($n::float4[])`, and the numbers; None if none.

    Parsing a 384-number literal takes milliseconds, and so does rendering it back. A literal found
    inside a string or comment does not come back as a param: the caller then parses `sql` as it is.
    """
    literals: list[list[Decimal]] = []

    def lift(match: re.Match[str]) -> str:
        try:
            values = [Decimal(item) for item in match.group(2).split(",")]
        except InvalidOperation:
            return match.group(0)
        if not all(value.is_finite() for value in values):
            return match.group(0)
        literals.append(values)
        return f"<#>{match.group(1)}(${count + len(literals)}::float4[])"

    short = _LITERAL.sub(lift, sql)
    return (short, literals) if literals else None


def _json_list(values: list[Decimal]) -> list[JSON]:
    return list(values)


def _param_numbers(node: ast.Node, above: int) -> Iterator[int]:
    if isinstance(node, ast.ParamRef) and (node.number or 0) > above:
        yield node.number or 0
    for child in _children(node):
        yield from _param_numbers(child, above)


def _search(root: ast.Node, params: Sequence[JSON], extra_params: list[str]) -> VectorSearch | None:
    """The VectorSearch of a parsed statement; `extra_params`: values of params added by _lift_literals."""
    explain = isinstance(root, ast.ExplainStmt)
    select = root.query if isinstance(root, ast.ExplainStmt) else root
    if not isinstance(select, ast.SelectStmt) or not _plain(select):
        return None
    relation = (select.fromClause or ())[0]
    assert isinstance(relation, ast.RangeVar)
    bounds = _bounds(select, params)
    ranked = _ranked_operator(select)
    sort = (select.sortClause or ())[0]
    if bounds is None or ranked is None or not isinstance(sort, ast.SortBy):
        return None
    operands = _operands(ranked, relation, params)
    if operands is None:
        return None
    column_ref, column_name, values = operands
    if len(values) == 0 or all(value == 0 for value in values):
        return None  # no cosine for a zero vector: leave it to the exact scan
    vector_node = _vector_node(ranked, column_ref)
    if isinstance(_uncast(vector_node), ast.ParamRef):
        vector = f"({_sql(vector_node)})::float4[]"
    else:
        vector = f"${len(params) + 1}::float4[]"
        extra_params = [*extra_params, "{" + ",".join(str(value) for value in values) + "}"]
        _replace_vector(select, column_name, values, params, _expr(vector))
    return VectorSearch(
        root=root,
        select=select,
        sort=sort,
        column=_sql(column_ref),
        column_name=column_name,
        table=_sql(ast.RangeVar(schemaname=relation.schemaname, relname=relation.relname, inh=True)),
        from_item=_sql(relation),
        condition=_condition(select, column_name, params),
        vector=vector,
        dimension=len(values),
        limit=bounds[0],
        offset=bounds[1],
        explain=explain,
        extra_params=extra_params,
    )


def _plain(select: ast.SelectStmt) -> bool:
    """One table, no clause that changes which rows or how many, a first ORDER BY key and a LIMIT."""
    if (
        select.op != SetOperation.SETOP_NONE
        or select.valuesLists
        or select.intoClause is not None
        or select.withClause is not None
        or select.distinctClause
        or select.groupClause
        or select.havingClause is not None
        or select.windowClause
        or select.lockingClause
        or not select.sortClause
        or select.limitOption != LimitOption.LIMIT_OPTION_COUNT
    ):
        return False
    from_clause = select.fromClause or ()
    if len(from_clause) != 1 or not isinstance(from_clause[0], ast.RangeVar):
        return False
    first = select.sortClause[0]
    if not isinstance(first, ast.SortBy) or first.sortby_dir == SortByDir.SORTBY_USING:
        return False
    return not any(isinstance(node, ast.FuncCall) and node.over is not None for node in _own_nodes(select))


def _bounds(select: ast.SelectStmt, params: Sequence[JSON]) -> tuple[int, int] | None:
    limit = _integer(select.limitCount, params)
    offset = 0 if select.limitOffset is None else _integer(select.limitOffset, params)
    if limit is None or offset is None or limit < 1 or offset < 0:
        return None
    return limit, offset


def _integer(node: object, params: Sequence[JSON]) -> int | None:
    if isinstance(node, ast.A_Const) and isinstance(node.val, ast.Integer):
        return int(node.val.ival or 0)
    if isinstance(node, ast.ParamRef):
        index = (node.number or 0) - 1
        value = params[index] if 0 <= index < len(params) else None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
    return None


def _operands(
    ranked: ast.A_Expr, relation: ast.RangeVar, params: Sequence[JSON]
) -> tuple[ast.ColumnRef, str, list[Decimal]] | None:
    """(column operand, column name, query vector) of `col <#> q` or `q <#> col`, if it is one."""
    for column, vector in ((ranked.lexpr, ranked.rexpr), (ranked.rexpr, ranked.lexpr)):
        name = _column_name(column, relation)
        values = _vector_values(vector, params)
        if isinstance(column, ast.ColumnRef) and name is not None and values is not None:
            return column, name, values
    return None


def _column_name(node: object, relation: ast.RangeVar) -> str | None:
    """The column a ColumnRef names, if it is a column of `relation` as the query refers to it."""
    if not isinstance(node, ast.ColumnRef):
        return None
    fields = node.fields or ()
    if not fields or not all(isinstance(field, ast.String) for field in fields):
        return None
    names = [str(field.sval) for field in fields if isinstance(field, ast.String)]
    qualifier = names[:-1]
    alias = relation.alias.aliasname if relation.alias else None
    if not qualifier:
        return names[-1]
    if len(qualifier) == 1 and qualifier[0] == (alias or relation.relname):
        return names[-1]
    if len(qualifier) == 2 and alias is None and qualifier == [relation.schemaname, relation.relname]:
        return names[-1]
    return None


def _uncast(node: object) -> object:
    """The operand under casts to float4[]/real[]/embedding; other casts are kept (and not understood)."""
    while isinstance(node, ast.TypeCast) and node.typeName is not None:
        type_name = node.typeName
        name = _type_name(type_name)
        if not (
            (name in _VECTOR_CASTS and type_name.arrayBounds and len(type_name.arrayBounds) == 1)
            or (name in _VECTOR_DOMAINS and not type_name.arrayBounds)
        ):
            break
        node = node.arg
    return node


def _vector_values(node: object, params: Sequence[JSON]) -> list[Decimal] | None:
    """The numbers of a constant query vector: ARRAY[…], '{…}' or a $n param, optionally cast."""
    node = _uncast(node)
    if isinstance(node, ast.A_ArrayExpr):
        values: list[Decimal] = []
        for element in node.elements or ():
            if not isinstance(element, ast.A_Const):
                return None
            if isinstance(element.val, ast.Integer):
                values.append(Decimal(element.val.ival or 0))
            elif isinstance(element.val, ast.Float):
                values.append(Decimal(str(element.val.fval)))
            else:
                return None
        return values if all(value.is_finite() for value in values) else None
    if isinstance(node, ast.A_Const) and isinstance(node.val, ast.String):
        return _parse_vector(str(node.val.sval))
    if isinstance(node, ast.ParamRef):
        index = (node.number or 0) - 1
        value = params[index] if 0 <= index < len(params) else None
        if isinstance(value, list):
            numbers = [item for item in value if isinstance(item, int | float | Decimal) and not isinstance(item, bool)]
            if len(numbers) != len(value):
                return None
            try:
                decimals = [Decimal(str(item)) for item in numbers]
            except InvalidOperation:
                return None
            return decimals if all(item.is_finite() for item in decimals) else None
        if isinstance(value, str):
            return _parse_vector(value)
    return None


def _parse_vector(text: str) -> list[Decimal] | None:
    body = text.strip()
    if len(body) < 2 or body[0] != "{" or body[-1] != "}":
        return None
    try:
        values = [Decimal(item.strip()) for item in body[1:-1].split(",")]
    except InvalidOperation:
        return None
    return values if all(value.is_finite() for value in values) else None


def _vector_node(ranked: ast.A_Expr, column: ast.ColumnRef) -> ast.Node:
    node = ranked.rexpr if ranked.lexpr is column else ranked.lexpr
    assert isinstance(node, ast.Node)
    return node


def _replace_vector(
    select: ast.SelectStmt, column_name: str, values: list[Decimal], params: Sequence[JSON], param: ast.Node
) -> None:
    """Put `param` in place of every query vector literal that a `<#>` of the column uses in the SELECT.

    Rendering a 384-number literal back to SQL takes milliseconds; `$n::float4[]` does not.
    """
    for node in list(_own_nodes(select)):
        if not isinstance(node, ast.A_Expr) or node.lexpr is None or node.rexpr is None:
            continue
        names = node.name or ()
        if not names or not isinstance(names[-1], ast.String) or names[-1].sval != "<#>":
            continue
        for side, other in (("rexpr", node.lexpr), ("lexpr", node.rexpr)):
            operand = getattr(node, side)
            if (
                _is_column(other, column_name)
                and not isinstance(_uncast(operand), ast.ParamRef)
                and _vector_values(operand, params) == values
            ):
                setattr(node, side, param)
                break


def _is_column(node: object, column_name: str) -> bool:
    fields = node.fields or () if isinstance(node, ast.ColumnRef) else ()
    return bool(fields) and isinstance(fields[-1], ast.String) and fields[-1].sval == column_name


def _condition(select: ast.SelectStmt, column_name: str, params: Sequence[JSON]) -> str | None:
    """The WHERE's conjuncts that do not involve the vector column, as SQL with params as literals."""
    kept = [node for node in _conjuncts(select.whereClause) if not _mentions(node, column_name)]
    if not kept:
        return None
    return " AND ".join(f"({_inline_params(_sql(node), params)})" for node in kept)


def _conjuncts(node: object) -> Iterator[ast.Node]:
    if node is None:
        return
    if isinstance(node, ast.BoolExpr) and node.boolop == BoolExprType.AND_EXPR:
        for arg in node.args or ():
            yield from _conjuncts(arg)
    elif isinstance(node, ast.Node):
        yield node


def _mentions(node: ast.Node, column_name: str) -> bool:
    return _is_column(node, column_name) or any(_mentions(child, column_name) for child in _children(node))


def _inline_params(condition: str, params: Sequence[JSON]) -> str:
    """`condition` with each `$n` replaced by its value as a literal (planner estimates only)."""
    if "$" not in condition:
        return condition
    stmt = parse_sql(f"SELECT {condition}")[0].stmt
    assert isinstance(stmt, ast.SelectStmt) and stmt.targetList
    target = stmt.targetList[0]
    assert isinstance(target, ast.ResTarget)
    target.val = _substitute(target.val, params)
    return _sql(target.val)


def _substitute(node: Any, params: Sequence[JSON]) -> Any:
    if isinstance(node, ast.ParamRef):
        index = (node.number or 0) - 1
        value = params[index] if 0 <= index < len(params) else None
        text = to_param(value)
        return ast.A_Const(isnull=True) if text is None else ast.A_Const(val=ast.String(sval=text))
    if isinstance(node, ast.Node):
        for attr in getattr(type(node), "__slots__", ()):
            value = getattr(node, attr)
            if isinstance(value, ast.Node):
                setattr(node, attr, _substitute(value, params))
            elif isinstance(value, tuple | list):
                setattr(node, attr, tuple(_substitute(item, params) for item in value))
    return node
