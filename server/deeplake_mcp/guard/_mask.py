"""PostgreSQL's scanner decides where literals end (policy 2.3).

``mask_literals`` runs PostgreSQL's own lexer (``pglast.parser.scan``, standard_conforming_strings
on) and blanks the contents of every string literal, dollar-quoted body and quoted identifier it
finds: same length, delimiters kept, no quotes or backslashes left inside. sqlparse then reads the
masked copy, so it cannot disagree with PostgreSQL about where a literal ends.
"""

from __future__ import annotations

from ._classes import Finding
from ._pglast import parser, syntax_error

__all__ = ["mask_literals"]

# Scanner tokens whose text is quoted: strings (plain, E'', U&'', N'', dollar-quoted), bit and
# hex strings, and identifiers (a bare identifier contains no quote, so masking leaves it alone).
_QUOTED = frozenset({"SCONST", "USCONST", "BCONST", "XCONST", "IDENT", "UIDENT"})
_FILLER = "x"


def mask_literals(text: str) -> str | Finding:
    """``text`` with every literal's and quoted name's contents blanked, or a NEVER finding."""
    if "'" not in text and '"' not in text and "$" not in text:
        return text
    try:
        tokens = parser.scan(text)
    except Exception as exc:
        return syntax_error(exc)
    pieces: list[str] = []
    pos = 0
    for token in tokens:
        if token.name not in _QUOTED:
            continue
        start, end = token.start, token.end + 1
        delimiters = _delimiters(text[start:end])
        if delimiters is None:
            continue
        opened, closed = delimiters
        pieces.append(text[pos : start + opened])
        pieces.append(_FILLER * (end - start - opened - closed))
        pos = end - closed
    pieces.append(text[pos:])
    return "".join(pieces)


def _delimiters(literal: str) -> tuple[int, int] | None:
    """Lengths of a token's opening and closing delimiters; None when there is nothing to mask."""
    if literal.startswith("$"):
        opened = closed = literal.index("$", 1) + 1
    else:
        quote = next((i for i, char in enumerate(literal) if char in "'\""), -1)
        if quote < 0:
            return None  # a bare name
        opened, closed = quote + 1, 1
    return (opened, closed) if opened + closed < len(literal) else None
