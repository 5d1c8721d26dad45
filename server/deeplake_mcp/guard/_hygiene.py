"""Input hygiene (policy 1.2.1): type, size and control characters."""

from __future__ import annotations

import re

from ._classes import Finding, never

__all__ = ["MAX_BYTES", "check_input"]

MAX_BYTES = 256 * 1024
"""Largest accepted SQL text in UTF-8 bytes; a 768-dim embedding literal is about 7 KiB."""

# Every control character except TAB, LF and CR (C0, DEL and C1), plus lone surrogates,
# which cannot be encoded and so cannot reach the database intact.
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def check_input(sql: object) -> str | Finding:
    """Return ``sql`` when it is a usable SQL string, else a NEVER finding."""
    if not isinstance(sql, str):
        return never(
            f"input is not a string ({type(sql).__name__})",
            "send the SQL statement as a string",
            subject="non-text input",
        )
    if len(sql) > MAX_BYTES or (len(sql) * 4 > MAX_BYTES and _utf8_size(sql) > MAX_BYTES):
        return never(
            "input larger than 256 KiB",
            "split the work into smaller statements (at most 256 KiB each)",
            subject="input over 256 KiB",
        )
    bad = _FORBIDDEN.search(sql)
    if bad is not None:
        return never(
            f"control character U+{ord(bad.group()):04X} at offset {bad.start()}",
            "remove control characters; only TAB, LF and CR may appear",
            subject="a control character",
        )
    return sql


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))
