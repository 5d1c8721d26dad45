"""Text embeddings for semantic search: a local MiniLM (offline default) or an OpenAI-compatible API.

```python
embedder = create_embedder("local")
vectors = await embedder.embed_documents(["first text", "second text"])
```

Importing this package is cheap: the backends (onnxruntime, httpx) load when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from deeplake_mcp.embeddings._base import Embedder, EmbeddingError
from deeplake_mcp.embeddings._factory import create_embedder

if TYPE_CHECKING:
    from deeplake_mcp.embeddings._onnx import LocalMiniLMEmbedder
    from deeplake_mcp.embeddings._openai import OpenAICompatibleEmbedder

__all__ = [
    "Embedder",
    "EmbeddingError",
    "LocalMiniLMEmbedder",
    "OpenAICompatibleEmbedder",
    "create_embedder",
]


def __getattr__(name: str) -> Any:
    """Import a backend class on first access (PEP 562), so importing the package stays cheap."""
    if name == "LocalMiniLMEmbedder":
        from deeplake_mcp.embeddings._onnx import LocalMiniLMEmbedder

        return LocalMiniLMEmbedder
    if name == "OpenAICompatibleEmbedder":
        from deeplake_mcp.embeddings._openai import OpenAICompatibleEmbedder

        return OpenAICompatibleEmbedder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
