"""BM25 keyword search and hybrid search (`<#>`) of the local API, against reference computations."""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from local_api_helpers import rows, run

pytestmark = pytest.mark.anyio

K1, B = 1.2, 0.75


# Reference implementations


def tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def bm25(docs: Sequence[str | None], query: str) -> list[float | None]:
    """Okapi BM25 (k1 1.2, b 0.75, IDF ln(1 + (N - df + 0.5) / (df + 0.5))) of every doc."""
    docs_tokens = [None if doc is None else tokens(doc) for doc in docs]
    present = [doc for doc in docs_tokens if doc is not None]
    n = len(present)
    avgdl = sum(map(len, present)) / n
    terms = sorted(set(tokens(query)))
    df = {term: sum(1 for doc in present if term in doc) for term in terms}
    scores: list[float | None] = []
    for doc in docs_tokens:
        if doc is None:
            scores.append(None)
            continue
        score = 0.0
        for term in terms:
            tf = doc.count(term)
            if tf:
                idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
                score += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * len(doc) / avgdl))
        scores.append(score)
    return scores


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def softmax(scores: dict[int, float]) -> dict[int, float]:
    exps = {key: math.exp(min(value, 700)) for key, value in scores.items()}
    total = sum(exps.values())
    return {key: value / total for key, value in exps.items()}


def hybrid(
    rows: Sequence[tuple[int, list[float], str]],
    vector: list[float],
    query: str,
    k: int,
    weights: tuple[float, float] = (0.5, 0.5),
) -> list[tuple[int, float]]:
    """pg_deeplake's merge: softmax of the top-k cosine and top-k BM25 hits, weighted, summed."""
    cosines = {row_id: cosine(embedding, vector) for row_id, embedding, _ in rows}
    texts = bm25([text for _, _, text in rows], query)
    query_terms = set(tokens(query))
    matching = {
        row_id: score
        for (row_id, _, text), score in zip(rows, texts, strict=True)
        if query_terms & set(tokens(text)) and score is not None
    }
    top_vector = dict(sorted(cosines.items(), key=lambda item: -item[1])[:k])
    top_text = dict(sorted(matching.items(), key=lambda item: -item[1])[:k])
    merged: dict[int, float] = {}
    for weight, scores in zip(weights, (top_vector, top_text), strict=True):
        for row_id, value in softmax(scores).items():
            merged[row_id] = merged.get(row_id, 0.0) + weight * value
    return sorted(merged.items(), key=lambda item: -item[1])[:k]


# BM25

CORPUS = [
    "The quick brown fox jumps over the lazy dog",
    "A quick brown dog outpaces a quick fox",
    "Lazy dogs sleep all day",
    "Foxes are wild animals; a fox is quick",
    "Nothing to see here",
    None,
    "dog dog dog dog",
    "Café crème for the quick reader",
]


async def load_corpus(client: httpx.AsyncClient, ws: str) -> None:
    await run(client, ws, "CREATE TABLE docs (id INT, body TEXT) USING deeplake")
    response = await client.post(
        f"/workspaces/{ws}/tables/query/batch",
        json={
            "query": "INSERT INTO docs VALUES ($1, $2)",
            "params_batch": [[i, text] for i, text in enumerate(CORPUS, start=1)],
        },
    )
    assert response.status_code == 200, response.text


def expected_ranking(query: str) -> list[tuple[int, float]]:
    scores = bm25(CORPUS, query)
    terms = set(tokens(query))
    hits = [
        (i, score)
        for i, (text, score) in enumerate(zip(CORPUS, scores, strict=True), start=1)
        if text is not None and score is not None and terms & set(tokens(text))
    ]
    return sorted(hits, key=lambda hit: (-hit[1], hit[0]))


def test_reference_matches_hand_computed_values() -> None:
    # N = 3, avgdl = 2; "c" occurs in one doc (df = 1) twice (tf = 2) among 3 tokens (dl = 3).
    idf = math.log(1 + (3 - 1 + 0.5) / (1 + 0.5))
    assert idf == pytest.approx(0.980829, abs=1e-6)
    expected = idf * 2 * 2.2 / (2 + 1.2 * (0.25 + 0.75 * 3 / 2))
    assert expected == pytest.approx(1.182370, abs=1e-6)
    assert bm25(["a b", "b c c", "d"], "c") == pytest.approx([0.0, expected, 0.0])


