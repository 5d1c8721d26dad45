"""Giving memory back to the system after a large call.

A big ``insert_rows`` leaves tens of megabytes of freed Python objects behind, some in reference
cycles; CPython keeps such memory for reuse and glibc keeps freed heap pages. Shortly after such a call
(once its request, and with it the arguments, is gone) the server collects the cycles and asks glibc
to return free pages to the system.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import logging
from collections.abc import Callable

__all__ = ["release_soon"]

log = logging.getLogger(__name__)

_DELAY_S = 1.0


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError, TypeError):  # not glibc (musl, macOS): collecting cycles is all we can do
        return None
    return trim


_TRIM = _malloc_trim()
_scheduled: set[asyncio.AbstractEventLoop] = set()


def release_soon() -> None:
    """Collect garbage and return free memory to the system a moment from now (once per burst of calls)."""
    loop = asyncio.get_running_loop()
    if loop not in _scheduled:
        _scheduled.add(loop)
        loop.call_later(_DELAY_S, _release, loop)


def _release(loop: asyncio.AbstractEventLoop) -> None:
    _scheduled.discard(loop)
    collected = gc.collect()
    if _TRIM is not None:
        _TRIM(0)
    log.debug("released memory after a large call (%d objects collected)", collected)
