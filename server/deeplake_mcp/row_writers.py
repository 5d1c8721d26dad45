"""Where ``insert_rows`` sends checked rows, one ``[start, end)`` batch at a time.

* :class:`InsertWriter` (any backend): one parameterised ``INSERT`` per row, a batch per request to
  ``/tables/query/batch``; values travel as JSON.
* :class:`CopyWriter` (embedded backend): the batch as one PostgreSQL binary COPY stream to the local
  API's copy route, vectors packed straight from their float32 matrices. A batch holding a type or value
  binary COPY cannot carry goes through :class:`InsertWriter` instead, so what is stored and what is
  refused is the same either way. The column types a stream is encoded for may come from an earlier
  call (``known_types``); the route checks them under the table's lock and refuses a stream encoded for
  types a column no longer has before writing any of it, and that batch then goes again, encoded for the
  types the table has now.

Each batch is one transaction: it is written whole or not at all.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from deeplake_mcp.cache import TTLCache
from deeplake_mcp.copy_binary import CopyUnsupported, encode_rows
from deeplake_mcp.deeplake import ConflictError, DeepLakeClient
from deeplake_mcp.server_sql import ServerSQL, insert_statement
from deeplake_mcp.vectors import VectorColumn, plain

__all__ = ["CopyWriter", "InsertWriter", "RowWriter", "Rows", "TypeOids", "writer_for"]

log = logging.getLogger(__name__)

_JSON_TYPES = ("json", "jsonb")
_SAMPLED_VECTORS = 16

TypeOids = TTLCache[tuple[str, str], dict[str, int]]
"""Each column's PostgreSQL type OID by ``(workspace, table)``, as a COPY stream was last encoded for them."""


@dataclass(frozen=True)
class Rows:
    """Checked rows for one table: ``records`` keyed by column name, vector columns also packed in ``vectors``."""

    workspace: str
    table: str
    columns: list[str]
    types: dict[str, str]
    """Each column's type as the API reports it, lower-cased."""
    records: Sequence[dict[str, Any]]
    vectors: dict[str, VectorColumn]

    def __len__(self) -> int:
        return len(self.records)

    def params(self, start: int, end: int) -> list[list[Any]]:
        """Rows ``[start, end)`` as INSERT parameters: JSON columns as JSON text, everything else as given."""
        json_columns = {c for c in self.columns if self.types[c] in _JSON_TYPES}
        return [[_param(record.get(c), c in json_columns) for c in self.columns] for record in self.records[start:end]]

    def column_values(self, start: int, end: int) -> list[Sequence[Any] | VectorColumn]:
        """Rows ``[start, end)`` column by column; vector columns as their packed matrices."""
        records = self.records[start:end]
        return [
            self.vectors[c].rows(start, end) if c in self.vectors else [record.get(c) for record in records]
            for c in self.columns
        ]

    def json_sizes(self) -> NDArray[np.int64]:
        """About how many bytes each row takes as JSON parameters; vectors are sized from a sample of them."""
        scalars = [c for c in self.columns if c not in self.vectors]
        overhead = 8 * len(self.columns)  # quotes, separators, the odd escape
        sizes = np.fromiter(
            (sum(len(str(record.get(c))) for c in scalars) + overhead for record in self.records),
            dtype=np.int64,
            count=len(self.records),
        )
        for name, vectors in self.vectors.items():
            sample = [self.records[i][name] for i in np.flatnonzero(vectors.present)[:_SAMPLED_VECTORS]]
            per_vector = max((len(json.dumps(plain(vector))) for vector in sample), default=0)
            sizes += vectors.present * per_vector
        return sizes


def _param(value: Any, is_json: bool) -> Any:
    """JSON columns take any JSON value; it goes as JSON text, so a string stays a JSON string."""
    value = plain(value)
    return json.dumps(value) if is_json and value is not None else value


class RowWriter(Protocol):
    """Writes batches of one :class:`Rows`; each call is one transaction."""

    async def write(self, start: int, end: int) -> None: ...


class InsertWriter:
    """Batches of parameterised INSERTs over ``/tables/query/batch`` (any backend)."""

    def __init__(self, client: DeepLakeClient, rows: Rows) -> None:
        self._client = client
        self._rows = rows
        self._sql = insert_statement(rows.workspace, rows.table, rows.columns, rows.types)

    async def write(self, start: int, end: int) -> None:
        await self._client.query_batch(self._rows.workspace, self._sql, self._rows.params(start, end))


class CopyWriter:
    """Batches as binary COPY streams over the embedded API's copy route (see the module docstring).

    While one batch is being written, the next one is encoded in a worker thread.
    """

    def __init__(
        self,
        client: DeepLakeClient,
        rows: Rows,
        batches: Sequence[tuple[int, int]],
        known_types: TypeOids | None = None,
    ) -> None:
        self._client = client
        self._rows = rows
        self._inserts = InsertWriter(client, rows)
        self._known_types = known_types
        self._oids: list[int] | None = None
        self._oids_kept = False
        """Whether ``_oids`` came from ``known_types`` (an earlier call) rather than from the table just now."""
        self._following = dict(pairwise(batches))
        self._encoding: dict[tuple[int, int], asyncio.Future[bytes]] = {}

    async def write(self, start: int, end: int) -> None:
        if self._oids is None:
            await self._look_up_types(fresh=False)
        try:
            await self._copy(start, end)
        except ConflictError:
            if not self._oids_kept:
                raise
            # Refused before any row was written: a column's type changed since the types were kept.
            self._encoding.clear()  # encoded for the old types too
            await self._look_up_types(fresh=True)
            await self._copy(start, end)

    async def _look_up_types(self, *, fresh: bool) -> None:
        rows = self._rows
        key = (rows.workspace, rows.table)
        known = None if fresh or self._known_types is None else self._known_types.get(key)
        self._oids_kept = known is not None and known.keys() >= set(rows.columns)
        if known is None or not self._oids_kept:
            known = await ServerSQL(self._client).type_oids(*key)
            if self._known_types is not None:
                self._known_types.put(key, known)
        self._oids = [known.get(column, 0) for column in rows.columns]

    async def _copy(self, start: int, end: int) -> None:
        rows = self._rows
        assert self._oids is not None
        encoding = self._encoding.pop((start, end), None) or self._encode(start, end)
        try:
            data = await encoding
        except CopyUnsupported as exc:
            log.debug("rows[%d:%d] go as INSERTs: binary COPY cannot carry %s", start, end, exc)
            await self._inserts.write(start, end)
            return
        following = self._following.get((start, end))
        if following is not None:
            self._encoding[following] = self._encode(*following)
        await self._client.copy_rows(rows.workspace, rows.table, rows.columns, self._oids, data)

    def _encode(self, start: int, end: int) -> asyncio.Future[bytes]:
        assert self._oids is not None
        values = self._rows.column_values(start, end)
        future = asyncio.get_running_loop().run_in_executor(None, encode_rows, self._oids, values)
        future.add_done_callback(_consume)  # a batch never written (cancelled, failed before it) leaves no warning
        return future


def _consume(future: asyncio.Future[bytes]) -> None:
    if not future.cancelled():
        future.exception()


def writer_for(
    backend: Literal["local", "cloud"],
    client: DeepLakeClient,
    rows: Rows,
    batches: Sequence[tuple[int, int]],
    known_types: TypeOids | None = None,
) -> RowWriter:
    """The fastest writer ``backend`` offers for ``rows``, to be written in ``batches`` (the embedded backend's
    with the column types kept in ``known_types``)."""
    return CopyWriter(client, rows, batches, known_types) if backend == "local" else InsertWriter(client, rows)
