"""A large insert_rows call over stdio (its float lists packed by the transport) stores exactly what the same rows
store when sent in small calls (decoded as plain JSON): vectors, float8[] and jsonb alike."""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from mcp_helpers import payload, unique
from processes import server_env

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

ROWS = 600  # about 3 MB as one call: over the size from which the transport packs float lists


def rows(offset: int) -> list[dict[str, Any]]:
    rng = random.Random(11)
    return [
        {
            "id": offset + i,
            "v": [rng.uniform(-2, 2) for _ in range(384)],
            "d": [rng.uniform(-1e300, 1e300) for _ in range(20)],
            "j": {"scores": [rng.random() for _ in range(20)], "n": i},
            "t": f"row {i}",
        }
        for i in range(ROWS)
    ]


async def test_a_packed_insert_stores_what_small_inserts_store(data_dir: Path, tmp_path: Path) -> None:
    params = StdioServerParameters(command=sys.executable, args=["-m", "deeplake_mcp"], env=server_env(data_dir))
    table = unique("packed")
    with (tmp_path / "stderr.log").open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            create = f"CREATE TABLE {table} (id INT, v FLOAT4[], d FLOAT8[], j JSONB, t TEXT) USING deeplake"
            payload(await client.call_tool("execute_sql", {"sql": create}))
            big = payload(await client.call_tool("insert_rows", {"table": table, "rows": rows(0)}))
            assert big["inserted"] == ROWS
            small_rows = rows(ROWS)
            for start in range(0, ROWS, 50):  # each call well under a megabyte: plain JSON all the way
                payload(await client.call_tool("insert_rows", {"table": table, "rows": small_rows[start : start + 50]}))
            differing = payload(
                await client.call_tool(
                    "query",
                    {
                        "sql": f"SELECT count(*) FROM {table} a JOIN {table} b ON b.id = a.id + {ROWS} "
                        "WHERE a.v IS DISTINCT FROM b.v OR a.d IS DISTINCT FROM b.d OR a.j IS DISTINCT FROM b.j "
                        "OR a.t IS DISTINCT FROM b.t"
                    },
                )
            )
            assert differing["rows"] == [[0]]
            counted = payload(await client.call_tool("query", {"sql": f"SELECT count(*) FROM {table}"}))
            assert counted["rows"] == [[2 * ROWS]]
            # And both hold what was sent: the float8 values to the last bit.
            sql = f"SELECT id, d = $1::float8[] FROM {table} WHERE id IN (7, {ROWS + 7}) ORDER BY id"
            exact = payload(await client.call_tool("query", {"sql": sql, "params": [rows(0)[7]["d"]]}))
            assert exact["rows"] == [[7, True], [ROWS + 7, True]]
