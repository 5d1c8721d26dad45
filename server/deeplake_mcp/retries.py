"""Retrying HTTP calls: one backoff shared by the Deep Lake client and the embedding client."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import anyio
import httpx

__all__ = ["Backoff", "RetryPolicy", "retry_after"]


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How requests are retried: exponential backoff with jitter.

    Only requests that are safe to repeat are retried, on ``statuses`` and lost connections (the
    caller decides what is safe). ``Retry-After`` is honoured. Retries stop after ``attempts`` tries
    or ``max_total`` seconds, whichever comes first.
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


class Backoff:
    """The waits of one call under a policy: ``await backoff.wait(retry_after)`` before each retry."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        self._deadline = time.monotonic() + policy.max_total
        self.tries = 1

    async def wait(self, retry_after: float | None = None) -> bool:
        """Sleep before the next try and return True; False (at once) when no try is left."""
        if self.tries >= self._policy.attempts:
            return False
        pause = self._policy.delay(self.tries - 1, retry_after, random.random())
        if time.monotonic() + pause >= self._deadline:
            return False
        await anyio.sleep(pause)
        self.tries += 1
        return True


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the server asked to wait (``Retry-After``: seconds or an HTTP date), if it did."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            return None
