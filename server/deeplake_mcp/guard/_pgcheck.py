"""PostgreSQL's own reading of a statement (libpg_query, through pglast).

The text must parse as exactly one statement, whose root node maps to the statement family
of the sqlparse reading. One walk of the whole tree then finds what the statement does
anywhere inside it: nested data-modifying or never-allowed statements, locking and INTO
clauses, every function call and operator (``_calls``), and the objects it changes
(``_targets``). Callers take the higher of this class and sqlparse's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from . import _hints
from ._calls import call_finding, operator_finding, reference_finding, sample_method_finding
from ._classes import Finding, StatementClass, never, worst
from ._functions import X_EXTENSIONS, body_finding, language_finding
from ._pglast import AVAILABLE, parser, syntax_error
from ._targets import locked_relations, name_targets, relation_target

__all__ = ["AVAILABLE", "Opinion", "is_where_only", "json_nodes", "second_opinion"]

_R, _W, _D, _X = StatementClass.READ, StatementClass.WRITE, StatementClass.DESTRUCTIVE, StatementClass.NEVER

_FAMILIES: dict[str, tuple[str, StatementClass]] = {
    "SelectStmt": ("SELECT", _R),
    "VariableShowStmt": ("SHOW", _R),
    "InsertStmt": ("INSERT", _W),
    "CreateStmt": ("CREATE TABLE", _W),
    "IndexStmt": ("CREATE INDEX", _W),
    "NotifyStmt": ("NOTIFY", _W),
    "UpdateStmt": ("UPDATE", _D),
    "DeleteStmt": ("DELETE", _D),
    "MergeStmt": ("MERGE", _D),
    "TruncateStmt": ("TRUNCATE", _D),
    "CommentStmt": ("COMMENT", _D),
    "SecLabelStmt": ("SECURITY", _D),
    "ReindexStmt": ("REINDEX", _D),
    "ClusterStmt": ("CLUSTER", _D),
    "RefreshMatViewStmt": ("REFRESH", _D),
    "LockStmt": ("LOCK", _D),
    "CallStmt": ("CALL", _D),
    "DoStmt": ("DO", _D),
    "CheckPointStmt": ("CHECKPOINT", _D),
    "ReassignOwnedStmt": ("REASSIGN", _D),
    "DropOwnedStmt": ("DROP", _D),
    "RenameStmt": ("ALTER", _D),
    "RuleStmt": ("CREATE", _D),
    "ViewStmt": ("CREATE", _D),
    "DefineStmt": ("CREATE", _D),
    "CompositeTypeStmt": ("CREATE", _D),
}
_TRANSACTION = frozenset({"TransactionStmt", "ConstraintsSetStmt"})
_SESSION = frozenset(
    {
        "VariableSetStmt",
        "DiscardStmt",
        "ListenStmt",
        "UnlistenStmt",
        "PrepareStmt",
        "ExecuteStmt",
        "DeallocateStmt",
        "DeclareCursorStmt",
        "FetchStmt",
        "ClosePortalStmt",
    }
)
_FOREIGN = frozenset(
    {
        "CreateForeignServerStmt",
        "CreateUserMappingStmt",
        "CreateForeignTableStmt",
        "CreateFdwStmt",
        "CreateSubscriptionStmt",
        "AlterSubscriptionStmt",
        "ImportForeignSchemaStmt",
        "AlterForeignServerStmt",
        "AlterUserMappingStmt",
        "AlterFdwStmt",
    }
)
_ADMIN = frozenset({"CopyStmt", "LoadStmt", "AlterSystemStmt"})
# Statements that are X wherever they appear. A nested VariableSetStmt is a function's or a
# role's SET clause, which is not session state.
_NESTED_NEVER = (_TRANSACTION | _SESSION | _FOREIGN | _ADMIN) - {"VariableSetStmt"}
_WHERE_ONLY_KEYS = frozenset({"targetList", "whereClause", "limitOption", "op"})
_LOCKS = {
    "LCS_FORUPDATE": "FOR UPDATE",
    "LCS_FORNOKEYUPDATE": "FOR NO KEY UPDATE",
    "LCS_FORSHARE": "FOR SHARE",
    "LCS_FORKEYSHARE": "FOR KEY SHARE",
}
_MODIFYING = frozenset({"InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"})
_NOT_READ = frozenset({"intoClause", "larg", "rarg"})
# Fields of DDL statements that name functions: triggers, languages, access methods, conversions.
_REFERENCES = ("funcname", "plhandler", "plinline", "plvalidator", "handler_name", "func_name")
# Names and constants: nothing inside them runs, so the walk does not enter them.
_INERT = frozenset({"String", "A_Const", "ColumnRef", "A_Star", "location"})
_NOT_OPERATORS = frozenset({"AEXPR_BETWEEN", "AEXPR_NOT_BETWEEN", "AEXPR_BETWEEN_SYM", "AEXPR_NOT_BETWEEN_SYM"})


class Opinion(NamedTuple):
    """pglast's reading: the statement family and the highest-class construct."""

    family: str
    finding: Finding


