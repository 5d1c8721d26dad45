"""Table-driven guard tests: the shared samples and our own attack/legit corpus, in every mode."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from deeplake_mcp.guard import AccessMode, Policy, StatementClass, classify
from deeplake_mcp.guard._classify import analyse

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "sql-guard-samples.jsonl"
CORPUS = Path(__file__).with_name("guard_cases.jsonl")
MODES = {
    "read_only": AccessMode.READ_ONLY,
    "write": AccessMode.READ_WRITE,
    "destructive": AccessMode.DESTRUCTIVE,
}
# Cases that only PostgreSQL's grammar rejects: without pglast the guard classifies them by
# their statement kind, and the server would answer with a syntax error.
SYNTAX_ONLY = {
    "select_syntax_error",
    "select_trailing_operator",
    "comment_split_name",
    "mysql_limit",
    "delete_in_from_subquery",
}


def _load(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


SAMPLE_CASES = _load(SAMPLES)
OWN_CASES = _load(CORPUS)


def _check(case: dict[str, Any]) -> None:
    verdict = Policy(MODES[case["mode"]]).check(case["sql"])
    expected = case["expect"] == "allow"
    assert verdict.allowed is expected, (
        f"{case['id']}: expected {case['expect']} ({case['why']}), got {verdict.cls.label}: {verdict.reason}"
    )


@pytest.mark.skipif(not SAMPLES.exists(), reason=f"{SAMPLES} is not present")
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


@pytest.mark.parametrize(
    "case",
    [case for case in OWN_CASES + SAMPLE_CASES if _base_id(case) not in SYNTAX_ONLY],
    ids=[case["id"] for case in OWN_CASES + SAMPLE_CASES if _base_id(case) not in SYNTAX_ONLY],
)
def test_without_pglast(case: dict[str, Any]) -> None:
    """On sqlparse alone the guard reaches the same verdicts (syntax-only cases aside)."""
    classification = analyse(case["sql"], second_opinion=False)
    verdict = Policy(MODES[case["mode"]]).decide(classification)
    assert verdict.allowed is (case["expect"] == "allow"), f"{case['id']}: {verdict.reason}"


def test_syntax_only_cases_need_pglast() -> None:
    """The exemptions above are exact: pglast is what blocks them, in destructive mode too."""
    bases = {_base_id(case): case["sql"] for case in OWN_CASES}
    for base in SYNTAX_ONLY:
        assert classify(bases[base]).cls is StatementClass.NEVER, base
        assert analyse(bases[base], second_opinion=False).cls is not StatementClass.NEVER, base
