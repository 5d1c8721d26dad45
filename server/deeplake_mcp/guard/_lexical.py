"""Lexical canaries L2-L5, nesting, the one-statement rule, and the code-token stream.

The text scanned here is already masked (``_mask``): PostgreSQL's scanner has decided where
every literal and quoted name ends. The rules reject what sqlparse and PostgreSQL could still
read differently (comments, ``#``, non-ASCII), so that the later checks, which trust sqlparse's
idea of comments, see what the server will run.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Any, NamedTuple

from sqlparse import tokens

from . import _hints
from ._classes import Finding, never
from ._tokens import lex

__all__ = ["MAX_DEPTH", "Code", "Lexed", "scan"]

MAX_DEPTH = 100
"""Deepest accepted nesting of parentheses and brackets (L5)."""

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
# Places where a comment could start or '#' is followed by whitespace; each occurrence must lie
# inside a literal or comment token, or sqlparse and PostgreSQL may split the text differently.
_MARKERS = re.compile(r"--|/\*|#\s")
_BRACKET_UNSAFE = re.compile(r"['\"$;#\\`]|--|/\*")

_HINT_NESTED = "remove the nested /* inside the block comment, or use -- comments"
_HINT_HASH = "write the # operator without whitespace after it (a #b)"
_HINT_ASCII = "put non-ASCII text inside quotes: \"café\" for a name, 'café' for a value"
_HINT_MARKER = "close every /* comment, and put a space between an operator and a following -- or /*"
_HINT_BALANCE = "balance the parentheses and brackets"


class Code(NamedTuple):
    """One significant token; comments and whitespace are dropped."""

    kind: str  # word | name | str | num | punct | other
    text: str  # source text (masked: no literal's contents)
    key: str  # word: upper-case text; others: text
    depth: int  # nesting of ( and [; an opener and its closer carry the outer depth


class Lexed(NamedTuple):
    """The code tokens of one statement, without a trailing semicolon."""

    code: list[Code]
    trailing_semicolon: bool


class _Reject(Exception):
    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.reason)
        self.finding = finding


_CATEGORIES: dict[Any, str] = {}


def _category(ttype: Any) -> str:
    found = _CATEGORIES.get(ttype)
    if found is not None:
        return found
    if ttype in tokens.Comment:
        found = "comment"
    elif ttype in tokens.Whitespace:
        found = "ws"
    elif ttype is tokens.String.Single or ttype is tokens.Literal:
        found = "str"
    elif ttype is tokens.String.Symbol:
        found = "name"
    elif ttype in tokens.Number:
        found = "num"
    elif ttype is tokens.Punctuation:
        found = "punct"
    elif ttype is tokens.Keyword.TZCast:
        found = "tzcast"
    elif ttype is tokens.Name.Placeholder:
        found = "param"
    elif ttype is tokens.Error or ttype is tokens.Command or ttype in tokens.Literal:
        found = "bad"
    else:
        found = "code"
    _CATEGORIES[ttype] = found
    return found


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.code: list[Code] = []
        self.closers: list[str] = []
        self.quiet_starts: list[int] = []
        self.quiet_ends: list[int] = []
        self.semicolons = 0

    def feed(self, toks: list[tuple[Any, str]], offset: int) -> None:
        code = self.code
        pos = offset
        for ttype, value in toks:
            start = pos
            pos += len(value)
            category = _category(ttype)
            if category == "ws":
                if not value.isascii():
                    raise _Reject(_non_ascii(value))
            elif category == "comment":
                self._quiet(start, pos)
                if value.startswith("#"):
                    raise _Reject(_hash())
                if value.startswith("/*") and "/*" in value[2:]:
                    raise _Reject(never("nested block comment", _HINT_NESTED))
            elif category == "str":
                self._quiet(start, pos)
                code.append(Code("str", value, value, len(self.closers)))
            elif category == "name":
                self._quiet(start, pos)
                code.append(Code("name", value, value, len(self.closers)))
            elif category == "tzcast":
                self._tzcast(value, start)
            elif not value.isascii():
                raise _Reject(_non_ascii(value))
            elif category == "punct":
                self._punct(value)
            elif category == "code":
                self._code(value, start)
            elif category == "num" or category == "param":
                code.append(Code("num" if category == "num" else "other", value, value, len(self.closers)))
            else:
                raise _Reject(_bad_token(value))

    def _quiet(self, start: int, end: int) -> None:
        self.quiet_starts.append(start)
        self.quiet_ends.append(end)

    def _punct(self, value: str) -> None:
        depth = len(self.closers)
        if value == "(" or value == "[":
            if depth >= MAX_DEPTH:
                raise _Reject(never(f"nesting deeper than {MAX_DEPTH}", "reduce the nesting depth"))
            self.closers.append(")" if value == "(" else "]")
            self.code.append(Code("punct", value, value, depth))
        elif value == ")" or value == "]":
            if not self.closers or self.closers.pop() != value:
                raise _Reject(never(f"unbalanced parentheses (unexpected {value!r})", _HINT_BALANCE))
            self.code.append(Code("punct", value, value, depth - 1))
        else:
            if value == ";":
                self.semicolons += 1
            self.code.append(Code("punct", value, value, depth))

    def _code(self, value: str, start: int) -> None:
        depth = len(self.closers)
        if _IDENT.fullmatch(value):
            self.code.append(Code("word", value, value.upper(), depth))
        elif value.startswith("["):
            # sqlparse reads "[...]" after a space as one name; PostgreSQL sees an array
            # subscript or constructor. Re-read the inside when it cannot hide a quote or comment.
            inner = value[1:-1]
            if _BRACKET_UNSAFE.search(inner):
                raise _Reject(
                    never(
                        "square brackets around quotes, comments or ';'",
                        "remove the space before '[' (ARRAY[...], x[1])",
                    )
                )
            self._punct("[")
            self.feed(lex(inner), start + 1)
            self._punct("]")
        elif value.startswith("`"):
            raise _Reject(never("MySQL backtick quoting", 'quote names with double quotes: "name"'))
        else:
            parts = value.split()
            if len(parts) > 1 and all(_IDENT.fullmatch(part) or part.isdigit() for part in parts):
                for part in parts:
                    kind = "num" if part.isdigit() else "word"
                    self.code.append(Code(kind, part, part.upper(), depth))
            else:
                self.code.append(Code("other", value, value, depth))

    def _tzcast(self, value: str, start: int) -> None:
        # "AT TIME ZONE 'UTC'" is one sqlparse token; split it into words and a literal.
        quote = value.index("'")
        if not value[:quote].isascii():
            raise _Reject(_non_ascii(value[:quote]))
        head = value[:quote].split()
        if head[0].upper() != "AT":
            raise _Reject(never("a quote directly after WITH", _hints.SYNTAX))
        depth = len(self.closers)
        self.code.extend(Code("word", word, word.upper(), depth) for word in head)
        self._quiet(start + quote, start + len(value))
        self.code.append(Code("str", value[quote:], value[quote:], depth))

    def check_markers(self) -> None:
        for marker in _MARKERS.finditer(self.text):
            at = marker.start()
            index = bisect_right(self.quiet_starts, at) - 1
            if index >= 0 and at < self.quiet_ends[index]:
                continue
            if marker.group().startswith("#"):
                raise _Reject(_hash())
            raise _Reject(
                never(
                    f"{marker.group()!r} that does not start a complete comment",
                    _HINT_MARKER,
                    subject=f"a {marker.group()!r} outside a complete comment",
                )
            )


def scan(text: str) -> Lexed | Finding:
    """Apply the lexical rules to masked ``text``; return its code tokens or a NEVER finding."""
    stripped = text.lstrip()
    if stripped.startswith("\\"):
        return never(
            "psql meta-command",
            "psql meta-commands are client features; send SQL, e.g. query information_schema.tables",
            subject="a psql meta-command",
        )
    scanner = _Scanner(text)
    try:
        scanner.feed(lex(text), 0)
        if scanner.closers:
            raise _Reject(never(f"unbalanced parentheses ({len(scanner.closers)} left open)", _HINT_BALANCE))
        scanner.check_markers()
    except _Reject as rejected:
        return rejected.finding
    return _one_statement(scanner.code, scanner.semicolons)


def _one_statement(code: list[Code], semicolons: int) -> Lexed | Finding:
    statements = 0
    empty = True
    for token in code:
        if token.text == ";" and token.kind == "punct":
            empty = True
        elif empty:
            statements += 1
            empty = False
    if statements == 0:
        return never(
            "no SQL statement (the input is empty, or only comments and ';')",
            "send one SQL statement",
            subject="empty input",
        )
    if statements > 1:
        return never(
            f"stacked statements ({statements} statements)",
            _hints.ONE_STATEMENT,
            subject=f"a call with {statements} statements",
        )
    if semicolons == 0:
        return Lexed(code, trailing_semicolon=False)
    if semicolons > 1 or code[-1].text != ";":
        return never("extra ';' (an empty statement)", _hints.ONE_STATEMENT, subject="an extra ';'")
    return Lexed(code[:-1], trailing_semicolon=True)


def _non_ascii(value: str) -> Finding:
    char = next(c for c in value if not c.isascii())
    return never(f"non-ASCII character {char!r} outside quotes", _HINT_ASCII)


def _hash() -> Finding:
    return never("'#' followed by whitespace", _HINT_HASH)


def _bad_token(value: str) -> Finding:
    if value in ("'", '"', "$"):
        return never(f"unterminated quote or dollar quote ({value})", _hints.SYNTAX)
    if value == "\\" or value.startswith("\\"):
        return never("backslash outside a string", _hints.SYNTAX)
    return never(f"character {value[:20]!r} that is not PostgreSQL syntax", _hints.SYNTAX)
