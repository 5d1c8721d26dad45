"""The statement-kind allowlist (policy 1.3): map the leading keyword(s) to a class.

Works on the code tokens of ``_lexical``. Anything it cannot map is class NEVER.
"""

from __future__ import annotations

from typing import NamedTuple

from . import _hints
from ._classes import Finding, StatementClass, never
from ._lexical import Code

__all__ = ["Stmt", "analyse_statement", "skip_group", "with_main", "word_at"]

_R, _W, _D = StatementClass.READ, StatementClass.WRITE, StatementClass.DESTRUCTIVE

_TRANSACTION = frozenset({"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE"})
_SESSION = frozenset(
    {
        "SET",
        "RESET",
        "DISCARD",
        "LISTEN",
        "UNLISTEN",
        "PREPARE",
        "EXECUTE",
        "DEALLOCATE",
        "DECLARE",
        "FETCH",
        "MOVE",
        "CLOSE",
    }
)
_DESTRUCTIVE = frozenset(
    {
        "UPDATE",
        "DELETE",
        "MERGE",
        "TRUNCATE",
        "GRANT",
        "REVOKE",
        "COMMENT",
        "VACUUM",
        "ANALYZE",
        "ANALYSE",
        "REINDEX",
        "CLUSTER",
        "LOCK",
        "CALL",
        "DO",
        "CHECKPOINT",
    }
)
_DESTRUCTIVE_TWO_WORDS = {"SECURITY": "LABEL", "REFRESH": "MATERIALIZED VIEW", "REASSIGN": "OWNED"}
_DML_NEXT = {"INSERT": "INTO", "MERGE": "INTO", "DELETE": "FROM"}
_SHOW_FORMS = frozenset({("TIME", "ZONE"), ("TRANSACTION", "ISOLATION", "LEVEL"), ("SESSION", "AUTHORIZATION")})
_EXPLAINABLE = frozenset(
    {
        "SELECT",
        "VALUES",
        "TABLE",
        "WITH",
        "(",
        "INSERT",
        "UPDATE",
        "DELETE",
        "MERGE",
        "CREATE",
        "EXECUTE",
        "DECLARE",
    }
)
_WITH_MAIN = frozenset({"SELECT", "VALUES", "TABLE", "INSERT", "UPDATE", "DELETE", "MERGE", "("})
_CREATE_MODIFIERS = frozenset(
    {
        "OR",
        "REPLACE",
        "TEMP",
        "TEMPORARY",
        "UNLOGGED",
        "GLOBAL",
        "LOCAL",
        "UNIQUE",
        "TRUSTED",
        "PROCEDURAL",
        "RECURSIVE",
        "DEFAULT",
        "CONSTRAINT",
    }
)
_TWO_WORD_OBJECTS = frozenset(
    {
        ("MATERIALIZED", "VIEW"),
        ("FOREIGN", "TABLE"),
        ("USER", "MAPPING"),
        ("EVENT", "TRIGGER"),
        ("ACCESS", "METHOD"),
        ("OPERATOR", "CLASS"),
        ("OPERATOR", "FAMILY"),
        ("DEFAULT", "PRIVILEGES"),
        ("LARGE", "OBJECT"),
    }
)
_OBJECTS = frozenset(
    {
        "ACCESS METHOD",
        "AGGREGATE",
        "CAST",
        "COLLATION",
        "CONVERSION",
        "DATABASE",
        "DEFAULT PRIVILEGES",
        "DOMAIN",
        "EVENT TRIGGER",
        "EXTENSION",
        "FOREIGN DATA WRAPPER",
        "FOREIGN TABLE",
        "FUNCTION",
        "GROUP",
        "INDEX",
        "LANGUAGE",
        "LARGE OBJECT",
        "MATERIALIZED VIEW",
        "OPERATOR",
        "OPERATOR CLASS",
        "OPERATOR FAMILY",
        "OWNED",
        "POLICY",
        "PROCEDURE",
        "PUBLICATION",
        "ROLE",
        "ROUTINE",
        "RULE",
        "SCHEMA",
        "SEQUENCE",
        "SERVER",
        "STATISTICS",
        "SUBSCRIPTION",
        "SYSTEM",
        "TABLE",
        "TABLESPACE",
        "TEXT SEARCH",
        "TRANSFORM",
        "TRIGGER",
        "TYPE",
        "USER",
        "USER MAPPING",
        "VIEW",
    }
)
_FOREIGN_OBJECTS = frozenset(
    {
        "FOREIGN DATA WRAPPER",
        "FOREIGN TABLE",
        "SERVER",
        "USER MAPPING",
        "SUBSCRIPTION",
    }
)


class Stmt(NamedTuple):
    """The leading statement: its label, the family compared with pglast, and its class."""

    label: str
    family: str
    finding: Finding


