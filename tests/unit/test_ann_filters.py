"""Which WHERE clauses of a vector search can turn down rows that have vectors (the index scan then goes on past
its first pass) — the guards every row with a vector passes cannot."""

from __future__ import annotations

import pytest

from deeplake_mcp.local._compile import compile_sql

SEARCH = "SELECT id FROM docs AS d WHERE {where} ORDER BY emb <#> $1::float4[] DESC LIMIT 10"


@pytest.mark.parametrize(
    ("where", "vector_filter", "condition"),
    [
        ("emb IS NOT NULL", False, None),
        ("array_length(emb, 1) > 0", False, None),  # semantic_search's own guard
        ("cardinality(d.emb) > 0", False, None),
        ("emb IS NOT NULL AND cat = 1", False, "(cat = 1)"),
        ("cat = 1", False, "(cat = 1)"),
        ("array_length(emb, 2) > 0", True, None),
        ("emb[1] > 0.5", True, None),
        ("(id < 5 OR emb IS NULL)", True, None),
        ("other.array_length(emb, 1) > 0", True, None),  # not the built-in one
        ("emb IS NULL", True, None),
    ],
)
def test_only_guards_that_every_vector_passes_are_not_filters(
    where: str, vector_filter: bool, condition: str | None
) -> None:
    search = compile_sql(SEARCH.format(where=where), [[0.5, 1.0]]).search
    assert search is not None
    assert (search.vector_filter, search.condition) == (vector_filter, condition)
