"""Which SELECTs a vector index can answer, and the two forms they run in (pure; see _indexes.py).

A SELECT (or EXPLAIN of one, or the `query` tool's `SELECT * FROM (…) AS q LIMIT n` around one)

* over one table (`FROM t [AS a]`), without WITH, DISTINCT, GROUP BY, HAVING, windows, set operations
  or locking clauses,
* whose first ORDER BY key - written out, by its alias or by position - is Deep Lake's cosine similarity
  `col <#> q` or `q <#> col`, ASC or DESC, or pgvector's cosine distance `col <=> q` or L2 distance
  `col <-> q` (either way round; on float4[], see bootstrap.sql), ASC, where q is a constant vector:
  `ARRAY[numbers]`, `'{numbers}'` (either optionally cast to float4[]/real[]/embedding) or a `$n` param
  holding one,
* with LIMIT (a number or a param; or the wrapper's) and optionally OFFSET,

is answered through the column's HNSW companion for its distance (``metric``: cosine for `<#>` and
`<=>`, l2 for `<->`) when there is one and q has its N dimensions. The result is the rows whose vector
has N dimensions, nearest first - for `<#>` **best first whatever the direction asked** (deeplake-api.md
§7.4) - with the scores computed exactly as the query wrote them:

* ANN (`VectorSearch.ann_sql`), by the ``form`` of the companion: on `vector(N)` the first key becomes
  `ann_vector(col, N)::vector(N) <=> q::vector(N)` (`<->` for L2; an HNSW index scan); on `halfvec(N)`
  (half precision: the distance the index ranks by is rounded, and near ties could come out of order)
  the index scan picks 2 x (LIMIT + OFFSET) candidates by that distance, `ctid = ANY (ARRAY(SELECT ctid …
  ORDER BY <halfvec distance> LIMIT c))`, and they are ordered as the exact form orders them;
* exact (`VectorSearch.exact_sql`): the first key becomes `col <#> q DESC` (or stays `col <=> q ASC`,
  `col <-> q ASC`) and the WHERE gains `array_length(col, 1) = N`.

pgvector's `<=>` and `<->` DESC (farthest first) run as written.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pglast import ast, parse_sql
from pglast.enums import BoolExprType, LimitOption, NullTestType, SetOperation, SortByDir, SortByNulls

from ._tree import and_, children, expr, last_name, operator_name, own_nodes, render, sort_key, type_name, walk
from ._values import JSON, to_param

__all__ = ["Form", "Metric", "VectorSearch", "indexed_vector", "plan_vector_search", "vector_type"]

Metric = Literal["cosine", "l2"]
"""The distance a search ranks by, and so the HNSW companion that answers it."""
Form = Literal["vector", "halfvec", "unit halfvec"]
"""What an HNSW companion indexes: the vector (full precision), or in half precision as it is (halfvec),
or scaled to length 1 first (unit halfvec, for cosine: any float4 fits, as no element of a unit vector
exceeds 1). Half precision makes the index 57 % of the size and its build a little faster (searches cost
about the same), but it rounds distances: neighbours closer than about 1e-3 in distance are told apart
only among the candidates it picks."""
_SIMILARITY = "<#>"  # Deep Lake's cosine similarity: higher is nearer
_DISTANCE = "<=>"  # pgvector's cosine distance: lower is nearer
_L2 = "<->"  # pgvector's L2 distance: lower is nearer
_RANKING = (_SIMILARITY, _DISTANCE, _L2)
_VECTOR_CASTS = frozenset({"float4", "real"})
_VECTOR_DOMAINS = frozenset({"embedding"})


@dataclass
class VectorSearch:
    """A ranking SELECT over one table that a vector index could answer (see the module docstring)."""

    root: ast.Node
    select: ast.SelectStmt
    sort: ast.SortBy
    operator: str  # `<#>`, `<=>` or `<->`
    column: str  # the column operand as written (`embedding`, `d.embedding`)
    column_name: str
    schema: str | None  # the table's schema as written (None: the workspace)
    table: str  # the table's name
    from_item: str  # the table with its alias, for estimates
    condition: str | None  # the WHERE without conditions on the vector column, params inlined
    condition_params: frozenset[int]  # the params inlined in it
    vector_filter: bool  # the WHERE holds a condition on the vector column that a row with a vector may fail
    vector: str  # the query vector operand, as SQL typed float4[]
    dimension: int
    limit: int
    offset: int
    explain: bool
    extra_params: list[str]  # params to append (the query vector, when written inline)
    _rendered: dict[tuple[object, ...], str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def metric(self) -> Metric:
        return "l2" if self.operator == _L2 else "cosine"

    def ann_sql(self, n: int, form: Form) -> str:
        """The statement ranked through an HNSW index of ``form`` on the column's n-dimensional vectors."""
        key = ("ann", n, form)
        if key not in self._rendered:
            self._rendered[key] = self._ann_sql(n, form)
        return self._rendered[key]

    def exact_sql(self, n: int) -> str:
        """The same ranking computed exactly: rows with n-dimensional vectors, nearest first."""
        key = ("exact", n)
        if key not in self._rendered:
            self._rendered[key] = self._exact_sql(n)
        return self._rendered[key]

    def _ann_sql(self, n: int, form: Form) -> str:
        operator = _L2 if self.metric == "l2" else _DISTANCE
        distance = (
            f"{indexed_vector(self.column, n, form)} OPERATOR(deeplake_compat.{operator}) "
            f"{_query_vector(self.vector, n, form)}"
        )
        # Should the planner prefer a scan (many rows asked for), the rows the index leaves out stay out.
        indexed = and_(self.select.whereClause, expr(f"deeplake_compat.ann_vector({self.column}, {n}) IS NOT NULL"))
        if form == "vector":
            return self._edited(indexed, expr(distance), exact_order=False)
        # The candidates passed the WHERE already (in the statement's snapshot): it is not evaluated again.
        candidates = (
            f"SELECT ctid FROM {self.from_item} WHERE {render(indexed)} "
            f"ORDER BY {distance} LIMIT {2 * (self.limit + self.offset)}"
        )
        return self._edited(expr(f"ctid = ANY (ARRAY({candidates}))"))

    def _exact_sql(self, n: int) -> str:
        extra = expr(f"array_ndims({self.column}) = 1 AND array_length({self.column}, 1) = {n}")
        return self._edited(and_(self.select.whereClause, extra))

    def _edited(self, where: ast.Node, key: ast.Node | None = None, *, exact_order: bool = True) -> str:
        """The statement with this WHERE and its first ORDER BY key (``key``, else as written) in the exact
        form's order (nearest first, NULLs last), or ascending as an index scan gives it (``exact_order`` false)."""
        original = self.select.whereClause, self.sort.node, self.sort.sortby_dir, self.sort.sortby_nulls
        self.select.whereClause = where
        if key is not None:
            self.sort.node = key
        if exact_order:
            self.sort.sortby_dir = SortByDir.SORTBY_DESC if self.operator == _SIMILARITY else SortByDir.SORTBY_ASC
            self.sort.sortby_nulls = SortByNulls.SORTBY_NULLS_LAST
        else:
            self.sort.sortby_dir = SortByDir.SORTBY_DEFAULT
            self.sort.sortby_nulls = SortByNulls.SORTBY_NULLS_DEFAULT
        try:
            return render(self.root)
        finally:
            self.select.whereClause, self.sort.node, self.sort.sortby_dir, self.sort.sortby_nulls = original


