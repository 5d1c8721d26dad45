"""Recent query vectors, kept: paging through a search, a retry or a repeated question embeds nothing again.

Each page of a ``semantic_search`` (a call with ``cursor=``) embeds its query text anew; with a remote
embedding API that is a paid request and a round trip per page, and a model that is not bit-for-bit
deterministic could even move rows between pages. The vectors of the most recent queries are kept, as
packed doubles (3 KB each at 384 dimensions), least recently used first out.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence

from deeplake_mcp.cache import LRUCache
from deeplake_mcp.embeddings._base import Embedder

__all__ = ["CachedQueries"]

MAX_QUERIES = 256
MAX_QUERY_CHARS = 2_000
"""Longer query texts are embedded every time (a rare case, and not worth the memory)."""


class CachedQueries:
    """``inner``, with the vectors of its last ``size`` query texts kept (see the module docstring)."""

    def __init__(self, inner: Embedder, *, size: int = MAX_QUERIES) -> None:
        self._inner = inner
        self._vectors: LRUCache[str, array[float]] = LRUCache(size)

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def dimensions(self) -> int | None:
        return self._inner.dimensions

    @property
    def ready(self) -> bool:
        return self._inner.ready

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return await self._inner.embed_documents(texts)

    async def embed_query(self, text: str) -> list[float]:
        """The vector of ``text``: kept from an earlier call, else the inner embedder's (then kept)."""
        kept = self._vectors.get(text) if isinstance(text, str) else None
        if kept is not None:
            return kept.tolist()
        vector = await self._inner.embed_query(text)
        if len(text) <= MAX_QUERY_CHARS:
            self._vectors.put(text, array("d", vector))
        return vector

    async def warm_up(self) -> None:
        await self._inner.warm_up()

    async def aclose(self) -> None:
        self._vectors.clear()
        await self._inner.aclose()
