"""SQL text for the audit trail and for the database operator: literal-free shapes and SQLCommenter tags."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote

from pglast.parser import ParseError, scan

__all__ = ["MAX_SHAPE_CHARS", "shape", "split_tag", "tagged"]

MAX_SHAPE_CHARS = 4096
_LITERALS = frozenset({"SCONST", "USCONST", "BCONST", "XCONST", "ICONST", "FCONST"})
_COMMENTS = frozenset({"C_COMMENT", "SQL_COMMENT"})
_NUMBER_ARRAY = re.compile(r"\bARRAY\s*\[[-+0-9.eE,\s]*\]", re.IGNORECASE)  # inline vectors: one step, not 384
_PLACEHOLDER_RUN = re.compile(r"\?(?:\s*,\s*\?){2,}")
_TAG = re.compile(r"\n/\*[a-z_]+='[A-Za-z0-9_.~%-]*'(?:,[a-z_]+='[A-Za-z0-9_.~%-]*')*\*/\Z")


def shape(sql: str) -> str | None:
    """``sql`` with every literal as ``?`` (three or more in a row as ``?, ...``), comments dropped and whitespace
    collapsed, at most ``MAX_SHAPE_CHARS`` long; ``None`` when it cannot be tokenized.

    What stays is the statement's structure — keywords, identifiers, operators, ``$n`` parameters —
    so it says what ran and where, never with which values.
    """
    text = _NUMBER_ARRAY.sub("ARRAY[?]", sql)
    try:
        tokens = scan(text)
    except ParseError:
        return None
    parts: list[str] = []
    end = 0
    for token in tokens:
        if token.name in _COMMENTS:
            continue
        if parts and token.start > end:
            parts.append(" ")
        parts.append("?" if token.name in _LITERALS else text[token.start : token.end + 1])
        end = token.end + 1
    shaped = _PLACEHOLDER_RUN.sub("?, ...", "".join(parts))
    return shaped if len(shaped) <= MAX_SHAPE_CHARS else shaped[:MAX_SHAPE_CHARS] + " ..."


def tagged(sql: str, fields: Mapping[str, str | None]) -> str:
    """``sql`` followed by a SQLCommenter comment of ``fields`` (keys sorted, values URL-encoded).

    The comment goes on a line of its own, so a trailing ``-- comment`` cannot swallow it; URL
    encoding leaves no quote or ``*/`` in a value, so nothing can end it early. Unlike the
    SQLCommenter spec, a statement that already holds comments is tagged too: the agent's own
    comments must not hide which tool and session sent it.
    """
    pairs = ",".join(f"{key}='{quote(value, safe='')}'" for key, value in sorted(fields.items()) if value)
    return f"{sql}\n/*{pairs}*/" if pairs else sql


def split_tag(sql: str) -> tuple[str, str]:
    """``(statement, tag)``: a SQLCommenter tag as ``tagged`` appends it, split off the end (``""`` if none).

    The tag differs on every call (it names the request), so whoever caches work per statement text keys it
    on the statement. The split is exact only for a statement that is complete on its own (which parsing it
    confirms): then the tag is a comment, and nothing else.
    """
    match = _TAG.search(sql)
    return (sql[: match.start()], match.group(0)) if match else (sql, "")
