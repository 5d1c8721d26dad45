"""``server_info``: what this server is, what it may do, and whether its backend answers."""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, Field

from deeplake_mcp import __version__
from deeplake_mcp.deeplake import DeepLakeError
from deeplake_mcp.runtime import Runtime
from deeplake_mcp.tools._common import Ctx, runtime
from deeplake_mcp.tools.write import CHUNK_ROWS, MAX_ROWS_PER_CALL

__all__ = ["ServerInfo", "server_info"]


class ServerInfo(BaseModel):
    version: str
    backend: str = Field(description="local (embedded, offline) or cloud (managed Deep Lake API)")
    location: str = Field(description="API URL, or the embedded backend's data directory")
    default_workspace: str
    access: str = Field(description="read-only, read-write or destructive: --access, or less for a limited token")
    allowed_statement_classes: list[str]
    read_functions: list[str] = Field(
        description="extra functions the SQL guard treats as reads (DEEPLAKE_MCP_READ_FUNCTIONS)"
    )
    limits: dict[str, Any]
    embedder: dict[str, Any] = Field(description="the text embedder: name, dimensions, whether it is loaded")
    health: dict[str, Any]


async def server_info(ctx: Ctx) -> ServerInfo:
    """Report version, backend, access mode, limits, embedder and backend health."""
    rt = runtime(ctx)
    started = time.perf_counter()
    try:
        status = await rt.client.health()
        health: dict[str, Any] = {"ok": True, "status": status.get("status", "ok")}
    except DeepLakeError as exc:
        health = {"ok": False, "error": str(exc)}
    health["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return ServerInfo(
        version=__version__,
        backend=rt.backend,
        location=rt.location,
        default_workspace=rt.settings.workspace,
        access=rt.policy.mode.value,
        allowed_statement_classes=[c.label for c in rt.policy.allowed_classes],
        read_functions=sorted(rt.policy.read_functions),
        limits={
            "max_rows": rt.settings.max_rows,
            "max_result_chars": rt.settings.max_result_chars,
            "max_cell_chars": rt.settings.max_cell_chars,
            "query_timeout_s": rt.settings.query_timeout,
            "insert_rows_per_call": MAX_ROWS_PER_CALL,
            "insert_rows_per_batch": CHUNK_ROWS,
        },
        embedder=_embedder_info(rt),
        health=health,
    )


def _embedder_info(rt: Runtime) -> dict[str, Any]:
    if rt.embedder is None:
        return {"name": None, "note": "no text embedder: semantic_search needs `vector` or keyword ranking"}
    return {"name": rt.embedder.name, "dimensions": rt.embedder.dimensions, "loaded": rt.embedder.ready}
