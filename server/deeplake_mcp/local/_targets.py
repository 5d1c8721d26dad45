"""What a vector search chooses its plan by, cached briefly: the column's vector index and row estimates.

Looking them up costs a round trip each (the catalog as the admin role, EXPLAIN as the query role): more
than the search itself on a warm index, for facts that change only with DDL or bulk writes. An entry
lives TTL_S seconds and all are dropped at once when this backend runs a statement that may change them
(``forget``); a change made by another process (another server on the same data directory) is seen
within TTL_S, until then a search runs as it would have before it (e.g. exactly, not yet through a new
index; or through an index that is gone, which PostgreSQL then answers with a scan and a sort).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deeplake_mcp.cache import TTLCache

from ._ann import VectorSearch
from ._catalog import Catalog, VectorIndex
from ._errors import QueryError
from ._executor import Executor, Statement
from ._values import JSON

__all__ = ["TTL_S", "Estimate", "SearchTargets"]

TTL_S = 5.0


@dataclass(frozen=True)
class Estimate:
    """The planner's estimate of a table's rows, and of the share of them a WHERE keeps (None: unknown)."""

    rows: float | None
    fraction: float | None


@dataclass(frozen=True)
class _Found:
    index: VectorIndex | None


class SearchTargets:
    """Vector indexes of columns and planner estimates of tables, cached (see the module docstring)."""

    def __init__(self, catalog: Catalog, executor: Executor, ttl: float = TTL_S) -> None:
        self._catalog = catalog
        self._executor = executor
        self._indexes: TTLCache[tuple[str, str, str], _Found] = TTLCache(ttl)
        self._estimates: TTLCache[tuple[str, str, str | None], Estimate] = TTLCache(ttl)

    async def vector_index(self, schema: str, table: str, column: str) -> VectorIndex | None:
        """The vector index a search of ``schema.table.column`` would use (see Catalog.vector_index)."""
        key = (schema, table, column)
        found = self._indexes.get(key)
        if found is None:
            found = _Found(await self._catalog.vector_index(schema, table, column))
            self._indexes.put(key, found)
        return found.index

    async def estimate(self, workspace: str, search: VectorSearch, timeout_ms: int) -> Estimate:
        """The planner's estimates for the search's table and WHERE, run as the statement would run."""
        key = (workspace, search.from_item, search.condition)
        estimate = self._estimates.get(key)
        if estimate is None:
            estimate = await self._explain(workspace, search, timeout_ms)
            self._estimates.put(key, estimate)
        return estimate

    def forget(self) -> None:
        """Drop every entry: this backend may have changed tables or indexes."""
        self._indexes.invalidate()
        self._estimates.invalidate()

    async def _explain(self, workspace: str, search: VectorSearch, timeout_ms: int) -> Estimate:
        total = f"EXPLAIN (FORMAT JSON) SELECT FROM {search.from_item}"
        statements: list[tuple[Statement, list[JSON]]] = [(total, [])]
        if search.condition is not None:
            statements.append((f"{total} WHERE {search.condition}", []))
        try:
            plans = await self._executor.run(workspace, statements, read_only=True, timeout_ms=timeout_ms)
        except QueryError:  # the WHERE alone does not plan (e.g. a literal typed otherwise than its param)
            if len(statements) == 1:
                raise
            plans = await self._executor.run(workspace, statements[:1], read_only=True, timeout_ms=timeout_ms)
        rows = _plan_rows(plans[0]["rows"])
        if search.condition is None or rows is None:
            return Estimate(rows, 1.0)
        kept = _plan_rows(plans[1]["rows"]) if len(plans) > 1 else None
        return Estimate(rows, None if kept is None else min(1.0, kept / max(1.0, rows)))


def _plan_rows(rows: Any) -> float | None:
    try:
        return float(rows[0][0][0]["Plan"]["Plan Rows"])
    except (TypeError, LookupError, ValueError):
        return None
