"""Rows as PostgreSQL's binary COPY format, for the embedded backend's fast insert path.

Only column types whose binary form is simple and whose JSON value maps to it without PostgreSQL's
help are encoded here: text types, integers, floats, booleans, JSON, UUIDs and float4 vectors. Any
other type, or a value PostgreSQL would have to parse (``"42"`` for an integer, ``"2024-01-01"`` for a
date), raises :class:`CopyUnsupported` before anything is sent, and the caller inserts those rows with
parameters instead, so both paths store the same values and report the same errors. One difference
is left: a float4 here is rounded from the double the JSON number was read as, where PostgreSQL rounds
the decimal text, so in a rare tie the two differ in the last bit.
"""

from __future__ import annotations

import json
import math
import re
import struct
import uuid
from collections.abc import Callable, Sequence
from itertools import chain, repeat
from typing import Any

import numpy as np

from deeplake_mcp.vectors import FLOAT4_MAX, VectorColumn

__all__ = ["COPY_OIDS", "CopyUnsupported", "encode_rows"]

_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_TRAILER = struct.pack(">h", -1)
_NULL = struct.pack(">i", -1)
_FLOAT4_ARRAY = 1021
_FLOAT4 = 700
_CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")


class CopyUnsupported(Exception):
    """A column type or value binary COPY cannot carry the way a parameter would; insert with parameters."""


def _cell(data: bytes) -> bytes:
    return struct.pack(">i", len(data)) + data


def _text(value: Any) -> bytes:
    if type(value) is str:
        text = value
    elif type(value) is bool:
        text = "true" if value else "false"
    elif type(value) is int:
        text = str(value)
    else:  # floats, objects and arrays: the parameter path gives them a text form of its own
        raise CopyUnsupported(f"a {type(value).__name__} for a text column")
    if "\x00" in text:
        raise CopyUnsupported("a NUL character")
    return _cell(text.encode())


def _integer(fmt: str, bits: int) -> Callable[[Any], bytes]:
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1

    def encode(value: Any) -> bytes:
        if type(value) is not int or not low <= value <= high:
            raise CopyUnsupported(f"{value!r} for an int{bits // 8} column")
        return _cell(struct.pack(fmt, value))

    return encode


def _float(fmt: str, limit: float) -> Callable[[Any], bytes]:
    def encode(value: Any) -> bytes:
        if type(value) not in (int, float) or not math.isfinite(value) or abs(value) > limit:
            raise CopyUnsupported(f"{value!r} for a float column")
        try:
            data = struct.pack(fmt, value)
        except OverflowError:  # an integer beyond a double's range
            raise CopyUnsupported(f"{value!r} for a float column") from None
        if value and not struct.unpack(fmt, data)[0]:  # PostgreSQL refuses what would round to zero
            raise CopyUnsupported(f"{value!r} for a float column")
        return _cell(data)

    return encode


def _boolean(value: Any) -> bytes:
    if type(value) is not bool:
        raise CopyUnsupported(f"{value!r} for a boolean column")
    return _cell(b"\x01" if value else b"\x00")


def _json(prefix: bytes) -> Callable[[Any], bytes]:
    def encode(value: Any) -> bytes:
        return _cell(prefix + json.dumps(value).encode())

    return encode


def _uuid(value: Any) -> bytes:
    if type(value) is not str or not _CANONICAL_UUID.fullmatch(value):  # PostgreSQL reads other spellings its own way
        raise CopyUnsupported(f"{value!r} for a uuid column")
    return _cell(uuid.UUID(value).bytes)


COPY_OIDS: dict[int, Callable[[Any], bytes]] = {
    25: _text,  # text
    1043: _text,  # varchar
    1042: _text,  # bpchar
    21: _integer(">h", 16),
    23: _integer(">i", 32),
    20: _integer(">q", 64),
    700: _float(">f", FLOAT4_MAX),
    701: _float(">d", math.inf),
    16: _boolean,
    114: _json(b""),
    3802: _json(b"\x01"),  # jsonb: version 1, then the text
    2950: _uuid,
}
"""Encoders of one non-null value by column type OID; float4[] vectors are encoded a whole column at a time."""


def _vector_cells(vectors: VectorColumn) -> list[bytes | memoryview]:
    """Each row's float4[] as a cell: its length, a one-dimensional array header, then (4, value) per element.

    The cells are built in one array and handed out as views of it, so the vectors are copied once here
    and once more into the stream.
    """
    rows, dims = vectors.matrix.shape
    layout = np.dtype([("header", ">i4", 6), ("items", [("length", ">i4"), ("value", ">f4")], (dims,))])
    cells = np.empty(rows, dtype=layout)
    cells["header"] = (20 + 8 * dims, 1, 0, _FLOAT4, dims, 1)  # cell length, ndim, no nulls, element type, size, lbound
    cells["items"]["length"] = 4
    cells["items"]["value"] = vectors.matrix
    view = cells.view(np.uint8).data
    width = layout.itemsize
    present = vectors.present.tolist()
    return [view[i * width : (i + 1) * width] if here else _NULL for i, here in enumerate(present)]


def _column_cells(oid: int, values: Sequence[Any] | VectorColumn) -> list[bytes | memoryview]:
    if isinstance(values, VectorColumn):
        if oid != _FLOAT4_ARRAY:
            raise CopyUnsupported(f"vectors for a column of type OID {oid}")
        return _vector_cells(values)
    encode = COPY_OIDS.get(oid)
    if encode is None:
        raise CopyUnsupported(f"a column of type OID {oid}")
    return [_NULL if value is None else encode(value) for value in values]


def encode_rows(oids: Sequence[int], columns: Sequence[Sequence[Any] | VectorColumn]) -> bytes:
    """Rows given column by column as one binary COPY stream, header to trailer."""
    if not columns:
        raise CopyUnsupported("rows without columns")
    cells = [_column_cells(oid, values) for oid, values in zip(oids, columns, strict=True)]
    field_count = struct.pack(">h", len(cells))
    rows = zip(repeat(field_count), *cells, strict=False)
    return b"".join(chain((_HEADER,), chain.from_iterable(rows), (_TRAILER,)))
