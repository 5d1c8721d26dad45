"""Walking, editing and rendering pglast parse trees: the helpers every compile pass shares."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeGuard

from pglast import ast, parse_sql
from pglast.enums import A_Expr_Kind, BoolExprType
from pglast.stream import RawStream

__all__ = [
    "and_",
    "children",
    "cte",
    "expr",
    "is_similarity",
    "last_name",
    "operator_name",
    "own_nodes",
    "render",
    "replace",
    "selects",
    "sort_key",
    "type_name",
    "walk",
]

_OWN_CLAUSES = ("targetList", "whereClause", "havingClause", "sortClause", "groupClause", "distinctClause")


def children(node: ast.Node) -> Iterator[ast.Node]:
    """The node's direct child nodes (also those in lists of lists, e.g. VALUES rows)."""
    for attr in _slots(node):
        yield from _nodes(getattr(node, attr))


def _nodes(value: object) -> Iterator[ast.Node]:
    if isinstance(value, ast.Node):
        yield value
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _nodes(item)


def walk(node: ast.Node) -> Iterator[ast.Node]:
    """The node and every node below it."""
    yield node
    for child in children(node):
        yield from walk(child)


def selects(node: ast.Node) -> Iterator[ast.SelectStmt]:
    """Every SELECT in the tree, innermost first."""
    for child in children(node):
        yield from selects(child)
    if isinstance(node, ast.SelectStmt):
        yield node


def own_nodes(select: ast.SelectStmt) -> Iterator[ast.Node]:
    """The nodes of the SELECT's own expressions, not those of nested SELECTs."""

    def below(node: ast.Node) -> Iterator[ast.Node]:
        if isinstance(node, ast.SelectStmt):
            return
        yield node
        for child in children(node):
            yield from below(child)

    for clause in _OWN_CLAUSES:
        value = getattr(select, clause)
        for item in value if isinstance(value, tuple | list) else (value,):
            if isinstance(item, ast.Node):
                yield from below(item)


def replace(select: ast.SelectStmt, replacements: dict[int, ast.Node]) -> None:
    """Swap nodes (by identity) in the SELECT's own expressions."""
    if not replacements:
        return

    def swap(value: object) -> object:
        if isinstance(value, ast.Node):
            if id(value) in replacements:
                return replacements[id(value)]
            if not isinstance(value, ast.SelectStmt):
                _edit(value, swap)
            return value
        if isinstance(value, tuple | list):
            return tuple(swap(item) for item in value)
        return value

    for clause in _OWN_CLAUSES:
        value = getattr(select, clause)
        if value is not None:
            setattr(select, clause, swap(value))


def _edit(node: ast.Node, swap: Callable[[object], object]) -> None:
    for attr in _slots(node):
        value = getattr(node, attr)
        if isinstance(value, ast.Node | tuple | list):
            setattr(node, attr, swap(value))


def _slots(node: ast.Node) -> tuple[str, ...]:
    return tuple(getattr(type(node), "__slots__", ()))


def is_similarity(node: object) -> TypeGuard[ast.A_Expr]:
    """Whether ``node`` is a ``<#>`` operator expression."""
    return operator_name(node) == "<#>"


def operator_name(node: object) -> str | None:
    """The (unqualified) operator of a binary operator expression, else None."""
    if not isinstance(node, ast.A_Expr) or node.kind != A_Expr_Kind.AEXPR_OP:
        return None
    names = node.name or ()
    last = names[-1] if names else None
    return str(last.sval) if isinstance(last, ast.String) else None


def sort_key(select: ast.SelectStmt) -> ast.Node | None:
    """The expression the first ORDER BY key sorts by: written out, or named by its alias or position."""
    sort = select.sortClause or ()
    if not sort or not isinstance(sort[0], ast.SortBy):
        return None
    key = sort[0].node
    targets = [t for t in (select.targetList or ()) if isinstance(t, ast.ResTarget)]
    fields = key.fields or () if isinstance(key, ast.ColumnRef) else ()
    if len(fields) == 1 and isinstance(fields[0], ast.String):
        name = fields[0].sval
        key = next((t.val for t in targets if t.name == name), key)
    elif isinstance(key, ast.A_Const) and isinstance(key.val, ast.Integer):
        position = key.val.ival or 0
        key = targets[position - 1].val if 0 < position <= len(targets) else key
    return key if isinstance(key, ast.Node) else None


def and_(where: ast.Node | None, extra: ast.Node) -> ast.Node:
    """``where AND extra`` (just ``extra`` when there is no ``where``)."""
    return extra if where is None else ast.BoolExpr(boolop=BoolExprType.AND_EXPR, args=(where, extra))


def render(node: object) -> str:
    """The SQL text of a node."""
    assert isinstance(node, ast.Node)
    return str(RawStream()(node))


def expr(text: str) -> ast.Node:
    """The expression ``text`` as a node."""
    stmt = parse_sql(f"SELECT {text}")[0].stmt
    assert isinstance(stmt, ast.SelectStmt) and stmt.targetList
    value = stmt.targetList[0].val
    assert isinstance(value, ast.Node)
    return value


def cte(name: str, body: str) -> ast.CommonTableExpr:
    """``name AS (body)`` as a WITH-list item."""
    stmt = parse_sql(f"WITH {name} AS ({body}) SELECT 1")[0].stmt
    assert isinstance(stmt, ast.SelectStmt) and stmt.withClause is not None and stmt.withClause.ctes
    item = stmt.withClause.ctes[0]
    assert isinstance(item, ast.CommonTableExpr)
    return item


def type_name(node: ast.TypeName) -> str:
    """A type's unqualified name, lower-cased."""
    return last_name(node.names)


def last_name(names: Sequence[Any] | None) -> str:
    """The last part of a dotted name list, lower-cased ("" if it is not a plain name)."""
    last = (names or ())[-1] if names else None
    return str(last.sval).lower() if isinstance(last, ast.String) else ""