def indexed_vector(column: str, n: int, form: Form) -> str:
    """The expression an HNSW companion of ``form`` indexes, on ``column`` (SQL text)."""
    vector = f"deeplake_compat.ann_vector({column}, {n})"
    if form == "unit halfvec":
        vector = f"deeplake_compat.l2_normalize({vector})"
    return f"({vector})::deeplake_compat.{vector_type(form)}({n})"


def vector_type(form: Form) -> str:
    """The pgvector type a companion of ``form`` indexes."""
    return "vector" if form == "vector" else "halfvec"


def _query_vector(vector: str, n: int, form: Form) -> str:
    """The query vector (float4[] SQL) as the companion's ``form`` compares it."""
    if form == "unit halfvec":
        return f"(deeplake_compat.l2_normalize(({vector})::deeplake_compat.vector({n})))::deeplake_compat.halfvec({n})"
    return f"({vector})::deeplake_compat.{vector_type(form)}({n})"


def plan_vector_search(root: ast.Node, params: Sequence[JSON]) -> VectorSearch | None:
    """The VectorSearch that the statement ``root`` is (see the module docstring), or None.

    ``root`` is the compiler's own tree: a search found in it may be edited (an inline query vector
    becomes a param; a wrapped search without LIMIT takes the wrapper's).
    """
    explain = isinstance(root, ast.ExplainStmt)
    select = root.query if isinstance(root, ast.ExplainStmt) else root
    if not isinstance(select, ast.SelectStmt):
        return None
    inner = _wrapped(select, params)
    if inner is not None:
        select = inner
    return _search(root, select, params, explain=explain)


