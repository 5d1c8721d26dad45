"""What every tool needs at run time, opened once per process and closed on exit."""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import AsyncIterator, Coroutine, Iterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import anyio
import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from deeplake_mcp.audit import AuditedClient, AuditedTensorDB, Trail, open_trail
from deeplake_mcp.cache import TTLCache
from deeplake_mcp.deeplake import CopyHandler, DeepLakeClient, QueryHandler, TensorDBClient, Timeouts
from deeplake_mcp.descriptions import TableDescription
from deeplake_mcp.embeddings import Embedder, create_embedder
from deeplake_mcp.guard import Policy
from deeplake_mcp.server_sql import ServerSQL
from deeplake_mcp.settings import Settings, reveal

__all__ = ["LOCAL_API_URL", "Runtime", "open_runtime"]

log = logging.getLogger(__name__)

LOCAL_API_URL = "http://deeplake.local"
SCHEMA_TTL_S = 30.0


@dataclass(frozen=True)
class Runtime:
    """The shared state of a running server: settings, the access policy and the API clients."""

    settings: Settings
    policy: Policy
    client: DeepLakeClient
    backend: Literal["local", "cloud"]
    tensordb: TensorDBClient
    embedder: Embedder | None
    trail: Trail
    """Where the audit lines of the statements the clients send go."""
    schemas: TTLCache[tuple[str, str], TableDescription] = field(default_factory=lambda: TTLCache(SCHEMA_TTL_S))
    """Table descriptions by ``(workspace, table)``, reused by search and inserts for a short while."""
    type_oids: TTLCache[tuple[str, str], dict[str, int]] = field(default_factory=lambda: TTLCache(SCHEMA_TTL_S))
    """Column type OIDs by ``(workspace, table)``, the embedded backend's inserts encode their COPY for (a stream
    encoded for types a column no longer has is refused before any row is written, then sent again)."""

    @property
    def server_sql(self) -> ServerSQL:
        """The server's own statements (never the agent's SQL)."""
        return ServerSQL(self.client)

    @property
    def location(self) -> str:
        """Where the data lives: the API URL, or the embedded backend's data directory."""
        return self.settings.api_url if self.backend == "cloud" else str(self.settings.data_dir)

    def workspace(self, workspace: str | None) -> str:
        """The workspace a tool call targets: the argument, else the configured default."""
        return workspace or self.settings.workspace


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    warm_up: bool = False,
    start_in_background: bool = False,
) -> AsyncIterator[Runtime]:
    """Open the API clients and the embedder for ``settings``; in embedded mode also start the local API.

    ``transport`` replaces the network (tests pass ``httpx.MockTransport``); it is ignored
    in embedded mode, where the client reaches the local API in-process. ``warm_up`` loads the
    embedding model in the background, so the first search does not wait for it while
    ``tools/list`` still answers at once. ``start_in_background`` yields before the embedded
    PostgreSQL is up (and before the local package is even imported), so a client's handshake and
    ``tools/list`` do not wait for it either: calls that reach the local API wait until it is open,
    and a failure to open it ends the block.
    """
    timeouts = Timeouts(query=settings.query_timeout + 1)
    backend = settings.effective_backend
    async with AsyncExitStack() as stack:
        if backend == "local":
            api: _LocalAPI
            if start_in_background:
                local = _Deferred()
                tasks = await stack.enter_async_context(anyio.create_task_group())
                stack.callback(tasks.cancel_scope.cancel)  # on the way out, first let go of the backend
                tasks.start_soon(_hold_open, settings, local)
                api = _LocalAPI(local.app, local.query, local.copy)
            else:
                api = await stack.enter_async_context(_local_api(settings))
            transport = httpx.ASGITransport(app=api.app, raise_app_exceptions=False)
            common: dict[str, Any] = {"transport": transport, "timeouts": timeouts}
            queries = {"query_handler": api.query, "copy_handler": api.copy}
            api_url = tensordb_url = LOCAL_API_URL
        else:
            assert settings.api_key is not None
            common = {
                "api_key": settings.api_key.get_secret_value(),
                "org_id": settings.org_id,
                "transport": transport,
                "timeouts": timeouts,
            }
            api_url, tensordb_url = settings.api_url, settings.tensordb_url
            queries = {}
        trail = stack.enter_context(open_trail(settings.audit_log, backend=backend, access=settings.access.value))
        client = AuditedClient(base_url=api_url, trail=trail, **common, **queries)
        tensordb = AuditedTensorDB(base_url=tensordb_url, trail=trail, **common)
        await stack.enter_async_context(client)
        await stack.enter_async_context(tensordb)
        embedder = _embedder(settings)
        if embedder is not None:
            stack.push_async_callback(embedder.aclose)
            if warm_up:
                stack.enter_context(_background(embedder.warm_up(), f"loading {embedder.name}"))
        log.info("deeplake-mcp ready: %s", settings.summary())
        yield Runtime(
            settings=settings,
            policy=Policy(settings.access, frozenset(settings.read_functions)),
            client=client,
            backend=backend,
            tensordb=tensordb,
            embedder=embedder,
            trail=trail,
        )


