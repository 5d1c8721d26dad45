"""SQL names and literals written by the server itself: any input becomes exactly one name or value, never SQL."""

from __future__ import annotations

__all__ = ["qualified", "quote_ident", "quote_literal"]


def quote_ident(name: str) -> str:
    """A double-quoted PostgreSQL identifier; ValueError for an empty name or one with a NUL character."""
    if not name or "\x00" in name:
        raise ValueError(f"invalid name {name!r}: names must be non-empty and contain no NUL character")
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, name: str) -> str:
    """``"schema"."name"``."""
    return f"{quote_ident(schema)}.{quote_ident(name)}"


def quote_literal(value: str) -> str:
    """A standard string literal (backslashes are plain characters, as PostgreSQL reads them by default)."""
    if "\x00" in value:
        raise ValueError("a string literal cannot contain a NUL character")
    return "'" + value.replace("'", "''") + "'"
