"""Bounded logging: a flood of the same message (rejected connections, a retry loop) cannot fill a disk."""

from __future__ import annotations

import logging
import threading
import time

__all__ = ["RateLimitFilter"]


class RateLimitFilter(logging.Filter):
    """Pass at most ``burst`` records of one kind (logger, level, message template) per ``window`` seconds.

    The first record of a kind after a window in which some were dropped says how many were.
    """

    def __init__(self, burst: int = 5, window: float = 60.0) -> None:
        super().__init__()
        self._burst = burst
        self._window = window
        self._kinds: dict[tuple[str, int, str], list[float]] = {}  # kind -> [window start, passed, dropped]
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        kind = (record.name, record.levelno, str(record.msg))
        now = time.monotonic()
        with self._lock:
            state = self._kinds.get(kind)
            if state is None or now - state[0] >= self._window:
                dropped = int(state[2]) if state is not None else 0
                self._kinds[kind] = [now, 1, 0]
                if len(self._kinds) > 10_000:  # forget old kinds rather than grow without bound
                    self._kinds = {kind: self._kinds[kind]}
                if dropped:
                    record.msg = f"{record.msg} (and {dropped} more like it in the last {self._window:.0f} s)"
                return True
            if state[1] < self._burst:
                state[1] += 1
                return True
            state[2] += 1
            return False