def _wrapped(outer: ast.SelectStmt, params: Sequence[JSON]) -> ast.SelectStmt | None:
    """The SELECT inside `SELECT * FROM (<select>) AS q LIMIT n [OFFSET m]`, with the wrapper's window merged
    into its own (a page of the `query` tool is such a window)."""
    targets = outer.targetList or ()
    from_clause = outer.fromClause or ()
    if (
        len(targets) != 1
        or not isinstance(targets[0], ast.ResTarget)
        or not _is_star(targets[0].val)
        or len(from_clause) != 1
        or not isinstance(from_clause[0], ast.RangeSubselect)
        or from_clause[0].lateral
        or outer.whereClause is not None
        or outer.sortClause
        or outer.limitOption != LimitOption.LIMIT_OPTION_COUNT
        or not _simple(outer)
    ):
        return None
    inner = from_clause[0].subquery
    if not isinstance(inner, ast.SelectStmt) or not inner.sortClause:
        return None
    window = _merged_window(outer, inner, params)
    if window is None:
        return None
    limit, offset = window
    inner.limitCount, inner.limitOption = expr(str(limit)), LimitOption.LIMIT_OPTION_COUNT
    inner.limitOffset = expr(str(offset)) if offset else None
    outer.limitOffset = None  # the inner window holds it now
    return inner


def _merged_window(outer: ast.SelectStmt, inner: ast.SelectStmt, params: Sequence[JSON]) -> tuple[int, int] | None:
    """``(limit, offset)`` for the inner SELECT that gives the rows the wrapper would, or None."""
    outer_bounds = _bounds(outer, params)
    if outer_bounds is None:
        return None
    outer_limit, outer_offset = outer_bounds
    if inner.limitOption == LimitOption.LIMIT_OPTION_DEFAULT and inner.limitOffset is None:
        return outer_limit, outer_offset
    inner_bounds = _bounds(inner, params)
    if inner_bounds is None or inner.limitOption != LimitOption.LIMIT_OPTION_COUNT:
        return None
    inner_limit, inner_offset = inner_bounds
    limit = min(outer_limit, inner_limit - outer_offset)
    return (limit, inner_offset + outer_offset) if limit >= 1 else None


def _is_star(node: object) -> bool:
    fields = node.fields or () if isinstance(node, ast.ColumnRef) else ()
    return len(fields) == 1 and isinstance(fields[0], ast.A_Star)


def _search(root: ast.Node, select: ast.SelectStmt, params: Sequence[JSON], *, explain: bool) -> VectorSearch | None:
    if not _plain(select):
        return None
    relation = (select.fromClause or ())[0]
    assert isinstance(relation, ast.RangeVar)
    bounds = _bounds(select, params)
    ranked = sort_key(select)
    operator = operator_name(ranked)
    sort = (select.sortClause or ())[0]
    if bounds is None or operator not in _RANKING or not isinstance(sort, ast.SortBy):
        return None
    assert isinstance(ranked, ast.A_Expr)
    if operator != _SIMILARITY and sort.sortby_dir == SortByDir.SORTBY_DESC:
        return None  # farthest first
    operands = _operands(ranked, relation, params)
    if operands is None:
        return None
    column_ref, column_name, values = operands
    if len(values) == 0 or (operator != _L2 and all(value == 0 for value in values)):
        return None  # no cosine for a zero vector: leave it to the exact scan
    vector_node = _vector_node(ranked, column_ref)
    extra_params: list[str] = []
    if isinstance(_uncast(vector_node), ast.ParamRef):
        vector = f"({render(vector_node)})::float4[]"
    else:
        vector = f"${len(params) + 1}::float4[]"
        extra_params.append("{" + ",".join(str(value) for value in values) + "}")
        _replace_vector(select, column_name, values, params, expr(vector))
    condition, condition_params = _condition(select, column_name, params)
    return VectorSearch(
        root=root,
        select=select,
        sort=sort,
        operator=operator,
        column=render(column_ref),
        column_name=column_name,
        schema=relation.schemaname,
        table=relation.relname or "",
        from_item=render(relation),
        condition=condition,
        condition_params=condition_params,
        vector_filter=_filters_vectors(select, column_name),
        vector=vector,
        dimension=len(values),
        limit=bounds[0],
        offset=bounds[1],
        explain=explain,
        extra_params=extra_params,
    )


