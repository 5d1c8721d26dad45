"""What every tool needs at run time, opened once per process and closed on exit."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Literal

import httpx

from deeplake_mcp.cache import TTLCache
from deeplake_mcp.deeplake import DeepLakeClient, TensorDBClient, Timeouts
from deeplake_mcp.guard import Policy
from deeplake_mcp.settings import Settings

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
    schemas: TTLCache[tuple[str, str], object] = field(default_factory=lambda: TTLCache(SCHEMA_TTL_S))
    """Table descriptions by ``(workspace, table)``, reused by search and inserts for a short while."""

    @property
    def location(self) -> str:
        """Where the data lives: the API URL, or the embedded backend's data directory."""
        return self.settings.api_url if self.backend == "cloud" else str(self.settings.data_dir)

    def workspace(self, workspace: str | None) -> str:
        """The workspace a tool call targets: the argument, else the configured default."""
        return workspace or self.settings.workspace


@asynccontextmanager
async def open_runtime(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[Runtime]:
    """Open the API client for ``settings``; in embedded mode also start the local API.

    ``transport`` replaces the network (tests pass ``httpx.MockTransport``); it is ignored
    in embedded mode, where the client reaches the local API in-process.
    """
    timeouts = Timeouts(query=settings.query_timeout + 1)
    backend = settings.effective_backend
    async with AsyncExitStack() as stack:
        if backend == "local":
            from deeplake_mcp.local import LocalBackend, create_app

            local = await stack.enter_async_context(LocalBackend(settings.data_dir))
            transport = httpx.ASGITransport(app=create_app(local), raise_app_exceptions=False)
            client = DeepLakeClient(base_url=LOCAL_API_URL, transport=transport, timeouts=timeouts)
            tensordb = TensorDBClient(base_url=LOCAL_API_URL, transport=transport, timeouts=timeouts)
        else:
            assert settings.api_key is not None
            client = DeepLakeClient(
                base_url=settings.api_url,
                api_key=settings.api_key.get_secret_value(),
                org_id=settings.org_id,
                transport=transport,
                timeouts=timeouts,
            )
            tensordb = TensorDBClient(
                base_url=settings.tensordb_url,
                api_key=settings.api_key.get_secret_value(),
                org_id=settings.org_id,
                transport=transport,
                timeouts=timeouts,
            )
        await stack.enter_async_context(client)
        await stack.enter_async_context(tensordb)
        log.info("deeplake-mcp ready: %s", settings.summary())
        yield Runtime(
            settings=settings,
            policy=Policy(settings.access),
            client=client,
            backend=backend,
            tensordb=tensordb,
        )
