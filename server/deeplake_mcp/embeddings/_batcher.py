"""Concurrent single texts merged into one model call.

A caller that finds the model idle runs its text at once; texts that arrive while a call runs wait
and go together in the next one (up to ``max_batch``). Nobody waits for a timer: under no load a
text costs one call, under load the model runs fewer, fuller batches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

__all__ = ["MicroBatcher"]

Vector = list[float]


class MicroBatcher:
    """Embeds single texts through ``run`` (a batch call), merging the ones that arrive together."""

    def __init__(self, run: Callable[[list[str]], Awaitable[list[Vector]]], *, max_batch: int) -> None:
        self._run = run
        self._max_batch = max_batch
        self._pending: list[tuple[str, asyncio.Future[Vector]]] = []
        self._drain: asyncio.Task[None] | None = None

    async def embed(self, text: str) -> Vector:
        """The vector of ``text``, computed in the next batch call."""
        future: asyncio.Future[Vector] = asyncio.get_running_loop().create_future()
        self._pending.append((text, future))
        if self._drain is None or self._drain.done():
            self._drain = asyncio.create_task(self._run_pending())
        return await future

    async def _run_pending(self) -> None:
        while self._pending:
            batch = [(text, future) for text, future in self._pending[: self._max_batch] if not future.done()]
            del self._pending[: self._max_batch]
            if not batch:
                continue
            try:
                vectors = await self._run([text for text, _ in batch])
            except Exception as exc:  # every waiter of this batch gets the error
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for (_, future), vector in zip(batch, vectors, strict=True):
                    if not future.done():  # its caller may have been cancelled meanwhile
                        future.set_result(vector)
