"""The compiler's plan cache: the same statement with another query vector compiles once, and only then."""

from __future__ import annotations

import pytest

from deeplake_mcp.local import _compile
from deeplake_mcp.local._compile import compile_sql


def literal(vector: list[float]) -> str:
    return "ARRAY[" + ",".join(map(str, vector)) + "]::float4[]"


SEARCH = "SELECT id, emb <#> {q} AS score FROM t WHERE cat = $1 ORDER BY score DESC LIMIT 5"


def test_another_query_vector_reuses_the_plan() -> None:
    first = compile_sql(SEARCH.format(q=literal([0.5, -1, 2])), [3])
    second = compile_sql(SEARCH.format(q=literal([1.25, 0, -3])), [3])
    assert first.search is not None and second.search is first.search
    assert second.sql == first.sql and "$2" in second.sql
    assert second.params == [3, "{1.25,0,-3}"] and first.params == [3, "{0.5,-1,2}"]
    # Another value of another param, another length or an all-zero vector is another plan.
    assert compile_sql(SEARCH.format(q=literal([1.25, 0, -3])), [4]).search is not first.search
    assert compile_sql(SEARCH.format(q=literal([1.25, 0])), [3]).search is not first.search
    assert compile_sql(SEARCH.format(q=literal([0, 0, 0])), [3]).search is None


def test_plans_that_depend_on_the_vector_are_not_cached() -> None:
    # A WHERE condition with the lifted vector: the planner's estimate of it is computed with its values.
    sql = "SELECT id FROM t WHERE other <#> {q} > 0.5 ORDER BY emb <#> {q} LIMIT 5"
    first = compile_sql(sql.format(q=literal([0.5, 1])))
    again = compile_sql(sql.format(q=literal([0.5, 1])))
    assert first.search is not None and again.search is not first.search
    assert first.search.condition is not None and "0.5,1" in first.search.condition
    # Vectors as params: keyed the same way, as lists of numbers or as array text.
    by_param = "SELECT id FROM t ORDER BY emb <#> $1 LIMIT 5"
    listed = compile_sql(by_param, [[1, 2]])
    assert listed.search is not None and compile_sql(by_param, [[3, -4.5]]).search is listed.search
    texted = compile_sql(by_param, ["{1, 2}"])
    assert texted.search is not None and compile_sql(by_param, ["{0.5,7}"]).search is texted.search
    assert compile_sql(by_param, [[0, 0]]).search is None
    assert compile_sql(by_param, [[1, True]]).search is None  # booleans are not numbers of a vector
    # Other lists (e.g. for = ANY($1)) and objects are compiled each time.
    other = "SELECT id FROM t WHERE tag = ANY($1) ORDER BY emb <#> ARRAY[1, 2] LIMIT 5"
    assert compile_sql(other, [["a", "b"]]).search is not compile_sql(other, [["a", "b"]]).search


def test_the_cache_is_bounded() -> None:
    for i in range(_compile.CACHE_SIZE + 10):
        compile_sql(f"SELECT {i}")
    assert len(_compile._cache) <= _compile.CACHE_SIZE
    assert compile_sql("SELECT 1 -- " + "x" * _compile.MAX_CACHED_TEXT).sql.endswith("x")


@pytest.mark.parametrize(("operator", "metric"), [("<=>", "cosine"), ("<->", "l2")])
def test_pgvector_distances_are_rankings_and_lifted(operator: str, metric: str) -> None:
    plan = compile_sql(f"SELECT id FROM t ORDER BY emb {operator} {literal([1, 2])} LIMIT 3")
    assert plan.search is not None and plan.search.operator == operator and plan.search.metric == metric
    assert plan.sql == f"SELECT id FROM t ORDER BY emb {operator} CAST(CAST($1 AS float4[]) AS float4[]) LIMIT 3"
    assert plan.search.exact_sql(2).endswith("ASC NULLS LAST LIMIT 3")
    assert f"OPERATOR(deeplake_compat.{operator})" in plan.search.ann_sql(2, "vector")
    # Farthest first runs as written.
    assert compile_sql(f"SELECT id FROM t ORDER BY emb {operator} {literal([1, 2])} DESC LIMIT 3").search is None


def test_a_zero_query_vector_has_an_l2_ranking_but_no_cosine_one() -> None:
    assert compile_sql("SELECT id FROM t ORDER BY emb <-> ARRAY[0, 0]::float4[] LIMIT 3").search is not None
    assert compile_sql("SELECT id FROM t ORDER BY emb <=> ARRAY[0, 0]::float4[] LIMIT 3").search is None
