"""The guard's tokenizer is sqlparse's lexer; masking and the lexical canaries reject every known desync."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlparse
from hypothesis import given, settings
from hypothesis import strategies as st

from deeplake_mcp.guard import StatementClass, classify
from deeplake_mcp.guard._lexical import Lexed, scan
from deeplake_mcp.guard._mask import mask_literals
from deeplake_mcp.guard._tokens import lex

CORPUS = Path(__file__).with_name("guard_cases.jsonl")
_sqlparse_tokenize: Any = sqlparse.lexer.tokenize
PIECES = [
    "SELECT",
    "select",
    "FROM",
    "t",
    "WITH",
    "AS",
    "(",
    ")",
    "[",
    "]",
    " [",
    ";",
    "'",
    "''",
    '"',
    "$$",
    "$a$",
    "$1",
    "--",
    "/*",
    "*/",
    "#",
    "# ",
    "\\",
    "U&",
    "&",
    "E",
    "::",
    ":",
    "?",
    "|",
    "-",
    "+",
    "/",
    "*",
    ",",
    ".",
    " ",
    "\n",
    "\t",
    "\r",
    "1",
    "0.5",
    "pg_sleep",
    "AT TIME ZONE",
    "WITH'",
    "€",
    "é",
    "\u00a0",
    "UESCAPE",
    "`",
    "{",
    "LEFT",
    "JOIN",
    "ORDER BY",
    "IF NOT EXISTS",
    "@x",
    "#x",
    "%s",
]


def _corpus_sql() -> list[str]:
    lines = CORPUS.read_text(encoding="utf-8").split("\n")
    return sorted({json.loads(line)["sql"] for line in lines if line.strip()})


def test_lex_equals_sqlparse_on_corpus() -> None:
    for sql in _corpus_sql():
        assert lex(sql) == list(_sqlparse_tokenize(sql)), sql


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=30).map("".join))
def test_lex_equals_sqlparse_on_fragments(text: str) -> None:
    assert lex(text) == list(_sqlparse_tokenize(text))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_lex_equals_sqlparse_on_any_text(text: str) -> None:
    assert lex(text) == list(_sqlparse_tokenize(text))


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("SELECT '\\'; DROP TABLE users; --'", "stacked statements (2 statements)"),
        ("SELECT '\\\\'; DROP TABLE users; --'", "stacked statements (2 statements)"),
        ("SELECT U&'\\'; DROP TABLE users; --'", "stacked statements (2 statements)"),
        ('SELECT "\\"; DROP TABLE users; --"', "stacked statements (2 statements)"),
        ("SELECT 1 # 2; DROP TABLE users", "'#' followed by whitespace"),
        ("SELECT 1 /* /* */ ' */ ; DROP TABLE users; -- '", "nested block comment"),
        ("SELECT 1 AS a€$x$; DROP TABLE users; SELECT 2 AS b€$x$", "non-ASCII character"),
        ("SELECT 1 +--'\n 2; DROP TABLE t; --'", "does not start a complete comment"),
        ("SELECT 1 //* '*/ 2; DROP TABLE t; --'", "does not start a complete comment"),
        ("SELECT 1 WITH' TIME ZONE '; DROP TABLE t; --'", "stacked statements (2 statements)"),
        ("SELECT ARRAY [1, ']'] ; DROP TABLE users; -- '", "square brackets"),
        ('SELECT "text"$$; DROP TABLE t; $$', "unterminated quote or dollar quote"),
        ("SELECT `id` FROM `users`", "MySQL backtick"),
        ("SELECT " + "(" * 101 + "1" + ")" * 101, "nesting deeper than 100"),
    ],
)
def test_desyncs_are_rejected_before_parsing(sql: str, reason: str) -> None:
    """Each of these is read differently by sqlparse and PostgreSQL; masking and the canaries catch them."""
    masked = mask_literals(sql)
    assert isinstance(masked, str)
    found = scan(masked)
    assert not isinstance(found, Lexed)
    assert reason in found.reason
    assert classify(sql).cls is StatementClass.NEVER


@pytest.mark.parametrize(
    ("sql", "masked"),
    [
        ('SELECT \'{"a\\"b"}\'::text[]', "SELECT 'xxxxxxxx'::text[]"),
        ("SELECT E'O\\'Brien', 'it''s'", "SELECT E'xxxxxxxx', 'xxxxx'"),
        ("SELECT $t$ ' \\ $t$, $$$$", "SELECT $t$xxxxx$t$, $$$$"),
        ('SELECT "a""b", U&"d\\0061t" UESCAPE \'!\'', 'SELECT "xxxx", U&"xxxxxxx" UESCAPE \'x\''),
        ("SELECT 'a'\n'b' AS é, B'01', X'ff', N'n'", "SELECT 'xxxxx' AS é, B'xx', X'xx', N'x'"),
        ("SELECT 1 -- 'not a literal'", "SELECT 1 -- 'not a literal'"),
    ],
)
def test_masking(sql: str, masked: str) -> None:
    """Contents of literals and quoted names are blanked where PostgreSQL's scanner says they are."""
    assert mask_literals(sql) == masked
    assert len(masked) == len(sql)


VECTOR = ", ".join(["-1.5e3", "+2", ".5", "7"] * 4)


@pytest.mark.parametrize(
    ("sql", "masked"),
    [
        (f"SELECT ARRAY[{VECTOR}]::float4[] <#> e FROM t", "SELECT ARRAY[-0]::float4[] <#> e FROM t"),
        (f"SELECT ARRAY[{VECTOR}] AS v, 'a' -- ,1,2\n", "SELECT ARRAY[-0] AS v, 'x' -- ,1,2\n"),
        (f"SELECT {VECTOR} /* , */ , 1; DROP TABLE t", "SELECT -0 /* , */ , 1; DROP TABLE t"),
        (f"SELECT f({VECTOR}, x)", "SELECT f(-0, x)"),
        ("SELECT ARRAY[1, 2, 3]", "SELECT ARRAY[1, 2, 3]"),
    ],
)
def test_vector_literals_collapse(sql: str, masked: str) -> None:
    """Sixteen or more numbers in a row become one: sqlparse need not read every number of a vector."""
    assert mask_literals(sql) == masked


@pytest.mark.parametrize(
    "sql", ["SELECT 'open", 'SELECT "open', "SELECT $$open", "SELECT '' /* open", "SELECT U&'\\zz'"]
)
def test_scanner_errors_are_never(sql: str) -> None:
    found = classify(sql)
    assert found.cls is StatementClass.NEVER
    assert found.reason.startswith("not valid PostgreSQL"), found.reason


def test_code_tokens() -> None:
    lexed = scan('SELECT "xxxx", ARRAY [1, 2] FROM t ORDER BY x; -- done')
    assert isinstance(lexed, Lexed)
    assert lexed.trailing_semicolon
    kinds = [(token.kind, token.key) for token in lexed.code]
    assert ("name", '"xxxx"') in kinds
    assert ("word", "ORDER") in kinds and ("word", "BY") in kinds
    assert ("punct", "[") in kinds and ("punct", "]") in kinds
    depths = [token.depth for token in lexed.code if token.kind == "num"]
    assert depths == [1, 1]
