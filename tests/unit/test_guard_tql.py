"""check_tql: one read-only TQL SELECT over "hub://org/dataset" sources, everything else refused."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deeplake_mcp.guard import HubSource, StatementClass, check_tql, hub_sources

R, X = StatementClass.READ, StatementClass.NEVER
V = "ARRAY[0.1, -0.2, 0.3]"

ALLOWED = [
    # the Tensor Database REST doc (deeplake-api.md §9) and the TQL reference
    f'select * from (select text, cosine_similarity(embedding, {V}) as score from "hub://org/ds") '
    "order by score desc limit 5",
    f'SELECT * FROM "hub://org/ds" ORDER BY COSINE_SIMILARITY(embedding, {V}) DESC LIMIT 5',
    f'SELECT * FROM "hub://org/ds" ORDER BY L2_NORM(embedding - {V}) ASC LIMIT 100',
    f'SELECT * FROM "hub://org/ds" ORDER BY L1_NORM(embedding - {V}) ASC',
    f'SELECT * FROM "hub://org/ds" ORDER BY LINF_NORM(embedding - {V}) ASC',
    "SELECT * FROM \"hub://org/ds\" ORDER BY BM25_SIMILARITY(text, 'search query text') DESC LIMIT 10",
    "SELECT * FROM \"hub://org/ds\" WHERE CONTAINS(text, 'keyword')",
    'SELECT *, MAXSIM(doc, ARRAY[ARRAY[0.1, 0.2], ARRAY[0.3, 0.4]]) AS score FROM "hub://o/d" '
    "ORDER BY MAXSIM(doc, ARRAY[ARRAY[0.1, 0.2], ARRAY[0.3, 0.4]]) DESC LIMIT 10",
    'SELECT * FROM "hub://o/d" ORDER BY HAMMING_DISTANCE(bits, ARRAY[0, 1, 1, 0]) ASC',
    # LangChain's queries (deeplake-api.md §8.4)
    f'select id, text, score from (select *, COSINE_SIMILARITY(emb, {V}) as score from "hub://org/ds" '
    f"where year > 2020 order by COSINE_SIMILARITY(emb, {V}) DESC limit 4)",
    # TQL syntax PostgreSQL cannot read, handled explicitly
    'SELECT images[0:10] AS first FROM "hub://org/ds"',
    'SELECT vals[10:] AS rest FROM "hub://org/ds"',
    'SELECT * FROM "hub://org/ds" WHERE SHAPE(embedding)[0] = 768',
    'SELECT boxes[:, 0] AS x FROM "hub://org/ds" WHERE ANY(boxes[:, 3] > 200)',
    'SELECT matrix[0:5, 0:3] AS sub FROM "hub://org/ds"',
    'SELECT * FROM "hub://org/ds" WHERE ALL(scores > 0.5) AND ALL_STRICT(values > 0)',
    "SELECT * FROM \"hub://org/ds\" WHERE ANY(KEYS(metadata) == 'timestamp')",
    "SELECT metadata['timestamp'] AS time FROM \"hub://org/ds\" WHERE metadata['score'] > 0.8",
    'SELECT * FROM "hub://org/ds" SAMPLE BY MAX_WEIGHT(labels == 0: 0.7, labels == 1: 0.3) LIMIT 1000',
    'SELECT * FROM "hub://org/ds" SAMPLE BY MAX_WEIGHT(pos: 0.5, neg: 0.5) replace True LIMIT 2000',
    'SELECT * FROM "hub://org/ds" WHERE labels == 0 EXPAND BY 2 2 as expanded_data',
    'SELECT * FROM "hub://org/ds" UNGROUP BY split',
    'SELECT * FROM "hub://org/ds" GROUP BY video_id, camera_id',
    'SELECT * FROM "hub://org/ds" LIMIT 0.1 PERCENT',
    "SELECT * FROM \"hub://org/ds\" WHERE text LIKE '*apple*' OR text ILIKE 'chapter?'",
    'SELECT * FROM "hub://org/ds" WHERE RANDOM() % 10 == 0 ORDER BY RANDOM()',
    'SELECT *, ROW_NUMBER() AS id FROM "hub://org/ds" WHERE value BETWEEN 1 AND 10',
    # nested selects, joins, set operations, a trailing semicolon
    'SELECT * FROM (SELECT * FROM "hub://org/ds" WHERE labels < 4) WHERE labels > 2',
    'SELECT * FROM "hub://org/ds" WHERE id IN (SELECT id FROM "hub://org/other" WHERE ok = true)',
    'SELECT i.image, m.labels FROM "hub://org/images" AS i JOIN "hub://org/meta" AS m ON i.id = m.image_id',
    '(SELECT * FROM "hub://o/d" WHERE labels == 1 LIMIT 10) UNION (SELECT * FROM "hub://o/d" LIMIT 2)',
    "SELECT * FROM \"hub://my-org/my_data.v2\" WHERE note = 'it''s -- not a comment; /* nor this */'",
    'SELECT * FROM "hub://org/ds";',
    'SELECT * FROM "hub://org/ds" WHERE a IS DISTINCT FROM b AND c IS NOT DISTINCT FROM d',
]

REFUSED = [
    # stacked statements
    ('SELECT * FROM "hub://org/ds"; SELECT * FROM "hub://org/ds"', "stacked statements"),
    ('SELECT * FROM "hub://org/ds"; DROP TABLE t', "stacked statements"),
    ('SELECT * FROM "hub://org/ds";;', "extra ';'"),
    # anything but SELECT
    ('INSERT INTO "hub://org/ds" (a) VALUES (1)', "INSERT"),
    ('UPDATE "hub://org/ds" SET a = 1', "UPDATE"),
    ('DELETE FROM "hub://org/ds" WHERE a = 1', "DELETE"),
    ("CREATE TABLE t (a int)", "CREATE TABLE"),
    ('DROP TABLE "hub://org/ds"', "DROP"),
    ("TRUNCATE t", "TRUNCATE"),
    ('EXPLAIN SELECT * FROM "hub://org/ds"', "EXPLAIN"),
    ('WITH q AS (SELECT * FROM "hub://org/ds") SELECT * FROM q', "does not start with SELECT"),
    ("VALUES (1)", "TQL runs one SELECT"),
    ('TABLE "hub://org/ds"', "TQL runs one SELECT"),
    ('SELECT * INTO t FROM "hub://org/ds"', "INTO"),
    ('SELECT * FROM "hub://org/ds" FOR UPDATE', "FOR UPDATE"),
    ("BEGIN", "transaction"),
    ("SET statement_timeout = 0", "session"),
    # comments and comment tricks
    ('SELECT * FROM "hub://org/ds" -- trailing', "comment"),
    ('SELECT * FROM "hub://org/ds" /* block */', "comment"),
    ('SELECT * FROM "hub://org/ds" /* ; DROP TABLE t */', "comment"),
    ('SELECT * FROM "hub://org/ds" --\n; DROP TABLE t', "stacked statements"),
    ('SELECT * FROM "hub://org/ds" # hash', "'#'"),
    # dangerous functions, escapes, parameters
    ('SELECT pg_sleep(10) FROM "hub://org/ds"', "pg_sleep"),
    ("SELECT pg_read_file('/etc/passwd') FROM \"hub://org/ds\"", "pg_read_file"),
    ('SELECT * FROM "hub://org/ds" SAMPLE BY pg_sleep(1) LIMIT 2', "pg_sleep"),
    ('SELECT * FROM "hub://org/ds" SAMPLE BY (SELECT 1) LIMIT 2', "SELECT inside SAMPLE BY"),
    # v3: every call must be a read, in every clause (policy 2.1, 2.5)
    ('SELECT my_func(x) FROM "hub://org/ds"', "unknown or user-defined"),
    ('SELECT * FROM "hub://org/ds" WHERE brin_summarize_new_values(x) > 0', "volatile"),
    ('SELECT * FROM "hub://org/ds" ORDER BY nextval(x)', "functions that write"),
    ('SELECT * FROM "hub://org/ds" GROUP BY setseed(0.5)', "never list"),
    ('SELECT * FROM "hub://org/ds" SAMPLE BY MAX_WEIGHT(evil(x) == 0: 0.7) LIMIT 2', "evil(...)"),
    ('SELECT * FROM "hub://org/ds" EXPAND BY setseed(1) 2', "setseed"),
    ('SELECT * FROM "hub://org/ds" UNGROUP BY deeplake_compat.ann_estimate(x)', "internal schema"),
    ('SELECT * FROM "hub://org/ds" WHERE x OPERATOR(public.===) 1', "unknown or user-defined"),
    ("SELECT * FROM \"hub://org/ds\" WHERE t = 'a\\' OR 1'", "not valid PostgreSQL"),
    ("SELECT * FROM \"hub://org/ds\" WHERE t = 'C:\\temp'", "backslash inside"),
    ('SELECT * FROM "hub://org/ds" WHERE "a\\b" = 1', "backslash inside"),
    ("SELECT * FROM \"hub://org/ds\" WHERE t = E'a'", "escape form"),
    ('SELECT * FROM "hub://org/ds" WHERE a = $1', "'$'"),
    ('SELECT "a""b" FROM "hub://org/ds"', "doubled quote"),
    ("SELECT 1\x00", "control character"),
    # sources: hub:// with plain names only
    ('SELECT * FROM "file:///etc"', "file://"),
    ('SELECT * FROM "s3://bucket/ds"', "s3://"),
    ('SELECT * FROM "al://org/ds"', "al://"),
    ('SELECT * FROM "gcs://bucket/ds"', "gcs://"),
    ('SELECT * FROM "/var/lib/ds"', "not hub://ORG/NAME"),
    ('SELECT * FROM "../ds"', "not hub://ORG/NAME"),
    ('SELECT * FROM "hub://org/../../etc"', "not hub://ORG/NAME"),
    ('SELECT * FROM "hub://../x"', "not hub://ORG/NAME"),
    ('SELECT * FROM "hub://org/ds/sub"', "not hub://ORG/NAME"),
    ('SELECT * FROM "hub://org/.."', "not hub://ORG/NAME"),
    ('SELECT * FROM "hub://org/ds", "file:///etc"', "file://"),
    ('SELECT * FROM "hub://org/ds", other', "not a quoted dataset path"),
    ('SELECT * FROM "hub://org/ds" JOIN "s3://b/x" ON true', "s3://"),
    ("SELECT * FROM ds", "quoted dataset path"),
    ('SELECT * FROM "ds"', "not a quoted dataset path"),
    ("SELECT * FROM public.t", "quoted dataset path"),
    ('SELECT * FROM "public"."t"', "not a dataset path"),
    ("SELECT * FROM generate_series(1, 3)", "quoted dataset path"),
    ("SELECT * FROM (SELECT 1) AS q", "without a dataset"),
    ("SELECT 1", "without a dataset"),
    # what the checker cannot read
    ('SELECT x[::2] FROM "hub://org/ds"', "not valid PostgreSQL"),
    ('SELECT * FROM "hub://org/ds"@main', "not valid PostgreSQL"),
    ("", "no SQL statement"),
]


@pytest.mark.parametrize("query", ALLOWED)
def test_allowed(query: str) -> None:
    result = check_tql(query)
    assert (result.cls, result.statement) == (R, "SELECT"), result.reason
    assert result.subject.startswith("TQL SELECT over hub://")


@pytest.mark.parametrize(("query", "why"), REFUSED)
def test_refused(query: str, why: str) -> None:
    result = check_tql(query)
    assert result.cls is X, f"allowed: {query!r}"
    assert why.lower() in result.reason.lower(), result.reason
    assert result.hint, "every refusal says what to do instead"


@pytest.mark.parametrize("value", [None, 42, b"SELECT 1", ["SELECT 1"]])
def test_non_text_is_refused(value: object) -> None:
    assert check_tql(value).cls is X


def test_refusals_name_the_fix() -> None:
    assert 'FROM "hub://org/dataset"' in check_tql('SELECT * FROM "s3://b/x"').hint
    assert "one statement" in check_tql('SELECT * FROM "hub://o/d"; SELECT 1').hint
    assert "SELECT" in check_tql('DELETE FROM "hub://o/d"').hint
    assert "(SHAPE(x))[0]" in check_tql('SELECT x[::2] FROM "hub://o/d"').hint


def test_hub_sources_spans() -> None:
    query = 'SELECT * FROM "hub://a/b" AS x JOIN "hub://c-1/d.e" AS y ON x.id = y.id WHERE t = \'"hub://z/z"\''
    sources = hub_sources(query)
    assert [(s.org, s.name) for s in sources] == [("a", "b"), ("c-1", "d.e")]
    assert all(isinstance(s, HubSource) for s in sources)
    assert [query[s.start : s.end] for s in sources] == ['"hub://a/b"', '"hub://c-1/d.e"']
    assert hub_sources('SELECT * FROM "hub://a/.." WHERE "hub://b/c" = 1')[0].org == "b"


_PIECES = st.sampled_from(
    [
        "SELECT",
        "*",
        "FROM",
        '"hub://o/d"',
        '"file:///etc"',
        "WHERE",
        "x",
        "==",
        "1",
        "'a;b'",
        ";",
        "--",
        "/*",
        "*/",
        "(",
        ")",
        "[",
        "]",
        ":",
        ",",
        "SAMPLE BY",
        "ORDER BY",
        "LIMIT",
        "ARRAY[1, 2]",
        "DELETE",
        "pg_sleep(1)",
        "UNION",
        "JOIN",
        '"',
        "'",
        "$",
        "\\",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["", 'SELECT * FROM "hub://o/d" ']), st.lists(_PIECES, max_size=12).map(" ".join))
def test_never_raises_and_reads_only_hub_sources(prefix: str, tail: str) -> None:
    query = prefix + tail
    result = check_tql(query)
    if result.cls is R:
        assert query.lstrip("( ").upper().startswith("SELECT")
        code = re.sub(r'"[^"]*"', '""', query)  # quoted names are identifiers (aliases), not calls
        assert "file://" not in query and "pg_sleep" not in code
        assert all((s.org, s.name) == ("o", "d") for s in hub_sources(query))
    else:
        assert result.cls is X and result.reason and result.hint