class _LocalAPI(NamedTuple):
    """The embedded API: its REST app, and its query and copy routes as functions (for the client in this process)."""

    app: ASGIApp
    query: QueryHandler
    copy: CopyHandler


@asynccontextmanager
async def _local_api(settings: Settings) -> AsyncIterator[_LocalAPI]:
    """The embedded backend, open: its REST app and its in-process routes."""
    from deeplake_mcp.local import LocalBackend, create_app, in_process_copies, in_process_queries

    local = LocalBackend(
        settings.data_dir,
        postgres_url=reveal(settings.postgres_url),
        postgres_admin_url=reveal(settings.postgres_admin_url),
    )
    async with local:
        yield _LocalAPI(create_app(local), in_process_queries(local), in_process_copies(local))


class _Deferred:
    """The embedded API before it is open: each request waits until it is."""

    def __init__(self) -> None:
        self.opened = anyio.Event()
        self._api: _LocalAPI | None = None

    def open_with(self, api: _LocalAPI) -> None:
        self._api = api
        self.opened.set()

    async def _open(self) -> _LocalAPI:
        await self.opened.wait()
        assert self._api is not None
        return self._api

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        await (await self._open()).app(scope, receive, send)

    async def query(self, workspace: str, body: dict[str, Any], read_only: bool) -> tuple[int, Any]:
        return await (await self._open()).query(workspace, body, read_only)

    async def copy(
        self, workspace: str, table: str, columns: Sequence[str], type_oids: Sequence[int], data: bytes
    ) -> tuple[int, Any]:
        return await (await self._open()).copy(workspace, table, columns, type_oids, data)


async def _hold_open(settings: Settings, deferred: _Deferred) -> None:
    """Open the embedded backend and keep it open until cancelled; opening and closing are never cut short.

    The local package (psycopg, pglast: a tenth of a second) is imported in a thread meanwhile, so a
    client's handshake and ``tools/list`` do not wait for it.
    """
    await anyio.to_thread.run_sync(importlib.import_module, "deeplake_mcp.local")
    opening = _local_api(settings)
    with anyio.CancelScope(shield=True):
        api = await opening.__aenter__()
    try:
        deferred.open_with(api)
        log.info("the embedded backend is open (data in %s)", settings.data_dir)
        await anyio.sleep_forever()
    finally:
        with anyio.CancelScope(shield=True):
            await opening.__aexit__(None, None, None)


def _embedder(settings: Settings) -> Embedder | None:
    return create_embedder(
        settings.embedder,
        url=settings.embedding_url,
        model=settings.embedding_model,
        api_key=reveal(settings.embedding_api_key),
        dimensions=settings.embedding_dimensions,
        threads=settings.embedding_threads,
    )


@contextmanager
def _background(work: Coroutine[Any, Any, None], what: str) -> Iterator[None]:
    """Run ``work`` as a background task for the duration of the block; failures are logged."""

    async def guarded() -> None:
        try:
            await work
        except Exception as exc:  # a failed warm-up only costs the first call its latency
            log.warning("%s failed: %s", what, exc)

    task = asyncio.get_running_loop().create_task(guarded())
    try:
        yield
    finally:
        task.cancel()
