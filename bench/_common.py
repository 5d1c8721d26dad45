"""What the bench scripts share: result files, targets, servers to measure, server memory, payloads.

Every script writes one JSON file (``--json-out``, default ``bench/results/raw/<bench>.json``)::

    {"bench": "insert", "date": …, "commit": …, "machine": {…}, "params": {…},
     "measures": [{"name", "value", "unit", "reference", "reference_value", "ratio", "target", "met", "note"}, …],
     "series": {…}}

``measures`` feed the summary table (``run.py``); ``series`` feed the plots (``plots.py``); a series
``"search_by_rows": [{"rows": n, "<label>": p50 ms, …}, …]`` from any bench joins the plot of search latency
by table size. A target is ``{"on": "ratio" | "value", "op": "<=" | ">=", "bound": x}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx2
import numpy as np
import psutil
import psycopg
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from deeplake_mcp.local._postgres import EmbeddedPostgres

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
RAW = RESULTS / "raw"
SERVER_CMD = [sys.executable, "-m", "deeplake_mcp"]
NOOP_CMD = [sys.executable, str(BENCH / "noop_server.py")]
DIM = 384
TABLE_DDL = "CREATE TABLE {table} (id TEXT, content TEXT, metadata JSONB, embedding FLOAT4[]) USING deeplake"
TIMEOUT_S = 1800.0
"""Read timeout of one tool call: big inserts and index builds take minutes."""

Json = dict[str, Any]


# -- results -------------------------------------------------------------------------------------


def target(on: Literal["ratio", "value"], op: Literal["<=", ">="], bound: float) -> Json:
    return {"on": on, "op": op, "bound": bound}


def measure(
    name: str,
    value: float,
    unit: str,
    *,
    reference: str | None = None,
    reference_value: float | None = None,
    goal: Json | None = None,
    note: str | None = None,
) -> Json:
    """One row of the summary table; the ratio is value / reference_value, ``met`` checks ``goal``."""
    ratio = value / reference_value if reference_value else None
    met = None
    if goal is not None:
        checked = ratio if goal["on"] == "ratio" else value
        if checked is not None:
            met = checked <= goal["bound"] if goal["op"] == "<=" else checked >= goal["bound"]
    return {
        "name": name,
        "value": round(value, 3),
        "unit": unit,
        "reference": reference,
        "reference_value": None if reference_value is None else round(reference_value, 3),
        "ratio": None if ratio is None else round(ratio, 3),
        "target": goal,
        "met": met,
        "note": note,
    }


def machine() -> Json:
    """The machine a result came from (shared machines: the load average says how busy it was)."""
    return {
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def commit() -> str:
    """The checkout measured: its short commit, ``+dirty`` when the server's code has uncommitted changes."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()

    try:
        return git("rev-parse", "--short", "HEAD") + ("+dirty" if git("status", "--porcelain", "--", "server") else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def parser(bench: str, doc: str | None) -> argparse.ArgumentParser:
    """The argument parser every bench script starts from (``--json-out``)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json-out", type=Path, default=RAW / f"{bench}.json", help="where to write the result")
    return parser


def write_result(
    path: Path, bench: str, params: Mapping[str, Any], measures: list[Json], series: Mapping[str, Any]
) -> None:
    """Write a bench's result (see the module docstring) and print its measures."""
    result = {
        "bench": bench,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit(),
        "machine": machine(),
        "params": dict(params),
        "measures": measures,
        "series": dict(series),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    for m in measures:
        ref = f"  ({m['ratio']}× {m['reference']} {m['reference_value']})" if m["ratio"] is not None else ""
        print(f"{bench}: {m['name']}: {m['value']} {m['unit']}{ref}", flush=True)


# -- statistics and payloads --------------------------------------------------------------------


def p50(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def rows_payload(n: int, dim: int = DIM, seed: int = 7) -> list[Json]:
    """``n`` rows of the bench table (id, content, metadata, a ``dim``-dim vector rounded to 6 decimals)."""
    vectors = np.round(np.random.default_rng(seed).standard_normal((n, dim)), 6).tolist()
    return [
        {
            "id": f"doc-{i}",
            "content": f"chunk {i} of a document about topic {i % 97}",
            "metadata": {"source": "bench", "n": i},
            "embedding": vector,
        }
        for i, vector in enumerate(vectors)
    ]


@contextmanager
def temp_data_dir(prefix: str) -> Iterator[Path]:
    """A new temporary data directory for the embedded PostgreSQL of a run, removed afterwards (kept, and its
    path printed, when ``DEEPLAKE_BENCH_KEEP=1``: to look into a result with psql or EXPLAIN)."""
    if os.environ.get("DEEPLAKE_BENCH_KEEP") == "1":
        path = Path(tempfile.mkdtemp(prefix=f"deeplake-bench-{prefix}-"))
        path.chmod(0o755)  # as root, PostgreSQL's own user must reach it
        print(f"keeping the data directory {path}", flush=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix=f"deeplake-bench-{prefix}-", ignore_cleanup_errors=True) as path:
        yield Path(path)


# -- servers -------------------------------------------------------------------------------------


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """Our server's environment: the embedded backend on ``data_dir``, none of the developer's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPLAKE_")}
    env.update(
        DEEPLAKE_MCP_DATA_DIR=str(data_dir),
        DEEPLAKE_MCP_BACKEND="local",
        DEEPLAKE_MCP_LOG_LEVEL="WARNING",
        DEEPLAKE_MCP_QUERY_TIMEOUT="600",
    )
    env.update(extra)
    return env


@asynccontextmanager
async def stdio_session(
    command: list[str], env: dict[str, str] | None = None
) -> AsyncIterator[tuple[Client, psutil.Process]]:
    """An SDK client session with ``command`` spawned over stdio (its stderr is ours), and its process."""
    params = StdioServerParameters(command=command[0], args=command[1:], env=env)
    known = {p.pid for p in psutil.Process().children()}
    async with Client(stdio_client(params, errlog=sys.stderr), read_timeout_seconds=TIMEOUT_S) as client:
        spawned = [p for p in psutil.Process().children() if p.pid not in known]
        assert len(spawned) == 1, f"expected one server process, found {spawned}"
        yield client, spawned[0]


@contextmanager
def http_process(command: list[str], env: dict[str, str] | None = None) -> Iterator[tuple[str, psutil.Process]]:
    """``command`` (an HTTP server taking ``--port``) on a free loopback port: its /mcp URL and process."""
    port = free_port()
    proc = subprocess.Popen([*command, "--port", str(port)], env=env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{command} exited with {proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{command} did not listen on port {port}") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp", psutil.Process(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=60)


@asynccontextmanager
async def http_session(url: str) -> AsyncIterator[Client]:
    """An SDK client session over streamable HTTP."""
    async with (
        httpx2.AsyncClient(timeout=TIMEOUT_S) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


@contextmanager
def postgres(data_dir: Path) -> Iterator[psycopg.Connection[Any]]:
    """A superuser connection (autocommit) to the embedded PostgreSQL a server of ``data_dir`` started."""
    server = EmbeddedPostgres(data_dir)
    conninfo = server.open().admin
    try:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            yield conn
    finally:
        server.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def call(client: Client, tool: str, arguments: Json) -> Json:
    """Call a tool; its structured result (raising when it failed)."""
    result = await client.call_tool(tool, arguments)
    if result.is_error:
        raise RuntimeError(f"{tool} failed: {result.content}")
    return result.structured_content or {}


# -- server memory -------------------------------------------------------------------------------


def rss_mb(proc: psutil.Process) -> float:
    """Resident memory of the server: the process and its own children (PostgreSQL's processes are not
    children of the server: they are the embedded database, measured apart from the server)."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            if p.name() != "postgres":
                total += p.memory_info().rss
        except psutil.Error:
            continue
    return total / 2**20


async def settle(proc: psutil.Process) -> None:
    """Wait (30 s at most) until the server is idle: its CPU quiet and its RSS unchanged (within 1 MB) for
    1.5 s, so that background work is done, e.g. loading the embedder or handing memory back after a call."""
    deadline = time.monotonic() + 30
    proc.cpu_percent()
    steady, last = 0, rss_mb(proc)
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        now = rss_mb(proc)
        steady = steady + 1 if proc.cpu_percent() < 5 and abs(now - last) < 1 else 0
        last = now
        if steady >= 3:
            return


def peak_rss_mb(proc: psutil.Process) -> float:
    """The process's own high-water mark (VmHWM), in MB."""
    for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return rss_mb(proc)


class RssSampler:
    """Samples a server's RSS every ``interval`` seconds in a thread: ``samples`` is [(seconds, MB)]."""

    def __init__(self, proc: psutil.Process, interval: float = 0.05) -> None:
        self.proc = proc
        self.interval = interval
        self.samples: list[tuple[float, float]] = []
        self._started = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def now(self) -> float:
        return time.perf_counter() - self._started

    def peak_since(self, start: float) -> float:
        return max((mb for t, mb in self.samples if t >= start), default=0.0)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append((round(self.now(), 3), round(rss_mb(self.proc), 1)))
            except psutil.Error:
                return
            self._stop.wait(self.interval)
