"""Vectors from JSON rows, checked once and held as one float32 matrix per column."""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["FLOAT4_MAX", "VectorColumn", "VectorValueError", "plain", "vector_column"]

FLOAT4_MAX = float(np.finfo(np.float32).max)
_NUMBERS = frozenset({int, float})
_BLOCK = 1024


class VectorValueError(ValueError):
    """A value that is not a vector of the column's dimension; ``row`` says which one."""

    def __init__(self, row: int, problem: str) -> None:
        super().__init__(problem)
        self.row = row
        self.problem = problem


@dataclass(frozen=True)
class VectorColumn:
    """One column's vectors for a run of rows: ``matrix[i]`` is row i's vector where ``present[i]``."""

    matrix: NDArray[np.float32]
    present: NDArray[np.bool_]

    @property
    def dimensions(self) -> int:
        return int(self.matrix.shape[1])

    def __len__(self) -> int:
        return len(self.present)

    def rows(self, start: int, end: int) -> VectorColumn:
        """The vectors of rows ``[start, end)`` (views, no copies)."""
        return VectorColumn(self.matrix[start:end], self.present[start:end])

    def value(self, row: int) -> list[float] | None:
        """Row ``row``'s vector as a list (None when absent)."""
        return self.matrix[row].tolist() if self.present[row] else None


def vector_column(column: str, values: Sequence[Any], dimensions: int | None) -> VectorColumn:
    """Check ``values`` (lists of numbers or None) and pack them; VectorValueError names the first bad row.

    Every vector needs ``dimensions`` numbers (or, when None, as many as the first vector), each finite and
    within float4's range. Booleans and numeric strings are not numbers here, even though NumPy would take them.
    """
    present = np.fromiter((value is not None for value in values), dtype=np.bool_, count=len(values))
    given = [value for value in values if value is not None]
    if dimensions is None and given:
        dimensions = len(given[0]) if type(given[0]) in (list, array) else 0
    for row, value in enumerate(values):
        if value is None:
            continue
        if not _is_vector(value):
            raise VectorValueError(row, f"{column} must be a non-empty list of finite numbers (a vector)")
        if len(value) != dimensions:
            holds = f"column {column!r} holds {dimensions}-dimensional vectors"
            raise VectorValueError(row, f"{column} has {len(value)} dimensions but {holds}")
    matrix = np.zeros((len(values), dimensions or 0), dtype=np.float32)
    rows = np.flatnonzero(present)
    for start in range(0, len(given), _BLOCK):  # a block at a time: the doubles never all exist at once
        block = slice(start, start + _BLOCK)
        _pack(column, given[block], rows[block], matrix)
    return VectorColumn(matrix, present)


def _is_vector(value: Any) -> bool:
    if type(value) is array:  # packed by the stdio transport: doubles only
        return value.typecode == "d" and len(value) > 0
    return type(value) is list and bool(value) and set(map(type, value)) <= _NUMBERS


def plain(value: Any) -> Any:
    """A row value in JSON's types: a float array packed by the stdio transport as the list it was sent as."""
    return value.tolist() if type(value) is array else value


def _pack(column: str, vectors: list[Any], rows: NDArray[np.intp], matrix: NDArray[np.float32]) -> None:
    """Write ``vectors`` into ``matrix`` at ``rows``, refusing what PostgreSQL's float4 input refuses:
    overflow to infinity, and non-zero numbers that would become 0."""
    try:
        exact = np.array(vectors, dtype=np.float64)
    except OverflowError:  # an integer beyond even a double's range
        row = next(i for i, vector in zip(rows, vectors, strict=True) if max(map(abs, vector)) > FLOAT4_MAX)
        raise VectorValueError(int(row), _out_of_range(column)) from None
    with np.errstate(over="ignore"):
        packed = exact.astype(np.float32)
    finite = np.isfinite(packed).all(axis=1)
    if not finite.all():
        raise VectorValueError(int(rows[np.argmin(finite)]), _out_of_range(column))
    vanished = ((packed == 0) & (exact != 0)).any(axis=1)
    if vanished.any():
        row = int(rows[np.argmax(vanished)])
        raise VectorValueError(row, f"{column} holds a number too close to 0 for float4 (it would become 0); write 0")
    matrix[rows] = packed


def _out_of_range(column: str) -> str:
    return f"{column} must hold finite numbers within ±{FLOAT4_MAX:.4g} (float4)"
