"""Query vectors go as binary float4[] where the statement only casts them to float4[], as text elsewhere."""

from __future__ import annotations

from array import array
from decimal import Decimal

import psycopg
import pytest
from psycopg.pq import Format

from deeplake_mcp.local._compile import compile_sql
from deeplake_mcp.local._values import Float4Array

FLOAT4_ARRAY = 1021


def decoded(value: object) -> list[float]:
    """What PostgreSQL reads from a Float4Array (psycopg's own binary float4[] loader)."""
    assert isinstance(value, Float4Array)
    loader = psycopg.adapters.get_loader(FLOAT4_ARRAY, Format.BINARY)
    assert loader is not None
    return list(loader(FLOAT4_ARRAY).load(value.data))


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id FROM t ORDER BY emb <#> $1::float4[] LIMIT 3",
        "SELECT id, emb <#> $1::real[] AS score FROM t ORDER BY score DESC LIMIT 3",
        "SELECT $1::pg_catalog.float4[] AS a, $1::float4[] AS b",
        "INSERT INTO t (emb) VALUES ($1::float4[])",
    ],
)
def test_a_vector_cast_to_float4_array_everywhere_goes_binary(sql: str) -> None:
    vector = [0.5, -1, 2.25, Decimal("0.125")]
    (sent,) = compile_sql(sql, [vector]).bound_params()
    assert decoded(sent) == [0.5, -1.0, 2.25, 0.125]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id FROM t ORDER BY emb <#> $1 LIMIT 3",  # typed by the operator: as text, as before
        "SELECT $1::float4[] AS v, $1 AS raw",  # one use is not a float4[] cast
        "INSERT INTO t (raw, emb) VALUES ($1, $1::float4[])",  # nor here, in a VALUES row
        "SELECT $1::myschema.float4[]",  # another schema's float4
        "SELECT $1::float4",
        "SELECT $1::float8[]",
    ],
)
def test_other_uses_keep_the_vector_as_it_was_sent(sql: str) -> None:
    assert compile_sql(sql, [[0.5, 1]]).bound_params() == [[0.5, 1]]


@pytest.mark.parametrize(
    "value",
    [
        [],
        [True, 1.0],
        [[1.0, 2.0]],
        [1.0, None],
        [float("nan"), 1.0],
        [float("inf")],
        [1.0, float("-inf")],
        [1e39],
        [-1e39, 1.0],
        [10**400],
        [1e-46],
        [0.5, -1e-46],
        "{1,2}",
        3,
    ],
)
def test_values_that_are_not_finite_float4_vectors_stay_as_sent(value: object) -> None:
    sql = "SELECT $1::float4[]"
    assert compile_sql(sql, [value]).bound_params() == [value]  # type: ignore[list-item]


@pytest.mark.parametrize(
    "vector",
    [[0.0, -0.0, 1e-40, -2.5], [0, 0.5, 1.0, 2.0], [3.4028234663852886e38, -1.1754943508222875e-38], [1.5] * 768],
)
def test_zeros_small_and_extreme_float4s_are_sent_exactly(vector: list[float]) -> None:
    assert decoded(compile_sql("SELECT $1::float4[]", [vector]).bound_params()[0]) == list(array("f", vector))


def test_vector_text_in_a_statement_planned_for_a_list_goes_as_text() -> None:
    sql = "SELECT id FROM t ORDER BY emb <#> $1::float4[] LIMIT 3"
    compile_sql(sql, [[1.0, 2.0]])  # cached, with $1 sent as binary float4[]
    assert compile_sql(sql, ["[1.0,2.0]"]).bound_params() == ["[1.0,2.0]"]


def test_the_plan_cache_keeps_the_decision_per_statement() -> None:
    sql = "SELECT id FROM t ORDER BY emb <#> $1::float4[] LIMIT 3"
    first = compile_sql(sql, [[1.0, 2.0]])
    second = compile_sql(sql, [[3.0, 4.0]])
    assert second.search is first.search  # cached
    assert decoded(second.bound_params()[0]) == [3.0, 4.0]
