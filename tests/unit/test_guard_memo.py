"""A text classified before gets the answer it got then, for the same read functions, and only for them."""

from __future__ import annotations

from deeplake_mcp.guard import AccessMode, Policy, check_filter, classify
from deeplake_mcp.guard._classify import MEMO_LONGEST

MINE = frozenset({"my_score"})


def test_a_statement_sent_again_is_answered_from_the_memo() -> None:
    sql = "SELECT id FROM docs ORDER BY embedding <#> $1::float4[] DESC LIMIT 10 -- memo 1"
    first = classify(sql)
    assert classify(sql) is first
    assert first.cls.label == "read"


def test_the_memo_keys_on_the_read_functions_too() -> None:
    sql = "SELECT my_score(id) FROM docs -- memo 2"
    assert not Policy(AccessMode.READ_ONLY).check(sql).allowed  # unknown function: not a read
    assert Policy(AccessMode.READ_ONLY, read_functions=MINE).check(sql).allowed
    assert not Policy(AccessMode.READ_ONLY).check(sql).allowed  # the operator's list did not stick to the text


def test_refusals_are_remembered_as_refusals() -> None:
    sql = "SELECT 1; DROP TABLE docs"
    for _ in range(3):
        assert not Policy(AccessMode.DESTRUCTIVE).check(sql).allowed


def test_long_texts_are_classified_every_time() -> None:
    sql = "SELECT " + ", ".join(["1"] * (MEMO_LONGEST // 3)) + " -- memo 3"
    assert len(sql) > MEMO_LONGEST
    first = classify(sql)
    again = classify(sql)
    assert again == first and again is not first


def test_filters_sent_again_are_answered_from_the_memo_for_the_same_read_functions() -> None:
    expr = "my_score(id) > 0.5 AND lang = 'memo 4'"
    first = check_filter(expr)
    assert check_filter(expr) is first
    assert first.cls.label != "read"
    assert check_filter(expr, read_functions=MINE).cls.label == "read"
    assert check_filter(expr) is first