@pytest.mark.parametrize("query", ["quick fox", "dog", "LAZY Dogs", "café", "fox jumps wild"])
async def test_bm25_ranking_matches_reference(local_client: httpx.AsyncClient, ws: str, query: str) -> None:
    await load_corpus(local_client, ws)
    expected = expected_ranking(query)
    for order in ("DESC", "ASC", ""):
        ranked = await rows(
            local_client,
            ws,
            f"SELECT id, body <#> $1 AS score FROM docs ORDER BY score {order}, id LIMIT 10",
            [query],
        )
        assert [row_id for row_id, _ in ranked] == [row_id for row_id, _ in expected]
        assert [score for _, score in ranked] == pytest.approx([s for _, s in expected], rel=1e-6)


async def test_bm25_only_matching_rows_best_first(local_client: httpx.AsyncClient, ws: str) -> None:
    await load_corpus(local_client, ws)
    expected = [row_id for row_id, _ in expected_ranking("quick fox")]
    assert expected == [2, 4, 1, 8]
    forms: list[tuple[str, list[Any]]] = [
        ("SELECT id FROM docs ORDER BY body <#> 'quick fox' LIMIT 3", []),
        ("SELECT id FROM docs ORDER BY body <#> 'quick fox' DESC LIMIT 3", []),
        ("SELECT id, body <#> 'quick fox' FROM docs ORDER BY 2 LIMIT 3", []),
        ("SELECT id, body <#> $1 AS s FROM docs ORDER BY s LIMIT $2", ["quick fox", 3]),
        ("SELECT d.id FROM docs AS d ORDER BY d.body <#> $1::text LIMIT 3", ["quick fox"]),
        ('SELECT id FROM "{ws}"."docs" ORDER BY body <#> \'quick fox\' LIMIT 3', []),
    ]
    for query, params in forms:
        got = await rows(local_client, ws, query.format(ws=ws), params)
        assert [row[0] for row in got] == expected[:3], query
    everything = await rows(local_client, ws, "SELECT id FROM docs ORDER BY body <#> 'quick fox'")
    assert [row[0] for row in everything] == expected
    none = await rows(local_client, ws, "SELECT id FROM docs ORDER BY body <#> 'zebra' LIMIT 5")
    assert none == []
    no_terms = await rows(local_client, ws, "SELECT id FROM docs ORDER BY body <#> '  ...  ' LIMIT 5")
    assert no_terms == []


async def test_bm25_filters_combine(local_client: httpx.AsyncClient, ws: str) -> None:
    await load_corpus(local_client, ws)
    expected = [row_id for row_id, _ in expected_ranking("quick fox") if row_id % 2 == 0]
    got = await rows(
        local_client, ws, "SELECT id FROM docs WHERE id % 2 = 0 ORDER BY body <#> 'quick fox' DESC LIMIT 10"
    )
    assert [row[0] for row in got] == expected
    # Statistics come from the whole column, not from the filtered rows.
    [[score]] = await rows(local_client, ws, "SELECT body <#> 'dog' FROM docs WHERE id = 7")
    assert score == pytest.approx(bm25(CORPUS, "dog")[6], rel=1e-6)


