"""Speed of the local embedder (all-MiniLM-L6-v2, int8 ONNX) through its public async API.

Measures the load time (first load in this process, imports included, then reloads), the
latency of one query sentence (median and p95 over ``--runs`` calls) and batched throughput
(sentences/s for batches of 32, 64 and 128 over ``--sentences`` sentences of 8–20 words).
Writes the result to ``--json-out`` (targets: < 10 ms for one sentence, ≥ 300 sentences/s batched).

    .venv/bin/python bench/embed_bench.py [--sentences 1000] [--runs 200] [--repeat 3]
"""

from __future__ import annotations

import os
import platform
import random
import statistics
import time
from typing import Any

import anyio
from _common import measure, parser, target, write_result

from deeplake_mcp.embeddings import LocalMiniLMEmbedder

BATCH_SIZES = (32, 64, 128)
VOCABULARY = """
the a of to and in for on with at by from about data table query vector search model server user
report year market price city river mountain garden kitchen music film book school doctor patient
weather storm energy solar battery engine train flight hotel museum painting history science
planet ocean forest animal bird coffee recipe bread cheese football match team player season
quickly slowly often never always new old large small bright dark quiet loud cheap expensive
build find open close send read write sell buy grow fall rise travel cook learn teach explain
"""


def make_sentences(n: int, seed: int = 0) -> list[str]:
    """``n`` deterministic sentences of 8–20 words."""
    rng = random.Random(seed)
    words = VOCABULARY.split()
    return [" ".join(rng.choices(words, k=rng.randint(8, 20))).capitalize() + "." for _ in range(n)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure_load(repeat: int) -> dict[str, Any]:
    started = time.perf_counter()
    await LocalMiniLMEmbedder().warm_up()
    first = time.perf_counter() - started
    reloads = []
    for _ in range(repeat):
        embedder = LocalMiniLMEmbedder()
        started = time.perf_counter()
        await embedder.warm_up()
        reloads.append(time.perf_counter() - started)
        await embedder.aclose()
    return {"first_load_s": first, "reload_s": reloads, "reload_median_s": statistics.median(reloads)}


async def measure_latency(sentences: list[str], runs: int) -> dict[str, Any]:
    embedder = LocalMiniLMEmbedder()
    await embedder.warm_up()
    for sentence in sentences[:10]:
        await embedder.embed_query(sentence)
    timings = []
    for i in range(runs):
        started = time.perf_counter()
        await embedder.embed_query(sentences[i % len(sentences)])
        timings.append(time.perf_counter() - started)
    await embedder.aclose()
    return {
        "runs": runs,
        "median_ms": statistics.median(timings) * 1000,
        "p95_ms": percentile(timings, 0.95) * 1000,
        "min_ms": min(timings) * 1000,
    }


async def measure_throughput(sentences: list[str], batch_size: int, repeat: int) -> dict[str, Any]:
    embedder = LocalMiniLMEmbedder(batch_size=batch_size)
    await embedder.embed_documents(sentences[: batch_size * 2])  # load and warm the session
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        await embedder.embed_documents(sentences)
        seconds.append(time.perf_counter() - started)
    await embedder.aclose()
    return {
        "batch_size": batch_size,
        "seconds": seconds,
        "sentences_per_s": len(sentences) / statistics.median(seconds),
    }


async def run(n_sentences: int, runs: int, repeat: int) -> dict[str, Any]:
    busy = os.getloadavg()[0]  # other work on the machine skews every number
    sentences = make_sentences(n_sentences)
    load = await measure_load(repeat)  # first, so that it pays for importing onnxruntime
    import onnxruntime

    return {
        "model": LocalMiniLMEmbedder().name,
        "environment": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "onnxruntime": onnxruntime.__version__,
            "machine": platform.machine(),
            "load_average_1m_at_start": busy,
        },
        "sentences": n_sentences,
        "words_per_sentence": [8, 20],
        "load": load,
        "single_sentence": await measure_latency(sentences, runs),
        "throughput": [await measure_throughput(sentences, size, repeat) for size in BATCH_SIZES],
    }


def main() -> None:
    cli = parser("embed", __doc__)
    cli.add_argument("--sentences", type=int, default=1000)
    cli.add_argument("--runs", type=int, default=200)
    cli.add_argument("--repeat", type=int, default=3)
    opts = cli.parse_args()
    result = anyio.run(run, opts.sentences, opts.runs, opts.repeat)
    single = result["single_sentence"]
    best = max(result["throughput"], key=lambda row: row["sentences_per_s"])
    measures = [
        measure("local embedder, first load (imports included)", result["load"]["first_load_s"], "s"),
        measure("local embedder, one sentence, median", single["median_ms"], "ms", goal=target("value", "<=", 10)),
        measure(
            f"local embedder, batched (best: batch {best['batch_size']})",
            best["sentences_per_s"],
            "sentences/s",
            goal=target("value", ">=", 300),
        ),
    ]
    params = {"sentences": opts.sentences, "runs": opts.runs, "repeat": opts.repeat}
    write_result(opts.json_out, "embed", params, measures, {"embedder": result})


if __name__ == "__main__":
    main()
