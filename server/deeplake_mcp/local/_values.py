"""Values across the JSON/PostgreSQL boundary: request params in, result cells out."""

from __future__ import annotations

import base64
import json
import math
from datetime import date, time
from decimal import Decimal
from typing import Any, TypeAlias

import psycopg
from psycopg.abc import AdaptContext, Buffer
from psycopg.adapt import AdaptersMap, Loader
from psycopg.pq import Format
from psycopg.types.string import TextLoader

from ._errors import InvalidRequest

# Request bodies parse floats as Decimal (see _app), so params keep every digit they were sent with.
JSON: TypeAlias = bool | int | float | Decimal | str | list["JSON"] | dict[str, "JSON"] | None
_NOT_FINITE = "params must be finite numbers: JSON has no NaN or infinity (send 'NaN' as text to mean it)"


def to_param(value: JSON) -> str | None:
    """Render a JSON param as PostgreSQL text input; it is sent with type unknown.

    PostgreSQL then types it from context (`id = $1`, `$1::jsonb`, `LIMIT $1`, a float4[] column, …).
    Objects become JSON text and arrays become array literals (`{1,2}`, `{{1,2},{3,4}}`, `{"a\\"b"}`).
    """
    if value is None:
        return None
    if isinstance(value, list):
        return _array_literal(value)
    return _text(value)


def _array_literal(items: list[JSON]) -> str:
    if set(map(type, items)) <= {int, float, Decimal}:  # a vector: nothing to quote
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
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float | Decimal):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, list | tuple):
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
    """Adapters for result loading: lenient dates and times, intervals as PostgreSQL text."""
    adapters = AdaptersMap(psycopg.adapters)
    for name in ("date", "time", "timetz", "timestamp", "timestamptz"):
        adapters.register_loader(name, _TextOnFailureLoader)
    adapters.register_loader("interval", TextLoader)
    return adapters
