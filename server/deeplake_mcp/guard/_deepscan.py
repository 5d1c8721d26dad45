"""Deep scan (policy 5.1 step 5): constructs anywhere inside the statement.

Nested data-modifying statements, SELECT ... INTO, locking clauses, ON CONFLICT DO UPDATE,
every identifier-like token against the function lists, and the languages and bodies of DO
blocks and functions.
"""

from __future__ import annotations

from ._classes import Finding, StatementClass, never, worst
from ._functions import body_finding, language_finding, name_finding, words
from ._lexical import Code
from ._statement import with_main, word_at

__all__ = ["deep_scan"]

_W, _D, _X = StatementClass.WRITE, StatementClass.DESTRUCTIVE, StatementClass.NEVER
_STRUCTURAL = frozenset({"INTO", "FOR", "DO", "LANGUAGE"})
_LOCKS = (("NO", "KEY", "UPDATE"), ("KEY", "SHARE"), ("UPDATE",), ("SHARE",))
_BODY_STATEMENTS = {
    "DO": "inside the DO body",
    "CREATE FUNCTION": "inside the function body",
    "CREATE PROCEDURE": "inside the procedure body",
}


def deep_scan(code: list[Code], label: str) -> Finding | None:
    """The highest-class construct inside the statement, or None when there is none."""
    body_where = _BODY_STATEMENTS.get(label)
    best: Finding | None = None
    bodies: list[str] = []
    for i, token in enumerate(code):
        kind = token.kind
        found: Finding | None = None
        if kind == "word":
            found = name_finding(token.key.lower())
            if found is None and token.key in _STRUCTURAL:
                found = _structural(code, i, token.key, body_where)
        elif kind == "name":
            found = name_finding(token.key)
        elif kind == "str":
            if body_where is not None:
                found = _body_literal(code, i, body_where)
                bodies.append(_literal_content(token.text))
        elif kind == "punct":
            if token.text == "(":
                found = _nested(code, i)
        elif kind == "other":
            for word in words(token.text):
                found = worst(found, name_finding(word))
        if found is not None:
            best = worst(best, found)
            if best is not None and best.cls is _X:
                return best
    if len(bodies) > 1:
        # PostgreSQL joins string literals separated by a newline: 'pg_' \n 'sleep(1)'.
        best = worst(best, body_finding("".join(bodies), body_where or ""))
    return best


def _body_literal(code: list[Code], i: int, where: str) -> Finding | None:
    before = code[i - 1] if i > 0 else None
    if before is not None and (before.key == "E" or before.text == "&"):
        return never(
            f"escape string (E'...' or U&'...') {where}",
            "write the body as a dollar-quoted string: $$ ... $$",
        )
    return body_finding(code[i].text, where)


def _literal_content(text: str) -> str:
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    tag_end = text.index("$", 1) + 1
    return text[tag_end : len(text) - tag_end]


def _structural(code: list[Code], i: int, key: str, body_where: str | None) -> Finding | None:
    if key == "INTO":
        if word_at(code, i - 1) not in ("INSERT", "MERGE"):
            return Finding(_W, "SELECT ... INTO (creates a table)", "SELECT ... INTO")
    elif key == "FOR":
        for lock in _LOCKS:
            if all(word_at(code, i + 1 + n) == part for n, part in enumerate(lock)):
                clause = "FOR " + " ".join(lock)
                return Finding(_W, f"locking clause ({clause})", f"SELECT ... {clause}")
    elif key == "DO":
        if word_at(code, i + 1) == "UPDATE":
            return Finding(_D, "upsert (ON CONFLICT DO UPDATE)", "ON CONFLICT DO UPDATE")
    elif body_where is not None and code[i].depth == 0 and i + 1 < len(code):
        following = code[i + 1]
        if following.kind == "str":
            return language_finding(following.text.strip("'").lower())
        return language_finding(following.key if following.kind == "name" else following.key.lower())
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
