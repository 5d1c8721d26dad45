"""Cursors: continue a truncated result where it stopped, with every row returned once.

A cursor is a short opaque string (base64 of a few bytes): which kind of call made it, a digest of that
call's arguments, how many rows were returned so far, a fingerprint of the last row returned and, for
listings ordered by a unique key, that key. It holds no SQL and no values, so it can be handed around
freely; the next call passes the same arguments again with the cursor, and the digest checks they are the
same. A checksum catches a cursor that was cut or changed on the way (it is no signature: a forged cursor
can only ask for rows the caller may read anyway, since every call is checked again by the guard).

The guarantee, for results that are windows of one statement's rows (``query``, ``execute_sql`` reads,
``semantic_search``, ``tql_query``): each page is the window ``OFFSET n LIMIT k`` of the statement's
result, and starts by checking that the row before it is still the last row the previous page returned.
If rows were added or removed before that point, the page realigns after that row (found within
``REALIGN_WINDOW`` rows either side), so every row present for the whole walk is returned exactly once
when the statement's order is deterministic (an ORDER BY on a unique key, or a table read in storage
order that is not being rewritten). When the row is gone or out of reach, the page says so and sets
``changed``: rows may then repeat or be missing, and a fresh walk (no cursor) starts over. ``list_tables``
pages by table name (keyset): tables that exist for the whole walk are listed exactly once.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from deeplake_mcp.redact import redact

__all__ = [
    "REALIGN_WINDOW",
    "Cursor",
    "CursorError",
    "Window",
    "args_digest",
    "fingerprint",
    "make_cursor",
    "read_cursor",
    "window",
]

REALIGN_WINDOW = 200
"""How far (in rows, either side) a page looks for the last row it returned when the rows before it moved."""

_VERSION = 1
_DIGEST = 6
_CHECK = 4
_KEY = b"deeplake-mcp cursor v1"

Rows = list[list[Any]]
Fetch = Callable[[int, int], Awaitable[tuple[list[str], Rows]]]
"""``fetch(offset, limit)``: the statement's rows ``offset`` … ``offset + limit - 1`` and its columns."""


class CursorError(ValueError):
    """A cursor that cannot be used here; the message says why and what to do."""


@dataclass(frozen=True)
class Cursor:
    """Where a walk stopped: rows returned so far, the last one's fingerprint, and its key (keyset paging)."""

    offset: int
    last: bytes = b""
    key: str | None = None


def args_digest(*parts: Any) -> bytes:
    """A digest of a call's arguments (JSON-serialisable values), to tie a cursor to them."""
    encoded = msgspec.msgpack.encode(parts, order="sorted", enc_hook=str)  # floats as bytes: 10x JSON's speed
    return hashlib.blake2b(encoded, digest_size=_DIGEST).digest()


def fingerprint(row: Sequence[Any]) -> bytes:
    """A short digest of one row's values, to find it again."""
    text = json.dumps(list(row), separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.blake2b(text.encode(), digest_size=_DIGEST).digest()


def make_cursor(kind: str, digest: bytes, position: Cursor) -> str:
    """The opaque cursor for ``position`` of a ``kind`` call with these arguments."""
    key = (position.key or "").encode()
    for salt in range(256):  # a cursor must pass the response redactor unchanged (it masks token-like text)
        body = bytes([_VERSION, salt]) + kind.encode()[:1] + digest + _varint(position.offset)
        body += position.last.ljust(_DIGEST, b"\0") + key
        text = base64.b64encode(body + _check(body)).decode().rstrip("=")
        if redact(text) == text:
            return text
    raise RuntimeError("no cursor encoding passes the redactor")  # pragma: no cover - 256 salts


def read_cursor(text: str, kind: str, digest: bytes, *, tool: str) -> Cursor:
    """The position a cursor holds, checked against the call it is passed to (``CursorError`` if it does not fit)."""
    try:
        raw = base64.b64decode(text.strip() + "=" * (-len(text.strip()) % 4), validate=True)
    except ValueError:
        raw = b""
    body, check = raw[:-_CHECK], raw[-_CHECK:]
    if len(body) < 3 + _DIGEST + 1 + _DIGEST or check != _check(body) or body[0] != _VERSION:
        raise CursorError(
            f"the cursor is damaged (it must be passed exactly as {tool} returned it); "
            "call again without it to start from the first page"
        )
    if body[2:3] != kind.encode()[:1]:
        raise CursorError(f"this cursor belongs to another tool; pass it to the tool that returned it, not {tool}")
    if body[3 : 3 + _DIGEST] != digest:
        raise CursorError(
            f"this cursor was made for other arguments; call {tool} with the same arguments as the call that "
            "returned it (only the cursor changes), or without the cursor to start over"
        )
    offset, at = _read_varint(body, 3 + _DIGEST)
    last = body[at : at + _DIGEST]
    key = body[at + _DIGEST :].decode(errors="replace") or None
    return Cursor(offset=offset, last=last, key=key)


@dataclass
class Window:
    """One window of a statement's rows: where it starts, its rows (up to ``size + 1``) and what happened."""

    columns: list[str]
    rows: Rows
    start: int
    notice: str | None = None
    changed: bool = False


async def window(fetch: Fetch, position: Cursor | None, size: int) -> Window:
    """The rows after ``position`` (the first ``size + 1``, to know whether more follow), realigned if needed."""
    if position is None or position.offset < 1:
        columns, rows = await fetch(0, size + 1)
        return Window(columns, rows, 0)
    start = position.offset
    columns, rows = await fetch(start - 1, size + 2)
    if rows and fingerprint(rows[0]) == position.last:
        return Window(columns, rows[1:], start)
    low = max(0, start - 1 - REALIGN_WINDOW)
    columns, around = await fetch(low, 2 * REALIGN_WINDOW + 1)
    found = [low + i for i, row in enumerate(around) if fingerprint(row) == position.last]
    if not found:
        return Window(
            columns,
            rows[1:],
            start,
            notice="the result changed since the previous page and the last row it returned is gone, so rows may "
            "repeat or be missing here; call again without the cursor to start over",
            changed=True,
        )
    at = min(found, key=lambda p: abs(p - (start - 1)))
    moved = at - (start - 1)
    columns, rows = await fetch(at + 1, size + 1)
    verb = "added" if moved > 0 else "removed"
    return Window(
        columns,
        rows,
        at + 1,
        notice=f"{abs(moved)} rows were {verb} before this point since the previous page; this page continues "
        "right after the last row it returned",
    )


def _check(body: bytes) -> bytes:
    return hashlib.blake2b(body, digest_size=_CHECK, key=_KEY).digest()


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while at < len(data):
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at
    raise CursorError("the cursor is damaged; call again without it to start from the first page")
