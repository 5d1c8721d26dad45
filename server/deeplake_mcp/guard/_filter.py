"""``check_filter()``: a ``semantic_search`` filter must be one boolean expression.

The filter is pasted into ``WHERE (<expr>)``, so it must not close that parenthesis, end the
statement, comment out the rest or add clauses. It is classified as
``SELECT 1 WHERE (<expr>)`` with the full guard, and pglast must read that as one SELECT
whose only clause is the WHERE clause.
"""

from __future__ import annotations

from . import _pgcheck
from ._classes import Classification, Finding, StatementClass, never
from ._classify import analyse, failed, memoized
from ._hygiene import check_input
from ._lexical import scan
from ._mask import mask_literals

__all__ = ["check_filter"]

_STATEMENT = "WHERE"
_PREFIX = "SELECT 1 WHERE ("
_HINT = "write one boolean expression, e.g. metadata->>'source' = 'manual' AND year > 2020"
_EXTENDING = frozenset(
    {
        "UNION",
        "INTERSECT",
        "EXCEPT",
        "ORDER",
        "LIMIT",
        "OFFSET",
        "FETCH",
        "GROUP",
        "HAVING",
        "WINDOW",
        "FOR",
        "INTO",
        "RETURNING",
        "WHERE",
        "SELECT",
    }
)


def check_filter(expr: object, *, read_functions: frozenset[str] = frozenset()) -> Classification:
    """Classify a filter expression; only class READ may be used. Never raises. Texts seen before are answered
    from a memo, as in :func:`classify`."""
    return _checked_or_recalled(expr, read_functions)


def _checked(expr: object, read_functions: frozenset[str]) -> Classification:
    try:
        return _check(expr, read_functions)
    except Exception:
        return failed(_STATEMENT)


_checked_or_recalled = memoized(_checked)


def _check(expr: object, read_functions: frozenset[str]) -> Classification:
    text = check_input(expr)
    if isinstance(text, Finding):
        return _result(text)
    if not text.strip():
        return _result(never("empty filter", _HINT))
    if "--" in text or "/*" in text:
        return _result(never("comment in a filter", "remove -- and /* from the filter"))
    masked = mask_literals(text)
    if isinstance(masked, Finding):
        return _result(masked)
    lexed = scan(masked)
    if isinstance(lexed, Finding):
        return _result(lexed)
    if lexed.trailing_semicolon:
        return _result(never("';' in a filter", _HINT))
    for token in lexed.code:
        if token.depth == 0 and token.kind == "word" and token.key in _EXTENDING:
            return _result(never(f"{token.key} outside parentheses in a filter", _HINT))
    wrapped = f"{_PREFIX}{text})"
    classification = analyse(wrapped, read_functions=read_functions)
    if classification.cls is not StatementClass.NEVER and not _pgcheck.is_where_only(wrapped):
        return _result(never("filter that is more than one boolean expression", _HINT))
    return Classification(
        classification.cls,
        "filter expression" if classification.cls is StatementClass.READ else classification.reason,
        _STATEMENT,
        classification.subject,
        classification.hint,
    )


def _result(found: Finding) -> Classification:
    return Classification(found.cls, found.reason, _STATEMENT, found.subject or found.reason, found.hint)
