"""release_soon: one release per burst of calls, a moment later; garbage is collected unless no caller asked."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from deeplake_mcp import memory

pytestmark = pytest.mark.anyio


@pytest.fixture
def full_collections() -> Iterator[list[int]]:
    """Full collections that start while the test runs (automatic ones are off meanwhile)."""
    started: list[int] = []

    def seen(phase: str, info: dict[str, Any]) -> None:
        if phase == "start" and info["generation"] == 2:
            started.append(info["generation"])

    gc.disable()
    gc.callbacks.append(seen)
    try:
        yield started
    finally:
        gc.callbacks.remove(seen)
        gc.enable()


async def test_a_burst_without_collect_only_trims(full_collections: list[int]) -> None:
    for _ in range(3):
        memory.release_soon(collect=False)
    await anyio.sleep(memory._DELAY_S + 0.3)
    assert full_collections == []


async def test_one_caller_asking_for_a_collection_gets_one(full_collections: list[int]) -> None:
    memory.release_soon(collect=False)
    memory.release_soon()
    memory.release_soon(collect=False)
    await anyio.sleep(memory._DELAY_S + 0.3)
    assert full_collections == [2]
