"""Named defaults of the Deep Lake client."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
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


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How requests are retried: exponential backoff with jitter.

    Only requests that are safe to repeat (GETs, read-only queries) are retried on
    ``statuses`` and on lost connections; any request is retried when the connection could
    not even be opened, since it was never sent. ``Retry-After`` is honoured. Retries stop
    after ``attempts`` tries or ``max_total`` seconds, whichever comes first.
    """

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_total: float = 30.0
    statuses: frozenset[int] = frozenset({429, 502, 503, 504})

    def delay(self, attempt: int, retry_after: float | None, jitter: float) -> float:
        """Seconds to wait before try ``attempt + 1`` (``jitter`` in [0, 1))."""
        if retry_after is not None:
            return retry_after
        return float(min(self.max_delay, self.base_delay * 2**attempt) * (0.5 + jitter / 2))


DEFAULT_RETRIES = RetryPolicy()
NO_RETRIES = RetryPolicy(attempts=1)

READ_ONLY_HEADER = "X-Deeplake-Read-Only"
"""Request header (value ``true``) marking a query that only reads: the embedded API then runs it in a
READ ONLY transaction; the managed API ignores it."""
