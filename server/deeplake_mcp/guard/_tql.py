"""``check_tql()``: one read-only TQL SELECT over ``"hub://org/dataset"`` sources.

TQL, the query language of Deep Lake's Tensor Database, is SQL with tensor extras. A query
goes through the SQL guard unchanged first (input hygiene, the lexical rules, the
one-statement rule, the statement kind and the deep scan) and must come out as one READ
statement that starts with SELECT. Then TQL's own rules apply: no comments, no ``""`` inside
quoted names, no ``$``, and every dataset named as ``"hub://org/name"``.

PostgreSQL's parser (pglast) gives the second opinion, as for SQL. TQL syntax it cannot read
is handled explicitly, for the parser's copy of the text only: the clauses ``SAMPLE BY``,
``EXPAND BY`` and ``UNGROUP BY`` and the word ``PERCENT`` in ``LIMIT n PERCENT`` are cut out,
``==`` becomes ``=``, bare ``ANY(…)``/``ALL(…)`` become function calls, ``SHAPE(x)[0]`` becomes
``(SHAPE(x))[0]`` and ``x[:, 0]`` becomes ``x[:][0]``. The result must parse as one SELECT;
anything else is refused.
The tree then shows every source: each must be a quoted ``hub://org/name``.

Every function call must be a read (policy 2.1 and 2.5): TQL's own functions, and SQL functions
the catalogue knows as reads. The calls inside the cut-out clauses are checked by name.
Backslashes inside TQL strings and names are refused: TQL's own lexer may read them differently.
"""

from __future__ import annotations

import importlib
import json
import re
from typing import Any, NamedTuple

from sqlparse import tokens as sql_tokens

from . import _hints, _pgcheck
from ._calls import call_finding
from ._classes import Classification, Finding, StatementClass, never
from ._classify import analyse, failed
from ._tokens import lex

__all__ = ["HubSource", "check_tql", "hub_sources"]

_READ, _NEVER = StatementClass.READ, StatementClass.NEVER
_STATEMENT = "SELECT"

_HINT_SELECT = (
    'send one TQL SELECT, e.g. SELECT * FROM "hub://org/dataset" '
    "ORDER BY COSINE_SIMILARITY(embedding, ARRAY[0.1, 0.2]) DESC LIMIT 5"
)
_HINT_SOURCE = 'name each dataset as a quoted hub path: FROM "hub://org/dataset"'
_HINT_SYNTAX = (
    'write the query in the SQL-like part of TQL: SELECT … FROM "hub://org/dataset" [WHERE …] '
    "[ORDER BY …] [LIMIT n]; wrap a subscripted call in parentheses, (SHAPE(x))[0]"
)
# The SQL guard's hints that speak of PostgreSQL; a TQL refusal gives the TQL advice instead.
_SQL_HINTS = frozenset({_hints.SYNTAX, _hints.DISAGREE, _hints.UNKNOWN, _hints.GUARD_FAILED})