def word_at(code: list[Code], i: int) -> str:
    """The upper-case word at ``i``, or "" when there is none."""
    return code[i].key if i < len(code) and code[i].kind == "word" else ""


def _punct_at(code: list[Code], i: int, text: str) -> bool:
    return i < len(code) and code[i].kind == "punct" and code[i].text == text


def skip_group(code: list[Code], i: int) -> int:
    """Index just past the parenthesised group that opens at ``i``."""
    depth = code[i].depth
    for j in range(i + 1, len(code)):
        if code[j].depth == depth and code[j].kind == "punct" and code[j].text in ")]":
            return j + 1
    return len(code)


def _skip_to_word(code: list[Code], i: int, word: str) -> int:
    depth = code[i].depth
    for j in range(i, len(code)):
        if code[j].depth == depth and code[j].key == word and code[j].kind == "word":
            return j
    return len(code)


def with_main(code: list[Code], i: int) -> int:
    """Index of the main statement after the WITH list that starts at ``i``, or -1."""
    j = i + 1
    if word_at(code, j) == "RECURSIVE":
        j += 1
    while j < len(code) and code[j].kind in ("word", "name"):
        j += 1
        if _punct_at(code, j, "("):
            j = skip_group(code, j)
        if word_at(code, j) != "AS":
            return -1
        j += 1
        if word_at(code, j) == "NOT":
            j += 1
        if word_at(code, j) == "MATERIALIZED":
            j += 1
        if not _punct_at(code, j, "("):
            return -1
        j = skip_group(code, j)
        if word_at(code, j) == "SEARCH":
            j = _skip_to_word(code, j, "SET") + 2
        if word_at(code, j) == "CYCLE":
            j = _skip_to_word(code, j, "USING") + 2
        if not _punct_at(code, j, ","):
            return j if j < len(code) else -1
        j += 1
    return -1


def analyse_statement(code: list[Code]) -> Stmt:
    """Classify the statement by its leading keywords."""
    return _dispatch(code, 0)


def _dispatch(code: list[Code], i: int) -> Stmt:
    start = i
    while _punct_at(code, i, "("):
        i += 1
    lead = word_at(code, i)
    if i > start and lead not in ("SELECT", "VALUES", "TABLE", "WITH"):
        return _unknown(f"parenthesised {lead or 'text'}")
    if lead in ("SELECT", "VALUES", "TABLE"):
        return Stmt(lead, "SELECT", Finding(_R, f"{lead} statement", lead))
    if lead == "WITH":
        return _with(code, i)
    if lead == "EXPLAIN":
        return _explain(code, i)
    if lead == "SHOW":
        return _show(code, i)
    if lead in _DML_NEXT and word_at(code, i + 1) != _DML_NEXT[lead]:
        return _unknown(f"{lead} without {_DML_NEXT[lead]}", lead)
    if lead == "INSERT":
        return Stmt(lead, lead, Finding(_W, "INSERT statement", "INSERT"))
    if lead == "NOTIFY":
        return Stmt(lead, lead, Finding(_W, "NOTIFY statement", "NOTIFY"))
    if lead == "CREATE":
        return _create(code, i)
    if lead in ("DROP", "ALTER"):
        return _drop_alter(code, i, lead)
    if lead in _DESTRUCTIVE:
        family = "ANALYZE" if lead == "ANALYSE" else lead
        return Stmt(lead, family, Finding(_D, f"{lead} statement", lead))
    if lead in _DESTRUCTIVE_TWO_WORDS:
        label = f"{lead} {_DESTRUCTIVE_TWO_WORDS[lead]}"
        return Stmt(label, lead, Finding(_D, f"{label} statement", label))
    return _never_lead(code, i, lead)


def _never_lead(code: list[Code], i: int, lead: str) -> Stmt:
    following = word_at(code, i + 1)
    if (
        lead in _TRANSACTION
        or (lead in ("PREPARE", "SET") and following == "TRANSACTION")
        or (lead == "SET" and following == "SESSION" and word_at(code, i + 2) == "CHARACTERISTICS")
    ):
        label = f"{lead} {following}" if lead in ("START", "PREPARE", "SET") else lead
        return Stmt(label, label, never(f"transaction control ({label})", _hints.TRANSACTION))
    if lead in _SESSION:
        return Stmt(lead, lead, never(f"session state ({lead})", _hints.SESSION))
    if lead == "COPY":
        return Stmt(lead, lead, never("COPY statement", _hints.COPY, subject="COPY"))
    if lead == "LOAD":
        return Stmt(lead, lead, never("LOAD statement", _hints.ADMIN, subject="LOAD"))
    if lead == "IMPORT":
        label = "IMPORT FOREIGN SCHEMA"
        return Stmt(label, label, never(f"foreign-data access ({label})", _hints.FOREIGN))
    return _unknown(lead or (code[i].text[:30] if i < len(code) else ""), lead)


