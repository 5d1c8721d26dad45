"""Named defaults of the Deep Lake client."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from deeplake_mcp.retries import RetryPolicy

__all__ = [
    "COPY_MEDIA_TYPE",
    "DEFAULT_API_URL",
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUTS",
    "NO_RETRIES",
    "READ_ONLY_HEADER",
    "RetryPolicy",
    "Timeouts",
]

DEFAULT_API_URL = "https://api.deeplake.ai"


@dataclass(frozen=True, kw_only=True)
class Timeouts:
    """Seconds to wait for an answer, per kind of request."""

    connect: float = 10.0
    metadata: float = 30.0
    query: float = 60.0
    upload: float = 300.0


DEFAULT_TIMEOUTS = Timeouts()


DEFAULT_RETRIES = RetryPolicy()
NO_RETRIES = RetryPolicy(attempts=1)

COPY_MEDIA_TYPE = "application/vnd.postgresql.copy-binary"
"""Content type of ``POST …/tables/{table}/copy`` bodies (embedded local API only): PostgreSQL's binary COPY."""

READ_ONLY_HEADER = "X-Deeplake-Read-Only"
"""Request header (value ``true``) marking a query that only reads: the embedded API then runs it in a
READ ONLY transaction; the managed API ignores it."""

QueryHandler: TypeAlias = Callable[[str, dict[str, Any], bool], Awaitable[tuple[int, Any]]]
"""The query route of an API in the same process, as a function: ``(workspace, body, read_only)`` to
``(status, decoded answer)``; a client given one calls it instead of sending ``POST …/tables/query``."""

CopyHandler: TypeAlias = Callable[[str, str, Sequence[str], Sequence[int], bytes], Awaitable[tuple[int, Any]]]
"""The copy route of the embedded API in the same process, as a function: ``(workspace, table, columns,
type_oids, data)`` to ``(status, decoded answer)``; a client given one calls it instead of sending
``POST …/tables/{table}/copy``."""
