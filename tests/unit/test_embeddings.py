"""Text embeddings: the local MiniLM model for real, the OpenAI-compatible client against fake endpoints."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import anyio
import httpx
import pytest

import deeplake_mcp.embeddings as embeddings
from deeplake_mcp.embeddings import (
    Embedder,
    EmbeddingError,
    LocalMiniLMEmbedder,
    OpenAICompatibleEmbedder,
    create_embedder,
)
from deeplake_mcp.embeddings._cache import MAX_QUERIES, CachedQueries

pytestmark = pytest.mark.anyio

KEY = "sk-test-SECRET-key-123"
Handler = Callable[[httpx.Request], httpx.Response]

# Fourteen documents on distinct topics, and paraphrased queries that share few words with their target.
DOCUMENTS = [
    "The recipe calls for flour, butter and sugar, baked at 180 degrees until the crust turns golden.",
    "Our quarterly revenue grew twelve percent, driven by subscription sales in European markets.",
    "The goalkeeper saved a penalty in the final minute, and the club won the championship.",
    "Photosynthesis lets plants turn sunlight, water and carbon dioxide into sugars and oxygen.",
    "Reset your password from the login page; a link will be emailed to the address on file.",
    "The volcano erupted overnight, forcing thousands of villagers to evacuate their homes.",
    "Regular aerobic exercise lowers blood pressure and strengthens the heart muscle.",
    "The museum's new wing displays impressionist paintings by Monet and Renoir.",
    "Interest rates were raised by the central bank to fight persistent inflation.",
    "Pack sunscreen, a passport and light clothing for a summer trip to the Greek islands.",
    "The compiler reports a type error when a string is passed where an integer is expected.",
    "Bees pollinate crops, and their decline threatens fruit and vegetable harvests.",
    "The tenant must give the landlord sixty days notice before moving out of the apartment.",
    "Astronomers detected water vapour in the atmosphere of a distant exoplanet.",
]
QUERIES = {
    "how do I bake a cake at home": 0,
    "company earnings went up this quarter": 1,
    "soccer team takes the title after a late save": 2,
    "how vegetation makes food from light": 3,
    "I forgot my credentials and cannot sign in": 4,
    "people fled when the mountain blew up": 5,
    "cardio workouts are good for cardiovascular health": 6,
    "art gallery opens an exhibition of french painters": 7,
    "monetary policy tightening to curb rising prices": 8,
    "what to bring on a holiday to Greece": 9,
    "why does my program fail to build with a wrong data kind": 10,
    "insects that fertilise flowers are disappearing": 11,
    "rules for ending a rental lease": 12,
    "telescopes find signs of H2O on a faraway world": 13,
}


def dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


# --- package surface ---------------------------------------------------------------------------


def test_all_lists_the_public_names() -> None:
    assert sorted(embeddings.__all__) == [
        "Embedder",
        "EmbeddingError",
        "LocalMiniLMEmbedder",
        "OpenAICompatibleEmbedder",
        "create_embedder",
    ]
    assert all(getattr(embeddings, name) is not None for name in embeddings.__all__)
    with pytest.raises(AttributeError, match="no attribute 'Missing'"):
        _ = embeddings.Missing


def test_importing_the_package_loads_no_backend() -> None:
    code = (
        "import json, sys\n"
        "from deeplake_mcp.embeddings import create_embedder\n"
        "create_embedder('local')\n"
        "print(json.dumps([m for m in ('onnxruntime', 'tokenizers', 'numpy', 'httpx') if m in sys.modules]))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []


def test_factory_builds_each_kind() -> None:
    local = create_embedder("local")
    assert isinstance(local, CachedQueries) and isinstance(local, Embedder)
    assert local.name.startswith("local:") and not local.ready and local.dimensions == 384
    remote = create_embedder("openai", url="http://127.0.0.1:1/v1", model="m", dimensions=8)
    assert isinstance(remote, CachedQueries) and isinstance(remote, Embedder)
    assert remote.name.startswith("openai-compatible:") and remote.dimensions == 8
    assert create_embedder("none") is None


@pytest.mark.parametrize(
    ("kwargs", "needed"),
    [
        ({"model": "m"}, "DEEPLAKE_MCP_EMBEDDING_URL"),
        ({"url": "http://h/v1"}, "DEEPLAKE_MCP_EMBEDDING_MODEL"),
        ({}, "DEEPLAKE_MCP_EMBEDDING_URL and DEEPLAKE_MCP_EMBEDDING_MODEL"),
    ],
)
def test_factory_names_missing_openai_settings(kwargs: dict[str, Any], needed: str) -> None:
    with pytest.raises(ValueError, match=needed):
        create_embedder("openai", **kwargs)


def test_factory_rejects_unknown_kind_listing_choices() -> None:
    with pytest.raises(ValueError, match="local, openai, none"):
        create_embedder("fastembed")


# --- local MiniLM ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def minilm() -> LocalMiniLMEmbedder:
    """One model for the module: it loads on first use (about 0.4 s)."""
    return LocalMiniLMEmbedder()


def test_local_reports_itself_without_loading() -> None:
    embedder = LocalMiniLMEmbedder()
    assert embedder.name == "local:all-MiniLM-L6-v2 (int8 ONNX)"
    assert embedder.dimensions == 384
    assert not embedder.ready


async def test_local_vectors_are_unit_length_and_deterministic(minilm: LocalMiniLMEmbedder) -> None:
    first = await minilm.embed_documents(DOCUMENTS[:5])
    again = await minilm.embed_documents(DOCUMENTS[:5])
    assert minilm.ready
    assert first == again
    for vector in first:
        assert len(vector) == 384
        assert all(type(x) is float for x in vector)
        assert math.isclose(math.sqrt(dot(vector, vector)), 1.0, abs_tol=1e-5)


async def test_local_batch_equals_one_by_one_across_batches() -> None:
    embedder = LocalMiniLMEmbedder(batch_size=4)  # 14 texts of mixed length: 4 padded batches
    texts = [*DOCUMENTS, "", "short", "x " * 400]
    together = await embedder.embed_documents(texts)
    for text, vector in zip(texts, together, strict=True):
        single = await embedder.embed_query(text)
        assert max(abs(a - b) for a, b in zip(single, vector, strict=True)) < 1e-5


async def test_local_concurrent_queries_equal_single_ones(minilm: LocalMiniLMEmbedder) -> None:
    queries = [*QUERIES, "", "x " * 300]
    alone = [await minilm.embed_query(query) for query in queries]
    together = await asyncio.gather(*(minilm.embed_query(query) for query in queries))  # merged into few calls
    for single, merged in zip(alone, together, strict=True):
        assert max(abs(a - b) for a, b in zip(single, merged, strict=True)) < 1e-5


async def test_local_relevance_paraphrased_queries(minilm: LocalMiniLMEmbedder) -> None:
    documents = await minilm.embed_documents(DOCUMENTS)
    misses = []
    for query, target in QUERIES.items():
        vector = await minilm.embed_query(query)
        scores = [dot(vector, document) for document in documents]
        if max(range(len(scores)), key=scores.__getitem__) != target:
            misses.append(query)
    assert misses == []


async def test_local_edge_inputs(minilm: LocalMiniLMEmbedder) -> None:
    assert await LocalMiniLMEmbedder().embed_documents([]) == []
    (empty,) = await minilm.embed_documents([""])
    assert len(empty) == 384 and math.isclose(dot(empty, empty), 1.0, abs_tol=1e-5)
    long_text = await minilm.embed_query("word " * 5_000)  # truncated to 256 tokens
    assert len(long_text) == 384


@pytest.mark.parametrize("texts", ["a bare string", ["ok", 3], [None]])
async def test_local_rejects_non_strings(minilm: LocalMiniLMEmbedder, texts: Any) -> None:
    with pytest.raises(EmbeddingError, match="str"):
        await minilm.embed_documents(texts)


async def test_local_query_must_be_a_string(minilm: LocalMiniLMEmbedder) -> None:
    with pytest.raises(EmbeddingError, match="not a string"):
        await minilm.embed_query(b"bytes")  # type: ignore[arg-type]


async def test_concurrent_warm_ups_load_the_model_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import onnxruntime

    sessions: list[object] = []
    real_session = onnxruntime.InferenceSession

    def counting_session(*args: Any, **kwargs: Any) -> object:
        sessions.append(real_session(*args, **kwargs))
        return sessions[-1]

    monkeypatch.setattr(onnxruntime, "InferenceSession", counting_session)
    embedder = LocalMiniLMEmbedder()
    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(embedder.warm_up)
    await embedder.warm_up()
    await embedder.embed_query("after warm-up")
    assert len(sessions) == 1
    assert embedder.ready


async def test_local_closed_embedder_refuses() -> None:
    embedder = LocalMiniLMEmbedder()
    await embedder.aclose()
    with pytest.raises(EmbeddingError, match="closed"):
        await embedder.embed_query("anything")


# --- OpenAI-compatible client against httpx.MockTransport ---------------------------------------


def fake_vector(text: str, dimensions: int = 8) -> list[float]:
    """A deterministic stand-in embedding."""
    return [byte / 255 for byte in hashlib.shake_256(text.encode()).digest(dimensions)]


def answer(texts: list[str], dimensions: int = 8) -> dict[str, Any]:
    """An OpenAI-style answer, deliberately in reverse index order."""
    data = [
        {"object": "embedding", "index": i, "embedding": fake_vector(text, dimensions)} for i, text in enumerate(texts)
    ]
    return {"object": "list", "data": data[::-1], "model": "m", "usage": {"prompt_tokens": 1}}


def openai_for(handler: Handler, **kwargs: Any) -> OpenAICompatibleEmbedder:
    kwargs.setdefault("base_url", "http://embed.test/v1/")
    kwargs.setdefault("model", "text-embedding-3-small")
    return OpenAICompatibleEmbedder(transport=httpx.MockTransport(handler), **kwargs)


def echo(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=answer(json.loads(request.content)["input"]))


async def test_openai_request_shape_and_index_order() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return echo(request)

    embedder = openai_for(handler, api_key=KEY)
    assert embedder.dimensions is None and not embedder.ready
    vectors = await embedder.embed_documents(["alpha", "beta", "gamma"])
    assert vectors == [fake_vector("alpha"), fake_vector("beta"), fake_vector("gamma")]
    (request,) = requests
    assert request.method == "POST" and str(request.url) == "http://embed.test/v1/embeddings"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert json.loads(request.content) == {
        "model": "text-embedding-3-small",
        "input": ["alpha", "beta", "gamma"],
    }
    assert embedder.ready and embedder.dimensions == 8
    assert embedder.name == "openai-compatible:text-embedding-3-small@http://embed.test/v1"
    await embedder.aclose()


async def test_openai_batches_and_sends_configured_dimensions_without_key() -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert "authorization" not in request.headers
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json=answer(bodies[-1]["input"], dimensions=16))

    embedder = openai_for(handler, dimensions=16)
    texts = [f"text {i}" for i in range(300)]
    vectors = await embedder.embed_documents(texts)
    assert [len(body["input"]) for body in bodies] == [128, 128, 44]
    assert all(body["dimensions"] == 16 for body in bodies)
    assert vectors == [fake_vector(text, 16) for text in texts]
    assert await embedder.embed_documents([]) == [] and len(bodies) == 3


def test_openai_name_hides_credentials() -> None:
    embedder = openai_for(echo, base_url="https://user:pw@host.example/v1?api-key=abc", api_key=KEY)
    assert embedder.name == "openai-compatible:text-embedding-3-small@https://host.example/v1"


async def test_openai_401_shows_server_message_and_hint_never_the_key() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        message = f"Incorrect API key provided: {KEY}."
        return httpx.Response(401, json={"error": {"message": message, "type": "invalid_request_error"}})

    with pytest.raises(EmbeddingError) as caught:
        await openai_for(handler, api_key=KEY).embed_query("q")
    text = str(caught.value)
    assert "401" in text and "Incorrect API key provided" in text
    assert "DEEPLAKE_MCP_EMBEDDING_API_KEY" in text
    assert KEY not in text


async def test_openai_500_html_page_is_described_not_dumped() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        page = "<!DOCTYPE html><html><body><h1>Internal Server Error</h1></body></html>"
        return httpx.Response(500, text=page, headers={"content-type": "text/html"})

    with pytest.raises(EmbeddingError, match=r"500 Internal Server Error: an HTML page") as caught:
        await openai_for(handler).embed_query("q")
    assert "<html" not in str(caught.value)
    assert calls == 1  # 500 is not retried


@pytest.mark.parametrize(
    ("handler", "match"),
    [
        (lambda r: httpx.Response(200, text="not json"), "not JSON"),
        (lambda r: httpx.Response(200, json={"error": "model not loaded"}), "model not loaded"),
        (lambda r: httpx.Response(200, json=answer(["only one"])), "1 embeddings for 2 texts"),
        (
            lambda r: httpx.Response(
                200, json={"data": [{"index": 0, "embedding": [1.0]}, {"index": 0, "embedding": [1.0]}]}
            ),
            "'index' values",
        ),
        (
            lambda r: httpx.Response(
                200, json={"data": [{"index": 0, "embedding": "AAAA"}, {"index": 1, "embedding": [1.0]}]}
            ),
            "not a list of numbers",
        ),
        (
            lambda r: httpx.Response(
                200, json={"data": [{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": [1.0, 2.0]}]}
            ),
            r"different lengths \(1, 2\)",
        ),
    ],
)
async def test_openai_wrong_shapes(handler: Handler, match: str) -> None:
    with pytest.raises(EmbeddingError, match=match):
        await openai_for(handler).embed_documents(["a", "b"])


async def test_openai_dimension_differs_from_configured() -> None:
    embedder = openai_for(lambda r: httpx.Response(200, json=answer(["a"], dimensions=768)), dimensions=256)
    with pytest.raises(EmbeddingError, match="768-dimensional.*DEEPLAKE_MCP_EMBEDDING_DIMENSIONS is 256"):
        await embedder.embed_query("a")
    assert not embedder.ready


async def test_openai_dimension_change_between_calls() -> None:
    sizes = iter([8, 4])
    embedder = openai_for(lambda r: httpx.Response(200, json=answer(["a"], dimensions=next(sizes))))
    await embedder.embed_query("a")
    with pytest.raises(EmbeddingError, match="4-dimensional vectors after earlier 8-dimensional"):
        await embedder.embed_query("a")


async def test_openai_retries_429_then_succeeds() -> None:
    statuses = iter([429, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(statuses)
        if status == 429:
            return httpx.Response(429, json={"error": {"message": "slow down"}}, headers={"Retry-After": "0"})
        return echo(request)

    assert await openai_for(handler).embed_query("q") == fake_vector("q")


async def test_openai_gives_up_after_three_503s() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503, json={"detail": "overloaded"}, headers={"Retry-After": "0"})

    with pytest.raises(EmbeddingError, match="503 Service Unavailable after 3 tries: overloaded"):
        await openai_for(handler).embed_query("q")
    assert calls == 3


async def test_openai_timeout_is_not_retried() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(EmbeddingError, match="did not answer within 30 s"):
        await openai_for(handler).embed_query("q")
    assert calls == 1


async def test_openai_non_strings_and_closed_client() -> None:
    embedder = openai_for(echo)
    with pytest.raises(EmbeddingError, match="not a string"):
        await embedder.embed_documents(["ok", 1])  # type: ignore[list-item]
    await embedder.aclose()
    with pytest.raises(EmbeddingError, match="closed"):
        await embedder.embed_query("q")


async def test_openai_concurrent_warm_ups_send_one_request() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return echo(request)

    embedder = openai_for(handler)
    async with anyio.create_task_group() as group:
        group.start_soon(embedder.warm_up)
        group.start_soon(embedder.warm_up)
    assert calls == 1 and embedder.ready and embedder.dimensions == 8


# --- OpenAI-compatible client over a real socket -------------------------------------------------


class _FakeEmbeddingAPI(BaseHTTPRequestHandler):
    """``POST /v1/embeddings`` with deterministic vectors; 401 without the right bearer token. ``inputs``
    records what each request asked to embed."""

    inputs: ClassVar[list[Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.inputs.append(body.get("input"))
        if self.path != "/v1/embeddings":
            self._send(404, {"error": {"message": f"no route {self.path}"}})
        elif self.headers.get("Authorization") != f"Bearer {KEY}":
            self._send(401, {"error": {"message": "Invalid API key"}})
        else:
            self._send(200, answer(body["input"], dimensions=body.get("dimensions", 8)))

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""


@pytest.fixture(scope="module")
def fake_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeEmbeddingAPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


async def test_openai_over_real_http(fake_api: str) -> None:
    embedder = create_embedder("openai", url=fake_api, model="fake", api_key=KEY, dimensions=12)
    assert embedder is not None
    await embedder.warm_up()
    assert embedder.ready and embedder.dimensions == 12
    texts = [f"document {i}" for i in range(200)]
    assert await embedder.embed_documents(texts) == [fake_vector(text, 12) for text in texts]
    assert await embedder.embed_query("query") == fake_vector("query", 12)
    await embedder.aclose()

    wrong_key = create_embedder("openai", url=fake_api, model="fake", api_key="wrong")
    assert wrong_key is not None
    with pytest.raises(EmbeddingError, match="401 Unauthorized: Invalid API key"):
        await wrong_key.embed_query("query")
    await wrong_key.aclose()


async def test_recent_queries_are_not_embedded_again(fake_api: str) -> None:
    embedder = create_embedder("openai", url=fake_api, model="fake", api_key=KEY, dimensions=12)
    assert embedder is not None
    _FakeEmbeddingAPI.inputs.clear()
    first = await embedder.embed_query("rivers in spring")
    first.append(99.0)  # the caller's list is its own: the kept vector is unchanged
    again = await embedder.embed_query("rivers in spring")
    assert again == fake_vector("rivers in spring", 12)
    assert _FakeEmbeddingAPI.inputs == [["rivers in spring"]]  # one request for both
    # Least recently used out, past the cache's size; very long texts are never kept; documents never.
    for i in range(MAX_QUERIES):
        await embedder.embed_query(f"query {i}")
    await embedder.embed_query("rivers in spring")
    long_text = "word " * 1000
    for _ in range(2):
        await embedder.embed_query(long_text)
        await embedder.embed_documents(["a document"])
    assert _FakeEmbeddingAPI.inputs.count(["rivers in spring"]) == 2
    assert _FakeEmbeddingAPI.inputs.count([long_text]) == 2 and _FakeEmbeddingAPI.inputs.count(["a document"]) == 2
    await embedder.aclose()


async def test_openai_unreachable_server_after_retries() -> None:
    with socket.socket() as closed:  # bound but not listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        embedder = OpenAICompatibleEmbedder(base_url=f"http://127.0.0.1:{port}/v1", model="m")
        with pytest.raises(EmbeddingError, match="could not reach the embedding endpoint.*is the server running"):
            await embedder.embed_query("q")
        await embedder.aclose()
