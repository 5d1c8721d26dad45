"""Property tests: safe templates stay readable, anything stacked after ';' is blocked."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deeplake_mcp.guard import AccessMode, Policy, StatementClass, classify

READ_ONLY = Policy(AccessMode.READ_ONLY)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Unquoted names: the "c_" prefix keeps them clear of reserved words and of the function lists.
names = st.from_regex(r"c_[a-z0-9_]{0,20}", fullmatch=True)
# Text for literals and quoted names: any character but controls, surrogates and backslashes
# (L1 rejects a backslash before a quote or another backslash, even inside a literal).
text = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\\"),
    max_size=40,
)
quoted_names = text.filter(lambda t: "." not in t).map(lambda t: '"c ' + t.replace('"', '""') + '"')
strings = text.map(lambda t: "'" + t.replace("'", "''") + "'")
dollar_strings = text.filter(lambda t: "$" not in t).map(lambda t: f"$q${t}$q$")
numbers = st.one_of(
    st.integers(min_value=0, max_value=10**12).map(str),
    st.floats(min_value=0, max_value=1e6, allow_nan=False).map(lambda f: f"{f:.6f}"),
)
literals = st.one_of(strings, dollar_strings, numbers)
any_names = st.one_of(names, quoted_names)
vectors = st.lists(st.floats(min_value=-1, max_value=1, allow_nan=False), min_size=1, max_size=16).map(
    lambda values: "ARRAY[" + ", ".join(f"{v:.6f}" for v in values) + "]::float4[]"
)


@st.composite
def safe_statements(draw: st.DrawFn) -> str:
    """A read built from a template with random names and literals."""
    table, column, other = draw(any_names), draw(any_names), draw(any_names)
    value, key = draw(literals), draw(strings)
    templates = [
        f"SELECT {column} FROM {table} WHERE {other} = {value}",
        f"SELECT {value} AS {column}",
        f"SELECT count(*) FROM {table} WHERE metadata->>{key} = {value} ORDER BY {column} DESC LIMIT 5",
        f"SELECT id, embedding <#> {draw(vectors)} AS score FROM {table} ORDER BY score DESC LIMIT 10",
        f"WITH {draw(names)} AS (SELECT {value} AS {column}) SELECT {column} FROM {table}",
        f"SELECT {column}, row_number() OVER (PARTITION BY {other} ORDER BY {column}) FROM {table}",
        f"EXPLAIN SELECT * FROM {table} WHERE {column} IN ({value}, {draw(literals)})",
    ]
    return draw(st.sampled_from(templates))


@SETTINGS
@given(safe_statements())
def test_safe_templates_are_reads(sql: str) -> None:
    verdict = READ_ONLY.check(sql)
    assert verdict.allowed, (sql, verdict.reason)
    assert READ_ONLY.check(sql + ";").allowed
    assert READ_ONLY.check(sql + "; -- done").allowed


DANGEROUS = [
    "DROP TABLE users",
    "DELETE FROM users",
    "COMMIT",
    "SELECT pg_sleep(10)",
    "SET search_path TO evil",
    "SELECT 1",
    "COPY users TO STDOUT",
    "CREATE TABLE x (a int)",
]
code_suffixes = st.one_of(
    st.sampled_from(DANGEROUS),
    st.tuples(st.sampled_from("abcXYZ_(0123456789'\"$"), st.text(max_size=40)).map("".join),
)
whitespace = st.sampled_from(["", " ", "\n", "\t", "  \r\n", " /* c */ ", " -- c\n"])


@SETTINGS
@given(safe_statements(), whitespace, code_suffixes)
def test_anything_after_a_semicolon_is_blocked(sql: str, gap: str, suffix: str) -> None:
    stacked = f"{sql};{gap}{suffix}"
    found = classify(stacked)
    assert found.cls is StatementClass.NEVER, (stacked, found.reason)
    for mode in AccessMode:
        assert not Policy(mode).check(stacked).allowed


@SETTINGS
@given(st.one_of(st.text(max_size=200), st.binary(max_size=50), st.integers(), st.none()))
def test_classify_is_total(value: object) -> None:
    found = classify(value)
    assert isinstance(found.cls, StatementClass)
    assert found.reason != "the guard could not analyse this statement"
