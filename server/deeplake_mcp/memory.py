"""Giving memory back to the system after a large call.

A big ``insert_rows`` leaves tens of megabytes of freed Python objects behind, some in reference
cycles; CPython keeps such memory for reuse and glibc keeps freed heap pages. Shortly after such a call
(once its request, and with it the arguments, is gone) the server collects the cycles and asks glibc
to return free pages to the system. The local embedder asks for the same after it runs: loading the
model and each batch's activations leave well over 100 MB of freed heap that glibc would otherwise keep.
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
_scheduled: dict[asyncio.AbstractEventLoop, bool] = {}  # loop -> whether to collect garbage too


def release_soon(*, collect: bool = True) -> None:
    """Return free memory to the system a moment from now (once per burst of calls), after collecting
    garbage unless ``collect`` is false (memory freed outside Python's objects: a model's activations)."""
    loop = asyncio.get_running_loop()
    if loop in _scheduled:
        _scheduled[loop] |= collect
    else:
        _scheduled[loop] = collect
        loop.call_later(_DELAY_S, _release, loop)


def _release(loop: asyncio.AbstractEventLoop) -> None:
    collected = gc.collect() if _scheduled.pop(loop, True) else 0
    if _TRIM is not None:
        _TRIM(0)
    log.debug("released memory after a large call (%d objects collected)", collected)
