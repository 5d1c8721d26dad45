"""Running the real ``deeplake-mcp`` entry point as a subprocess, for tests that need the whole program."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import httpx

SERVER_CMD = [sys.executable, "-m", "deeplake_mcp"]
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """A clean environment: the embedded backend on ``data_dir``, none of the developer's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPLAKE_")}
    env.update({"DEEPLAKE_MCP_DATA_DIR": str(data_dir), "DEEPLAKE_MCP_BACKEND": "local", **extra})
    return env


def quiet_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """``server_env`` with warnings only on stderr and no text embedder (faster start)."""
    return server_env(data_dir, DEEPLAKE_MCP_LOG_LEVEL="WARNING", DEEPLAKE_MCP_EMBEDDER="none", **extra)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until the server at ``url`` accepts connections (or fail with its log)."""
    parsed = httpx.URL(url)
    host, port = parsed.host, parsed.port or 80
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()}")
        try:
            with socket.create_connection((host, port), timeout=1):
                return  # uvicorn listens only after the app's start-up finished
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not start:\n{log.read_text()}")


@contextmanager
def http_server(data_dir: Path, log: Path, *args: str, stdout: Path | None = None, **env: str) -> Iterator[str]:
    """``deeplake-mcp serve --transport http [args]`` on a free loopback port; yields its /mcp URL.

    Its stderr goes to ``log``, its stdout to ``stdout`` (discarded when ``None``).
    """
    port = free_port()
    with log.open("wb") as err, stdout.open("wb") if stdout else nullcontext(subprocess.DEVNULL) as out:
        proc = subprocess.Popen(
            [*SERVER_CMD, "serve", "--transport", "http", "--port", str(port), *args],
            env=server_env(data_dir, **env),
            stdout=out,
            stderr=err,
        )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        wait_for(url, proc, log)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


class StdioProcess:
    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc

    def send(self, message: Any) -> None:
        assert self.proc.stdin is not None
        data = message if isinstance(message, bytes) else json.dumps(message).encode()
        self.proc.stdin.write(data + b"\n")
        self.proc.stdin.flush()

    def receive(self, timeout: float = 30) -> dict[str, Any]:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        assert ready, "no answer"
        line = self.proc.stdout.readline()
        assert line, "the server closed stdout"
        answer: dict[str, Any] = json.loads(line)
        return answer


@contextmanager
def stdio_server(data_dir: Path, log: Path, **env: str) -> Iterator[StdioProcess]:
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [*SERVER_CMD, "serve"],
            env=quiet_env(data_dir, **env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
        )
    try:
        yield StdioProcess(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
