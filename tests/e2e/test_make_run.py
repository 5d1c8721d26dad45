"""`make run` prints, before it serves, lines to paste for this checkout, and each of them works as pasted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from client_snippets import ROOT, printed_targets, tool_names
from processes import free_port, server_env, wait_for

pytestmark = pytest.mark.slow

VENV = Path(sys.executable).parent.parent


@pytest.fixture
def make_run(new_data_dir: Path, tmp_path: Path) -> Iterator[tuple[str, int]]:
    """``make run`` on a free port and a data dir of its own; yields (what it printed, port)."""
    make = ["make", "--no-print-directory", "-C", str(ROOT), f"VENV={VENV}"]
    if subprocess.run([*make, "-q", f"{VENV}/.installed"], check=False).returncode != 0:
        pytest.skip(f"{VENV} is not a venv that `make` built and keeps up to date")
    port = free_port()
    env = server_env(new_data_dir, DEEPLAKE_MCP_PORT=str(port), DEEPLAKE_MCP_EMBEDDER="none")
    env.pop("DEEPLAKE_MCP_BACKEND")  # `make run` as a user types it: only the port and the data dir differ
    log = tmp_path / "server.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [*make, "run"], env=env, stdout=subprocess.PIPE, stderr=err, text=True, start_new_session=True
        )
    try:
        assert proc.stdout is not None
        printed = []
        for line in proc.stdout:  # until make echoes the serve command: the snippets came first
            if "serve --transport http" in line and line.startswith(str(VENV)):
                break
            printed.append(line)
        wait_for(f"http://127.0.0.1:{port}/mcp", proc, log)
        yield "".join(printed), port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # make and the server it started
        proc.wait(timeout=30)


@pytest.mark.anyio
async def test_make_run_prints_snippets_that_work(
    make_run: tuple[str, int], new_data_dir: Path, tmp_path: Path
) -> None:
    printed, port = make_run
    shell = server_env(new_data_dir, DEEPLAKE_MCP_EMBEDDER="none")
    shell.pop("DEEPLAKE_MCP_BACKEND")
    url, targets = printed_targets(printed, shell)
    assert url == f"http://127.0.0.1:{port}/mcp"
    assert len(targets) == 5  # two Claude Code lines, Claude Desktop, Cursor stdio and HTTP
    for target in targets:
        if target.url is None:
            assert target.command == (str(VENV / "bin" / "deeplake-mcp"),)
        assert "query" in await tool_names(target, shell, tmp_path / "stderr.log"), target
    async with httpx.AsyncClient() as http:
        home = await http.get(f"http://127.0.0.1:{port}/")
        assert home.status_code == 200 and "/mcp" in home.text
        plain = await http.get(url, timeout=5)  # what `curl` sends: Accept: */*
        assert plain.status_code == 406 and "connect an MCP client" in plain.json()["error"]
