"""sqlparse's lexer rules, run as one compiled regular expression.

``lex(text)`` returns exactly what ``list(sqlparse.lexer.tokenize(text))`` returns (a test
checks this on the corpus and on random text), in about half the time: sqlparse calls
``re.match`` once per rule of ``keywords.SQL_REGEX`` until one matches, while here the rules are
the ordered alternatives of one pattern, which the regex engine tries in the same order.
Dollar-quoted literals and block comments are paired with sqlparse's own
``find_delimited_spans``, as in ``Lexer.get_tokens``.
"""

from __future__ import annotations

import re
from typing import Any

from sqlparse import keywords, tokens
from sqlparse.lexer import Lexer

__all__ = ["lex"]

_RULES: list[tuple[str, Any]] = list(keywords.SQL_REGEX)
_find_spans: Any = keywords.find_delimited_spans
_default_lexer: Any = Lexer.get_default_instance
_PATTERN = re.compile(
    "|".join(f"(?P<r{index}>{rule})" for index, (rule, _) in enumerate(_RULES)),
    re.IGNORECASE | re.UNICODE,
)
_ACTIONS: dict[str, Any] = {f"r{index}": action for index, (_, action) in enumerate(_RULES)}
# Characters whose token is known without trying the rules: no rule before the whitespace
# rule can start with a space or TAB, and none before the punctuation rule with these.
_SHORTCUTS: dict[str, Any] = {
    " ": tokens.Whitespace,
    "\t": tokens.Whitespace,
    "(": tokens.Punctuation,
    ")": tokens.Punctuation,
    ",": tokens.Punctuation,
    ";": tokens.Punctuation,
}


def lex(text: str) -> list[tuple[Any, str]]:
    """Tokenize ``text`` into sqlparse ``(token type, value)`` pairs."""
    is_keyword = _default_lexer().is_keyword
    spans = _find_spans(text)
    openers = spans.openers
    match = _PATTERN.match
    out: list[tuple[Any, str]] = []
    append = out.append
    pos = 0
    end_of_text = len(text)
    while pos < end_of_text:
        char = text[pos]
        shortcut = _SHORTCUTS.get(char)
        if shortcut is not None:
            append((shortcut, char))
            pos += 1
            continue
        if pos in openers:
            resolved = spans.resolve(pos)
            if resolved is not None:
                end, ttype = resolved
                append((ttype, text[pos:end]))
                pos = end
                continue
        found = match(text, pos)
        if found is None:
            append((tokens.Error, char))
            pos += 1
            continue
        if found.end() == pos:  # no rule matches empty text; never loop if one ever did
            raise ValueError(f"empty token at offset {pos}")
        action = _ACTIONS[found.lastgroup or ""]
        value = found.group()
        append(is_keyword(value) if action is keywords.PROCESS_AS_KEYWORD else (action, value))
        pos = found.end()
    return out
