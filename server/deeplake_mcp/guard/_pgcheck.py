"""Second opinion from PostgreSQL's own parser (libpg_query, through pglast).

The text must parse as exactly one statement, its root node must map to the same statement
family as the sqlparse reading, and a walk of the whole tree finds nested constructs that
sqlparse might have missed. Callers take the higher of the two classes, so this module can
only make a verdict stricter.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from typing import Any, NamedTuple

from . import _hints
from ._classes import Finding, StatementClass, never, worst
from ._functions import (
    X_EXTENSIONS,
    body_finding,
    language_finding,
    name_finding,
    normalise_name,
)

_parser: Any
try:
    _parser = importlib.import_module("pglast.parser")
except ImportError:  # pragma: no cover - exercised by a subprocess test
    _parser = None

__all__ = ["AVAILABLE", "Opinion", "is_where_only", "second_opinion"]

AVAILABLE: bool = _parser is not None
"""Whether pglast is importable; without it the guard runs on sqlparse alone."""

_R, _W, _D = StatementClass.READ, StatementClass.WRITE, StatementClass.DESTRUCTIVE

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
_CHECKED = frozenset({"String", "LockingClause", "intoClause", "onConflictClause"})
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


class Opinion(NamedTuple):
    """pglast's reading: the statement family and the highest-class construct."""

    family: str
    finding: Finding


def second_opinion(sql: str) -> Opinion:
    """Parse ``sql`` with libpg_query and classify the tree."""
    if _parser is None:
        raise RuntimeError("pglast is not installed")
    try:
        tree = json.loads(_parser.parse_sql_json(sql))
    except Exception as exc:
        message = str(exc.args[0]) if exc.args else type(exc).__name__
        return Opinion(
            "",
            never(
                f"not valid PostgreSQL ({message})",
                _hints.SYNTAX,
                subject="text that is not valid PostgreSQL",
            ),
        )
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
    node, body = _only_item(statements[0]["stmt"])
    family, base = _root(node, body)
    return Opinion(family, worst(base, _walk(body)) or base)


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
    return node, StatementClass.NEVER


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
    if _family(node, {})[1] is StatementClass.NEVER and node != "ExplainStmt":
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


def _walk(tree: Any) -> Finding | None:
    """Every nested node: names, nested statements, locking, INTO and ON CONFLICT clauses.

    Function names (FuncCall, also inside RangeFunction, CALL and trigger or operator
    definitions) and column or type names are all String nodes, so checking every String
    node checks every name; string literals are A_Const nodes and are skipped.
    """
    best: Finding | None = None
    for key, value in json_nodes(tree, opaque=("A_Const",)):
        if key in _CHECKED or key.endswith("Stmt"):
            best = worst(best, _node(key, value))
    return best


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


def _node(key: str, value: Any) -> Finding | None:
    if key == "String":
        return name_finding(normalise_name(str(value.get("sval", ""))))
    if key == "LockingClause":
        clause = _LOCKS.get(value.get("strength", ""), "FOR UPDATE")
        return Finding(_W, f"locking clause ({clause})", f"SELECT ... {clause}")
    if key == "intoClause":
        return Finding(_W, "SELECT ... INTO (creates a table)", "SELECT ... INTO")
    if key == "onConflictClause":
        if value.get("action") == "ONCONFLICT_UPDATE":
            return Finding(_D, "upsert (ON CONFLICT DO UPDATE)", "ON CONFLICT DO UPDATE")
        return None
    if key in ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"):
        verb = key.removesuffix("Stmt").upper()
        cls = _W if verb == "INSERT" else _D
        where = f"{verb} inside WITH or a subquery"
        return Finding(cls, f"data-modifying {where}", where)
    if key == "NotifyStmt":
        return Finding(_W, "NOTIFY inside a rule", "NOTIFY")
    if key in _NESTED_NEVER:
        return _never_node(key)
    return None


def is_where_only(sql: str) -> bool:
    """Whether ``sql`` is one ``SELECT <one target> WHERE ...`` with no other clause."""
    if _parser is None:
        raise RuntimeError("pglast is not installed")
    try:
        statements = json.loads(_parser.parse_sql_json(sql)).get("stmts", [])
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
