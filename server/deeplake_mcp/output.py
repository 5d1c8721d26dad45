"""Shape rows into results an assistant can read: bounded, compact, honest about truncation."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

__all__ = ["RowsResult", "compact_json", "shape_rows"]

_VECTOR_PREVIEW = 4
_MIN_VECTOR_TO_ABBREVIATE = 17


class RowsResult(BaseModel):
    """Rows of one statement, as compact as the data allows."""

    columns: list[str]
    rows: list[list[Any]]
    row_count: int = Field(description="rows included in this result")
    truncated: bool = Field(description="true when the statement produced more rows than are included")
    note: str | None = Field(None, description="what was shortened and how to get the rest")


def compact_json(value: Any) -> str:
    """JSON without indentation or ASCII escaping: the fewest tokens for the same data."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def shape_rows(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    max_rows: int,
    max_chars: int,
    more_rows: bool = False,
    abbreviate_vectors: bool = True,
) -> RowsResult:
    """Cap ``rows`` at ``max_rows`` and at about ``max_chars`` of JSON.

    ``more_rows`` says the caller already knows rows exist beyond ``rows`` (it fetched
    ``max_rows + 1`` and passes them all, or the backend stopped early). Long numeric arrays
    (embeddings) are shown as a short preview unless ``abbreviate_vectors`` is false.
    """
    truncated = more_rows or len(rows) > max_rows
    kept = [list(row) for row in rows[:max_rows]]
    abbreviated: set[str] = set()
    if abbreviate_vectors:
        for row in kept:
            for i, cell in enumerate(row):
                if _is_long_vector(cell):
                    row[i] = _vector_preview(cell)
                    abbreviated.add(columns[i] if i < len(columns) else str(i))
    budget_cut = False
    size = len(compact_json(list(columns))) + 2
    for n, row in enumerate(kept):
        size += len(compact_json(row)) + 1
        if size > max_chars:
            kept = kept[:n]
            truncated = budget_cut = True
            break
    return RowsResult(
        columns=list(columns),
        rows=kept,
        row_count=len(kept),
        truncated=truncated,
        note=_note(len(kept), truncated, budget_cut, sorted(abbreviated)),
    )


def _is_long_vector(cell: Any) -> bool:
    return (
        isinstance(cell, list)
        and len(cell) >= _MIN_VECTOR_TO_ABBREVIATE
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in cell[:_MIN_VECTOR_TO_ABBREVIATE])
    )


def _vector_preview(cell: list[Any]) -> str:
    head = ", ".join(f"{x:.4g}" if isinstance(x, float) else str(x) for x in cell[:_VECTOR_PREVIEW])
    return f"<vector dim={len(cell)}: {head}, …>"


def _note(kept: int, truncated: bool, budget_cut: bool, abbreviated: list[str]) -> str | None:
    parts = []
    if budget_cut:
        parts.append(
            f"only the first {kept} rows fit the size budget; select fewer or narrower columns, "
            "aggregate, or add WHERE/LIMIT"
        )
    elif truncated:
        parts.append(
            f"more rows exist than the {kept} shown; aggregate, add WHERE/LIMIT, or page with "
            "ORDER BY … LIMIT … OFFSET …"
        )
    if abbreviated:
        parts.append(
            "vectors in " + ", ".join(abbreviated) + " are abbreviated; select array_length(col, 1) "
            "or slices like col[1:8] to inspect them"
        )
    return "; ".join(parts) or None
