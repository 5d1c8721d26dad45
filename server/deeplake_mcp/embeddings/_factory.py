"""Build the configured embedder; each backend's module is imported only when chosen."""

from __future__ import annotations

from typing import TYPE_CHECKING

from deeplake_mcp.embeddings._base import Embedder
from deeplake_mcp.embeddings._cache import CachedQueries

if TYPE_CHECKING:
    import httpx

__all__ = ["EMBEDDER_KINDS", "create_embedder"]

EMBEDDER_KINDS = ("local", "openai", "none")


def create_embedder(
    kind: str,
    *,
    url: str | None = None,
    model: str | None = None,
    api_key: str | None = None,
    dimensions: int | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    threads: int | None = None,
) -> Embedder | None:
    """The embedder for ``kind`` (``DEEPLAKE_MCP_EMBEDDER``), or ``None`` for ``"none"``; it keeps the vectors
    of recent queries (:class:`CachedQueries`).

    ``url``, ``model``, ``api_key``, ``dimensions`` and ``transport`` apply to ``"openai"`` only;
    ``threads`` (the model's CPU threads) to ``"local"`` only.
    """
    if kind == "local":
        from deeplake_mcp.embeddings._onnx import LocalMiniLMEmbedder

        return CachedQueries(LocalMiniLMEmbedder(threads=threads))
    if kind == "openai":
        if not url or not model:
            needed = (("DEEPLAKE_MCP_EMBEDDING_URL", url), ("DEEPLAKE_MCP_EMBEDDING_MODEL", model))
            missing = [name for name, value in needed if not value]
            raise ValueError(
                f"embedder 'openai' needs {' and '.join(missing)} (e.g. http://localhost:11434/v1 and nomic-embed-text)"
            )
        from deeplake_mcp.embeddings._openai import OpenAICompatibleEmbedder

        remote = OpenAICompatibleEmbedder(
            base_url=url, model=model, api_key=api_key, dimensions=dimensions, transport=transport
        )
        return CachedQueries(remote)
    if kind == "none":
        return None
    raise ValueError(f"unknown embedder {kind!r}; choose one of: {', '.join(EMBEDDER_KINDS)}")
