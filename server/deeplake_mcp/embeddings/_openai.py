"""Embeddings from any OpenAI-compatible ``/embeddings`` endpoint (OpenAI, Ollama, vLLM, TEI, LiteLLM …)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import anyio
import httpx

from deeplake_mcp import __version__
from deeplake_mcp.embeddings._base import EmbeddingError, check_query, check_texts
from deeplake_mcp.redact import redact
from deeplake_mcp.retries import Backoff, RetryPolicy, retry_after

__all__ = ["OpenAICompatibleEmbedder"]

BATCH_SIZE = 128
RETRIES = RetryPolicy(attempts=3, base_delay=0.5, max_delay=10.0, max_total=20.0)
_MAX_ERROR_TEXT = 300

_URL_HINT = "check DEEPLAKE_MCP_EMBEDDING_URL (the base URL ending in /v1, e.g. http://localhost:11434/v1)"
_KEY_HINT = "check DEEPLAKE_MCP_EMBEDDING_API_KEY"
_MODEL_HINT = "check DEEPLAKE_MCP_EMBEDDING_MODEL (the model must exist on the server)"
_DIM_HINT = "unset DEEPLAKE_MCP_EMBEDDING_DIMENSIONS or set it to a size the model supports"


class OpenAICompatibleEmbedder:
    """Vectors from ``POST {base_url}/embeddings`` over one pooled HTTP connection.

    Texts go in batches of 128 per request. 429/502/503/504 answers and failed connections are
    retried with backoff (embedding is idempotent), honouring ``Retry-After``; a read timeout
    is not, since the server is still busy with the request. ``dimensions``, when given, is
    sent to the server and every returned vector must have that length.
    """

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        dimensions: int | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"embedding base URL must start with http:// or https://, got {base_url!r}")
        if not model:
            raise ValueError("the embedding model name must not be empty")
        if dimensions is not None and dimensions < 1:
            raise ValueError(f"embedding dimensions must be at least 1, got {dimensions}")
        self._url = base_url.rstrip("/") + "/embeddings"
        self._model = model
        self._api_key = api_key or None
        self._configured_dimensions = dimensions
        self._dimensions = dimensions
        self._timeout = timeout
        self._ready = False
        self._closed = False
        self._warm_lock = anyio.Lock()
        headers = {"User-Agent": f"deeplake-mcp/{__version__}"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        self._client = httpx.AsyncClient(
            transport=transport, headers=headers, timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0))
        )
        self._where = _display_url(base_url)

    @property
    def name(self) -> str:
        return f"openai-compatible:{self._model}@{self._where}"

    @property
    def dimensions(self) -> int | None:
        return self._dimensions

    @property
    def ready(self) -> bool:
        return self._ready

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        items = check_texts(texts)
        vectors: list[list[float]] = []
        for start in range(0, len(items), BATCH_SIZE):
            vectors += await self._embed_batch(items[start : start + BATCH_SIZE])
        return vectors

    async def embed_query(self, text: str) -> list[float]:
        (vector,) = await self._embed_batch([check_query(text)])
        return vector

    async def warm_up(self) -> None:
        """Embed one short text, so the server loads the model and the dimension is known."""
        async with self._warm_lock:
            if not self._ready:
                await self._embed_batch(["warm-up"])

    async def aclose(self) -> None:
        self._closed = True
        self._ready = False
        await self._client.aclose()

    async def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        body: dict[str, Any] = {"model": self._model, "input": texts}
        if self._configured_dimensions is not None:
            body["dimensions"] = self._configured_dimensions
        response = await self._post(body)
        vectors = self._parse(response, len(texts))
        self._dimensions = len(vectors[0])
        self._ready = True
        return vectors

    async def _post(self, body: dict[str, Any]) -> httpx.Response:
        """POST with retries; return a 2xx response or raise :class:`EmbeddingError`."""
        if self._closed:
            raise EmbeddingError("the embedding client has been closed; create a new one to embed more texts.")
        backoff = Backoff(RETRIES)
        while True:
            try:
                response = await self._client.post(self._url, json=body)
            except httpx.TransportError as exc:
                # A read timeout means the server is busy with it: a retry would only triple the wait.
                if isinstance(exc, httpx.ReadTimeout) or not await backoff.wait():
                    raise self._transport_error(exc) from exc
                continue
            if response.is_success:
                return response
            retryable = response.status_code in RETRIES.statuses
            if not retryable or not await backoff.wait(retry_after(response)):
                raise self._status_error(response, backoff.tries)

    def _transport_error(self, exc: httpx.TransportError) -> EmbeddingError:
        if isinstance(exc, httpx.ReadTimeout):
            return EmbeddingError(
                f"the embedding endpoint {self._where} did not answer within {self._timeout:g} s; the server "
                "may be overloaded or still loading the model; try again or send fewer texts at once."
            )
        detail = self._redact(str(exc)) or "no detail"
        return EmbeddingError(
            f"could not reach the embedding endpoint {self._where} ({type(exc).__name__}: {detail}); "
            f"is the server running? {_URL_HINT}."
        )

    def _status_error(self, response: httpx.Response, attempts: int) -> EmbeddingError:
        status = response.status_code
        detail = self._redact(_error_detail(response))
        hint = {
            400: f"{_MODEL_HINT}; if DEEPLAKE_MCP_EMBEDDING_DIMENSIONS is set, the model may not accept it",
            401: f"the key is missing or invalid; {_KEY_HINT}",
            403: f"the key may not use this model; {_KEY_HINT} and {_MODEL_HINT}",
            404: f"{_URL_HINT} and {_MODEL_HINT}",
            413: "the texts are too long for one request; send fewer or shorter texts",
            422: f"{_MODEL_HINT} and the request fields the server accepts",
            429: "the endpoint is rate limiting; wait and try again, or send fewer texts at once",
        }.get(status, "the embedding server failed; try again later" if status >= 500 else _URL_HINT)
        answered = f"{status} {response.reason_phrase}".strip()
        tries = f" after {attempts} tries" if attempts > 1 else ""
        return EmbeddingError(f"the embedding endpoint {self._where} answered {answered}{tries}: {detail}; {hint}.")

    def _parse(self, response: httpx.Response, expected: int) -> list[list[float]]:
        """The vectors of a 2xx answer, ordered by ``index`` and checked for shape."""
        problem = f"the embedding endpoint {self._where} answered with"
        try:
            payload = response.json()
        except ValueError:
            raise EmbeddingError(f"{problem} something that is not JSON ({_snippet(response)}); {_URL_HINT}.") from None
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise EmbeddingError(
                f"{problem} JSON without a 'data' list of objects ({_error_detail(response)}); "
                f"{_URL_HINT} (it must be an OpenAI-compatible API)."
            )
        if len(data) != expected:
            raise EmbeddingError(
                f"{problem} {len(data)} embeddings for {expected} texts; the server may not accept a list "
                "of inputs or may drop empty texts; use another server or model."
            )
        indices = [item.get("index", position) for position, item in enumerate(data)]
        if set(indices) != set(range(expected)):
            raise EmbeddingError(f"{problem} embeddings whose 'index' values are not 0..{expected - 1}.")
        vectors: list[list[float]] = [[] for _ in data]
        for index, item in zip(indices, data, strict=True):
            vectors[index] = _vector(item.get("embedding"), problem)
        sizes = sorted({len(vector) for vector in vectors})
        if len(sizes) > 1:
            raise EmbeddingError(
                f"{problem} vectors of different lengths ({', '.join(map(str, sizes))}) in one answer; {_MODEL_HINT}."
            )
        size = sizes[0]
        if self._configured_dimensions is not None and size != self._configured_dimensions:
            raise EmbeddingError(
                f"{problem} {size}-dimensional vectors, but DEEPLAKE_MCP_EMBEDDING_DIMENSIONS is "
                f"{self._configured_dimensions} (the model may ignore 'dimensions'); {_DIM_HINT}."
            )
        if self._dimensions is not None and size != self._dimensions:
            raise EmbeddingError(
                f"{problem} {size}-dimensional vectors after earlier {self._dimensions}-dimensional ones; "
                "the model behind the endpoint changed; restart the server so stored and new vectors match."
            )
        return vectors

    def _redact(self, text: str) -> str:
        return redact(text, self._api_key)


def _vector(value: object, problem: str) -> list[float]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in value)
    ):
        raise EmbeddingError(
            f"{problem} an 'embedding' that is not a list of numbers (base64 or empty?); "
            "check that the endpoint returns float embeddings."
        )
    vector = [float(x) for x in value]
    if not all(math.isfinite(x) for x in vector):
        raise EmbeddingError(f"{problem} an embedding containing NaN or infinity; check the model.")
    return vector


def _error_detail(response: httpx.Response) -> str:
    """The server's own error message: OpenAI's ``{"error": {"message": …}}`` and common variants."""
    try:
        payload = response.json()
    except ValueError:
        return _snippet(response)
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict):
            error = error.get("message")
        message = error or payload.get("detail") or payload.get("message")
        if isinstance(message, str):
            return redact(message)[:_MAX_ERROR_TEXT]
    return redact(json.dumps(payload))[:_MAX_ERROR_TEXT]


def _snippet(response: httpx.Response) -> str:
    text = response.text.strip()
    looks_html = text[:15].lower().startswith(("<!doctype", "<html"))
    if looks_html or "html" in response.headers.get("content-type", ""):
        return "an HTML page, probably from a proxy or a web server that is not the embedding API"
    return repr(redact(text)[:_MAX_ERROR_TEXT]) if text else "an empty body"


def _display_url(url: str) -> str:
    """``url`` without credentials, query string or trailing slash: safe to show."""
    return str(httpx.URL(url).copy_with(userinfo=b"", query=None, fragment=None)).rstrip("/")
