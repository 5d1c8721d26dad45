"""Helpers for tests that call the local Deep Lake API directly over its in-process HTTP client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import psycopg


async def run(client: httpx.AsyncClient, ws: str, query: str, params: list[Any] | None = None) -> Any:
    """POST a query that must succeed; return the response body."""
    body: dict[str, Any] = {"query": query}
    if params is not None:
        body["params"] = params
    response = await client.post(f"/workspaces/{ws}/tables/query", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def rows(client: httpx.AsyncClient, ws: str, query: str, params: list[Any] | None = None) -> list[Any]:
    """The rows of a query that must succeed."""
    return list((await run(client, ws, query, params))["rows"])


async def query_error(client: httpx.AsyncClient, ws: str, query: str, **body: Any) -> str:
    """POST a query that must fail with 400 QUERY_ERROR; return PostgreSQL's message."""
    response = await client.post(f"/workspaces/{ws}/tables/query", json={"query": query, **body})
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["code"] == "QUERY_ERROR"
    return str(error["error"])


async def superuser_rows(data_dir: Path, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of a query run as the embedded server's superuser: what its operator sees with psql."""
    socket_dir = (data_dir / "pg" / "postmaster.pid").read_text().splitlines()[4]
    conn = await psycopg.AsyncConnection.connect(host=socket_dir, dbname="postgres", user="postgres", autocommit=True)
    async with conn:
        cur = await conn.execute(query, params)
        return await cur.fetchall()
