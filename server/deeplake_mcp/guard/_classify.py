"""``classify()``: hygiene, masking, lexical rules, statement kind, deep scan and the parse tree."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from . import _hints, _pgcheck
from ._classes import Classification, Finding, StatementClass, never, worst
from ._deepscan import deep_scan
from ._hygiene import check_input
from ._lexical import scan
from ._mask import mask_literals
from ._pglast import AVAILABLE
from ._statement import analyse_statement

__all__ = ["analyse", "classify"]

_NEVER = StatementClass.NEVER


MEMO_SIZE = 1024
"""Texts whose classification is kept: the guard is a pure function of its inputs, so a text sent again (an
agent's query with another vector, now a param; a filter used twice) gets the answer it got before."""
MEMO_LONGEST = 8192
"""Characters: longer texts are classified every time (seldom sent twice, and they would crowd the memo)."""

_Classifier = Callable[[object, frozenset[str]], Classification]


def memoized(classify_text: _Classifier) -> _Classifier:
    """``classify_text`` answering a ``str`` of at most MEMO_LONGEST characters from a memo of MEMO_SIZE."""
    memo = lru_cache(maxsize=MEMO_SIZE)(classify_text)

    def classify_or_recall(text: object, read_functions: frozenset[str]) -> Classification:
        if type(text) is str and len(text) <= MEMO_LONGEST:
            return memo(text, read_functions)
        return classify_text(text, read_functions)

    return classify_or_recall


def classify(sql: object, *, read_functions: frozenset[str] = frozenset()) -> Classification:
    """Classify one SQL text. Pure and total: any failure inside the guard is class NEVER.

    ``read_functions`` are extra functions (``name`` or ``schema.name``) to treat as reads. Texts seen before
    are answered from a memo (see MEMO_SIZE).
    """
    return _classify_or_recall(sql, read_functions)


def classify_afresh(sql: object, read_functions: frozenset[str] = frozenset()) -> Classification:
    """:func:`classify` without the memo (what a text seen for the first time costs)."""
    try:
        return analyse(sql, read_functions=read_functions)
    except Exception:
        return failed("")


_classify_or_recall = memoized(classify_afresh)


def failed(statement: str) -> Classification:
    """The classification used when the guard itself fails."""
    return Classification(
        _NEVER,
        "the guard could not analyse this statement",
        statement,
        "a statement the guard could not analyse",
        _hints.GUARD_FAILED,
    )


def analyse(sql: object, *, read_functions: frozenset[str] = frozenset(), parse_tree: bool = True) -> Classification:
    """Classify ``sql``; with ``parse_tree`` False, without PostgreSQL's parse tree (for TQL)."""
    text = check_input(sql)
    if isinstance(text, Finding):
        return _result(text, "")
    if not AVAILABLE:
        return _result(never("the guard needs pglast (PostgreSQL's parser), which is not installed", _hints.PGLAST), "")
    masked = mask_literals(text)
    if isinstance(masked, Finding):
        return _result(masked, "")
    try:
        lexed = scan(masked)
    except Exception:
        return _result(never("the SQL tokenizer failed on this text", _hints.SYNTAX), "")
    if isinstance(lexed, Finding):
        return _result(lexed, "")
    statement = analyse_statement(lexed.code)
    found = worst(statement.finding, deep_scan(lexed.code)) or statement.finding
    if parse_tree and found.cls is not _NEVER:
        opinion = _pgcheck.second_opinion(text, read_functions)
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