_SEGMENT = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_HUB = re.compile(rf"hub://({_SEGMENT})/({_SEGMENT})")
_PATH_LIKE = re.compile(r"[/:\\]|^[.~]")

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
    |(?P<str>'(?:[^']|'')*')
    |(?P<name>"(?:[^"]|"")*")
    |(?P<word>[A-Za-z_][A-Za-z0-9_$]*)
    |(?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
    |(?P<punct>[()\[\],;:])
    |(?P<op>[^\sA-Za-z0-9_'"()\[\],;:]+)
    """,
    re.VERBOSE,
)
_TQL_CLAUSES = frozenset({"SAMPLE", "EXPAND", "UNGROUP"})
_CLAUSE_END = frozenset(
    {
        "LIMIT",
        "OFFSET",
        "ORDER",
        "GROUP",
        "UNGROUP",
        "SAMPLE",
        "EXPAND",
        "WHERE",
        "HAVING",
        "UNION",
        "INTERSECT",
        "EXCEPT",
    }
)
_NOT_IN_CLAUSE = frozenset({"SELECT", "FROM", "JOIN", "WITH", "INTO", "VALUES", "TABLE"})
_SET_QUANTIFIED = frozenset({"UNION", "INTERSECT", "EXCEPT", "SELECT", "DISTINCT"})
_NOT_FUNCTIONS = frozenset(
    {
        "AND",
        "OR",
        "NOT",
        "IN",
        "EXISTS",
        "SELECT",
        "FROM",
        "JOIN",
        "WHERE",
        "ON",
        "BY",
        "AS",
        "USING",
        "WHEN",
        "THEN",
        "ELSE",
        "CASE",
        "LIKE",
        "ILIKE",
        "BETWEEN",
        "IS",
        "LIMIT",
        "OFFSET",
        "HAVING",
        "DISTINCT",
        "ARRAY",
    }
)
# TQL's functions (deeplake-api.md §9 and the TQL reference), all reads; "any", "all" and "some"
# are bare ANY(…)/ALL(…)/SOME(…) as rewritten for the parser.
_TQL_FUNCTIONS = frozenset(
    {
        "all",
        "all_strict",
        "amax",
        "amin",
        "any",
        "bm25_similarity",
        "contains",
        "cosine_similarity",
        "deepmemory_distance",
        "hamming_distance",
        "keys",
        "l1_norm",
        "l2_norm",
        "linf_norm",
        "logical_and",
        "logical_or",
        "max_weight",
        "maxsim",
        "nonzero",
        "prod",
        "shape",
        "some",
        "sum_weight",
    }
)
_SOURCE_NODES = {
    "RangeFunction": "a function call",
    "RangeTableFunc": "XMLTABLE",
    "RangeTableSample": "TABLESAMPLE",
    "JsonTable": "JSON_TABLE",
}


class HubSource(NamedTuple):
    """One ``"hub://org/name"`` token: its span in the query text and its two names."""

    start: int
    end: int
    org: str
    name: str


class _Tok(NamedTuple):
    kind: str  # ws | str | name | word | num | punct | op
    text: str
    key: str  # upper-case text of a word, else the text
    start: int
    end: int
    depth: int  # nesting of ( and [; an opener and its closer carry the outer depth


def check_tql(text: object) -> Classification:
    """Classify a TQL query: READ when it is one allowed SELECT, else NEVER. Never raises."""
    try:
        return _check(text)
    except Exception:
        return failed(_STATEMENT)


def hub_sources(text: str) -> list[HubSource]:
    """Every quoted ``"hub://org/name"`` in ``text``, in order (for a query check_tql allowed)."""
    found = []
    for tok in _tokenize(text):
        names = _parse_hub(tok.text[1:-1]) if tok.kind == "name" else None
        if names is not None:
            found.append(HubSource(tok.start, tok.end, *names))
    return found


def _parse_hub(path: str) -> tuple[str, str] | None:
    """``(org, name)`` of ``hub://org/name`` with plain names, else ``None``."""
    match = _HUB.fullmatch(path)
    if match is None or ".." in path:
        return None
    return match.group(1), match.group(2)


def _check(text: object) -> Classification:
    first = analyse(text, parse_tree=False)
    if first.cls is _NEVER:
        hint = _HINT_SYNTAX if first.hint in _SQL_HINTS else first.hint
        return _refusal(never(first.reason, hint, first.subject), first.statement)
    if first.cls is not _READ or first.statement != _STATEMENT:
        what = first.subject or first.statement or "this statement"
        return _refusal(
            never(f"{what}: TQL runs one SELECT and nothing else", _HINT_SELECT, subject=what),
            first.statement,
        )
    assert isinstance(text, str)
    if any(ttype in sql_tokens.Comment for ttype, _ in lex(text)):
        return _refusal(never("comment in a TQL query", "remove the comment (-- or /* */)"))
    toks = [tok for tok in _tokenize(text) if tok.kind != "ws"]
    found = _lexical(toks) or _sources_lexical(toks)
    if found is not None:
        return _refusal(found)
    parser_text = _for_parser(text, toks)
    if isinstance(parser_text, Finding):
        return _refusal(parser_text)
    opinion = _pgcheck.second_opinion(parser_text, _TQL_FUNCTIONS)
    if opinion.finding.cls is _NEVER:
        hint = _HINT_SYNTAX if opinion.finding.hint in _SQL_HINTS else opinion.finding.hint
        return _refusal(never(opinion.finding.reason, hint, opinion.finding.subject))
    if opinion.family != _STATEMENT or opinion.finding.cls is not _READ:
        what = opinion.finding.subject or opinion.family
        return _refusal(never(f"{what}: TQL runs one read-only SELECT", _HINT_SELECT, subject=what))
    sources = _tree_sources(parser_text)
    if isinstance(sources, Finding):
        return _refusal(sources)
    listed = ", ".join(dict.fromkeys(sources))
    return Classification(_READ, "TQL SELECT", _STATEMENT, f"TQL SELECT over {listed}")


def _refusal(found: Finding, statement: str = _STATEMENT) -> Classification:
    return Classification(_NEVER, found.reason, statement, found.subject or found.reason, found.hint)


def _tokenize(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    closers: list[str] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ValueError(f"untokenizable text at offset {pos}")
        kind = match.lastgroup or "op"
        value = match.group()
        depth = len(closers)
        if value in ("(", "["):
            closers.append(")" if value == "(" else "]")
        elif value in (")", "]"):
            if not closers or closers.pop() != value:
                raise ValueError(f"unbalanced {value!r} at offset {pos}")
            depth -= 1
        key = value.upper() if kind == "word" else value
        out.append(_Tok(kind, value, key, pos, match.end(), depth))
        pos = match.end()
    if closers:
        raise ValueError("unbalanced brackets")
    return out


def _lexical(toks: list[_Tok]) -> Finding | None:
    lead = next((tok for tok in toks if tok.text != "("), None)
    if lead is None or lead.key != "SELECT":
        return never("TQL query that does not start with SELECT", _HINT_SELECT)
    for i, tok in enumerate(toks):
        if tok.kind == "name" and '""' in tok.text:
            return never(
                f"doubled quote inside the quoted name {tok.text[:60]}",
                "TQL names cannot contain a double quote; rename the column or dataset",
            )
        if tok.kind == "op" and "$" in tok.text:
            return never("'$' in a TQL query", "TQL has no $n parameters or dollar quotes; write the values")
        if tok.kind in ("str", "name") and "\\" in tok.text:
            return never(
                f"backslash inside {tok.text[:60]}",
                "TQL may read backslashes in strings differently from PostgreSQL; write the text without them",
            )
        if tok.kind == "word" and tok.key in ("E", "U") and _escape_form(toks, i):
            return never(f"escape form {tok.text}{toks[i + 1].text[:20]}", "write names and strings without E'' or U&")
    return None


def _escape_form(toks: list[_Tok], i: int) -> bool:
    """``E'…'`` or ``U&'…'``/``U&"…"``: the prefix touches what follows it."""
    chain = [toks[i]]
    for tok in toks[i + 1 : i + 3]:
        if tok.start != chain[-1].end:
            break
        chain.append(tok)
    kinds = [tok.kind for tok in chain]
    if toks[i].key == "E":
        return kinds[:2] == ["word", "str"]
    return len(chain) == 3 and chain[1].text == "&" and kinds[2] in ("str", "name")


def _sources_lexical(toks: list[_Tok]) -> Finding | None:
    """Quoted names that look like a path or URL must be hub sources; FROM/JOIN must name one."""
    for i, tok in enumerate(toks):
        if tok.kind == "name":
            inner = tok.text[1:-1]
            if _PATH_LIKE.search(inner) and _parse_hub(inner) is None:
                return _bad_source(inner)
        elif tok.kind == "word" and tok.key in ("FROM", "JOIN") and not _distinct_from(toks, i):
            following = toks[i + 1] if i + 1 < len(toks) else None
            if following is None or not (following.text == "(" or following.kind == "name"):
                what = following.text[:60] if following is not None else "nothing"
                return never(f"{tok.key} {what}: a TQL source must be a quoted dataset path", _HINT_SOURCE)
    return None


def _distinct_from(toks: list[_Tok], i: int) -> bool:
    """``a IS [NOT] DISTINCT FROM b``: a comparison, not a source."""
    return _word(toks, i - 1) == "DISTINCT" and _word(toks, i - 2) in ("IS", "NOT")


def _bad_source(path: str) -> Finding:
    scheme = path.split("://", 1)[0] + "://" if "://" in path else ""
    if scheme and scheme != "hub://":
        return never(
            f"dataset source {path[:80]!r}: only hub:// datasets can be queried ({scheme} is not allowed)",
            _HINT_SOURCE,
            subject=f"a {scheme} source",
        )
    return never(
        f"dataset source {path[:80]!r} is not hub://ORG/NAME with plain names",
        _HINT_SOURCE + "; ORG and NAME are plain names (letters, digits, _ . -), never '..'",
        subject="a dataset path that is not hub://ORG/NAME",
    )


def _for_parser(text: str, toks: list[_Tok]) -> str | Finding:
    """The text pglast reads: TQL-only syntax cut out or rewritten as PostgreSQL syntax."""
    edits: list[tuple[int, int, str]] = []
    i = 0
    while i < len(toks):
        tok = toks[i]
        if tok.kind == "word" and tok.key in _TQL_CLAUSES and _word(toks, i + 1) == "BY":
            end = _clause_end(toks, i + 2, tok.depth)
            found = _clause_finding(toks, i, end)
            if found is not None:
                return found
            edits.append((tok.start, toks[end].start if end < len(toks) else len(text), " "))
            i = end
            continue
        if tok.key == "PERCENT" and i >= 2 and toks[i - 1].kind == "num" and _word(toks, i - 2) == "LIMIT":
            edits.append((tok.start, tok.end, " "))
        elif tok.kind == "op" and tok.text == "==":
            edits.append((tok.start, tok.end, "="))
        elif (
            tok.kind == "word"
            and tok.key in ("ANY", "ALL", "SOME")
            and _punct(toks, i + 1, "(")
            and _word(toks, i - 1) not in _SET_QUANTIFIED
        ):
            edits.append((tok.start, tok.end, f'"{tok.key.lower()}"'))
        elif tok.text == "[" and tok.kind == "punct" and i > 0 and _subscripts(toks[i - 1]):
            edits.extend(_subscript_edits(toks, i))
        i += 1
    return _apply(text, edits)


def _clause_finding(toks: list[_Tok], i: int, end: int) -> Finding | None:
    """Subqueries and calls that are not reads inside a SAMPLE/EXPAND/UNGROUP BY clause."""
    clause = toks[i].key
    for n in range(i + 2, end):
        inner = toks[n]
        if inner.kind == "word" and inner.key in _NOT_IN_CLAUSE:
            return never(
                f"{inner.key} inside {clause} BY", f"{clause} BY takes expressions only; put subqueries in FROM"
            )
        if inner.kind == "word" and _punct(toks, n + 1, "("):
            qualified = n >= 2 and toks[n - 1].text == "." and toks[n - 2].kind == "word"
            names = [toks[n - 2].text.lower(), inner.text.lower()] if qualified else [inner.text.lower()]
            call = call_finding(names, None, _TQL_FUNCTIONS)
            if call is not None:
                return never(f"{call.subject} inside {clause} BY: TQL runs one read-only SELECT", _HINT_SELECT)
    return None


def _subscripts(before: _Tok) -> bool:
    """Whether a '[' after ``before`` is a subscript (not an ARRAY[…] constructor)."""
    if before.kind == "word":
        return before.key not in _NOT_FUNCTIONS
    return before.kind == "name" or (before.kind == "punct" and before.text in ")]")


def _subscript_edits(toks: list[_Tok], i: int) -> list[tuple[int, int, str]]:
    opener = toks[i]
    edits = []
    for tok in toks[i + 1 :]:
        if tok.depth == opener.depth:
            break
        if tok.depth == opener.depth + 1 and tok.text == "," and tok.kind == "punct":
            edits.append((tok.start, tok.end, "]["))
    before = toks[i - 1]
    if before.text == ")":
        start = next(k for k in range(i - 2, -1, -1) if toks[k].depth == before.depth)
        if start > 0 and toks[start - 1].kind == "word" and toks[start - 1].key not in _NOT_FUNCTIONS:
            name = toks[start - 1]
            edits.extend([(name.start, name.start, "("), (before.end, before.end, ")")])
    return edits


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    out: list[str] = []
    pos = 0
    for start, end, replacement in sorted(edits, key=lambda edit: (edit[0], edit[1])):
        out.append(text[pos:start])
        out.append(replacement)
        pos = max(pos, end)
    out.append(text[pos:])
    return "".join(out)


def _clause_end(toks: list[_Tok], i: int, depth: int) -> int:
    for j in range(i, len(toks)):
        tok = toks[j]
        if tok.depth < depth or (tok.depth == depth and (tok.key in _CLAUSE_END or tok.text == ";")):
            return j
    return len(toks)


def _word(toks: list[_Tok], i: int) -> str:
    return toks[i].key if 0 <= i < len(toks) and toks[i].kind == "word" else ""


def _punct(toks: list[_Tok], i: int, text: str) -> bool:
    return 0 <= i < len(toks) and toks[i].kind == "punct" and toks[i].text == text


def _tree_sources(parser_text: str) -> list[str] | Finding:
    """The hub sources in pglast's tree; any other kind of source is a finding."""
    tree = json.loads(importlib.import_module("pglast.parser").parse_sql_json(parser_text))
    sources: list[str] = []
    for key, value in _pgcheck.json_nodes(tree):
        if key == "RangeVar":
            found = _range_var(value)
            if isinstance(found, Finding):
                return found
            sources.append(found)
        elif key in _SOURCE_NODES:
            return never(f"FROM {_SOURCE_NODES[key]}: a TQL source must be a dataset", _HINT_SOURCE)
        elif key == "withClause":
            return never("WITH in a TQL query", "use a subquery in FROM instead of WITH")
    if not sources:
        return never("TQL query without a dataset", _HINT_SOURCE)
    return sorted(sources)


def _range_var(node: dict[str, Any]) -> str | Finding:
    relname = str(node.get("relname", ""))
    if node.get("schemaname") or node.get("catalogname"):
        qualified = ".".join(str(node[k]) for k in ("catalogname", "schemaname") if node.get(k))
        return never(f"source {qualified}.{relname}: not a dataset path", _HINT_SOURCE)
    if _parse_hub(relname) is None:
        if _PATH_LIKE.search(relname):
            return _bad_source(relname)
        return never(f"source {relname[:60]}: not a quoted dataset path", _HINT_SOURCE)
    return relname
