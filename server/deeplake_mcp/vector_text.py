"""Query vectors written into SQL text: `<#> ARRAY[numbers]` lifted into params, and vectors as text.

A 384-number literal costs milliseconds in every parser that reads it (the SQL guard's, the local API's
compiler's, PostgreSQL's); the same statement with `$n` in its place costs microseconds. ``lift`` replaces
each `ARRAY[…]` of plain numbers that follows `<#>`, `<=>` or `<->` by `($n::float4[])`, and each
pgvector literal `'[…]'` there by `$n` (a param of unknown type is typed as the literal was), and
returns the vectors as text (`{…}` array text, or `[…]` pgvector text, the literal's own digits). It
finds them in the text, then PostgreSQL's scanner confirms that each `$n` it made is a parameter token:
when one is not (the literal was inside a string or a comment), nothing is lifted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pglast.parser import ParseError, scan

__all__ = ["Lifted", "is_vector_text", "lift", "vector_shape"]

_NUMBER = r"(?>\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*)"  # atomic: no backtracking
_NUMBERS = rf"{_NUMBER}(?:,{_NUMBER})*+"
# `<op> ARRAY[numbers]`, or pgvector's `<op> '[numbers]'` (a whole string: no '' after it)
_LITERAL = re.compile(rf"(<#>|<=>|<->)(\s*)(?:ARRAY\s*\[({_NUMBERS})\]|'(\[{_NUMBERS}\])'(?!'))", re.IGNORECASE)
_VECTOR = re.compile(rf"\{{{_NUMBERS}\}}|\[{_NUMBERS}\]")
_NONZERO = re.compile(r"(?:^|[{,\s])[-+]?0*\.?0*[1-9]")  # a number whose digits before any exponent are not all 0


@dataclass(frozen=True)
class Lifted:
    """The statement with its inline query vectors as params numbered after the given ones, and those vectors."""

    text: str
    vectors: list[str]


def lift(sql: str, params: int) -> Lifted | None:
    """``sql`` with each inline query vector made a param numbered after its ``params``; None if it has none."""
    vectors: list[str] = []

    def replace(match: re.Match[str]) -> str:
        operator, space, array, text = match.groups()
        vectors.append("{" + array + "}" if array is not None else text)
        number = params + len(vectors)
        return f"{operator}{space}(${number}::float4[])" if array is not None else f"{operator}{space}${number}"

    text = _LITERAL.sub(replace, sql)
    if not vectors:
        return None
    try:
        tokens = scan(text)
    except ParseError:
        return None
    made = {f"${n}" for n in range(params + 1, params + len(vectors) + 1)}
    found = [text[t.start : t.end + 1] for t in tokens if t.name == "PARAM"]
    return Lifted(text, vectors) if sorted(p for p in found if p in made) == sorted(made) else None


def is_vector_text(value: object) -> bool:
    """Whether ``value`` is array or pgvector text of plain numbers, `{1, -2.5e-3, …}` or `[1, …]`."""
    return isinstance(value, str) and _VECTOR.fullmatch(value) is not None


def vector_shape(vector: str) -> tuple[int, bool]:
    """(length, whether all zeros) of vector text."""
    return vector.count(",") + 1, _NONZERO.search(vector) is None
