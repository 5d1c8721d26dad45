"""The benchmark runner at tiny sizes writes a well-formed summary (its structure only: tests never judge timings)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

RUNNER = Path(__file__).resolve().parents[2] / "bench" / "run.py"
MEASURE_KEYS = {"name", "value", "unit", "reference", "reference_value", "ratio", "target", "met", "note"}


def test_runner_writes_summary(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(RUNNER), "--tiny", "--only", "insert,calls", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr

    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["problems"] == {}
    assert list(summary["benches"]) == ["insert", "calls"]
    assert summary["machine"]["cpus"] >= 1
    for name, result in summary["benches"].items():
        assert result["bench"] == name and not result["earlier"]
        assert (tmp_path / "raw" / f"{name}.json").exists()
        assert result["measures"]
        for m in result["measures"]:
            assert set(m) == MEASURE_KEYS
            assert isinstance(m["value"], int | float)
            assert (m["ratio"] is None) == (m["reference_value"] is None)
            assert (m["met"] is None) == (m["target"] is None)
    insert = {(m["name"], m["reference"]) for m in summary["benches"]["insert"]["measures"]}
    assert insert == {
        ("insert_rows, 10 rows × 384 per call", "no-op tool"),
        ("insert_rows, 50 rows × 384 per call", "no-op tool"),
        ("insert_rows, 50 rows × 384 per call", "binary COPY"),
    }

    table = (tmp_path / "summary.md").read_text()
    assert "| bench | measure | value | reference | reference value | ratio | target | met |" in table
    assert "| calls | per-call overhead: p50 query − p50 no-op |" in table
    for plot in summary["plots"]:
        assert (tmp_path / plot).read_bytes().startswith(b"\x89PNG")


def test_search_bench_measures_every_case_through_its_index(tmp_path: Path) -> None:
    out = tmp_path / "search.json"
    done = subprocess.run(
        [sys.executable, str(RUNNER.with_name("search_bench.py")), "--rows", "1500", "--dim", "16", "--queries", "5",
         "--json-out", str(out)],
        capture_output=True,
        text=True,
        timeout=240,  # about 20 s; a wait that never ends (the L2 build's) fails here
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    builds = {"load_s", "deeplake_index_build_s", "quantized_index_build_s", "l2_companion_build_s"}
    builds |= {"pgvector_build_s", "pgvector_l2_build_s"}
    assert set(result["build"]) == builds
    cases = result["cases"]
    assert {"raw", "raw <->", "rest", "semantic_search", "semantic_search quantized", "query <#>"} <= set(cases)
    assert set(result["index_mb"]) == {"deeplake_index", "quantized", "pgvector"}
    assert cases["query <-> float4[]"]["reference"] == "raw <->" and cases["query <#>"]["reference"] == "raw"
    floor = cases["raw"]["p50_ms"] + cases["no-op tool"]["p50_ms"]
    assert cases["semantic_search"]["floor_ms"] == round(floor, 2) and "recall_at_10" not in cases["no-op tool"]
    for name, case in cases.items():
        assert "error" not in case and case["p50_ms"] > 0, name
        if name.startswith("query") and name != "query <=> vector":  # not the planner's choice on `ref`
            assert case["uses_hnsw"] is True, name
    sys.path.insert(0, str(RUNNER.parent))
    import summary  # bench/summary.py

    measures = {m["name"]: m for m in summary.from_search_bench(result, out)["measures"]}
    against_floor = next(m for name, m in measures.items() if "against its floor" in name)
    assert against_floor["reference_value"] == cases["semantic_search"]["floor_ms"]
    assert against_floor["value"] == cases["semantic_search"]["p50_ms"] and against_floor["target"] is None
    assert not any(name.startswith("no-op tool") for name in measures)
    sizes = [m for name, m in measures.items() if " size, " in name]
    assert len(sizes) == 2 and all(m["reference_value"] == result["index_mb"]["pgvector"] for m in sizes)