def _unknown(what: str, label: str = "") -> Stmt:
    return Stmt(label, label, never(f"unrecognised statement kind ({what})", _hints.UNKNOWN))


def _with(code: list[Code], i: int) -> Stmt:
    main = with_main(code, i)
    if main < 0:
        return Stmt("WITH", "WITH", never("WITH clause that the guard cannot read", _hints.SYNTAX))
    lead = code[main].key if code[main].kind == "word" else code[main].text
    if lead not in _WITH_MAIN:
        return _unknown(f"WITH ... {lead}")
    return _dispatch(code, main)


def _explain(code: list[Code], i: int) -> Stmt:
    j = i + 1
    if _punct_at(code, j, "("):
        j = skip_group(code, j)
    else:
        while word_at(code, j) in ("ANALYZE", "ANALYSE", "VERBOSE"):
            j += 1
    target = word_at(code, j) or (code[j].text if j < len(code) else "")
    inner = _dispatch(code, j)
    if target not in _EXPLAINABLE or (
        target == "CREATE" and inner.label not in ("CREATE TABLE", "CREATE MATERIALIZED VIEW")
    ):
        return Stmt(
            "EXPLAIN",
            "EXPLAIN",
            never(
                f"EXPLAIN of {inner.label or target or 'nothing'}",
                "EXPLAIN works on SELECT, VALUES, INSERT, UPDATE, DELETE, MERGE and CREATE TABLE AS",
            ),
        )
    found = inner.finding
    explained = Finding(found.cls, f"EXPLAIN of {found.reason}", f"EXPLAIN {found.subject}", found.hint)
    return Stmt("EXPLAIN", f"EXPLAIN {inner.family}", explained)


def _show(code: list[Code], i: int) -> Stmt:
    rest = code[i + 1 :]
    keys = tuple(t.key for t in rest)
    dotted_name = len(rest) % 2 == 1 and all(
        t.kind in ("word", "name") if n % 2 == 0 else t.text == "." for n, t in enumerate(rest)
    )
    if dotted_name or keys in _SHOW_FORMS:
        return Stmt("SHOW", "SHOW", Finding(_R, "SHOW statement", "SHOW"))
    return Stmt(
        "SHOW",
        "SHOW",
        never("SHOW with arguments the guard cannot read", "SHOW takes one setting name, e.g. SHOW search_path"),
    )


def _object(code: list[Code], j: int) -> tuple[str, int]:
    first, second = word_at(code, j), word_at(code, j + 1)
    if (first, second) in (("FOREIGN", "DATA"), ("TEXT", "SEARCH")):
        return ("FOREIGN DATA WRAPPER" if first == "FOREIGN" else "TEXT SEARCH"), j + 3
    if (first, second) in _TWO_WORD_OBJECTS:
        return f"{first} {second}", j + 2
    return first, j + 1


def _create(code: list[Code], i: int) -> Stmt:
    j = i + 1
    while word_at(code, j) in _CREATE_MODIFIERS:
        j += 1
    obj, _ = _object(code, j)
    label = f"CREATE {obj}"
    if obj not in _OBJECTS:
        return _unknown(label.strip(), "CREATE")
    if obj in ("TABLE", "INDEX"):
        if obj == "TABLE" and any(
            word_at(code, n) == "AS" and word_at(code, n + 1) == "EXECUTE" and t.depth == 0 for n, t in enumerate(code)
        ):
            return Stmt(label, label, never("session state (CREATE TABLE AS EXECUTE)", _hints.SESSION))
        return Stmt(label, label, Finding(_W, f"{label} statement", label))
    if obj in _FOREIGN_OBJECTS:
        return Stmt(label, "CREATE", never(f"foreign-data access ({label})", _hints.FOREIGN))
    return Stmt(label, "CREATE", Finding(_D, f"{label} statement", label))


def _drop_alter(code: list[Code], i: int, lead: str) -> Stmt:
    obj, _ = _object(code, i + 1)
    label = f"{lead} {obj}"
    if obj not in _OBJECTS:
        return _unknown(label.strip(), lead)
    if lead == "ALTER" and obj == "SYSTEM":
        return Stmt(label, lead, never("ALTER SYSTEM statement", _hints.ADMIN, subject="ALTER SYSTEM"))
    if lead == "ALTER" and obj in _FOREIGN_OBJECTS:
        return Stmt(label, lead, never(f"foreign-data access ({label})", _hints.FOREIGN))
    return Stmt(label, lead, Finding(_D, f"{label} statement", label))
