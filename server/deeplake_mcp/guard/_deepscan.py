"""Deep scan (policy 5.1 step 5): structural constructs anywhere inside the statement.

Nested data-modifying statements, SELECT ... INTO, locking clauses and ON CONFLICT DO UPDATE,
read from sqlparse's tokens of the masked text. Names (functions, languages, bodies) are
matched on PostgreSQL's parse tree instead (``_pgcheck``).
"""

from __future__ import annotations

from ._classes import Finding, StatementClass, worst
from ._lexical import Code
from ._statement import with_main, word_at

__all__ = ["deep_scan"]

_W, _D = StatementClass.WRITE, StatementClass.DESTRUCTIVE
_STRUCTURAL = frozenset({"INTO", "FOR", "DO"})
_LOCKS = (("NO", "KEY", "UPDATE"), ("KEY", "SHARE"), ("UPDATE",), ("SHARE",))


def deep_scan(code: list[Code]) -> Finding | None:
    """The highest-class construct inside the statement, or None when there is none."""
    best: Finding | None = None
    for i, token in enumerate(code):
        found: Finding | None = None
        if token.kind == "word" and token.key in _STRUCTURAL:
            found = _structural(code, i, token.key)
        elif token.kind == "punct" and token.text == "(":
            found = _nested(code, i)
        if found is not None:
            best = worst(best, found)
    return best


def _structural(code: list[Code], i: int, key: str) -> Finding | None:
    if key == "INTO":
        if word_at(code, i - 1) not in ("INSERT", "MERGE"):
            return Finding(_W, "SELECT ... INTO (creates a table)", "SELECT ... INTO")
    elif key == "FOR":
        for lock in _LOCKS:
            if all(word_at(code, i + 1 + n) == part for n, part in enumerate(lock)):
                clause = "FOR " + " ".join(lock)
                return Finding(_W, f"locking clause ({clause})", f"SELECT ... {clause}")
    elif word_at(code, i + 1) == "UPDATE":
        return Finding(_D, "upsert (ON CONFLICT DO UPDATE)", "ON CONFLICT DO UPDATE")
    return None


def _nested(code: list[Code], i: int) -> Finding | None:
    """A data-modifying statement as the first thing inside parentheses (writable CTEs)."""
    j = i + 1
    if word_at(code, j) == "WITH":
        j = with_main(code, j)
        if j < 0:
            return None
    verb = _modifying_verb(code, j)
    if not verb:
        return None
    return Finding(
        _W if verb == "INSERT" else _D,
        f"data-modifying {verb} inside WITH or a subquery",
        f"{verb} inside WITH or a subquery",
    )


def _modifying_verb(code: list[Code], j: int) -> str:
    verb = word_at(code, j)
    following = word_at(code, j + 1)
    if (verb in ("INSERT", "MERGE") and following == "INTO") or (verb == "DELETE" and following == "FROM"):
        return verb
    if verb == "UPDATE":
        depth = code[j].depth
        for token in code[j + 1 :]:
            if token.depth < depth:
                break
            if token.depth == depth and token.kind == "word" and token.key == "SET":
                return verb
    return ""
