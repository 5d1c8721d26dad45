"""Uploaded CSV and JSON files: parsed into rows, with a column type inferred from every value.

CSV (`.csv`, `.tsv`): the first row names the columns; an empty field is NULL. A column whose
values all read as integers is BIGINT, as numbers DOUBLE PRECISION, as true/false BOOLEAN, as
ISO-8601 dates or timestamps TIMESTAMPTZ, as JSON objects or arrays JSONB; anything else is TEXT
(also a column with no values).

JSON (`.json`: an array of objects, one object, or JSON Lines; `.jsonl`, `.ndjson`: JSON Lines):
the columns are the keys in the order first seen; a missing key or `null` is NULL. Like the Deep
Lake SDK: booleans are BOOLEAN, integers BIGINT, numbers DOUBLE PRECISION, lists of numbers
FLOAT4[], lists of lists of numbers FLOAT4[][], strings TEXT, and objects, other lists or a mix of
kinds JSONB.

Values come out as PostgreSQL text input (or None), ready for COPY.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ._errors import InvalidRequest

__all__ = ["ParsedTable", "parse_upload"]

CSV_EXTENSIONS = {".csv": ",", ".tsv": "\t"}
JSON_EXTENSIONS = frozenset({".json", ".jsonl", ".ndjson"})
_INT64 = range(-(2**63), 2**63)
_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?")


@dataclass(frozen=True)
class ParsedTable:
    """Column names with their SQL types, and the rows as PostgreSQL text input."""

    columns: list[tuple[str, str]]
    rows: list[list[str | None]]


def parse_upload(filename: str, data: bytes) -> ParsedTable:
    """Parse an uploaded file by its extension; InvalidRequest with a clear message if it can't be."""
    extension = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in CSV_EXTENSIONS and extension not in JSON_EXTENSIONS:
        raise InvalidRequest(
            f"unsupported file type {extension or '(no extension)'!r} for {filename!r}; "
            "upload a .csv, .tsv, .json, .jsonl or .ndjson file"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"{filename!r} is not UTF-8 text: {exc}") from exc
    if not text.strip():
        raise InvalidRequest(f"{filename!r} is empty")
    if "\x00" in text:
        raise InvalidRequest(f"{filename!r} contains NUL characters")
    if extension in CSV_EXTENSIONS:
        return _parse_csv(filename, text, CSV_EXTENSIONS[extension])
    return _parse_json(filename, text, lines_only=extension != ".json")


# CSV


def _parse_csv(filename: str, text: str, delimiter: str) -> ParsedTable:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            if row:
                records.append((reader.line_num, row))
    except csv.Error as exc:
        raise InvalidRequest(f"could not parse {filename!r} as CSV: {exc}") from exc
    (_, header), body = records[0], records[1:]
    names = [name.strip() for name in header]
    _check_names(filename, names)
    for line, row in body:
        if len(row) != len(names):
            raise InvalidRequest(f"{filename!r} line {line} has {len(row)} fields but the header has {len(names)}")
    columns: list[tuple[str, str]] = []
    converters: list[Callable[[str], str]] = []
    for index, name in enumerate(names):
        sql_type, convert = _infer_csv_column([row[index] for _, row in body])
        columns.append((name, sql_type))
        converters.append(convert)
    rows = [
        [None if value == "" else convert(value) for value, convert in zip(row, converters, strict=True)]
        for _, row in body
    ]
    return ParsedTable(columns, rows)


def _infer_csv_column(values: list[str]) -> tuple[str, Callable[[str], str]]:
    present = [value.strip() for value in values if value != ""]
    if not present:
        return "TEXT", str
    if all(_INTEGER.fullmatch(v) and int(v) in _INT64 for v in present):
        return "BIGINT", str.strip
    if all(_NUMBER.fullmatch(v) for v in present):
        return "DOUBLE PRECISION", str.strip
    if all(v.lower() in ("true", "false") for v in present):
        return "BOOLEAN", lambda v: v.strip().lower()
    if all(_is_timestamp(v) for v in present):
        return "TIMESTAMPTZ", str.strip
    if all(_is_json_container(v) for v in present):
        return "JSONB", str.strip
    return "TEXT", str


