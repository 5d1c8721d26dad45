"""Inline query vectors lifted into params: only real literals, only where they are code, same verdicts."""

from __future__ import annotations

import random
import re

import pytest

from deeplake_mcp.guard import AccessMode, Policy
from deeplake_mcp.vector_text import is_vector_text, lift, vector_shape


def test_lifts_literals_after_similarity_and_distance_operators() -> None:
    lifted = lift("SELECT id, e <=> ARRAY[0.5, -1e-3] AS d FROM t WHERE x = $1 ORDER BY e <#>ARRAY[+2,.5] LIMIT 3", 1)
    assert lifted is not None
    assert lifted.text == (
        "SELECT id, e <=> ($2::float4[]) AS d FROM t WHERE x = $1 ORDER BY e <#>($3::float4[]) LIMIT 3"
    )
    assert lifted.vectors == ["{0.5, -1e-3}", "{+2,.5}"]
    assert lift("SELECT e <-> ARRAY[1, 2] FROM t", 0) is not None
    assert lift("SELECT ARRAY[1, 2] FROM t", 0) is None  # not a query vector


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT '<#> ARRAY[1, 2]' FROM t ORDER BY e <#> ARRAY[1, 2] LIMIT 1",  # one in a string: none lifted
        "SELECT 1 /* e <#> ARRAY[1, 2] */",
        "SELECT 1 -- e <#> ARRAY[1, 2]",
        "SELECT $$ <#> ARRAY[1, 2] $$",
        "SELECT E'\\' <#> ARRAY[1, 2]'",
        'SELECT 1 AS "<#> ARRAY[1, 2]"',
        "SELECT e <#> ARRAY[1, --]\n2] FROM t",  # not a list of numbers
        "SELECT e <#> ARRAY[1,,2] FROM t",
        "SELECT e <#> ARRAY[] FROM t",
        "SELECT e <#> ARRAY[1e] FROM t",
    ],
)
def test_leaves_anything_else_alone(sql: str) -> None:
    assert lift(sql, 0) is None


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id FROM t ORDER BY e <#> ARRAY[1, 2] LIMIT 3",
        "SELECT pg_sleep(1), e <#> ARRAY[1, 2] FROM t",
        "SELECT pg_read_file('/etc/passwd') FROM t ORDER BY e <=> ARRAY[1, 2] LIMIT 1",
        "DELETE FROM t WHERE e <#> ARRAY[1, 2] > 0.5",
        "WITH x AS (DELETE FROM t RETURNING id) SELECT id FROM x ORDER BY e <#> ARRAY[1] LIMIT 1",
        "INSERT INTO t SELECT * FROM u ORDER BY e <-> ARRAY[3, 4] LIMIT 1",
        "SELECT * FROM pg_catalog.pg_authid ORDER BY e <#> ARRAY[1] LIMIT 1",
        "COPY (SELECT e <#> ARRAY[1] FROM t) TO '/tmp/x'",
        "SELECT e <#> ARRAY[1, 2] FROM t; DROP TABLE t",
        "SELECT pg_sleep(1) FROM t ORDER BY v <=> '[1, 2]'::vector LIMIT 1",
        "DELETE FROM t WHERE v <-> '[1, 2]' < 1",
    ],
)
@pytest.mark.parametrize("mode", list(AccessMode))
def test_the_guard_says_the_same_of_both_forms(sql: str, mode: AccessMode) -> None:
    lifted = lift(sql, 0)
    assert lifted is not None
    policy = Policy(mode)
    before, after = policy.check(sql), policy.check(lifted.text)
    assert (before.allowed, before.cls) == (after.allowed, after.cls)


def test_vector_text() -> None:
    assert is_vector_text("{1, -2.5e-3, .5}") and is_vector_text("{0}")
    assert not is_vector_text("{a}") and not is_vector_text("{}") and not is_vector_text("[1, 2}")
    assert not is_vector_text(["1"]) and not is_vector_text("{1,,2}")
    assert vector_shape("{1, -2.5e-3, .5}") == (3, False)
    assert vector_shape("{0, -0.0, 0e5, .0E-3}") == (4, True)


