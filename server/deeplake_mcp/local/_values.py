"""Values across the JSON/PostgreSQL boundary: request params in, result cells out."""

from __future__ import annotations

import base64
import json
import math
import struct
import sys
from array import array
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from functools import lru_cache
from typing import Any, TypeAlias, TypeGuard, cast, overload

import psycopg
from psycopg.abc import AdaptContext, Buffer
from psycopg.adapt import AdaptersMap, Dumper, Loader
from psycopg.pq import Format
from psycopg.types.string import TextLoader

from ._errors import InvalidRequest

# Request bodies parse floats as Decimal (see _app), so params keep every digit they were sent with.
JSON: TypeAlias = bool | int | float | Decimal | str | list["JSON"] | dict[str, "JSON"] | None
_NOT_FINITE = "params must be finite numbers: JSON has no NaN or infinity (send 'NaN' as text to mean it)"
NUMBER_TYPES = frozenset({int, float, Decimal})  # by exact type: bool (an int subclass) is not a number here
_FLOAT = frozenset({float})


@dataclass(frozen=True, slots=True)
class Float4Array:
    """A query vector sent as binary ``float4[]``: no text to write here, none for PostgreSQL to parse."""

    data: bytes


Param: TypeAlias = JSON | Float4Array
"""A statement's param: a JSON value (sent as text), or a vector already encoded."""

_FLOAT4_ARRAY_OID = 1021
_FLOAT4_OID = 700
_ARRAY_HEADER = struct.Struct(">iiIii")  # dimensions, has NULLs, element type, length, lower bound


def is_vector(value: object) -> TypeGuard[list[int | float | Decimal]]:
    """Whether ``value`` is a non-empty list of numbers."""
    return isinstance(value, list) and bool(value) and set(map(type, value)) <= NUMBER_TYPES


def packed_float4(numbers: list[int | float | Decimal]) -> Float4Array | None:
    """``numbers`` (a list of numbers: :func:`is_vector`) as a binary 1-D ``float4[]``, when they are finite and
    within float4's range (else None: sent as text, PostgreSQL says what is wrong with it: out of float4's range,
    or so close to 0 that it would become 0). Numbers round from the double they were read as, as in insert_rows'
    binary COPY."""
    try:
        singles = array("f", cast("list[float]", numbers))  # a Decimal by its float; beyond float4's range: infinite
    except OverflowError:  # an int beyond any double
        return None
    if not math.isfinite(sum(singles)):  # the sum of finite float4s cannot overflow a double
        return None
    if b"\0\0\0" in singles.tobytes() and singles.count(0) != numbers.count(0):  # a number became 0 as float4
        return None
    n = len(singles)
    elements = _length_words(n)[:]  # each element: its length (4), then its 4 bytes
    elements[1::2] = singles
    if sys.byteorder == "little":
        elements.byteswap()
    return Float4Array(_ARRAY_HEADER.pack(1, 0, _FLOAT4_OID, n, 1) + elements.tobytes())


@lru_cache(maxsize=8)  # a few dimensions are in use at a time
def _length_words(n: int) -> array[float]:
    """``2 n`` words holding the int 4 (as the bytes of a float4, byte-swapped with the elements)."""
    return array("f", (4).to_bytes(4, sys.byteorder)) * (2 * n)


class _Float4ArrayDumper(Dumper):
    format = Format.BINARY
    oid = _FLOAT4_ARRAY_OID

    def dump(self, obj: Float4Array) -> Buffer:
        return obj.data


@overload
def to_param(value: JSON) -> str | None: ...
@overload
def to_param(value: Float4Array) -> Float4Array: ...
def to_param(value: Param) -> str | Float4Array | None:
    """Render a JSON param as PostgreSQL text input; it is sent with type unknown.

    PostgreSQL then types it from context (`id = $1`, `$1::jsonb`, `LIMIT $1`, a float4[] column, …).
    Objects become JSON text and arrays become array literals (`{1,2}`, `{{1,2},{3,4}}`, `{"a\\"b"}`); a
    Float4Array goes as it is (binary, typed float4[]).
    """
    if value is None or isinstance(value, Float4Array):
        return value
    if isinstance(value, list):
        return _array_literal(value)
    return _text(value)


def _array_literal(items: list[JSON]) -> str:
    if set(map(type, items)) <= NUMBER_TYPES:  # a vector: nothing to quote
        numbers = ",".join(map(str, items))
        if "n" in numbers or "N" in numbers:  # nan, inf, NaN, Infinity: no finite number's text has an n
            raise InvalidRequest(_NOT_FINITE)
        return "{" + numbers + "}"
    return "{" + ",".join(_array_element(item) for item in items) + "}"


def _array_element(item: JSON) -> str:
    if item is None:
        return "NULL"
    if isinstance(item, list):
        return _array_literal(item)
    return '"' + _text(item).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(value: bool | int | float | Decimal | str | dict[str, JSON]) -> str:
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidRequest("params cannot contain NUL characters")
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=float)
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidRequest(_NOT_FINITE)
    return str(value)


def to_json(value: Any) -> JSON:
    """Encode a value loaded by psycopg as JSON.

    Numbers stay numbers (NaN and infinities become null), jsonb stays JSON, arrays become lists,
    temporal values ISO-8601 strings, bytea base64; anything else (uuid, …) its text form.
    """
    kind = type(value)
    if kind is int or kind is str or kind is bool or value is None:  # most cells, by exact type first
        return cast("JSON", value)
    if kind is float:
        return value if math.isfinite(value) else None
    if isinstance(value, str | bool | int):
        return value
    if isinstance(value, float | Decimal):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, list | tuple):
        if _FLOAT.issuperset(map(type, value)) and math.isfinite(sum(value)):  # a vector, every number finite
            return list(value)
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode("ascii")
    return str(value)


class _TextOnFailureLoader(Loader):
    """psycopg's own text loader, but values Python cannot hold (infinity, year 10000) stay text."""

    def __init__(self, oid: int, context: AdaptContext | None = None) -> None:
        super().__init__(oid, context)
        loader = psycopg.adapters.get_loader(oid, Format.TEXT)
        assert loader is not None
        self._loader = loader(oid, context)

    def load(self, data: Buffer) -> Any:
        try:
            return self._loader.load(data)
        except psycopg.DataError:
            return bytes(data).decode()


def result_adapters() -> AdaptersMap:
    """Adapters for the connections: lenient dates and times and intervals as PostgreSQL text in results,
    Float4Array params."""
    adapters = AdaptersMap(psycopg.adapters)
    adapters.register_dumper(Float4Array, _Float4ArrayDumper)
    for name in ("date", "time", "timetz", "timestamp", "timestamptz"):
        adapters.register_loader(name, _TextOnFailureLoader)
    adapters.register_loader("interval", TextLoader)
    return adapters