def _plain(select: ast.SelectStmt) -> bool:
    """One table, no clause that changes which rows or how many, a first ORDER BY key and a LIMIT."""
    if not _simple(select) or not select.sortClause or select.limitOption != LimitOption.LIMIT_OPTION_COUNT:
        return False
    from_clause = select.fromClause or ()
    if len(from_clause) != 1 or not isinstance(from_clause[0], ast.RangeVar):
        return False
    first = select.sortClause[0]
    return isinstance(first, ast.SortBy) and first.sortby_dir != SortByDir.SORTBY_USING


def _simple(select: ast.SelectStmt) -> bool:
    """No set operation, VALUES, INTO, WITH, DISTINCT, grouping, window or locking clause."""
    return not (
        select.op != SetOperation.SETOP_NONE
        or select.valuesLists
        or select.intoClause is not None
        or select.withClause is not None
        or select.distinctClause
        or select.groupClause
        or select.havingClause is not None
        or select.windowClause
        or select.lockingClause
        or any(isinstance(node, ast.FuncCall) and node.over is not None for node in own_nodes(select))
    )


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
        cast = node.typeName
        name = type_name(cast)
        if not (
            (name in _VECTOR_CASTS and cast.arrayBounds and len(cast.arrayBounds) == 1)
            or (name in _VECTOR_DOMAINS and not cast.arrayBounds)
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
    """Put `param` in place of every query vector literal that a ranking operator of the column uses in the SELECT.

    Rendering a 384-number literal back to SQL takes milliseconds; `$n::float4[]` does not.
    """
    for node in list(own_nodes(select)):
        if operator_name(node) not in _RANKING:
            continue
        assert isinstance(node, ast.A_Expr)
        if node.lexpr is None or node.rexpr is None:
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


def _condition(select: ast.SelectStmt, column_name: str, params: Sequence[JSON]) -> tuple[str | None, frozenset[int]]:
    """The WHERE's conjuncts that do not involve the vector column, as SQL with params as literals, and
    the numbers of those params."""
    kept = [node for node in _conjuncts(select.whereClause) if not _mentions(node, column_name)]
    if not kept:
        return None, frozenset()
    numbers = frozenset(n.number or 0 for k in kept for n in walk(k) if isinstance(n, ast.ParamRef))
    return " AND ".join(f"({_inline_params(render(node), params)})" for node in kept), numbers


def _filters_vectors(select: ast.SelectStmt, column_name: str) -> bool:
    """Whether a conjunct of the WHERE on the vector column could fail for a row with a vector: any but `col IS
    NOT NULL`, `array_length(col, 1) > 0` and `cardinality(col) > 0` (semantic_search's own guard)."""
    return any(
        _mentions(node, column_name) and not _passed_by_vectors(node, column_name)
        for node in _conjuncts(select.whereClause)
    )


def _passed_by_vectors(node: ast.Node, column_name: str) -> bool:
    if isinstance(node, ast.NullTest):
        return node.nulltesttype == NullTestType.IS_NOT_NULL and _is_column(node.arg, column_name)
    if not isinstance(node, ast.A_Expr) or operator_name(node) != ">" or _integer(node.rexpr, ()) != 0:
        return False
    call = node.lexpr
    if not isinstance(call, ast.FuncCall) or len(call.funcname or ()) != 1:
        return False
    args, name = call.args or (), last_name(call.funcname)
    if not args or not _is_column(args[0], column_name):
        return False
    return (name == "cardinality" and len(args) == 1) or (
        name == "array_length" and len(args) == 2 and _integer(args[1], ()) == 1
    )


def _conjuncts(node: object) -> Iterator[ast.Node]:
    if node is None:
        return
    if isinstance(node, ast.BoolExpr) and node.boolop == BoolExprType.AND_EXPR:
        for arg in node.args or ():
            yield from _conjuncts(arg)
    elif isinstance(node, ast.Node):
        yield node


def _mentions(node: ast.Node, column_name: str) -> bool:
    return _is_column(node, column_name) or any(_mentions(child, column_name) for child in children(node))


def _inline_params(condition: str, params: Sequence[JSON]) -> str:
    """`condition` with each `$n` replaced by its value as a literal (planner estimates only)."""
    if "$" not in condition:
        return condition
    stmt = parse_sql(f"SELECT {condition}")[0].stmt
    assert isinstance(stmt, ast.SelectStmt) and stmt.targetList
    target = stmt.targetList[0]
    assert isinstance(target, ast.ResTarget)
    target.val = _substitute(target.val, params)
    return render(target.val)


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
