"""Query vectors written into SQL text: `<#> ARRAY[numbers]` lifted into params, and vectors as text.

A 384-number literal costs milliseconds in every parser that reads it (the SQL guard's, the local API's
compiler's, PostgreSQL's); the same statement with `$n` in its place costs microseconds. ``lift`` replaces
each `ARRAY[…]` of plain numbers that follows `<#>`, `<=>` or `<->` by `($n::float4[])`, and each
pgvector literal `'[…]'` there by `$n` (a param of unknown type is typed as the literal was), and
returns the vectors as text (`{…}` array text, or `[…]` pgvector text, the literal's own digits). It
finds them in the text, then PostgreSQL's scanner confirms that each `$n` it made is a parameter token:
when one is not (the literal was inside a string or a comment), nothing is lifted.

Plain numbers are what PostgreSQL reads in an array or a vector: decimal digits with an optional sign,
point and exponent, ASCII white space around each. Telling them costs a character check and ``float`` per
number (30–35 µs for 384 numbers; a regular expression of the grammar took twice that); the answer for a
vector text is remembered for a while, as the same text is checked again on its way to PostgreSQL.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from pglast.parser import ParseError, scan

from deeplake_mcp.cache import LRUCache

__all__ = ["Lifted", "is_vector_text", "lift", "vector_shape"]

_OPENING = re.compile(r"(<#>|<=>|<->)(\s*)(?:(ARRAY)\s*\[|'\[)", re.IGNORECASE)
_NUMBER_CHARACTERS = re.compile(r"[-+0-9.eE,\t\n\v\f\r ]+")  # ASCII only, like PostgreSQL's scanner
_BRACKETS = ("{}", "[]")
_NONZERO = re.compile(r"(?:^|[{,\s])[-+]?0*\.?0*[1-9]")  # a number whose digits before any exponent are not all 0
_REMEMBERED: LRUCache[str, bool] = LRUCache(16)
_REMEMBERED_LONGEST = 64 * 1024  # characters: a 4 000-dimension vector fits
_SLICE = 64 * 1024  # characters split at once


@dataclass(frozen=True)
class Lifted:
    """The statement with its inline query vectors as params numbered after the given ones, and those vectors."""

    text: str
    vectors: list[str]


def lift(sql: str, params: int) -> Lifted | None:
    """``sql`` with each inline query vector made a param numbered after its ``params``; None if it has none."""
    vectors: list[str] = []
    pieces: list[str] = []
    done = 0
    for opening in _OPENING.finditer(sql):
        operator, space, array = opening.groups()
        run = _NUMBER_CHARACTERS.match(sql, opening.end())  # up to the first character no number has
        close = run.end() if run is not None else opening.end()
        if sql[close : close + 1] != "]":
            continue
        numbers = sql[opening.end() : close]
        if array is not None:
            vector, end, param = "{" + numbers + "}", close + 1, f"(${params + len(vectors) + 1}::float4[])"
        elif sql[close + 1 : close + 2] == "'" and sql[close + 2 : close + 3] != "'":  # '' would go on with the string
            vector, end, param = "[" + numbers + "]", close + 2, f"${params + len(vectors) + 1}"
        else:
            continue
        if is_vector_text(vector):
            vectors.append(vector)
            pieces += [sql[done : opening.start()], operator, space, param]
            done = end
    if not vectors:
        return None
    text = "".join([*pieces, sql[done:]])
    try:
        tokens = scan(text)
    except ParseError:
        return None
    made = {f"${n}" for n in range(params + 1, params + len(vectors) + 1)}
    found = [text[t.start : t.end + 1] for t in tokens if t.name == "PARAM"]
    return Lifted(text, vectors) if sorted(p for p in found if p in made) == sorted(made) else None


def is_vector_text(value: object) -> bool:
    """Whether ``value`` is array or pgvector text of plain numbers, `{1, -2.5e-3, …}` or `[1, …]`."""
    if not isinstance(value, str) or len(value) < 3 or value[0] + value[-1] not in _BRACKETS:
        return False
    remembered = len(value) <= _REMEMBERED_LONGEST
    if remembered and _REMEMBERED.get(value):
        return True
    plain = _plain_numbers(value[1:-1])
    if plain and remembered:
        _REMEMBERED.put(value, True)
    return plain


def vector_shape(vector: str) -> tuple[int, bool]:
    """(length, whether all zeros) of vector text."""
    return vector.count(",") + 1, _NONZERO.search(vector) is None


def _plain_numbers(text: str) -> bool:
    """Whether ``text`` is plain numbers separated by commas: its characters are those of numbers, and each
    part reads as a number (``float`` reads no more than the grammar with these characters)."""
    if _NUMBER_CHARACTERS.fullmatch(text) is None:
        return False
    try:
        deque(map(float, _parts(text)), maxlen=0)  # read each, keep none
    except ValueError:
        return False
    return True


def _parts(text: str) -> Iterator[str]:
    """The comma-separated parts of ``text``, split a slice at a time (a long text is never split whole)."""
    start = 0
    while (cut := text.find(",", start + _SLICE)) >= 0:
        yield from text[start:cut].split(",")
        start = cut + 1
    yield from text[start:].split(",")