async def test_bm25_plain_scores(local_client: httpx.AsyncClient, ws: str) -> None:
    await load_corpus(local_client, ws)
    got = await rows(local_client, ws, "SELECT id, body <#> 'quick dog' FROM docs ORDER BY id")
    expected = bm25(CORPUS, "quick dog")
    assert [row[0] for row in got] == list(range(1, len(CORPUS) + 1))
    assert [row[1] for row in got] == [None if s is None else pytest.approx(s, rel=1e-6) for s in expected]
    assert got[4][1] == 0  # no match scores 0
    assert got[5][1] is None  # NULL text
    # In WHERE and in an expression, inside a subquery and a CTE.
    assert await rows(local_client, ws, "SELECT count(*) FROM docs WHERE body <#> 'quick dog' > 0") == [
        [sum(1 for s in expected if s)]
    ]
    rounded = await rows(
        local_client,
        ws,
        "WITH hits AS (SELECT id, round((body <#> 'dog')::numeric, 3) AS s FROM docs "
        "ORDER BY body <#> 'dog' LIMIT 2) SELECT * FROM (SELECT id, s FROM hits) AS sub ORDER BY id",
    )
    dog = expected_ranking("dog")[:2]
    assert rounded == sorted([[row_id, round(score, 3)] for row_id, score in dog])


async def test_bm25_outside_a_single_table_select(local_client: httpx.AsyncClient, ws: str) -> None:
    # No table: the operator scores against a corpus of one document (IDF ln(1 + 0.5 / 1.5)).
    [[alone, miss]] = await rows(local_client, ws, "SELECT 'dog dog cat' <#> 'dog', 'cat' <#> 'dog'")
    idf = math.log(1 + 0.5 / 1.5)
    assert alone == pytest.approx(idf * 2 * 2.2 / (2 + 1.2), rel=1e-6)
    assert miss == 0


async def test_bm25_speed_on_10000_documents(local_client: httpx.AsyncClient, ws: str) -> None:
    rng = random.Random(7)
    words = [f"w{i}" for i in range(400)]
    bodies = [" ".join(rng.choice(words) for _ in range(rng.randint(5, 15))) for _ in range(10_000)]
    await run(local_client, ws, "CREATE TABLE big (id SERIAL, body TEXT) USING deeplake")
    await run(local_client, ws, "INSERT INTO big (body) SELECT unnest($1::text[])", [bodies])
    query = "SELECT id, body <#> $1 AS score FROM big ORDER BY score DESC LIMIT 10"
    started = time.perf_counter()
    ranked = await rows(local_client, ws, query, ["w1 w2 w3"])
    elapsed = time.perf_counter() - started
    print(f"BM25 top-10 over 10 000 documents: {elapsed * 1000:.0f} ms")
    expected = sorted(
        ((i, s) for i, s in enumerate(bm25(bodies, "w1 w2 w3"), start=1) if s),
        key=lambda hit: -hit[1],
    )[:10]
    assert [score for _, score in ranked] == pytest.approx([score for _, score in expected], rel=1e-5)
    assert elapsed < 2.0


# The pg_deeplake test corpus (postgres/tests/sql/hybrid_search.sql)

KEYWORDS = [
    "machine learning algorithms introduction",
    "data science guide methodologies",
    "artificial intelligence neural networks deep learning",
    "python programming tutorial advanced",
    "database design optimization principles",
    "nlp natural language processing ai",
    "cloud computing infrastructure distributed systems",
    "computer vision image recognition object detection",
    "big data architecture scalability",
    "reinforcement learning agents decision making",
    "devops automation ci/cd pipelines",
    "cybersecurity threats vulnerabilities protection",
    "edge computing low latency data processing",
    "graph databases relationships queries",
    "quantum computing algorithms qubits",
    "explainable ai model interpretability",
    "time series analysis forecasting temporal",
    "generative models gans vae synthetic data",
    "feature engineering model performance",
    "model deployment production environments",
    "ai ethics ethical considerations",
    "data privacy principles techniques",
    "robotics automation ai integration",
    "ai-driven decision making complex processes",
    "ai in healthcare medical research",
    "ai in finance banking financial services",
]
EMBEDDINGS = [[round(0.1 * (i + j), 1) for j in range(1, 6)] for i in range(len(KEYWORDS))]
QUERY_VECTOR = [0.1, 0.2, 0.3, 0.4, 0.5]


async def load_pg_deeplake_corpus(client: httpx.AsyncClient, ws: str) -> None:
    await run(
        client,
        ws,
        "CREATE TABLE documents (id SERIAL PRIMARY KEY, embedding_1d FLOAT4[], keywords TEXT) USING deeplake",
    )
    await run(
        client,
        ws,
        "INSERT INTO documents (embedding_1d, keywords) SELECT e::float4[], k "
        "FROM unnest($1::text[], $2::text[]) AS u(e, k)",
        [["{" + ",".join(map(str, e)) + "}" for e in EMBEDDINGS], KEYWORDS],
    )


