"""MicroBatcher: concurrent single texts share model calls; errors and cancellations stay with their callers."""

from __future__ import annotations

import asyncio

import pytest

from deeplake_mcp.embeddings._batcher import MicroBatcher

pytestmark = pytest.mark.anyio


class Model:
    """A stand-in batch model that records each call and can be held mid-call."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def run(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(texts)
        await self.gate.wait()
        if "boom" in texts:
            raise RuntimeError("model failed")
        return [[float(len(text))] for text in texts]


async def test_texts_arriving_during_a_call_share_the_next_one() -> None:
    model = Model()
    batcher = MicroBatcher(model.run, max_batch=4)
    model.gate.clear()
    first = asyncio.create_task(batcher.embed("a"))
    await asyncio.sleep(0)
    rest = [asyncio.create_task(batcher.embed("x" * n)) for n in range(2, 8)]
    await asyncio.sleep(0)
    model.gate.set()
    assert await first == [1.0]
    assert [await task for task in rest] == [[float(n)] for n in range(2, 8)]
    assert [len(call) for call in model.calls] == [1, 4, 2]


async def test_one_text_alone_is_one_call() -> None:
    model = Model()
    batcher = MicroBatcher(model.run, max_batch=8)
    assert await batcher.embed("abc") == [3.0]
    assert await batcher.embed("de") == [2.0]
    assert model.calls == [["abc"], ["de"]]


async def test_a_failed_call_fails_its_own_batch_only() -> None:
    model = Model()
    batcher = MicroBatcher(model.run, max_batch=2)
    model.gate.clear()
    tasks = [asyncio.create_task(batcher.embed(text)) for text in ("ok", "boom", "fine", "also")]
    await asyncio.sleep(0)
    model.gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[0], RuntimeError) and isinstance(results[1], RuntimeError)  # "ok" shared the call
    assert results[2:] == [[4.0], [4.0]]
    assert [len(call) for call in model.calls] == [2, 2]


async def test_a_cancelled_caller_leaves_the_others_their_results() -> None:
    model = Model()
    batcher = MicroBatcher(model.run, max_batch=8)
    model.gate.clear()
    running = asyncio.create_task(batcher.embed("a"))
    await asyncio.sleep(0)
    gone = asyncio.create_task(batcher.embed("bb"))
    stays = asyncio.create_task(batcher.embed("ccc"))
    await asyncio.sleep(0)
    gone.cancel()
    model.gate.set()
    assert await running == [1.0] and await stays == [3.0]
    assert gone.cancelled()
    assert model.calls == [["a"], ["ccc"]]  # the cancelled text was dropped before its call