def _is_timestamp(value: str) -> bool:
    if not _TIMESTAMP.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_json_container(value: str) -> bool:
    if not value.startswith(("{", "[")):
        return False
    try:
        return isinstance(json.loads(value), dict | list)
    except ValueError:
        return False


# JSON


def _parse_json(filename: str, text: str, *, lines_only: bool) -> ParsedTable:
    objects = _json_lines(filename, text) if lines_only else _json_document(filename, text)
    if not objects:
        raise InvalidRequest(f"{filename!r} has no rows to create a table from")
    names: dict[str, None] = {}
    for item in objects:
        names.update(dict.fromkeys(item))
    _check_names(filename, list(names))
    columns: list[tuple[str, str]] = []
    converters: list[Callable[[Any], str]] = []
    for name in names:
        sql_type, convert = _infer_json_column([item.get(name) for item in objects])
        columns.append((name, sql_type))
        converters.append(convert)
    rows = [
        [
            None if item.get(name) is None else convert(item[name])
            for name, convert in zip(names, converters, strict=True)
        ]
        for item in objects
    ]
    return ParsedTable(columns, rows)


def _json_document(filename: str, text: str) -> list[dict[str, Any]]:
    try:
        document = json.loads(text)
    except ValueError as exc:
        if "\n" in text.strip():
            try:
                return _json_lines(filename, text)
            except InvalidRequest:
                pass
        raise InvalidRequest(f"could not parse {filename!r} as JSON: {exc}") from exc
    if isinstance(document, dict):
        return [document]
    if not isinstance(document, list) or not all(isinstance(item, dict) for item in document):
        raise InvalidRequest(f"{filename!r} must hold an array of JSON objects (or JSON Lines of objects)")
    return document


def _json_lines(filename: str, text: str) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise InvalidRequest(f"could not parse line {number} of {filename!r} as JSON: {exc}") from exc
        if not isinstance(item, dict):
            raise InvalidRequest(f"line {number} of {filename!r} is not a JSON object")
        objects.append(item)
    return objects


def _infer_json_column(values: list[Any]) -> tuple[str, Callable[[Any], str]]:
    present = [value for value in values if value is not None]
    if not present:
        return "TEXT", str
    if all(isinstance(v, bool) for v in present):
        return "BOOLEAN", lambda v: "true" if v else "false"
    if all(_is_int(v) for v in present):
        if all(v in _INT64 for v in present):
            return "BIGINT", str
        return "NUMERIC", str
    if all(_is_number(v) for v in present):
        return "DOUBLE PRECISION", _number
    if all(_is_vector(v) for v in present):
        return "FLOAT4[]", _vector
    if all(_is_matrix(v) for v in present):
        return "FLOAT4[][]", lambda v: "{" + ",".join(_vector(row) for row in v) + "}"
    if all(isinstance(v, str) for v in present):
        return "TEXT", str
    return "JSONB", lambda v: json.dumps(v, ensure_ascii=False)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return _is_int(value) or isinstance(value, float)


def _is_vector(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(_is_number(item) for item in value)


def _is_matrix(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(_is_vector(row) for row in value)
        and len({len(row) for row in value}) == 1
    )


def _number(value: int | float) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return repr(value) if isinstance(value, float) else str(value)


def _vector(values: list[int | float]) -> str:
    return "{" + ",".join(_number(value) for value in values) + "}"


# Both


def _check_names(filename: str, names: list[str]) -> None:
    seen: set[str] = set()
    for position, name in enumerate(names, start=1):
        if not name:
            raise InvalidRequest(f"column {position} of {filename!r} has no name")
        if len(name.encode()) > 63:
            raise InvalidRequest(f"column name {name!r} of {filename!r} is longer than 63 bytes")
        if name in seen:
            raise InvalidRequest(f"column {name!r} appears more than once in {filename!r}")
        seen.add(name)