async def test_pg_deeplake_bm25_expectations(local_client: httpx.AsyncClient, ws: str) -> None:
    await load_pg_deeplake_corpus(local_client, ws)
    ranked = await rows(
        local_client,
        ws,
        "SELECT id, keywords <#> 'machine learning' AS score FROM documents ORDER BY score LIMIT 10",
    )
    # pg_deeplake's own test: the three rows with a query term, best first, ASC or not.
    assert [row_id for row_id, _ in ranked] == [1, 10, 3]
    # Its BM25 (closed source) is not exactly ours: the values agree within 10 %.
    assert [score for _, score in ranked] == pytest.approx([5.057182, 1.8425648, 1.6849195], rel=0.1)
    reference = sorted((score for score in bm25(KEYWORDS, "machine learning") if score), reverse=True)
    assert [score for _, score in ranked] == pytest.approx(reference, rel=1e-6)


# Hybrid

HYBRID_FORMS = [
    ("(embedding_1d, keywords)::deeplake_hybrid_record <#> deeplake_hybrid_record({vec}, {q})", (0.5, 0.5)),
    ("(embedding_1d, keywords) <#> deeplake_hybrid_record({vec}, {q})", (0.5, 0.5)),
    (
        "(embedding_1d, keywords)::deeplake_hybrid_record <#> deeplake_hybrid_record({vec}, {q}, 0.999, 0.001)",
        (0.999, 0.001),
    ),
    ("(embedding_1d, keywords) <#> ({vec}, {q}, 0.4, 0.6)::deeplake_hybrid_record_weighted", (0.4, 0.6)),
]


@pytest.mark.parametrize(("form", "weights"), HYBRID_FORMS)
async def test_hybrid_scores_match_reference(
    local_client: httpx.AsyncClient, ws: str, form: str, weights: tuple[float, float]
) -> None:
    await load_pg_deeplake_corpus(local_client, ws)
    vec = "ARRAY[0.1, 0.2, 0.3, 0.4, 0.5]::float4[]"
    expression = form.format(vec=vec, q="'machine learning'")
    got = await rows(local_client, ws, f"SELECT id, {expression} AS score FROM documents ORDER BY score LIMIT 10")
    reference = hybrid(
        [(i, e, k) for i, (e, k) in enumerate(zip(EMBEDDINGS, KEYWORDS, strict=True), start=1)],
        QUERY_VECTOR,
        "machine learning",
        10,
        weights,
    )
    assert [row_id for row_id, _ in got] == [row_id for row_id, _ in reference]
    assert [score for _, score in got] == pytest.approx([score for _, score in reference], rel=1e-5)


async def test_hybrid_against_pg_deeplake_expectations(local_client: httpx.AsyncClient, ws: str) -> None:
    await load_pg_deeplake_corpus(local_client, ws)
    got = await rows(
        local_client,
        ws,
        "SELECT id, (embedding_1d, keywords) <#> deeplake_hybrid_record(ARRAY[0.1, 0.2, 0.3, 0.4, 0.5], "
        "'machine learning') AS score FROM documents ORDER BY score LIMIT 10",
    )
    expected = [
        (1, 0.51680136),
        (10, 0.0675575),
        (3, 0.06673473),
        (2, 0.051201202),
        (4, 0.050353017),
        (5, 0.04999321),
        (6, 0.04968867),
        (7, 0.049431425),
        (8, 0.049212944),
        (9, 0.049025923),
    ]
    assert [row_id for row_id, _ in got] == [row_id for row_id, _ in expected]
    # The vector half is exact; the BM25 half differs a little (see the BM25 test above).
    assert [score for _, score in got] == pytest.approx([score for _, score in expected], rel=0.05)