def second_opinion(sql: str, read_functions: frozenset[str] = frozenset()) -> Opinion:
    """Parse ``sql`` with libpg_query and classify the tree."""
    if not AVAILABLE:
        raise RuntimeError("pglast is not installed")
    try:
        tree = json.loads(parser.parse_sql_json(sql))
    except Exception as exc:
        return Opinion("", syntax_error(exc))
    statements = tree.get("stmts", [])
    if len(statements) != 1:
        return Opinion(
            "",
            never(
                f"the parsers disagree on the number of statements (PostgreSQL reads {len(statements)})",
                _hints.DISAGREE,
                subject="text the parsers read differently",
            ),
        )
    wrapper = statements[0]["stmt"]
    node, body = _only_item(wrapper)
    family, base = _root(node, body)
    if base.cls is _X:
        return Opinion(family, base)
    root = _only_item(body["query"])[1] if node == "ExplainStmt" else body
    return Opinion(family, worst(base, _Walk(read_functions, root).run(wrapper)) or base)


def _only_item(wrapper: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ((node, body),) = wrapper.items()
    return node, body


def _root(node: str, body: dict[str, Any]) -> tuple[str, Finding]:
    """Statement family and class of a root (or EXPLAIN target) node."""
    x_finding = _never_node(node)
    if x_finding is not None:
        return node, x_finding
    if node == "ExplainStmt":
        inner_family, inner = _root(*_only_item(body["query"]))
        return f"EXPLAIN {inner_family}", Finding(
            inner.cls, f"EXPLAIN of {inner.reason}", f"EXPLAIN {inner.subject}", inner.hint
        )
    family, cls = _family(node, body)
    base = Finding(cls, f"{family} statement", family)
    if node == "DoStmt":
        return family, worst(base, _code_options(body.get("args", []), "inside the DO body")) or base
    if node == "CreateFunctionStmt":
        return family, worst(base, _code_options(body.get("options", []), "inside the function body")) or base
    if node == "CreateExtensionStmt":
        return family, worst(base, _extension(body)) or base
    if node == "CreatePLangStmt":
        return family, worst(base, language_finding(str(body.get("plname", "")).lower())) or base
    return family, base


def _family(node: str, body: dict[str, Any]) -> tuple[str, StatementClass]:
    if node in _FAMILIES:
        return _FAMILIES[node]
    if node == "CreateTableAsStmt":
        is_table = body.get("objtype") == "OBJECT_TABLE"
        return ("CREATE TABLE", _W) if is_table else ("CREATE", _D)
    if node == "VacuumStmt":
        return ("VACUUM" if body.get("is_vacuumcmd") else "ANALYZE"), _D
    if node in ("GrantStmt", "GrantRoleStmt"):
        return ("GRANT" if body.get("is_grant") else "REVOKE"), _D
    for prefix, family in (("Create", "CREATE"), ("Alter", "ALTER"), ("Drop", "DROP")):
        if node.startswith(prefix):
            return family, _D
    return node, _X


def _never_node(node: str) -> Finding | None:
    if node in _TRANSACTION:
        return never("transaction control", _hints.TRANSACTION)
    if node in _SESSION:
        return never("session state", _hints.SESSION)
    if node in _FOREIGN:
        return never("foreign-data access", _hints.FOREIGN)
    if node in _ADMIN:
        hint = _hints.COPY if node == "CopyStmt" else _hints.ADMIN
        return never(f"{node.removesuffix('Stmt').upper()} statement", hint)
    if _family(node, {})[1] is _X and node != "ExplainStmt":
        return never(f"unrecognised statement kind ({node})", _hints.UNKNOWN)
    return None


def _code_options(options: list[Any], where: str) -> Finding | None:
    """Language and body of a DO block or CREATE FUNCTION."""
    best: Finding | None = None
    for option in options:
        element = option.get("DefElem", {})
        arg = element.get("arg", {})
        if element.get("defname") == "language":
            best = worst(best, language_finding(str(arg.get("String", {}).get("sval", "")).lower()))
        elif element.get("defname") == "as":
            items = arg.get("List", {}).get("items", [arg])
            for item in items:
                best = worst(best, body_finding(str(item.get("String", {}).get("sval", "")), where))
    return best


def _extension(body: dict[str, Any]) -> Finding | None:
    name = str(body.get("extname", "")).lower()
    if name in X_EXTENSIONS:
        return never(
            f"CREATE EXTENSION {name}",
            "this extension reaches host files, other servers or the host; it is not available here",
        )
    for option in body.get("options", []):
        if option.get("DefElem", {}).get("defname") == "cascade":
            return never("CREATE EXTENSION ... CASCADE", "create each required extension explicitly, without CASCADE")
    return None


def _names(nodes: Any) -> list[str]:
    """The texts of a list of String nodes (a function, operator or method name)."""
    return [str(node["String"]["sval"]) for node in nodes or () if "String" in node]


_Handler = Callable[["_Walk", str, Any, bool], None]


class _Walk:
    """One pass over the tree. ``reading`` is True inside a query's FROM, WHERE and other read
    clauses, where a relation is read; elsewhere in a statement that changes things, a relation
    is a target (``_targets``).
    """

    def __init__(self, read_functions: frozenset[str], root: dict[str, Any]) -> None:
        self.reads = read_functions
        self.root = root
        self.best: Finding | None = None
        self.stack: list[tuple[str, Any, bool]] = []

    def run(self, tree: dict[str, Any]) -> Finding | None:
        stack = self.stack
        stack.append(("", tree, False))
        handlers = _HANDLERS
        while stack:
            key, value, reading = stack.pop()
            handler = handlers.get(key)
            if handler is None and key.endswith("Stmt"):
                handler = _statement
            if handler is not None:
                handler(self, key, value, reading)
                if self.best is not None and self.best.cls is _X:
                    break
            elif type(value) is dict:  # what fields() does, inlined: most nodes have no handler
                for item_key, item in reversed(value.items()):
                    if (type(item) is dict or type(item) is list) and item_key not in _INERT:
                        stack.append((item_key, item, reading))
            else:
                self.fields(value, reading)
        return self.best

    def found(self, finding: Finding | None) -> None:
        if finding is not None:
            self.best = worst(self.best, finding)

    def fields(self, value: Any, reading: bool, skip: str | frozenset[str] = "") -> None:
        """Queue every nested dict or list of ``value`` under its key (list items under "").

        They are queued last first, so that the walk meets constructs in the order of the text.
        """
        push = self.stack.append
        if type(value) is dict:
            for key, item in reversed(value.items()):
                if (type(item) is dict or type(item) is list) and key not in skip and key not in _INERT:
                    push((key, item, reading))
        elif type(value) is list:
            for item in reversed(value):
                if type(item) is dict or type(item) is list:
                    push(("", item, reading))


def _func_call(walk: _Walk, _key: str, node: dict[str, Any], reading: bool) -> None:
    args = node.get("args", ())
    arity = len(args) + (len(node.get("agg_order", ())) if node.get("agg_within_group") else 0)
    walk.found(call_finding(_names(node.get("funcname")), arity, walk.reads))
    walk.fields(node, reading, skip="funcname")


def _range_function(walk: _Walk, _key: str, node: dict[str, Any], reading: bool) -> None:
    """``FROM f(...)``. PostgreSQL reads ``FROM unnest(a, b)`` as ``ROWS FROM (unnest(a), unnest(b))``."""
    functions = node.get("functions", ())
    call = functions[0].get("List", {}).get("items", [{}])[0].get("FuncCall", {}) if len(functions) == 1 else {}
    if not node.get("is_rowsfrom") and _names(call.get("funcname")) == ["unnest"] and len(call.get("args", ())) > 1:
        walk.found(call_finding(["unnest"], 1, walk.reads))
        walk.fields(call, reading, skip="funcname")
        walk.fields(node, reading, skip="functions")
    else:
        walk.fields(node, reading)


def _a_expr(walk: _Walk, _key: str, node: dict[str, Any], reading: bool) -> None:
    if node.get("kind") not in _NOT_OPERATORS:
        walk.found(operator_finding(_names(node.get("name")), prefix="lexpr" not in node))
    walk.fields(node, reading, skip="name")


def _sub_link(walk: _Walk, _key: str, node: dict[str, Any], reading: bool) -> None:
    if node.get("operName"):
        walk.found(operator_finding(_names(node["operName"]), prefix=False))
    walk.fields(node, reading, skip="operName")


def _sort_by(walk: _Walk, _key: str, node: dict[str, Any], reading: bool) -> None:
    if node.get("useOp"):
        walk.found(operator_finding(_names(node["useOp"]), prefix=False))
    walk.fields(node, reading, skip="useOp")


def _table_sample(walk: _Walk, _key: str, node: dict[str, Any], reading: bool) -> None:
    walk.found(sample_method_finding(_names(node.get("method"))))
    walk.fields(node, reading, skip="method")


def _range_var(walk: _Walk, _key: str, node: dict[str, Any], reading: bool) -> None:
    """A relation (wrapped, or a typed field such as ``relation``): a target unless read."""
    if "relname" not in node:
        walk.fields(node, reading)
    elif not reading:
        walk.found(relation_target(node))


def _select(walk: _Walk, _key: str, node: dict[str, Any], _reading: bool) -> None:
    """A query reads, except into its INTO target and the rows it locks."""
    if "intoClause" in node:
        walk.found(Finding(_W, "SELECT ... INTO (creates a table)", "SELECT ... INTO"))
        walk.fields(node["intoClause"], False)
    for clause in node.get("lockingClause", ()):
        lock = _LOCKS.get(clause.get("LockingClause", {}).get("strength", ""), "FOR UPDATE")
        walk.found(Finding(_W, f"locking clause ({lock})", f"SELECT ... {lock}"))
    for relation in locked_relations(node):
        walk.found(relation_target(relation))
    for side in ("rarg", "larg"):  # the branches of UNION, INTERSECT and EXCEPT
        if side in node:
            walk.stack.append(("SelectStmt", node[side], True))
    walk.fields(node, True, skip=_NOT_READ)


def _modifying(walk: _Walk, key: str, node: dict[str, Any], _reading: bool) -> None:
    if node is not walk.root:
        verb = key.removesuffix("Stmt").upper()
        where = f"{verb} inside WITH or a subquery"
        walk.found(Finding(_W if verb == "INSERT" else _D, f"data-modifying {where}", where))
    if "relation" in node:
        walk.found(relation_target(node["relation"]))
    walk.fields(node, True, skip="relation")


def _on_conflict(walk: _Walk, _key: str, node: dict[str, Any], reading: bool) -> None:
    if node.get("action") == "ONCONFLICT_UPDATE":
        walk.found(Finding(_D, "upsert (ON CONFLICT DO UPDATE)", "ON CONFLICT DO UPDATE"))
    walk.fields(node, reading)


def _reading(walk: _Walk, _key: str, node: Any, _reading: bool) -> None:
    walk.fields(node, True)


def _object_with_args(walk: _Walk, _key: str, node: dict[str, Any], reading: bool) -> None:
    """A function or operator named by DDL (``CREATE CAST ... WITH FUNCTION f(int)``)."""
    if "objname" in node:
        walk.found(reference_finding(_names(node["objname"])))
    else:
        walk.fields(node, reading)


def _statement(walk: _Walk, key: str, node: dict[str, Any], reading: bool) -> None:
    """Any other statement: nested never-allowed or notifying ones, named targets, references."""
    if node is not walk.root:
        walk.found(Finding(_W, "NOTIFY inside a rule", "NOTIFY") if key == "NotifyStmt" else None)
        walk.found(_never_node(key) if key in _NESTED_NEVER else None)
    walk.found(name_targets(key, node))
    for field in _REFERENCES:
        if field in node:
            walk.found(reference_finding(_names(node[field])))
    if key == "DefineStmt":
        for element in node.get("definition", ()):
            names = _names(element.get("DefElem", {}).get("arg", {}).get("TypeName", {}).get("names"))
            walk.found(reference_finding(names) if names else None)
    walk.fields(node, reading)


_HANDLERS: dict[str, _Handler] = {
    "FuncCall": _func_call,
    "funccall": _func_call,
    "A_Expr": _a_expr,
    "RangeFunction": _range_function,
    "SubLink": _sub_link,
    "SortBy": _sort_by,
    "RangeTableSample": _table_sample,
    "SelectStmt": _select,
    "onConflictClause": _on_conflict,
    "TableLikeClause": _reading,
    **dict.fromkeys(("ObjectWithArgs", "func", "fromsql", "tosql", "opername", "name"), _object_with_args),
    **dict.fromkeys(_MODIFYING, _modifying),
    **dict.fromkeys(
        ("RangeVar", "relation", "rel", "sequence", "view", "typevar", "table", "pktable", "identitySequence"),
        _range_var,
    ),
}


def json_nodes(tree: Any, *, opaque: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Every ``(key, value)`` pair of every object nested in pglast's JSON tree, in any order.

    The values under an ``opaque`` key are yielded but not descended into.
    """
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        for key, value in item.items():
            yield key, value
            if type(value) in (dict, list) and key not in opaque:
                stack.append(value)


def is_where_only(sql: str) -> bool:
    """Whether ``sql`` is one ``SELECT <one target> WHERE ...`` with no other clause."""
    if not AVAILABLE:
        raise RuntimeError("pglast is not installed")
    try:
        statements = json.loads(parser.parse_sql_json(sql)).get("stmts", [])
    except Exception:
        return False
    if len(statements) != 1:
        return False
    node, body = _only_item(statements[0]["stmt"])
    return (
        node == "SelectStmt"
        and set(body) <= _WHERE_ONLY_KEYS
        and "whereClause" in body
        and body.get("op") == "SETOP_NONE"
        and len(body.get("targetList", [])) == 1
    )