def test_lifts_pgvector_literals() -> None:
    lifted = lift("SELECT id FROM t ORDER BY v <-> '[1, 2.5]'::vector LIMIT 3", 0)
    assert lifted is not None
    assert lifted.text == "SELECT id FROM t ORDER BY v <-> $1::vector LIMIT 3" and lifted.vectors == ["[1, 2.5]"]
    bare = lift("SELECT id FROM t ORDER BY v <=> '[1]' LIMIT 3", 0)
    assert bare is not None and bare.text == "SELECT id FROM t ORDER BY v <=> $1 LIMIT 3"
    assert lift("SELECT v <=> '[1]''x' FROM t", 0) is None  # '' continues the string
    assert lift("SELECT v <=> '[1, a]' FROM t", 0) is None
    assert is_vector_text("[1, 2]") and vector_shape("[0, 0]") == (2, True)


@pytest.mark.parametrize(
    "numbers",
    ["1,\u00a02", "\u0661", "1,\u20032", "1_0", "nan", "inf", "-infinity", "0x10", "1e5.5", "- 1", "1 2", "1,", ","],
)
def test_only_numbers_postgresql_reads_are_vectors(numbers: str) -> None:
    """ASCII digits and white space only (PostgreSQL's scanner and array_in read no others); no words that
    Python's ``float`` would read."""
    assert not is_vector_text("{" + numbers + "}") and not is_vector_text("[" + numbers + "]")
    assert lift(f"SELECT e <#> ARRAY[{numbers}] FROM t", 0) is None
    assert lift(f"SELECT v <=> '[{numbers}]' FROM t", 0) is None


_NUMBER = r"[ \t\n\r\f\v]*[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?[ \t\n\r\f\v]*"
_GRAMMAR = re.compile(rf"\{{{_NUMBER}(?:,{_NUMBER})*\}}")


def test_vector_text_is_exactly_the_grammar_of_plain_numbers() -> None:
    """The character check and ``float`` together accept what the grammar accepts, nothing more."""
    pieces = ["1", "23", ".", "5", "e", "E", "-", "+", ",", " ", "\t", "0", "e-", "E+", ".5", "7."]
    rng = random.Random(13)
    for _ in range(5000):
        text = "{" + "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))) + "}"
        assert is_vector_text(text) == (_GRAMMAR.fullmatch(text) is not None), text


def test_long_vector_texts_are_checked_in_full() -> None:
    """Past the length whose answers are remembered, every check reads the whole text."""
    numbers = ",".join(["-1.5e-3"] * 20_000)
    assert is_vector_text("{" + numbers + "}") and is_vector_text("{" + numbers + "}")
    assert not is_vector_text("{" + numbers + ",x}") and not is_vector_text("[" + numbers + ",]")


def test_unclosed_openings_are_passed_over() -> None:
    """Each opening reads on only as far as numbers go: many that never close, then one that does."""
    sql = "SELECT e <#> ARRAY[1, 2 " * 2000 + "FROM t ORDER BY e <=> ARRAY[3, 4] LIMIT 1"
    lifted = lift(sql, 0)
    assert lifted is not None and lifted.vectors == ["{3, 4}"]
    assert lifted.text.endswith("ORDER BY e <=> ($1::float4[]) LIMIT 1")


@pytest.mark.parametrize("at", [0, 1, 9_000, 65_530, 65_536, 65_540, 131_075, 179_990])
def test_a_long_vector_text_is_read_in_slices_without_losing_a_part(at: int) -> None:
    """An empty part anywhere, at a slice's edge too, makes the text no vector; without it, it is one."""
    numbers = ",".join(["-1.5e-3"] * 22_500)  # 179 999 characters
    cut = numbers.index(",", at) if at else 0
    assert is_vector_text("{" + numbers + "}")
    assert not is_vector_text("{" + numbers[:cut] + "," + numbers[cut:] + "}")
