"""Text in, best rows out: server-side embeddings, hybrid ranking, filters, dimension checks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from deeplake_mcp.app import build_server
from fault_server import FaultServer, running
from mcp_helpers import error_text, payload, settings_for, unique

pytestmark = pytest.mark.anyio

# A small corpus on distinct topics; the queries below paraphrase them with few shared words.
CORPUS = {
    "volcano": "Lava erupted from the mountain and ash covered the nearby villages.",
    "bread": "Knead the dough, let it rise for an hour, then bake it until the crust is golden.",
    "football": "The striker scored twice in the final minutes and the stadium went wild.",
    "python": "Use a list comprehension to build the new list from the old one in a single line.",
    "vaccine": "The injection trains the immune system to recognise the virus before an infection.",
    "stocks": "Share prices fell sharply after the central bank raised interest rates.",
    "whale": "The enormous marine mammal surfaced and blew a spout of water into the air.",
    "guitar": "She tuned the six strings and strummed a few chords of the old folk song.",
    "mars": "The rover drilled into red dust on the fourth planet looking for signs of ancient water.",
    "coffee": "Grind the roasted beans finely and pour hot water slowly through the filter.",
    "sleep": "Adults need seven to nine hours of rest each night to stay healthy and alert.",
    "chess": "He sacrificed his queen to force checkmate three moves later.",
}
QUERIES = {
    "which eruption buried towns under ash?": "volcano",
    "how do I make a loaf at home": "bread",
    "goals late in the soccer match": "football",
    "creating a list concisely in code": "python",
    "how immunisation protects against disease": "vaccine",
    "the market dropped when borrowing became more expensive": "stocks",
    "a huge sea creature came up for air": "whale",
    "playing music on a string instrument": "guitar",
    "exploring another world in our solar system": "mars",
    "brewing an espresso drink": "coffee",
    "how many hours should grown-ups rest": "sleep",
}


@pytest.fixture(scope="module")
def corpus_rows() -> list[dict[str, Any]]:
    return [
        {"id": key, "content": text, "meta": {"topic": key, "long": len(text) > 80}} for key, text in CORPUS.items()
    ]


@pytest.fixture
async def client(data_dir: Path) -> AsyncIterator[Client]:
    async with Client(build_server(settings_for(data_dir))) as c:
        yield c


async def call(client: Client, tool: str, **args: Any) -> Any:
    return payload(await client.call_tool(tool, args))


async def fails(client: Client, tool: str, **args: Any) -> str:
    result = await client.call_tool(tool, args)
    assert result.is_error, result.structured_content
    return error_text(result)


async def make_corpus(client: Client, rows: list[dict[str, Any]]) -> str:
    table = unique("kb")
    sql = f"CREATE TABLE {table} (id TEXT, content TEXT, meta JSONB, embedding FLOAT4[]) USING deeplake"
    await call(client, "execute_sql", sql=sql)
    inserted = await call(client, "insert_rows", table=table, rows=rows, embed={"embedding": "content"})
    assert inserted["inserted"] == len(rows)
    return table


async def test_paraphrased_queries_find_their_document(client: Client, corpus_rows: list[dict[str, Any]]) -> None:
    table = await make_corpus(client, corpus_rows)
    misses = []
    for question, expected in QUERIES.items():
        found = await call(client, "semantic_search", table=table, query=question, k=3, columns=["id"])
        if found["rows"][0][0] != expected:
            misses.append((question, expected, found["rows"]))
    assert not misses


async def test_describe_reports_dimension_and_model(client: Client, corpus_rows: list[dict[str, Any]]) -> None:
    table = await make_corpus(client, corpus_rows[:3])
    desc = await call(client, "describe_table", table=table)
    embedding = next(c for c in desc["columns"] if c["name"] == "embedding")
    assert embedding["vector_dimension"] == 384
    # The server records the model through its own narrow path (server_sql); the agent's path keeps
    # refusing the same kind of statement in this (read-write) mode.
    assert embedding["vector_model"] == "local:all-MiniLM-L6-v2 (int8 ONNX)"
    forged = f"COMMENT ON COLUMN {table}.embedding IS 'deeplake-mcp embedding model: forged'"
    assert "Refused by the SQL guard" in await fails(client, "execute_sql", sql=forged)
    desc = await call(client, "describe_table", table=table)
    assert next(c for c in desc["columns"] if c["name"] == "embedding")["vector_model"].startswith("local:")
    info = await call(client, "server_info")
    assert info["embedder"]["dimensions"] == 384 and info["embedder"]["loaded"] is True


async def test_results_leave_out_vectors_and_keep_scores_ordered(
    client: Client, corpus_rows: list[dict[str, Any]]
) -> None:
    table = await make_corpus(client, corpus_rows)
    found = await call(client, "semantic_search", table=table, query="planets and space", k=5)
    assert found["columns"] == ["id", "content", "meta", "score"]
    scores = [row[-1] for row in found["rows"]]
    assert scores == sorted(scores, reverse=True) and all(-1 <= s <= 1 for s in scores)


async def test_filter_is_applied(client: Client, corpus_rows: list[dict[str, Any]]) -> None:
    table = await make_corpus(client, corpus_rows)
    found = await call(
        client, "semantic_search", table=table, query="volcanic eruption", filter="meta->>'topic' IN ('bread', 'chess')"
    )
    assert {row[0] for row in found["rows"]} == {"bread", "chess"}
    message = await fails(
        client, "semantic_search", table=table, query="x", filter="id = 'a' OR pg_sleep(5) IS NOT NULL"
    )
    assert "Refused filter" in message and "pg_sleep" in message
    message = await fails(client, "semantic_search", table=table, query="x", filter="true; DROP TABLE " + table)
    assert "Refused filter" in message


async def test_hybrid_blends_keywords(client: Client, corpus_rows: list[dict[str, Any]]) -> None:
    table = await make_corpus(client, corpus_rows)
    # "queen" appears only in the chess text; meaning alone ranks chess lower for this query.
    args = {"table": table, "query": "royal family queen", "k": 3, "columns": ["id"], "text_column": "content"}
    keywords = await call(client, "semantic_search", **args, hybrid_weight=1.0)
    assert [row[0] for row in keywords["rows"]] == ["chess"]  # BM25 returns only rows with a query term
    hybrid = await call(client, "semantic_search", **args, hybrid_weight=0.7)
    assert hybrid["rows"][0][0] == "chess"
    meaning = await call(client, "semantic_search", **args, hybrid_weight=0.0)
    assert len(meaning["rows"]) == 3


async def test_embed_checks(client: Client, corpus_rows: list[dict[str, Any]]) -> None:
    table = unique("small")
    await call(
        client, "execute_sql", sql=f"CREATE TABLE {table} (id TEXT, content TEXT, embedding FLOAT4[]) USING deeplake"
    )
    await call(client, "insert_rows", table=table, rows=[{"id": "a", "embedding": [1.0, 0.0, 0.0]}])
    message = await fails(
        client, "insert_rows", table=table, rows=[{"id": "b", "content": "hi"}], embed={"embedding": "content"}
    )
    assert "384-dimensional" in message and "3-dimensional" in message and "nothing was written" in message
    message = await fails(
        client, "insert_rows", table=table, rows=[{"id": "b", "content": "hi"}], embed={"id": "content"}
    )
    assert "not a vector column" in message and "?" not in message
    message = await fails(
        client, "insert_rows", table=table, rows=[{"id": "b", "content": "hi"}], embed={"content": "embedding"}
    )
    assert "not a vector column" in message and '{"embedding": "content"}?' in message
    message = await fails(
        client, "insert_rows", table=table, rows=[{"id": "b", "content": 5}], embed={"embedding": "content"}
    )
    assert "must be text" in message or "384-dimensional" in message


async def test_no_embedder_explains_the_alternatives(data_dir: Path, corpus_rows: list[dict[str, Any]]) -> None:
    async with Client(build_server(settings_for(data_dir, embedder="none"))) as client:
        table = unique("plain")
        await call(
            client,
            "execute_sql",
            sql=f"CREATE TABLE {table} (id TEXT, content TEXT, embedding FLOAT4[]) USING deeplake",
        )
        await call(
            client, "insert_rows", table=table, rows=[{"id": "a", "content": "the quick fox", "embedding": [1.0, 0.0]}]
        )
        message = await fails(client, "semantic_search", table=table, query="fox")
        assert "no text embedder" in message and "vector" in message
        found = await call(
            client, "semantic_search", table=table, query="fox", text_column="content", hybrid_weight=1, columns=["id"]
        )
        assert found["rows"][0][0] == "a"


def fake_embeddings(request_body: dict[str, Any]) -> dict[str, Any]:
    """Deterministic 4-dim 'embeddings': one axis per keyword family."""
    axes = ("fruit", "car", "sea", "music")
    data = []
    for i, text in enumerate(request_body["input"]):
        vec = [1.0 if word in text.lower() else 0.0 for word in axes]
        data.append({"index": i, "embedding": vec if any(vec) else [0.1] * 4})
    return {"data": data, "model": request_body["model"]}


async def test_openai_compatible_embedder_end_to_end(data_dir: Path) -> None:
    with running(FaultServer()) as fake:
        fake.compute("POST", "/v1/embeddings", fake_embeddings)
        settings = settings_for(
            data_dir,
            embedder="openai",
            embedding_url=f"{fake.url}/v1",
            embedding_model="tiny-test-model",
            embedding_api_key="emb-secret",
        )
        async with Client(build_server(settings)) as client:
            table = unique("remote")
            await call(
                client, "execute_sql", sql=f"CREATE TABLE {table} (id TEXT, body TEXT, v FLOAT4[]) USING deeplake"
            )
            rows = [
                {"id": "f", "body": "Fruit salad"},
                {"id": "c", "body": "a fast car"},
                {"id": "s", "body": "the sea"},
            ]
            await call(client, "insert_rows", table=table, rows=rows, embed={"v": "body"})
            found = await call(client, "semantic_search", table=table, query="red car", k=1, columns=["id"])
            assert found["rows"][0][0] == "c"
            desc = await call(client, "describe_table", table=table)
            assert next(c for c in desc["columns"] if c["name"] == "v")["vector_model"].startswith("openai-compatible")
            info = await call(client, "server_info")
            assert "emb-secret" not in str(info)
    requests = [json.loads(s.body) for s in fake.seen]
    assert all(s.headers["authorization"] == "Bearer emb-secret" for s in fake.seen)
    assert requests[0]["model"] == "tiny-test-model"
    assert requests[-1]["input"] == ["red car"]
