"""What every text embedder offers, the one error it raises, and input checks they share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

__all__ = ["Embedder", "EmbeddingError", "check_query", "check_texts"]


class EmbeddingError(Exception):
    """Texts could not be embedded.

    The message is a complete sentence saying what went wrong and what to change; it never
    contains an API key.
    """


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors for semantic search.

    Implementations load lazily (the first call or :meth:`warm_up` pays for it) and do CPU
    work off the event loop.
    """

    @property
    def name(self) -> str:
        """Backend and model, e.g. ``local:all-MiniLM-L6-v2 (int8 ONNX)``."""
        ...

    @property
    def dimensions(self) -> int | None:
        """Length of every vector, or ``None`` while unknown (before the first call)."""
        ...

    @property
    def ready(self) -> bool:
        """Whether the model is loaded (or the endpoint answered once)."""
        ...

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order; ``[]`` for no texts."""
        ...

    async def embed_query(self, text: str) -> list[float]:
        """The vector of one search query."""
        ...

    async def warm_up(self) -> None:
        """Load the model now; idempotent and safe to call concurrently."""
        ...

    async def aclose(self) -> None:
        """Release the model or connections; later calls raise :class:`EmbeddingError`."""
        ...


def check_texts(texts: Sequence[str]) -> list[str]:
    """``texts`` as a list, or :class:`EmbeddingError` if it is not a sequence of strings."""
    if isinstance(texts, str | bytes):
        raise EmbeddingError(
            "embed_documents takes a list of texts, not a single string; wrap it in a list or use embed_query."
        )
    items = list(texts)
    for position, text in enumerate(items):
        if not isinstance(text, str):
            raise EmbeddingError(
                f"text {position} is a {type(text).__name__}, not a string; convert every item to str before embedding."
            )
    return items


def check_query(text: str) -> str:
    """``text``, or :class:`EmbeddingError` if it is not a string."""
    if not isinstance(text, str):
        raise EmbeddingError(f"the query is a {type(text).__name__}, not a string; pass the query text.")
    return text
