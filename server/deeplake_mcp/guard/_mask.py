"""PostgreSQL's scanner decides where literals end (policy 2.3).

``mask_literals`` runs PostgreSQL's own lexer (``pglast.parser.scan``, standard_conforming_strings
on) and blanks the contents of every string literal, dollar-quoted body and quoted identifier it
finds: same length, delimiters kept, no quotes or backslashes left inside. sqlparse then reads the
masked copy, so it cannot disagree with PostgreSQL about where a literal ends. A long list of
numbers (a vector literal) becomes the single number ``0``, so that sqlparse does not read hundreds
of them: such a list holds no keyword, parenthesis, quote or comment, so the statement's structure
is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator

from ._classes import Finding
from ._pglast import parser, syntax_error

__all__ = ["mask_literals"]

# Scanner tokens whose text is quoted: strings (plain, E'', U&'', N'', dollar-quoted), bit and
# hex strings, and identifiers (a bare identifier contains no quote, so masking leaves it alone).
_QUOTED = frozenset({"SCONST", "USCONST", "BCONST", "XCONST", "IDENT", "UIDENT"})
_NAMES = frozenset({"IDENT", "UIDENT"})
_NUMBERS = frozenset({"ICONST", "FCONST"})
_BETWEEN_NUMBERS = frozenset({"ASCII_44", "ASCII_43", "ASCII_45"})  # , + -
_MIN_RUN = 16
_FILLER = "x"


def mask_literals(text: str) -> str | Finding:
    """``text`` with literal and quoted-name contents blanked and long number lists collapsed.

    Returns a NEVER finding when PostgreSQL's scanner rejects the text.
    """
    if "'" not in text and '"' not in text and "$" not in text and text.count(",") < _MIN_RUN - 1:
        return text
    try:
        tokens = parser.scan(text)
    except Exception as exc:
        return syntax_error(exc)
    pieces: list[str] = []
    pos = 0
    for start, end, replacement in _edits(text, tokens):
        pieces.append(text[pos:start])
        pieces.append(replacement)
        pos = end
    pieces.append(text[pos:])
    return "".join(pieces)


def _edits(text: str, tokens: list[tuple[int, int, str, str]]) -> Iterator[tuple[int, int, str]]:
    """``(start, end, replacement)`` of each masked span, in order."""
    numbers: list[int] = []  # start and end of the numbers of the current run
    for start, last, name, _ in (*tokens, (len(text), len(text), "", "")):
        end = last + 1
        if name in _NUMBERS:
            numbers += (start, end)
            continue
        if numbers and name in _BETWEEN_NUMBERS:
            continue
        if len(numbers) >= 2 * _MIN_RUN:
            yield numbers[0], numbers[-1], "0"
        numbers = []
        if name not in _QUOTED or (name == "IDENT" and text[start] != '"'):
            continue
        if text[start] == "$":
            opened = closed = text.index("$", start + 1) + 1 - start
        else:
            opened, closed = text.index('"' if name in _NAMES else "'", start) + 1 - start, 1
        if start + opened < end - closed:
            yield start + opened, end - closed, _FILLER * (end - closed - start - opened)
