"""The function catalogue: generated from the embedded PostgreSQL, fresh, and looked up by name and arity."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from deeplake_mcp.guard._catalog import CATALOG_PATH, catalog, parse

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gen_function_catalog.py"


def test_shipped_catalog_is_fresh(tmp_path: Path) -> None:
    """Regenerate from a throwaway embedded PostgreSQL 18 + pgvector; the shipped file must match."""
    output = tmp_path / "catalog.tsv"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert output.read_text(encoding="utf-8") == CATALOG_PATH.read_text(encoding="utf-8"), (
        f"{CATALOG_PATH.name} is stale: run .venv/bin/python scripts/gen_function_catalog.py and commit the result"
    )


def test_catalog_ships_in_the_package() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "guard/*.tsv" in data["tool"]["setuptools"]["package-data"]["deeplake_mcp"]
    assert CATALOG_PATH.parent.name == "guard" and CATALOG_PATH.stat().st_size < 200_000


def test_header_names_the_sources() -> None:
    header = CATALOG_PATH.read_text(encoding="utf-8").split("\n", 1)[0]
    assert header.startswith("# PostgreSQL 18.") and "pgvector 0." in header


@pytest.mark.parametrize(
    ("schema", "name", "arity", "volatility"),
    [
        (None, "now", 0, "s"),
        (None, "lower", 1, "i"),
        (None, "concat", 1, "s"),
        (None, "concat", 7, "s"),  # variadic
        (None, "concat", 0, None),
        (None, "json_build_object", 0, "s"),
        (None, "json_build_object", 6, "s"),
        (None, "make_interval", 0, "i"),  # all seven arguments have defaults
        (None, "make_interval", 7, "i"),
        (None, "make_interval", 8, None),
        (None, "make_timestamp", 6, "i"),
        (None, "make_timestamp", 5, None),
        (None, "date_trunc", 2, "s"),  # timestamp is immutable, timestamptz stable: the worse wins
        (None, "jsonb_path_query", 2, "i"),
        (None, "jsonb_path_query", 4, "i"),
        (None, "count", 0, "i"),  # count(*)
        (None, "percentile_cont", 2, "i"),  # one direct argument + one WITHIN GROUP ordering
        (None, "random", 0, "v"),
        (None, "setseed", 1, "v"),
        (None, "ts_rewrite", 2, "v"),
        (None, "ts_rewrite", 3, "i"),
        (None, "pg_total_relation_size", 1, "v"),
        ("pg_catalog", "now", 0, "s"),
        ("public", "now", 0, None),
        (None, "l2_distance", 2, "i"),  # pgvector
        (None, "deeplake_cosine_similarity", 2, "s"),  # Deep Lake's documented functions
        (None, "deeplake_hybrid_record", 4, "s"),
        (None, "deeplake_hybrid_search", 9, "s"),
        ("information_schema", "_pg_char_max_length", 2, "i"),
        (None, "_pg_char_max_length", 2, None),  # not on the search path
        (None, "no_such_function", 1, None),
        (None, "NOW", 0, None),  # a quoted name keeps its case, and no built-in is spelled so
    ],
)
def test_volatility_by_name_and_arity(schema: str | None, name: str, arity: int, volatility: str | None) -> None:
    assert catalog().volatility(schema, name, arity) == volatility


def test_other_records() -> None:
    known = catalog()
    assert known.operator_volatility(None, "<#>", prefix=False) == "s"
    assert known.operator_volatility(None, "<=>", prefix=False) == "i"
    assert known.operator_volatility(None, "-", prefix=True) == "i"
    assert known.operator_volatility(None, "@>", prefix=True) is None
    assert known.operator_volatility(None, "===", prefix=False) is None
    assert known.operator_volatility("pg_catalog", "+", prefix=False) == "s"  # timestamptz + interval
    assert {"pg_class", "pg_proc", "pg_authid", "pg_statistic", "pg_tables", "pg_class_oid_index"} <= known.relations
    assert known.is_type(None, "int4") and known.is_type(None, "jsonb") and known.is_type(None, "vector")
    assert known.is_type("information_schema", "sql_identifier") and not known.is_type(None, "sql_identifier")
    assert known.sample_methods == {"bernoulli", "system"}
    assert known.internal["bm25_score"] == "deeplake_compat"
    assert known.has_function(None, "concat") and not known.has_function(None, "bm25_score")


def test_parse_rejects_unknown_records() -> None:
    with pytest.raises(ValueError, match="unknown catalogue record kind"):
        parse("# header\nz\tname\tschema\n")
