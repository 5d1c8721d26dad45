"""The pglast second opinion: Deep Lake syntax, differential checks, and life without pglast."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pglast
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deeplake_mcp.guard import StatementClass, classify
from deeplake_mcp.guard._lexical import Lexed, scan
from deeplake_mcp.guard._mask import mask_literals
from deeplake_mcp.guard._pgcheck import AVAILABLE, is_where_only, second_opinion
from deeplake_mcp.guard._statement import analyse_statement

CORPUS = Path(__file__).with_name("guard_cases.jsonl")
SAMPLES = Path(__file__).with_name("guard_samples.jsonl")

DEEPLAKE_SYNTAX = [
    "SELECT id, embedding <#> ARRAY[0.1, 0.2]::float4[] AS score FROM docs ORDER BY score DESC LIMIT 5",
    "SELECT id, embedding <#> ARRAY[ARRAY[0.1, 0.2], ARRAY[0.3, 0.4]]::float4[][] AS s FROM pages",
    "SELECT content <#> 'query' AS score FROM docs",
    "SELECT (embedding, content)::deeplake_hybrid_record <#> "
    "deeplake_hybrid_record(ARRAY[0.1]::float4[], 'text', 0.5, 0.5) FROM docs",
    'CREATE TABLE IF NOT EXISTS "ws"."documents" (id SERIAL PRIMARY KEY, title TEXT, '
    "embedding FLOAT4[], created_at TIMESTAMPTZ DEFAULT NOW()) USING deeplake",
    'CREATE INDEX IF NOT EXISTS idx_vec ON "ws"."documents" USING deeplake_index (embedding DESC)',
    'CREATE INDEX IF NOT EXISTS "idx_t_c" ON "t" USING deeplake_index ("c") '
    "WITH (index_type = 'bm25', dimension = 384)",
    "INSERT INTO docs (id, metadata, embedding) VALUES ($1, $2::jsonb, $3::float4[])",
    "SELECT deeplake_cosine_similarity(embedding, ARRAY[0.1]::float4[]), contains(content, 'x') FROM docs",
    "SELECT deeplake_maxsim(pages, ARRAY[ARRAY[0.1]]::float4[][]), deeplake_bm25_similarity(t, 'q') FROM docs",
    "SELECT * FROM docs WHERE jsonb_field_eq(metadata, 'lang', 'en') ORDER BY deeplake_hybrid_search(1, 2) DESC",
]


def _all_sql() -> list[str]:
    lines = [
        line for path in (CORPUS, SAMPLES) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()
    ]
    return sorted({json.loads(line)["sql"] for line in lines})


def test_pglast_is_installed() -> None:
    assert AVAILABLE


@pytest.mark.parametrize("sql", DEEPLAKE_SYNTAX)
def test_deeplake_syntax_parses_in_pglast(sql: str) -> None:
    assert len(pglast.parse_sql(sql)) == 1
    opinion = second_opinion(sql)
    assert opinion.finding.cls is not StatementClass.NEVER, opinion.finding.reason
    assert classify(sql).cls in (StatementClass.READ, StatementClass.WRITE)


def _differential(sql: str) -> None:
    """Where the canaries pass and PostgreSQL can parse the text, both parsers must agree."""
    masked = mask_literals(sql)
    if not isinstance(masked, str):
        return
    lexed = scan(masked)
    if not isinstance(lexed, Lexed):
        return
    try:
        statements = pglast.parse_sql(sql)
    except pglast.parser.ParseError:
        return
    assert len(statements) == 1, f"statement count differs: {sql!r}"
    ours = analyse_statement(lexed.code)
    theirs = second_opinion(sql)
    if StatementClass.NEVER not in (ours.finding.cls, theirs.finding.cls):
        assert ours.family == theirs.family, f"{ours.family} vs {theirs.family}: {sql!r}"


def test_differential_on_corpus() -> None:
    for sql in _all_sql():
        _differential(sql)


PIECES = [
    "SELECT 1",
    "SELECT * FROM t",
    "DELETE FROM t",
    "INSERT INTO t VALUES (1)",
    "WITH a AS (SELECT 1) ",
    ";",
    "'",
    "''",
    '"',
    "$$",
    "$a$",
    "--",
    "/*",
    "*/",
    "#",
    "\\",
    "U&",
    "(",
    ")",
    " ",
    "\n",
    "x",
    "EXPLAIN ",
    "UPDATE t SET x = 1",
    "BEGIN",
    "COMMIT",
    "E",
    "[",
    "]",
    " [",
    "AT TIME ZONE 'UTC'",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=12).map("".join))
def test_differential_on_fragments(sql: str) -> None:
    _differential(sql)


def test_pglast_never_lowers_the_class() -> None:
    for sql in _all_sql():
        opinion = second_opinion(sql)
        if opinion.finding.cls is not StatementClass.NEVER:
            assert classify(sql).cls >= opinion.finding.cls, sql


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("SELECT 1 +", "not valid PostgreSQL"),
        ("SELECT FROM WHERE", "not valid PostgreSQL"),
        ("SELECT * FROM users LIMIT 5, 10", "not valid PostgreSQL"),
        ("SELECT * FROM (DELETE FROM t RETURNING *) d", "not valid PostgreSQL"),
    ],
)
def test_second_opinion_blocks_invalid_sql(sql: str, reason: str) -> None:
    assert reason in classify(sql).reason


def test_second_opinion_walks_nested_nodes() -> None:
    assert second_opinion("WITH d AS (DELETE FROM t RETURNING 1) SELECT * FROM d").finding.cls is (
        StatementClass.DESTRUCTIVE
    )
    assert second_opinion("SELECT * FROM (SELECT 1 FROM t FOR SHARE) s").finding.cls is StatementClass.WRITE
    assert second_opinion("SELECT * FROM pg_catalog.pg_ls_dir('.')").finding.cls is StatementClass.NEVER
    assert second_opinion('SELECT U&"\\0070g_sleep"(1)').finding.reason == (
        "function pg_sleep(1 argument) (on the guard's never list)"
    )
    assert second_opinion("CREATE TABLE t AS EXECUTE p").finding.cls is StatementClass.NEVER
    assert second_opinion("DO $$ BEGIN PERFORM pg_sleep(1); END $$").finding.cls is StatementClass.NEVER
    assert second_opinion("CREATE FUNCTION f() RETURNS int LANGUAGE c AS 'x'").finding.cls is StatementClass.NEVER
    assert second_opinion("INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET x = 1").finding.cls is (
        StatementClass.DESTRUCTIVE
    )
    assert second_opinion(
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET search_path = a AS 'SELECT 1'"
    ).finding.cls is (StatementClass.DESTRUCTIVE)
    assert second_opinion("SELECT 1; SELECT 2").finding.reason.startswith(
        "the parsers disagree on the number of statements"
    )


def test_where_only() -> None:
    assert is_where_only("SELECT 1 WHERE (x = 1)")
    assert not is_where_only("SELECT 1 WHERE (x = 1) ORDER BY 1")
    assert not is_where_only("SELECT 1 FROM t WHERE (x = 1)")
    assert not is_where_only("SELECT 1, 2 WHERE (x = 1)")
    assert not is_where_only("SELECT 1 WHERE (x = 1) UNION SELECT 2")
    assert not is_where_only("SELECT 1")
    assert not is_where_only("not sql")


def test_guard_fails_closed_without_pglast() -> None:
    """In a fresh interpreter where pglast cannot be imported, the guard refuses everything."""
    script = textwrap.dedent(
        """
        import sys
        sys.modules["pglast"] = None  # makes "import pglast" raise ImportError
        from deeplake_mcp.guard import AccessMode, Policy, check_filter, check_tql, classify
        from deeplake_mcp.guard import _pgcheck
        assert not _pgcheck.AVAILABLE
        for sql in ("SELECT 1", "SELECT id FROM docs WHERE lang = 'en'", "INSERT INTO t VALUES (1)", "COMMIT"):
            found = classify(sql)
            assert found.cls.label == "never", (sql, found)
            assert "needs pglast" in found.reason, found.reason
            assert not Policy(AccessMode.DESTRUCTIVE).check(sql).allowed
        assert check_filter("x = 1").cls.label == "never"
        assert check_tql('SELECT * FROM "hub://o/d"').cls.label == "never"
        print("ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
