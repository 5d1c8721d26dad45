"""HTTP with several worker processes: one port, one embedded PostgreSQL, a crashed worker replaced."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import anyio
import httpx2
import psutil
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_helpers import payload, unique
from processes import SERVER_CMD, free_port, quiet_env, wait_for

pytestmark = pytest.mark.slow


@contextmanager
def workers_server(data_dir: Path, log: Path, *args: str) -> Iterator[tuple[str, psutil.Process]]:
    port = free_port()
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [*SERVER_CMD, "serve", "--transport", "http", "--port", str(port), "--workers", "2", *args],
            env=quiet_env(data_dir),
            stderr=err,
        )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        wait_for(url, proc, log)
        yield url, psutil.Process(proc.pid)
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=40)


def workers(parent: psutil.Process) -> set[int]:
    """The parent's Python children (a child listed but gone before its name is read is not one of them: the
    killed worker, or a short-lived helper)."""
    found = set()
    for child in parent.children():
        with suppress(psutil.NoSuchProcess):
            if "python" in child.name().lower():
                found.add(child.pid)
    return found


async def eventually_two_workers(parent: psutil.Process, besides: set[int] = frozenset()) -> set[int]:
    for _ in range(300):
        pids = workers(parent)
        if len(pids) == 2 and not pids & besides:
            return pids
        await anyio.sleep(0.1)
    raise AssertionError(f"workers now: {workers(parent)}")


@pytest.mark.anyio
async def test_workers_share_the_database_and_a_dead_one_is_replaced(new_data_dir: Path, tmp_path: Path) -> None:
    table = unique("shared")
    with workers_server(new_data_dir, tmp_path / "server.log") as (url, parent):
        first = await eventually_two_workers(parent)
        http = httpx2.AsyncClient(timeout=30)
        async with http, Client(streamable_http_client(url, http_client=http)) as client:
            payload(await client.call_tool("execute_sql", {"sql": f"CREATE TABLE {table} (id INT)"}))
            payload(await client.call_tool("insert_rows", {"table": table, "rows": [{"id": i} for i in range(5)]}))

            counts: list[int] = []

            async def count() -> None:
                result = payload(await client.call_tool("query", {"sql": f"SELECT count(*) FROM {table}"}))
                counts.append(result["rows"][0][0])

            async with anyio.create_task_group() as tg:
                for _ in range(24):  # stateless: these spread over both workers
                    tg.start_soon(count)
            assert counts == [5] * 24

            victim = min(first)
            psutil.Process(victim).send_signal(signal.SIGKILL)
            replaced = await eventually_two_workers(parent, besides={victim})
            assert len(replaced - first) == 1
            await count()
            assert counts[-1] == 5
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=40) == 0
    assert not (new_data_dir / "pg" / "postmaster.pid").exists()  # the last user stopped PostgreSQL
    log = (tmp_path / "server.log").read_text()
    assert "exited (exit code -9); starting a new one" in log


def test_a_worker_that_cannot_start_stops_the_server_with_one_line(tmp_path: Path) -> None:
    port, closed = free_port(), free_port()
    env = quiet_env(
        tmp_path / "data",
        DEEPLAKE_MCP_POSTGRES_URL=f"postgresql://agent@127.0.0.1:{closed}/x",
        DEEPLAKE_MCP_POSTGRES_ADMIN_URL=f"postgresql://admin@127.0.0.1:{closed}/x",
    )
    started = time.monotonic()
    result = subprocess.run(
        [*SERVER_CMD, "serve", "--transport", "http", "--port", str(port), "--workers", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "cannot connect to DEEPLAKE_MCP_POSTGRES_ADMIN_URL" in result.stderr
    assert "exited while starting" in result.stderr.splitlines()[-1]
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 60
