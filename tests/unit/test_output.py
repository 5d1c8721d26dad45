"""Row shaping: exact truncation, size budget, vector abbreviation."""

from __future__ import annotations

from deeplake_mcp.output import compact_json, shape_rows


def test_exactly_max_rows_is_not_truncated() -> None:
    result = shape_rows(["a"], [[1], [2], [3]], max_rows=3, max_chars=10_000)
    assert result.row_count == 3 and not result.truncated and result.note is None


def test_one_more_row_is_truncated_with_a_hint() -> None:
    result = shape_rows(["a"], [[1], [2], [3], [4]], max_rows=3, max_chars=10_000)
    assert result.rows == [[1], [2], [3]]
    assert result.truncated
    assert result.note is not None and "WHERE" in result.note


def test_size_budget_cuts_rows() -> None:
    rows = [["x" * 100] for _ in range(50)]
    result = shape_rows(["t"], rows, max_rows=50, max_chars=1_000)
    assert 0 < result.row_count < 10
    assert result.truncated
    assert len(compact_json(result.rows)) <= 1_000


def test_long_vectors_are_abbreviated() -> None:
    vector = [0.5] * 384
    result = shape_rows(["id", "embedding", "small"], [[1, vector, [1.0, 2.0]]], max_rows=5, max_chars=10_000)
    assert result.rows[0][1] == "<vector dim=384: 0.5, 0.5, 0.5, 0.5, …>"
    assert result.rows[0][2] == [1.0, 2.0]
    assert result.note is not None and "embedding" in result.note


def test_compact_json_has_no_padding() -> None:
    assert compact_json({"a": [1, 2], "b": "é"}) == '{"a":[1,2],"b":"é"}'
