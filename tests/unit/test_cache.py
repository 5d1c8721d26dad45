"""The caches: the TTL one (expiry by a clock, selective invalidation) and the LRU one (bounded by size)."""

from __future__ import annotations

from deeplake_mcp.cache import LRUCache, TTLCache


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


def test_lru_keeps_the_most_recently_used() -> None:
    cache: LRUCache[str, int] = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # now the most recent
    cache.put("c", 3)  # "b" goes
    assert (cache.get("a"), cache.get("b"), cache.get("c"), len(cache)) == (1, None, 3, 2)
    assert "a" in cache and "b" not in cache
    cache.put("a", 10)  # a new value refreshes it
    cache.put("d", 4)  # "c" goes
    assert (cache.get("a"), cache.get("c"), cache.get("d")) == (10, None, 4)
    cache.clear()
    assert len(cache) == 0 and cache.get("a") is None
