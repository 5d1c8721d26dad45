"""The SQL the server sends for its own needs: one narrow, named API that takes names and values, never SQL.

Each method fills a fixed template with quoted identifiers and sends values as params (or, where
PostgreSQL takes none, as a quoted literal). The agent's SQL reaches the service only through the
query tools, after the guard; nothing here accepts SQL text, so nothing here needs the guard.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from deeplake_mcp.audit import server_statements
from deeplake_mcp.deeplake import DeepLakeClient, QueryResult
from deeplake_mcp.identifiers import qualified, quote_ident, quote_literal

__all__ = ["MODEL_NOTE", "VECTOR_TYPES", "ServerSQL", "insert_statement"]

MODEL_NOTE = "deeplake-mcp embedding model: "
"""How a vector column's comment records the model that produced its vectors."""
VECTOR_TYPES = ("_float4", "float4[]", "real[]", "embedding")
"""Column types (as the API reports them, lower-cased) that hold vectors."""
_JSON_TYPES = ("json", "jsonb")

_INDEXES = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY indexname"
_MODELS = (
    "SELECT a.attname, col_description(a.attrelid, a.attnum) FROM pg_attribute a "
    "WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped "
    "AND col_description(a.attrelid, a.attnum) LIKE $2"
)
_TYPE_OIDS = (
    "SELECT attname, atttypid::int FROM pg_attribute "
    "WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped"
)
_COMMENT = (
    "SELECT coalesce(col_description(to_regclass($1), a.attnum), '') FROM pg_attribute a "
    "WHERE a.attrelid = to_regclass($1) AND a.attname = $2"
)


def insert_statement(workspace: str, table: str, columns: Sequence[str], types: dict[str, str]) -> str:
    """``INSERT INTO "ws"."t" ("a", …) VALUES ($1, …)``, with casts for vector and JSON columns."""
    names = ", ".join(quote_ident(c) for c in columns)
    values = ", ".join(f"${i}{_cast(types[c])}" for i, c in enumerate(columns, start=1))
    return f"INSERT INTO {qualified(workspace, table)} ({names}) VALUES ({values})"


def _cast(pg_type: str) -> str:
    if pg_type in VECTOR_TYPES:
        return "::float4[]"
    if pg_type in _JSON_TYPES:
        return f"::{pg_type}"
    return ""


class ServerSQL:
    """The server's own statements against one Deep Lake API (see the module docstring)."""

    def __init__(self, client: DeepLakeClient) -> None:
        self._client = client

    async def _query(
        self, workspace: str, sql: str, params: list[Any] | None = None, *, read_only: bool = False
    ) -> QueryResult:
        """Send one of the server's own statements (audited as such, not as the agent's)."""
        with server_statements():
            return await self._client.query(workspace, sql, params, read_only=read_only)

    async def index_definitions(self, workspace: str, table: str) -> list[tuple[str, str]]:
        """``(name, definition)`` of the table's indexes, as Deep Lake shows them."""
        result = await self._query(workspace, _INDEXES, [workspace, table], read_only=True)
        return [(str(name), str(definition)) for name, definition in result.rows]

    async def vector_dimensions(self, workspace: str, table: str, columns: Sequence[str]) -> dict[str, int]:
        """The length of the first non-empty vector in each column (one query for all of them)."""
        if not columns:
            return {}
        source = qualified(workspace, table)
        probes = ", ".join(
            f"(SELECT array_length({quote_ident(c)}, 1) FROM {source} "
            f"WHERE array_length({quote_ident(c)}, 1) > 0 LIMIT 1)"
            for c in columns
        )
        result = await self._query(workspace, f"SELECT {probes}", read_only=True)
        row = result.rows[0] if result.rows else []
        return {c: int(d) for c, d in zip(columns, row, strict=False) if isinstance(d, int)}

    async def embedding_models(self, workspace: str, table: str) -> dict[str, str]:
        """The models recorded (by ``record_embedding_model``) for the table's vector columns."""
        params = [qualified(workspace, table), MODEL_NOTE + "%"]
        result = await self._query(workspace, _MODELS, params, read_only=True)
        return {str(name): str(note)[len(MODEL_NOTE) :] for name, note in result.rows}

    async def type_oids(self, workspace: str, table: str) -> dict[str, int]:
        """PostgreSQL's type OID of each column (embedded backend: what binary COPY must encode)."""
        result = await self._client.query(workspace, _TYPE_OIDS, [qualified(workspace, table)], read_only=True)
        return {str(name): int(oid) for name, oid in result.rows}

    async def record_embedding_model(self, workspace: str, table: str, column: str, model: str) -> bool:
        """Note the model in the column's comment, unless the column carries someone else's comment.

        Whether it was recorded.
        """
        table_name = qualified(workspace, table)
        found = await self._query(workspace, _COMMENT, [table_name, column], read_only=True)
        existing = str(found.rows[0][0]) if found.rows else ""
        if existing and not existing.startswith(MODEL_NOTE):
            return False
        target = f"{table_name}.{quote_ident(column)}"
        await self._query(workspace, f"COMMENT ON COLUMN {target} IS {quote_literal(MODEL_NOTE + model)}")
        return True
