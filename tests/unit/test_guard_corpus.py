"""Table-driven guard tests: the policy's public samples and our own attack/legit corpus, in every mode."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from deeplake_mcp.guard import AccessMode, Policy, StatementClass, classify

SAMPLES = Path(__file__).with_name("guard_samples.jsonl")  # vendored from the policy's sql-guard-samples.jsonl
CORPUS = Path(__file__).with_name("guard_cases.jsonl")
MODES = {
    "read_only": AccessMode.READ_ONLY,
    "write": AccessMode.READ_WRITE,
    "destructive": AccessMode.DESTRUCTIVE,
}


def _load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


SAMPLE_CASES = _load(SAMPLES)
OWN_CASES = _load(CORPUS)


def _check(case: dict[str, Any]) -> None:
    verdict = Policy(MODES[case["mode"]]).check(case["sql"])
    expected = case["expect"] == "allow"
    assert verdict.allowed is expected, (
        f"{case['id']}: expected {case['expect']} ({case['why']}), got {verdict.cls.label}: {verdict.reason}"
    )


@pytest.mark.parametrize("case", SAMPLE_CASES, ids=[case["id"] for case in SAMPLE_CASES])
def test_shared_samples(case: dict[str, Any]) -> None:
    _check(case)


@pytest.mark.parametrize("case", OWN_CASES, ids=[case["id"] for case in OWN_CASES])
def test_corpus(case: dict[str, Any]) -> None:
    _check(case)


def _base_id(case: dict[str, Any]) -> str:
    return str(case["id"]).split("-", 1)[1]


def _expected_class(case: dict[str, Any]) -> StatementClass:
    return StatementClass[str(case["why"]).rsplit("[", 1)[1].rstrip("]").upper()]


def test_samples_are_vendored() -> None:
    """The policy's public samples ship with the tests, so their test never silently skips."""
    assert len(SAMPLE_CASES) == 60
    assert {case["mode"] for case in SAMPLE_CASES} == set(MODES)


def test_corpus_shape() -> None:
    """Hundreds of unique cases, each present in all three modes with consistent expectations."""
    assert len(OWN_CASES) >= 900
    assert len({case["id"] for case in OWN_CASES}) == len(OWN_CASES)
    by_base: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for case in OWN_CASES:
        assert set(case) == {"id", "sql", "mode", "expect", "why"}
        assert case["mode"] in MODES and case["expect"] in ("allow", "block")
        by_base[_base_id(case)][case["mode"]] = case
    for base, modes in by_base.items():
        assert set(modes) == set(MODES), base
        assert len({case["sql"] for case in modes.values()}) == 1, base
        cls = _expected_class(modes["read_only"])
        for mode, case in modes.items():
            assert (case["expect"] == "allow") is Policy(MODES[mode]).allows(cls), case["id"]


def test_corpus_covers_every_class() -> None:
    counts: dict[StatementClass, int] = defaultdict(int)
    for case in OWN_CASES:
        if case["mode"] == "read_only":
            counts[_expected_class(case)] += 1
    assert all(counts[cls] >= 40 for cls in StatementClass), counts


@pytest.mark.parametrize(
    "case",
    [case for case in OWN_CASES if case["mode"] == "read_only"],
    ids=[_base_id(case) for case in OWN_CASES if case["mode"] == "read_only"],
)
def test_corpus_class(case: dict[str, Any]) -> None:
    """The exact class, not only the verdict, matches the corpus annotation."""
    found = classify(case["sql"])
    assert found.cls is _expected_class(case), f"{case['id']}: {found.reason}"
