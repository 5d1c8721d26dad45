"""check_filter: a semantic_search filter must be one read-only boolean expression."""

from __future__ import annotations

import pytest

from deeplake_mcp.guard import AccessMode, Policy, StatementClass, check_filter

ALLOWED = [
    "metadata->>'source' = 'manual'",
    "year > 2020 AND title ILIKE '%x%'",
    "id IN (SELECT id FROM other WHERE x = 1)",
    "a IS DISTINCT FROM b",
    "x = 'a;b' OR y = '/ *'",
    "metadata @> '{\"lang\": \"en\"}'::jsonb AND tags ?| array['a', 'b']",
    "embedding <#> ARRAY[0.1, 0.2]::float4[] > 0.5",
    "x = (SELECT max(y) FROM t LIMIT 1)",
    "EXISTS (SELECT 1 FROM t WHERE t.id = doc_id)",
    "created_at > now() - interval '7 days'",
    "x = $$ ) UNION SELECT 1 $$",
    "flag",
    "x = '\\'",
    "path = 'C:\\temp' AND note LIKE '100\\%' ESCAPE '\\'",
    'metadata @> \'{"quote": "he said \\"hi\\""}\'',
]

REFUSED = [
    ("1=1) UNION SELECT * FROM users WHERE (1=1", "unbalanced parentheses"),
    ("1=1; DROP TABLE t", "stacked statements"),
    ("x = 1;", "';' in a filter"),
    ("pg_sleep(1) IS NULL", "function pg_sleep(1 argument)"),
    ("true) --", "comment in a filter"),
    ("x = 1 /* c */", "comment in a filter"),
    ("x = 1 ORDER BY 1", "ORDER outside parentheses"),
    ("x = 1 LIMIT 1", "LIMIT outside parentheses"),
    ("1 = 1 GROUP BY x", "GROUP outside parentheses"),
    ("(x = 1) UNION (SELECT 1)", "UNION outside parentheses"),
    ("x = 1 FOR UPDATE", "FOR outside parentheses"),
    ("x = 1) OR (1 = 1", "unbalanced parentheses"),
    ("(SELECT 1 FROM (DELETE FROM t RETURNING 1) d) = 1", "not valid PostgreSQL"),
    ("", "empty filter"),
    ("   ", "empty filter"),
    ("SELECT 1", "SELECT outside parentheses"),
    ("x = 1 WINDOW w AS ()", "WINDOW outside parentheses"),
    ("x = 1 RETURNING *", "RETURNING outside parentheses"),
    ("x = '\\') OR (1 = 1", "unbalanced parentheses"),
    ("x = set_config('a', 'b', false)", "function set_config(3 arguments)"),
    ("x = 1 x", "not valid PostgreSQL"),
    ("y = '-- even in a literal'", "comment in a filter"),
]


@pytest.mark.parametrize("expr", ALLOWED)
def test_allowed(expr: str) -> None:
    found = check_filter(expr)
    assert found.cls is StatementClass.READ, found.reason
    assert found.statement == "WHERE"
    verdict = Policy(AccessMode.READ_ONLY).check_filter(expr)
    assert verdict.allowed and verdict.reason == "read (filter expression)"


@pytest.mark.parametrize(("expr", "reason"), REFUSED)
def test_refused(expr: str, reason: str) -> None:
    found = check_filter(expr)
    assert found.cls is StatementClass.NEVER
    assert reason in found.reason
    for mode in AccessMode:
        verdict = Policy(mode).check_filter(expr)
        assert not verdict.allowed
        assert verdict.reason.startswith("filter: ")


@pytest.mark.parametrize(
    ("expr", "cls"),
    [
        ("x = nextval('s')", StatementClass.WRITE),
        ("EXISTS (SELECT 1 FROM t FOR UPDATE)", StatementClass.WRITE),
        ("x IN (WITH d AS (DELETE FROM t RETURNING id) SELECT id FROM d)", StatementClass.DESTRUCTIVE),
        ("x = pg_stat_reset()", StatementClass.DESTRUCTIVE),
        ("my_check(x)", StatementClass.DESTRUCTIVE),
    ],
)
def test_writes_are_refused_in_every_mode(expr: str, cls: StatementClass) -> None:
    assert check_filter(expr).cls is cls
    for mode in AccessMode:
        verdict = Policy(mode).check_filter(expr)
        assert not verdict.allowed
        assert "a filter must be a read-only boolean expression" in verdict.reason


@pytest.mark.parametrize("expr", [None, 1, b"x = 1"])
def test_non_string(expr: object) -> None:
    assert check_filter(expr).cls is StatementClass.NEVER
