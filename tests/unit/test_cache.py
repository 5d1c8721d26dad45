"""The TTL cache: expiry by a clock, and selective invalidation."""

from __future__ import annotations

from deeplake_mcp.cache import TTLCache


def test_entries_expire_after_ttl() -> None:
    now = [100.0]
    cache: TTLCache[str, int] = TTLCache(10, clock=lambda: now[0])
    cache.put("a", 1)
    now[0] = 109.9
    assert cache.get("a") == 1
    now[0] = 110.1
    assert cache.get("a") is None


def test_invalidate_selectively_and_all() -> None:
    cache: TTLCache[tuple[str, str], int] = TTLCache(60)
    cache.put(("ws1", "a"), 1)
    cache.put(("ws1", "b"), 2)
    cache.put(("ws2", "a"), 3)
    cache.invalidate(lambda key: key[0] == "ws1")
    assert cache.get(("ws1", "a")) is None and cache.get(("ws1", "b")) is None
    assert cache.get(("ws2", "a")) == 3
    cache.invalidate()
    assert cache.get(("ws2", "a")) is None
