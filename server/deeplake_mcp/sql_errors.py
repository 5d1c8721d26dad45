"""Errors that point: where in a statement PostgreSQL's parser stopped, quoted with a caret under it."""

from __future__ import annotations

from pglast.parser import ParseError, parse_sql

__all__ = ["pointed_syntax_error", "pointer"]

_CONTEXT = 60
"""Characters of the offending line shown on each side of the caret, at most."""


def pointed_syntax_error(sql: str) -> str | None:
    """``syntax error at or near "X" (line L, column C):`` and the line with a caret; ``None`` if ``sql`` parses.

    The position is the one PostgreSQL's own parser (through pglast) reports, counted in characters.
    """
    try:
        parse_sql(sql)
    except ParseError as exc:
        message = str(exc.args[0]) if exc.args else "syntax error"
        at = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None
        if at is None and "end of input" in message:
            at = len(sql.rstrip())
        if at is None:
            return message
        line, column, quoted = pointer(sql, at)
        return f"{message} (line {line}, column {column}):\n{quoted}"
    return None


def pointer(text: str, offset: int) -> tuple[int, int, str]:
    """The 1-based line and column of character ``offset`` in ``text``, and that line with a caret under it.

    Long lines are cut to ``_CONTEXT`` characters either side (marked with ``…``); tabs stay tabs in the
    caret line, so the caret lines up however wide a tab is shown.
    """
    offset = max(0, min(offset, len(text)))
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    line = text[line_start : len(text) if line_end < 0 else line_end].rstrip("\r")
    column = offset - line_start
    lo, hi = max(0, column - _CONTEXT), min(len(line), column + _CONTEXT)
    head = "…" if lo else ""
    shown = head + line[lo:hi] + ("…" if hi < len(line) else "")
    before = head + line[lo:column]
    caret = "".join("\t" if c == "\t" else " " for c in before) + "^"
    return text.count("\n", 0, line_start) + 1, column + 1, f"  {shown}\n  {caret}"
