"""Property tests: safe templates stay readable, anything stacked after ';' is blocked, and a
composition of catalogue functions is never classed lower than its most dangerous function."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deeplake_mcp.guard import AccessMode, Policy, StatementClass, classify
from deeplake_mcp.guard._catalog import CATALOG_PATH
from deeplake_mcp.guard._functions import HARMLESS_VOLATILE, listed

READ_ONLY = Policy(AccessMode.READ_ONLY)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Unquoted names: the "c_" prefix keeps them clear of reserved words and of the function lists.
names = st.from_regex(r"c_[a-z0-9_]{0,20}", fullmatch=True)
# Text for literals and quoted names: any character but controls and surrogates. Backslashes and
# quotes included: PostgreSQL's scanner decides where a literal ends (policy 2.3).
text = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=40)
quoted_names = text.filter(lambda t: "." not in t).map(lambda t: '"c ' + t.replace('"', '""') + '"')
strings = st.one_of(
    text.map(lambda t: "'" + t.replace("'", "''") + "'"),
    text.map(lambda t: "E'" + t.replace("\\", "\\\\").replace("'", "\\'") + "'"),
)
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


# --- compositions of catalogue functions (policy 2.1) ----------------------------------------------

_CLASSES = {"i": StatementClass.READ, "s": StatementClass.READ, "v": StatementClass.DESTRUCTIVE}


def _pool() -> list[tuple[str, int, StatementClass]]:
    """``(name, arity, class)`` of pg_catalog functions whose every overload has the same class.

    Listed names, the harmless volatile ones and internal helpers are left out: the lists below
    and the corpus cover them.
    """
    by_name: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for line in CATALOG_PATH.read_text(encoding="utf-8").splitlines()[1:]:
        kind, name, schema, *rest = line.split("\t")
        if kind == "f" and schema in ("pg_catalog", "public"):
            by_name[name].append((int(rest[0]), rest[2]))
    pool = []
    for name, overloads in sorted(by_name.items()):
        classes = {_CLASSES[volatility] for _, volatility in overloads}
        if len(classes) == 1 and listed(name, None) is None and name not in HARMLESS_VOLATILE:
            pool.append((name, min(low for low, _ in overloads), classes.pop()))
    return pool


POOL = _pool()
LISTED_CALLS = [
    ("random", 0, StatementClass.READ),
    ("gen_random_uuid", 0, StatementClass.READ),
    ("clock_timestamp", 0, StatementClass.READ),
    ("ts_rewrite", 3, StatementClass.READ),
    ("nextval", 1, StatementClass.WRITE),
    ("setval", 2, StatementClass.WRITE),
    ("pg_notify", 2, StatementClass.WRITE),
    ("txid_current", 0, StatementClass.WRITE),
    ("pg_stat_reset", 0, StatementClass.DESTRUCTIVE),
    ("lo_unlink", 1, StatementClass.DESTRUCTIVE),
    ("deeplake_sync_table", 1, StatementClass.DESTRUCTIVE),
    ("zz_user_defined", 1, StatementClass.DESTRUCTIVE),
    ("setseed", 1, StatementClass.NEVER),
    ("ts_rewrite", 2, StatementClass.NEVER),
    ("pg_sleep", 1, StatementClass.NEVER),
    ("set_config", 3, StatementClass.NEVER),
    ("pg_read_file", 1, StatementClass.NEVER),
    ("dblink_exec", 2, StatementClass.NEVER),
    ("query_to_xml", 4, StatementClass.NEVER),
]
Expr = tuple[str, StatementClass]


def _call(atom: tuple[str, int, StatementClass], args: list[Expr]) -> Expr:
    name, arity, cls = atom
    used = (args + [("NULL", StatementClass.READ)] * arity)[:arity]
    text = f'"{name}"(' + ", ".join(arg for arg, _ in used) + ")"
    return text, max([cls, *(arg_cls for _, arg_cls in used)])


atoms = st.one_of(st.sampled_from(POOL), st.sampled_from(LISTED_CALLS))
leaves = st.sampled_from([("NULL", StatementClass.READ), ("1", StatementClass.READ), ("'x'", StatementClass.READ)])
calls = st.builds(_call, atoms, st.lists(leaves, max_size=3))
expressions: st.SearchStrategy[Expr] = st.recursive(
    st.one_of(leaves, calls),
    lambda inner: st.builds(_call, atoms, st.lists(inner, max_size=3)),
    max_leaves=6,
)
PLACES = [
    "SELECT {e}",
    "SELECT {e}, {f}",
    "SELECT * FROM t WHERE ({e}) IS NOT NULL AND ({f}) IS NULL",
    "SELECT * FROM t ORDER BY {e}, {f}",
    "SELECT count(*) FROM t GROUP BY {e} HAVING ({f}) IS NULL",
    "WITH c AS (SELECT {e} AS v) SELECT v, {f} FROM c",
    "WITH a AS (WITH b AS (SELECT {e} AS v) SELECT v FROM b) SELECT * FROM a WHERE v = {f}",
    "SELECT (SELECT {e}), {f}",
    "SELECT * FROM t WHERE EXISTS (SELECT {e} WHERE ({f}) IS NULL)",
    "SELECT * FROM {call} AS r",
    "SELECT * FROM t CROSS JOIN LATERAL (SELECT {e}, {f}) s",
    "SELECT * FROM ROWS FROM ({call}) AS r, LATERAL (SELECT {e}) s",
    "VALUES ({e}), ({f})",
    "SELECT CASE WHEN false THEN {e} ELSE {f} END",
    "SELECT row_number() OVER (PARTITION BY {e} ORDER BY {f}) FROM t",
    "SELECT count(*) FILTER (WHERE ({e}) IS NULL), string_agg(x, ',' ORDER BY {f}) FROM t",
    "SELECT ARRAY[{e}]::text, CAST({f} AS text)",
    "SELECT 1 UNION ALL SELECT {e} INTERSECT SELECT {f}",
    "EXPLAIN SELECT {e} FROM t WHERE x = {f}",
]


@SETTINGS
@given(st.sampled_from(PLACES), expressions, expressions, calls)
def test_compositions_are_classed_by_their_most_dangerous_function(
    place: str, first: Expr, second: Expr, call: Expr
) -> None:
    sql = place.format(e=first[0], f=second[0], call=call[0])
    parts = {"{e}": first, "{f}": second, "{call}": call}
    used = [part[1] for key, part in parts.items() if key in place]
    found = classify(sql)
    assert found.cls >= max(used), (sql, found.reason)
    assert found.cls == max(used), (sql, found.reason)  # and no higher: the SQL itself is valid