async def test_hybrid_with_params_filters_and_small_k(local_client: httpx.AsyncClient, ws: str) -> None:
    await load_pg_deeplake_corpus(local_client, ws)
    got = await rows(
        local_client,
        ws,
        "SELECT d.id, (d.embedding_1d, d.keywords)::deeplake_hybrid_record "
        "<#> deeplake_hybrid_record($1::float4[], $2, 0.3, 0.7) AS score "
        "FROM documents AS d WHERE d.id > 2 ORDER BY score DESC LIMIT $3",
        [[0.9, 1.0, 1.1, 1.2, 1.3], "data processing ai", 4],
    )
    table = [(i, e, k) for i, (e, k) in enumerate(zip(EMBEDDINGS, KEYWORDS, strict=True), start=1) if i > 2]
    # BM25 statistics cover the whole column; the reference gets them from all rows.
    all_scores = dict(enumerate(bm25(KEYWORDS, "data processing ai"), start=1))
    terms = set(tokens("data processing ai"))
    text_hits = {i: all_scores[i] for i, _, k in table if terms & set(tokens(k))}
    vector_hits = {i: cosine(e, [0.9, 1.0, 1.1, 1.2, 1.3]) for i, e, _ in table}
    merged: dict[int, float] = {}
    for weight, hits in ((0.3, vector_hits), (0.7, text_hits)):
        top = dict(sorted(hits.items(), key=lambda item: -(item[1] or 0))[:4])
        for row_id, value in softmax({i: s or 0.0 for i, s in top.items()}).items():
            merged[row_id] = merged.get(row_id, 0.0) + weight * value
    expected = sorted(merged.items(), key=lambda item: -item[1])[:4]
    assert [row_id for row_id, _ in got] == [row_id for row_id, _ in expected]
    assert [score for _, score in got] == pytest.approx([score for _, score in expected], rel=1e-5)


async def test_hybrid_outside_ranking_scores_zero_for_other_rows(local_client: httpx.AsyncClient, ws: str) -> None:
    await load_pg_deeplake_corpus(local_client, ws)
    got = await rows(
        local_client,
        ws,
        "SELECT id, (embedding_1d, keywords) <#> deeplake_hybrid_record(ARRAY[0.1, 0.2, 0.3, 0.4, 0.5], "
        "'machine learning') AS score FROM documents ORDER BY id LIMIT 3",
    )
    # k = 3: the three best cosines (rows 1-3) and the three BM25 hits (1, 10, 3) are merged.
    reference = dict(
        hybrid(
            [(i, e, k) for i, (e, k) in enumerate(zip(EMBEDDINGS, KEYWORDS, strict=True), start=1)],
            QUERY_VECTOR,
            "machine learning",
            3,
        )
    )
    assert [row_id for row_id, _ in got] == [1, 2, 3]
    assert [score for _, score in got] == pytest.approx([reference.get(i, 0.0) for i in (1, 2, 3)], rel=1e-5)


async def test_hybrid_needs_a_single_table(local_client: httpx.AsyncClient, ws: str) -> None:
    await load_pg_deeplake_corpus(local_client, ws)
    response = await local_client.post(
        f"/workspaces/{ws}/tables/query",
        json={
            "query": "SELECT a.id, (a.embedding_1d, a.keywords)::deeplake_hybrid_record <#> "
            "deeplake_hybrid_record(ARRAY[1,2,3,4,5]::float4[], 'ai') "
            "FROM documents a JOIN documents b USING (id)"
        },
    )
    assert response.status_code == 400
    assert "hybrid search" in response.json()["error"]


async def test_vector_search_is_unchanged(local_client: httpx.AsyncClient, ws: str) -> None:
    await load_pg_deeplake_corpus(local_client, ws)
    got = await rows(
        local_client,
        ws,
        "SELECT id, embedding_1d <#> ARRAY[0.1, 0.2, 0.3, 0.4, 0.5]::float4[] AS score "
        "FROM documents ORDER BY score DESC LIMIT 3",
    )
    assert [row_id for row_id, _ in got] == [1, 2, 3]
    assert [score for _, score in got] == pytest.approx([1.0, 0.99493665, 0.98644006], abs=1e-6)
