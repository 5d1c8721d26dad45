"""``classify()``: hygiene, lexical rules, statement kind, deep scan and pglast, fail closed."""

from __future__ import annotations

from . import _hints, _pgcheck
from ._classes import Classification, Finding, StatementClass, never, worst
from ._deepscan import deep_scan
from ._hygiene import check_input
from ._lexical import scan
from ._statement import analyse_statement

__all__ = ["analyse", "classify"]

_NEVER = StatementClass.NEVER


def classify(sql: object) -> Classification:
    """Classify one SQL text. Pure and total: any failure inside the guard is class NEVER."""
    try:
        return analyse(sql, second_opinion=_pgcheck.AVAILABLE)
    except Exception:
        return failed("")


def failed(statement: str) -> Classification:
    """The classification used when the guard itself fails."""
    return Classification(
        _NEVER,
        "the guard could not analyse this statement",
        statement,
        "a statement the guard could not analyse",
        _hints.GUARD_FAILED,
    )


def analyse(sql: object, *, second_opinion: bool) -> Classification:
    """Classify ``sql``; with ``second_opinion`` False, on sqlparse alone (no pglast)."""
    text = check_input(sql)
    if isinstance(text, Finding):
        return _result(text, "")
    try:
        lexed = scan(text)
    except Exception:
        return _result(never("the SQL tokenizer failed on this text", _hints.SYNTAX), "")
    if isinstance(lexed, Finding):
        return _result(lexed, "")
    statement = analyse_statement(lexed.code)
    found = worst(statement.finding, deep_scan(lexed.code, statement.label)) or statement.finding
    if second_opinion and found.cls is not _NEVER:
        opinion = _pgcheck.second_opinion(text)
        if opinion.finding.cls is not _NEVER and opinion.family != statement.family:
            found = never(
                f"the parsers disagree on the statement kind "
                f"(sqlparse: {statement.family}, PostgreSQL: {opinion.family})",
                _hints.DISAGREE,
                subject="text the parsers read differently",
            )
        else:
            found = worst(found, opinion.finding) or found
    return _result(found, statement.label)


def _result(found: Finding, statement: str) -> Classification:
    return Classification(found.cls, found.reason, statement, found.subject or found.reason, found.hint)
