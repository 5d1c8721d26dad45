"""Statement shapes for the audit trail, and SQLCommenter tags that change nothing the guard or PostgreSQL sees."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pglast.parser import parse_sql_json

from deeplake_mcp.guard import classify
from deeplake_mcp.local import _compile
from deeplake_mcp.local._compile import compile_sql
from deeplake_mcp.statements import MAX_SHAPE_CHARS, shape, split_tag, tagged

CORPUS = Path(__file__).with_name("guard_cases.jsonl")
TAG = {"application": "deeplake-mcp", "session": "p1-abc", "tool": "query", "request_id": "7"}


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT id FROM docs WHERE lang = 'en' AND n > 3", "SELECT id FROM docs WHERE lang = ? AND n > ?"),
        ("SELECT 'a''b', E'\\n', $$x$$, U&'d', B'1', X'f', 1.5e3, .5", "SELECT ?, ..."),
        ("SELECT * FROM t WHERE id IN (1, 2, 3) LIMIT 10", "SELECT * FROM t WHERE id IN (?, ...) LIMIT ?"),
        ("INSERT INTO t (a, b) VALUES ($1, $2::jsonb)", "INSERT INTO t (a, b) VALUES ($1, $2::jsonb)"),
        ("SELECT 1 /* password=hunter2 */ -- note 'x'\n, 2", "SELECT ? , ?"),
        ("SELECT v <#> ARRAY[0.1, -0.2, 3e-4]::float4[] AS s FROM t", "SELECT v <#> ARRAY[?]::float4[] AS s FROM t"),
        (
            "SELECT text FROM \"hub://org/ds\" WHERE CONTAINS(text, 'whale')",
            'SELECT text FROM "hub://org/ds" WHERE CONTAINS(text, ?)',
        ),
        ("SELECT\n  a,\n\tb\nFROM t;", "SELECT a, b FROM t;"),
    ],
)
def test_shape_keeps_structure_and_drops_values(sql: str, expected: str) -> None:
    assert shape(sql) == expected


def test_shape_of_unscannable_text_is_none() -> None:
    assert shape("SELECT 'unterminated") is None
    assert shape("SELECT 1 /* open") is None


def test_shape_is_capped() -> None:
    sql = "SELECT " + ", ".join(f"c{i}" for i in range(2000)) + " FROM t"
    shaped = shape(sql)
    assert shaped is not None and len(shaped) == MAX_SHAPE_CHARS + 4 and shaped.endswith(" ...")


def test_tag_is_a_sorted_url_encoded_sqlcommenter_comment() -> None:
    fields = {"tool": "query", "session": "it's */ x", "request_id": None, "application": "deeplake-mcp"}
    assert tagged("SELECT 1 -- note", fields) == (
        "SELECT 1 -- note\n/*application='deeplake-mcp',session='it%27s%20%2A%2F%20x',tool='query'*/"
    )
    assert tagged("SELECT 1", {"tool": None}) == "SELECT 1"


def _without_locations(tree: Any) -> Any:
    if isinstance(tree, dict):
        return {k: _without_locations(v) for k, v in tree.items() if k not in ("location", "stmt_len")}
    if isinstance(tree, list):
        return [_without_locations(v) for v in tree]
    return tree


def _corpus() -> list[str]:
    lines = CORPUS.read_text(encoding="utf-8").split("\n")  # not splitlines(): some SQL holds U+2028
    cases = [json.loads(line) for line in lines if line.strip()]
    return sorted({case["sql"] for case in cases if isinstance(case["sql"], str)})


def test_tagging_changes_neither_the_guard_nor_the_parse_tree() -> None:
    """Over the guard's corpus: the tag never changes a verdict, and what PostgreSQL parses is the same statement."""
    for sql in _corpus():
        original = classify(sql)
        with_tag = tagged(sql, TAG)
        assert classify(with_tag).cls is original.cls, sql
        if original.cls.label != "never":
            before = _without_locations(json.loads(parse_sql_json(sql)))
            assert _without_locations(json.loads(parse_sql_json(with_tag))) == before, sql


def test_split_tag_takes_back_exactly_what_tagged_added() -> None:
    sql = "SELECT 1 -- a comment of the agent's own"
    tag_fields = {"application": "deeplake-mcp", "request_id": "7", "tool": "query", "session": "a/b*c"}
    assert split_tag(tagged(sql, tag_fields)) == (sql, tagged(sql, tag_fields)[len(sql) :])
    for untagged in ("SELECT 1 /* tool='query' */", "SELECT '\n/*tool=''x''*/'", "SELECT 1\n/*tool='a b'*/"):
        assert split_tag(untagged) == (untagged, "")


def test_tagged_statements_share_one_compiled_plan() -> None:
    first = compile_sql(tagged("SELECT 41 + 1", {"request_id": "1"}))
    second = compile_sql(tagged("SELECT 41 + 1", {"request_id": "2"}))
    assert first.sql.endswith("request_id='1'*/") and second.sql.endswith("request_id='2'*/")
    assert len(_compile._cache) and ("SELECT 41 + 1", ()) in _compile._cache
