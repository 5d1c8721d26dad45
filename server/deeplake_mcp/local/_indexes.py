"""deeplake_index stand-ins, their vector companions, and searches through them.

Creating. `CREATE INDEX … USING deeplake_index` runs as a stand-in (see _sqlcompat) as the query role; the
catalog then records its Deep Lake options. A stand-in on one float4[] column (or a domain over it, e.g.
`embedding`), with index_type clustered, clustered_quantized (quantized, binary_quantized),
pooled_quantized or none, also gets a companion pgvector HNSW index (cosine), built by the query role (the
table's owner) with SQL composed here, named `<index>_dl_hnsw_<oid>`, and a second one for L2 distance
(`<index>_dl_hnsw_l2_<oid>`) once a search ranks by `<->` (the cost falls on those who use it), both on
`deeplake_compat.ann_vector(col, N)`: the vector when it is 1-D with N dimensions, else NULL, which HNSW
leaves out (so does the cosine one with zero vectors), as vector(N) up to 2000 dimensions - except the
cosine companion of a quantized index type (clustered_quantized, quantized, binary_quantized,
pooled_quantized), which indexes it scaled to length 1 in half precision (`l2_normalize(…)::halfvec(N)`:
a smaller index, the last digits of distances rounded; see _ann.Form) - and up
to 4000 dimensions in half precision (cosine: unit halfvec; L2: halfvec). No companion above 4000
dimensions. The form a companion was built in is read from it (another server may have built it). N is
`WITH (dimension = N)`, else the most common length of the column's vectors. Its graph is built wider for
bigger tables (ef_construction). A graph keeps that width as its table grows, so the first search through
one built for a much smaller table (NARROW_GRAPH) starts its rebuild in the background: a wider companion is
built beside it with CREATE INDEX CONCURRENTLY (writes to the table go on; searches use the narrow one
meanwhile), recorded in its place, and the narrow one dropped; one rebuild of a companion at a time, under a lock
of its own across processes, and after one that failed, the next no sooner than REBUILD_RETRY_S later (twice that
after a second, and so on). The CREATE INDEX call starts
the companion's build in the background and waits for it within its own time (BUILD_SHARE of it); a build
that takes longer (at the tools' default 60 s, a few hundred thousand 384-d rows) goes on, the call
returns, and searches run exactly until it is ready. On
a column without vectors yet (and no dimension) the index is *pending*, and the load that follows pays no
HNSW upkeep per row. A search that needs a companion not built yet (pending, or the L2 one) starts its
build in the background, in its own transaction, and runs exactly, as the next ones do until it is ready:
a build takes seconds to minutes, longer than a client waits for one call (it may run for
BACKGROUND_BUILD_TIMEOUT_MS, past the 10-minute cap of a request's statements). One build per index runs at a
time, across the servers sharing the data directory; one stopped (the server closing) leaves it to the
next search. A build that fails (e.g. NaN in a vector) is logged and recorded, and searches on that column
by that distance stay exact. Dropping the deeplake index (or its table, or workspace) drops the
companions. `deeplake_indexes` shows `ann_index`, `ann_status` and `ann_dimension` (of the cosine
companion); the API's `pg_indexes` hides companions (`pg_catalog.pg_indexes` lists them, the L2 one too).

Once a companion exists, every insert or update of the column maintains it (about 1-2 ms per row at 384
dimensions), and a vector of another dimension is stored but left out of the index: searches through it
never return that row (Deep Lake scores a mismatched row 0.0; the exact scan fails on it). A vector with
NaN, infinity or NULL elements and the index's dimension is refused at insert, with pgvector's message.

Searching (the shapes are in _ann). Through the companion of the search's distance (cosine for `<#>`
and `<=>`, L2 for `<->`), with `hnsw.ef_search` = EF_SEARCH or 2 x (LIMIT + OFFSET), at most 1000 - or 1000
whenever there is a WHERE (other than conditions on the vector column): a filter can exclude q's whole
neighbourhood, and then only a wide first pass finds the nearest rows that pass it. A WHERE that rows with
vectors can fail (on other columns, or on the vector's contents) also gets `hnsw.iterative_scan =
strict_order`: it applies during the scan, which continues until LIMIT rows pass it, in exact distance order.
Without one, the scan's first pass is enough (an iterative scan keeps what it passed over, in case it has to
go on: about 5 % of a search at 100 000 rows). The index scan is forced
(enable_seqscan and enable_sort off for the statement): the planner's other plans for it compute the
index expression for every row and sort, slower than the exact form. Exactly instead, when the planner
expects the table to have fewer than MIN_ROWS rows (as fast as the index), or the WHERE (leaving out
conditions on the vector column) to keep fewer than MIN_FRACTION of the rows (an HNSW scan would wander
far for so few and miss neighbours, while an exact scan only scores the rows that pass), and when the
ANN scan returns fewer than LIMIT rows (too few rows, or the scan gave up: hnsw.max_scan_tuples).
A q of another dimension is a QueryError naming the index's dimension. While the index for its distance is
being built, the search runs exactly in the index's terms (the rows with vectors of its dimension, or of
q's while that is not known yet, nearest first); without an index, or when its build failed, the statement
runs as written: an exact scan, in the order asked. The column's index and the planner's estimates come
from a short-lived cache (_targets); the settings and the statement go to PostgreSQL together, in one round
trip with the transaction's own set-up (Executor.run).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Literal

import psycopg
from psycopg import sql

from deeplake_mcp.identifiers import qualified, quote_ident

from ._ann import Form, Metric, indexed_vector, vector_type
from ._catalog import QUANTIZED_INDEX_TYPES, Catalog, VectorIndex
from ._compile import Plan
from ._errors import QueryError
from ._executor import DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS, PLANNED_PER_CALL, Executor, QueryResult, Session
from ._targets import SearchTargets

__all__ = ["EF_CONSTRUCTION_ROWS", "EF_SEARCH", "MIN_FRACTION", "MIN_ROWS", "Indexes", "ef_construction"]

log = logging.getLogger(__name__)

EF_SEARCH = 100
"""Base hnsw.ef_search (pgvector's default is 40): recall@10 ≈ 0.99 on clustered 100k × 384 data."""
MIN_FRACTION = 0.05
"""Below this estimated share of rows kept by the WHERE, rank exactly instead of through the index
(100k x 384 clustered: recall@10 through the index 0.998 at 10 %, 0.98 at 5 %, 0.95 at 3 %, 0.7-0.8 at 1 %,
where the exact scan takes about as long)."""
MIN_ROWS = 1000
"""Tables the planner expects to have fewer rows are ranked exactly (as fast: 8 ms vs 6 ms at 1000 x 384)."""
MAX_EF_SEARCH = 1000  # pgvector's limit
EF_CONSTRUCTION_ROWS = 250_000
"""Companions of tables up to this size are built with pgvector's ef_construction (64), bigger ones wider
(:func:`ef_construction`)."""
PGVECTOR_EF_CONSTRUCTION = 64
"""pgvector's default ef_construction: what a companion built without the option has."""
MAX_EF_CONSTRUCTION = 128
"""The widest graph :func:`ef_construction` asks for (from a million rows)."""
NARROW_GRAPH = 1.25
"""A companion is too narrow for its table, and the first search through it that sees so starts its rebuild,
when the table has grown to want at least this many times the ef_construction it was built with: for a graph
built at 64, from about 390 000 rows (recall@10 there about 0.97, falling to 0.89 at a million); as a table
grows to a million rows, its graph is rebuilt at most three times (at 80, 100 and 125)."""
BUILD_SHARE = 0.9
"""The share of a CREATE INDEX call's time it waits for its companion's build: its client stops waiting soon
after the call's time, so the call returns first and a longer build goes on in the background."""
REBUILD_RETRY_S = 600.0
"""How long after this process started a companion's rebuild a search may start another, should that one fail
(doubled at each attempt): a failure may last (disk full), and each attempt reads the whole table."""
BACKGROUND_BUILD_TIMEOUT_MS = 6 * 3_600_000
"""How long a build a search started may run (no request waits for it): 1M x 384 takes about 5 minutes here."""

_TABLE_ACCESS_METHOD = b"""
    SELECT n.nspname, c.relname, am.amname
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_am am ON am.oid = c.relam
    WHERE c.oid = to_regclass($1)
"""
# The stand-in this transaction created (IF NOT EXISTS may have found one instead): its rows carry our xid.
_CREATED = b"""
    SELECT c.oid FROM pg_class c JOIN pg_am am ON am.oid = c.relam
    WHERE c.relkind = 'i' AND am.amname = 'deeplake_index' AND age(c.xmin) = 0
"""
_ANALYZED = b"SELECT EXISTS (SELECT FROM pg_stats WHERE schemaname = $1 AND tablename = $2)"
_NON_VECTOR_COLUMNS = b"""
    SELECT a.attname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
    WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
      AND coalesce(nullif(t.typbasetype, 0), t.oid) <> 'real[]'::regtype
"""
# The ranking through the index is decided here, not by the planner: its other plans for that statement
# (a scan computing the index expression for every row, then a sort) are slower than the exact form.
_SETTINGS = {"enable_seqscan": "off", "enable_sort": "off"}
_FILTERED = {"hnsw.iterative_scan": "strict_order"}


class Indexes:
    """deeplake_index statements and vector searches of one database (see the module docstring)."""

    def __init__(self, catalog: Catalog, executor: Executor) -> None:
        self._catalog = catalog
        self._executor = executor
        self._targets = SearchTargets(catalog, executor)
        self._background: dict[tuple[int, Metric], asyncio.Task[str | None]] = {}
        self._rebuilt: dict[int, tuple[float, int]] = {}
        """Companions whose rebuild this process started: when a search may start another, should it fail, and
        how many were started."""

    async def aclose(self) -> None:
        """Stop the builds running in the background (an index stopped halfway stays pending: the next search
        that needs it starts it again)."""
        tasks = list(self._background.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def create(self, workspace: str, plan: Plan, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> QueryResult:
        """Create the stand-in of ``plan.index``, record its options and build its companion if it has one."""
        index = plan.index
        assert index is not None
        async with self._executor.session(workspace, read_only=False, timeout_ms=timeout_ms) as session:
            found = await session.rows(_TABLE_ACCESS_METHOD, [index.table])
            if found and found[0][2] != "deeplake":
                schema, table, _ = found[0]
                raise QueryError(f"Table '{schema}.{table}' does not have DeepLake access method, can't create index.")
            await session.execute(plan.sql, plan.params)
            oid = await session.value(_CREATED)
        if oid is not None:  # None: IF NOT EXISTS found the index
            try:
                vector = await self._catalog.record_index(
                    int(oid), list(index.columns), index.order, index.index_type, index.dimension
                )
            except BaseException:
                await self._drop(workspace, int(oid))
                raise
            if vector is not None:
                await self.build(workspace, vector.index_oid, _build_wait(timeout_ms))
        return QueryResult(columns=[], rows=[], row_count=0)

    async def build(self, workspace: str, index_oid: int, wait_ms: int, metric: Metric = "cosine") -> str | None:
        """Build a pending companion for ``metric`` in the background and wait up to ``wait_ms`` for it: its
        status then (None if the index is gone or another server is at it). A build that takes longer (a big
        table) goes on, and the status is pending: nothing built is thrown away."""
        task = self._build_in_background(workspace, index_oid, metric)
        try:
            return await asyncio.wait_for(asyncio.shield(task), wait_ms / 1000)
        except TimeoutError:
            took = "the %s vector index of deeplake_index %s takes longer than %d ms: it goes on in the background"
            log.info(took, metric, index_oid, wait_ms)
            return "pending"

    def _build_in_background(self, workspace: str, index_oid: int, metric: Metric) -> asyncio.Task[str | None]:
        """The task building the ``metric`` companion of ``index_oid``: this process's running one, else a new one."""
        return self._in_background(
            index_oid,
            metric,
            "building",
            lambda: self._build(workspace, index_oid, BACKGROUND_BUILD_TIMEOUT_MS, metric),
        )

    def _in_background(
        self, index_oid: int, metric: Metric, doing: str, work: Callable[[], Awaitable[str | None]]
    ) -> asyncio.Task[str | None]:
        """The task at work on the ``metric`` companion of ``index_oid`` (one at a time): this process's running
        one, else a new one doing ``work``."""
        key = (index_oid, metric)
        if key not in self._background:
            task = asyncio.create_task(self._later(work(), index_oid, metric, doing))
            self._background[key] = task
            task.add_done_callback(lambda _: self._background.pop(key, None))
        return self._background[key]

    async def _later(self, work: Awaitable[str | None], index_oid: int, metric: Metric, doing: str) -> str | None:
        try:
            return await work
        except Exception:  # not a QueryError (those are recorded): the next search that needs it tries again
            log.warning("%s the %s companion of deeplake_index %s stopped", doing, metric, index_oid, exc_info=True)
            return None
        finally:
            self._targets.forget()

    async def _build(self, workspace: str, index_oid: int, timeout_ms: int, metric: Metric) -> str | None:
        async with self._catalog.building(index_oid) as job:
            if job is None:
                return None
            index = job.index
            if index.companion(metric).status != "pending":
                return index.companion(metric).status
            n = index.dimension if metric == "l2" else index.dimension or await self._common_dimension(workspace, index)
            if n is None or (metric == "cosine" and await job.has_companion_of(n)):
                return "pending"
            form = _form(n, metric, index.index_type)
            try:
                if form is None:
                    raise QueryError(f"pgvector indexes at most 4000 dimensions, not {n}")
                companion = await self._create_companion(workspace, index, n, form, metric, timeout_ms)
            except QueryError as exc:
                log.warning(
                    "no %s vector index for deeplake_index %r: %s; searches by it stay exact", metric, index.name, exc
                )
                await job.failed(n, exc.message, metric)
                return "failed"
            await job.ready(n, companion, metric)
            return "ready"

    async def search(self, workspace: str, plan: Plan, *, read_only: bool, timeout_ms: int) -> QueryResult:
        """Run a ranking SELECT through its column's vector index, or exactly while that is not ready (starting
        its build when it is not built yet)."""
        search = plan.search
        assert search is not None
        where = (search.schema or workspace, search.table, search.column_name)
        target = await self._targets.vector_index(*where)
        if target is not None:
            needed: Metric = "cosine" if target.cosine.status == "pending" else search.metric  # the dimension first
            if target.companion(needed).status == "pending":
                self._build_in_background(workspace, target.index_oid, needed)

        params = plan.bound_params()

        async def run(statement: str, settings: Mapping[str, str] | None = None) -> QueryResult:
            found = await self._executor.run(
                workspace, [(statement, params)], read_only=read_only, timeout_ms=timeout_ms, settings=settings
            )
            return found[0]

        state = None if target is None else target.companion(search.metric).status
        if target is None or state == "failed":
            return await run(plan.sql, PLANNED_PER_CALL)
        n = target.dimension or search.dimension
        if search.dimension != n:
            raise QueryError(
                f"the query vector has {search.dimension} dimensions but deeplake_index {target.name!r} "
                f"indexes {n}-dimensional vectors of column {search.column_name!r}; "
                "embed the query with the model that produced the column"
            )
        if state != "ready":  # being built: the same answer as the index will give, computed exactly
            return await run(search.exact_sql(n), PLANNED_PER_CALL)
        estimate = await self._targets.estimate(workspace, search, timeout_ms)
        rows, fraction = estimate.rows, estimate.fraction
        if rows is None or rows < MIN_ROWS or fraction is None or fraction < MIN_FRACTION:
            return await run(search.exact_sql(n), PLANNED_PER_CALL)
        self._rebuild_if_narrow(workspace, target, search.metric, rows)
        # A filter may exclude the whole neighbourhood of q (a filter correlated with the vectors, e.g. a
        # language): only a wide first pass then finds the nearest rows that pass it.
        wide = search.condition is not None
        ef = MAX_EF_SEARCH if wide else min(MAX_EF_SEARCH, max(EF_SEARCH, 2 * (search.limit + search.offset)))
        form = target.companion(search.metric).form or "vector"
        filtered = wide or search.vector_filter
        settings = {**_SETTINGS, **(_FILTERED if filtered else {}), "hnsw.ef_search": str(ef)}
        found = await run(search.ann_sql(n, form), settings)
        if not search.explain and found["row_count"] < search.limit:
            return await run(search.exact_sql(n), PLANNED_PER_CALL)
        return found

    def _rebuild_if_narrow(self, workspace: str, target: VectorIndex, metric: Metric, rows: float) -> None:
        """Start rebuilding, in the background, a companion whose graph was built for a much smaller table (see
        NARROW_GRAPH): a graph keeps the ef_construction it was built with, however the table grows. Searches go
        on through the narrow one meanwhile."""
        narrow = target.companion(metric)
        built = narrow.ef_construction or PGVECTOR_EF_CONSTRUCTION
        if narrow.oid is None or ef_construction(int(rows)) < NARROW_GRAPH * built:
            return
        not_before, started = self._rebuilt.get(narrow.oid, (0.0, 0))
        now = time.monotonic()
        if now < not_before or (target.index_oid, metric) in self._background:
            return
        self._rebuilt[narrow.oid] = (now + REBUILD_RETRY_S * 2**started, started + 1)
        log.info(
            "the %s vector index of deeplake_index %r was built for a smaller table (ef_construction %d, about %d "
            "rows now): rebuilding it for the table's size in the background",
            metric,
            target.name,
            built,
            int(rows),
        )
        index_oid, narrow_oid = target.index_oid, narrow.oid
        self._in_background(
            index_oid, metric, "rebuilding", lambda: self._rebuild(workspace, index_oid, metric, narrow_oid)
        )

    async def _rebuild(self, workspace: str, index_oid: int, metric: Metric, narrow_oid: int) -> str | None:
        """Build a wider companion beside the narrow one (CREATE INDEX CONCURRENTLY: writes go on), record it in its
        place, then drop the narrow one; a failure leaves the narrow one in use."""
        async with self._catalog.rebuilding(index_oid) as job:
            if job is None:
                return None
            index = job.index
            narrow = index.companion(metric)
            if narrow.oid != narrow_oid or index.dimension is None or narrow.form is None:  # changed meanwhile
                return narrow.status
            try:
                wider = await self._create_wider_companion(
                    workspace, index, index.dimension, narrow.form, metric, BACKGROUND_BUILD_TIMEOUT_MS
                )
            except QueryError as exc:
                log.warning("the %s vector index of deeplake_index %r was not rebuilt: %s", metric, index.name, exc)
                return narrow.status
            replaced = await job.replaced(metric, narrow_oid, wider)
        async with self._executor.outside_transaction(workspace, timeout_ms=BACKGROUND_BUILD_TIMEOUT_MS) as session:
            await _drop_leftovers(session, index, metric, keep=wider if replaced else None)
        if not replaced:  # the index or its companion went meanwhile, and the wider one with them (as a leftover)
            return None
        log.info("the %s vector index of deeplake_index %r is rebuilt", metric, index.name)
        return "ready"

    def forget(self) -> None:
        """Forget cached search targets and estimates: a statement may have changed tables or indexes."""
        self._targets.forget()

    async def _common_dimension(self, workspace: str, index: VectorIndex) -> int | None:
        """The most common length among (up to) the first 1000 1-D vectors of the column."""
        column = sql.Identifier(index.column)
        probe = sql.SQL(
            "SELECT array_length(v, 1) FROM (SELECT {c} AS v FROM {t} WHERE array_ndims({c}) = 1 LIMIT 1000) AS s "
            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        ).format(c=column, t=sql.Identifier(index.schema, index.table))
        async with self._executor.session(workspace, read_only=True) as session:
            found = await session.value(probe)
        return None if found is None else int(found)

    async def _create_companion(
        self, workspace: str, index: VectorIndex, n: int, form: Form, metric: Metric, timeout_ms: int
    ) -> int:
        """Build the HNSW index in memory (see _size_the_build), with parallel workers, or serially when shared memory
        is short (e.g. Docker's 64 MB /dev/shm)."""
        # The server's own statements, their time chosen here (a background build may take hours): not capped.
        building = self._executor.session(workspace, read_only=False, timeout_ms=timeout_ms, longest_ms=timeout_ms)
        async with building as session:
            ef = await _size_the_build(session, index, "transaction")
            name = _companion_name(index, metric)
            ddl = _companion_ddl(index, n, form, metric, name, ef, concurrently=False)
            try:
                async with session.conn.transaction():  # a savepoint: the transaction outlives a failed try
                    await session.execute(ddl)
            except psycopg.errors.InsufficientResources:
                await _serially(session, ddl, "transaction")
            return await _made(session, index, name)

    async def _create_wider_companion(
        self, workspace: str, index: VectorIndex, n: int, form: Form, metric: Metric, timeout_ms: int
    ) -> int:
        """Build a wider graph for a table grown since beside the companion, with CREATE INDEX CONCURRENTLY (writes to
        the table go on), under a name of its own (``…_<ef_construction>``), after dropping what earlier attempts
        left (a failed concurrent build leaves an invalid index)."""
        async with self._executor.outside_transaction(workspace, timeout_ms=timeout_ms) as session:
            ef = await _size_the_build(session, index, "session")
            name = _companion_name(index, metric, ef)
            ddl = _companion_ddl(index, n, form, metric, name, ef, concurrently=True)
            await _drop_leftovers(session, index, metric, keep=index.companion(metric).oid)
            try:
                await session.execute(ddl)
            except psycopg.errors.InsufficientResources:
                await session.execute(_drop_index(index.schema, name))  # the invalid index the failed build left
                await _serially(session, ddl, "session")
            return await _made(session, index, name)

    async def _drop(self, workspace: str, index_oid: int) -> None:
        async with self._executor.session(workspace, read_only=False) as session:
            name = await session.value(b"SELECT $1::oid::regclass::text", [index_oid])
            if name is not None:
                await session.execute(sql.SQL("DROP INDEX {}").format(sql.SQL(name)))


async def _analyze_if_new(session: Session, index: VectorIndex, table: str) -> None:
    """Searches with a WHERE ask the planner how many rows it keeps: give it statistics at once if the
    table has none yet (just loaded), leaving out the vector columns (slow to analyze, never needed)."""
    if await session.value(_ANALYZED, [index.schema, index.table]):
        return
    columns = [row[0] for row in await session.rows(_NON_VECTOR_COLUMNS, [table])]
    if columns:
        names = sql.SQL(", ").join(sql.Identifier(column) for column in columns)
        await session.execute(sql.SQL("ANALYZE {} ({})").format(sql.Identifier(index.schema, index.table), names))


_Scope = Literal["transaction", "session"]
_SET_CONFIG: dict[_Scope, bytes] = {
    "transaction": b"SELECT pg_catalog.set_config($1, $2, true)",
    "session": b"SELECT pg_catalog.set_config($1, $2, false)",  # outside a transaction
}


async def _size_the_build(session: Session, index: VectorIndex, scope: _Scope) -> int:
    """Give the build memory for ``scope`` (maintenance_work_mem about twice the table, 64 MB to 2 GB) and return
    the ef_construction for the table's rows."""
    size = int(await session.value(b"SELECT pg_table_size($1::regclass)", [qualified(index.schema, index.table)]))
    memory = max(65536, min(2097152, 2 * size // 1024))
    await session.execute(_SET_CONFIG[scope], ["maintenance_work_mem", f"{memory}kB"])
    count = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(index.schema, index.table))
    return ef_construction(int(await session.value(count)))


def _companion_ddl(
    index: VectorIndex, n: int, form: Form, metric: Metric, name: str, ef: int, *, concurrently: bool
) -> sql.Composed:
    return sql.SQL("CREATE INDEX {} {} ON {} USING hnsw (({}) deeplake_compat.{}) WITH (ef_construction = {})").format(
        sql.SQL("CONCURRENTLY" if concurrently else "IF NOT EXISTS"),
        sql.Identifier(name),
        sql.Identifier(index.schema, index.table),
        sql.SQL(indexed_vector(quote_ident(index.column), int(n), form)),
        sql.SQL(f"{vector_type(form)}_{metric}_ops"),
        sql.Literal(ef),
    )


async def _serially(session: Session, ddl: sql.Composed, scope: _Scope) -> None:
    """Run the build again without parallel workers (their shared memory was short)."""
    await session.execute(_SET_CONFIG[scope], ["max_parallel_maintenance_workers", "0"])
    await session.execute(ddl)


async def _made(session: Session, index: VectorIndex, name: str) -> int:
    """The oid of the companion just built (the table analyzed if it never was)."""
    companion = await session.value(b"SELECT to_regclass($1)::oid", [qualified(index.schema, name)])
    await _analyze_if_new(session, index, qualified(index.schema, index.table))
    return int(companion)


# Indexes of the table named as companions of the index can be (see _companion_name) other than the one kept.
_LEFTOVERS = sql.SQL("""
    SELECT c.relname FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
    WHERE i.indrelid = {table}::regclass AND c.relname IN ({names}) AND c.oid IS DISTINCT FROM {keep}
""")


def _companion_name(index: VectorIndex, metric: Metric, ef: int | None = None) -> str:
    """``<index>_dl_hnsw_<oid>`` (cosine) or ``<index>_dl_hnsw_l2_<oid>``, the index's name cut so that a rebuilt
    one's ``_<ef_construction>`` still fits in PostgreSQL's 63 bytes."""
    prefix = f"{index.name[:37]}_dl_hnsw_l2_" if metric == "l2" else f"{index.name[:40]}_dl_hnsw_"
    return f"{prefix}{index.index_oid}" + ("" if ef is None else f"_{ef}")


async def _drop_leftovers(session: Session, index: VectorIndex, metric: Metric, *, keep: int | None) -> None:
    """Drop (concurrently: writes go on) the ``metric`` companions of ``index`` other than ``keep``: a narrow one
    rebuilt, or what a rebuild stopped halfway left. Only outside a transaction (Executor.outside_transaction)."""
    names = [_companion_name(index, metric, ef) for ef in (None, *range(1, MAX_EF_CONSTRUCTION + 1))]
    found = _LEFTOVERS.format(
        table=sql.Literal(qualified(index.schema, index.table)),
        names=sql.SQL(", ").join(map(sql.Literal, names)),
        keep=sql.Literal(keep),
    )
    for (name,) in await session.rows(found):
        await session.execute(_drop_index(index.schema, name))


def _drop_index(schema: str, name: str) -> sql.Composed:
    return sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(schema, name))


def ef_construction(rows: int) -> int:
    """The HNSW build's candidate list for a table of ``rows``: pgvector's 64 up to EF_CONSTRUCTION_ROWS, then
    growing with the square root of the size, to 128 from a million rows. A graph built narrow loses the
    true neighbours as the table grows (clustered 384-d vectors, recall@10 at ef_search 100 with 64: 0.9995
    at 100k rows, 0.988 at 300k, 0.89 at 1M, where a wider ef_search gets no further than 0.96; with 128 at
    1M: 1.0, for about three times the build time and 1.3 times the search's)."""
    return min(MAX_EF_CONSTRUCTION, round(PGVECTOR_EF_CONSTRUCTION * math.sqrt(max(1.0, rows / EF_CONSTRUCTION_ROWS))))


def _form(n: int, metric: Metric, index_type: str | None) -> Form | None:
    """What a new companion indexes: the vector up to 2000 dimensions (pgvector's limit for it), except for
    a cosine companion of a quantized index type (unit halfvec); above that, up to 4000, unit halfvec for
    cosine, halfvec for L2 (which cannot be normalized); None beyond."""
    if n > 4000:
        return None
    if metric == "cosine" and (n > 2000 or index_type in QUANTIZED_INDEX_TYPES):
        return "unit halfvec"
    return "vector" if n <= 2000 else "halfvec"


def _build_wait(timeout_ms: int) -> int:
    """How long a CREATE INDEX call waits for its companion's build: BUILD_SHARE of the call's time (at least
    a second), at most MAX_TIMEOUT_MS."""
    return min(max(int(timeout_ms * BUILD_SHARE), 1_000), MAX_TIMEOUT_MS)
