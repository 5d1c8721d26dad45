"""Serving HTTP from several worker processes: one listening socket, one embedded PostgreSQL.

The parent checks the exposure, binds the port and joins (or starts) the embedded PostgreSQL, then
forks the workers before it runs any event loop or thread. Each worker opens its own runtime (pools,
embedder) and serves the inherited socket; the kernel gives each new connection to one of them.
Streamable HTTP runs stateless here, so any worker can answer any request.

The parent restarts a worker that dies, gives up when workers keep dying (or one dies while starting),
and on SIGTERM/SIGINT stops them all, each finishing its requests, before it lets the database go.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event as EventType
from typing import Any

import anyio

from deeplake_mcp.auth import check_auth_setup
from deeplake_mcp.errors import StartupError
from deeplake_mcp.http import MCP_PATH, check_http_exposure, listening_socket
from deeplake_mcp.settings import Settings

__all__ = ["serve_http_workers"]

log = logging.getLogger(__name__)

Serve = Callable[[Settings, list[socket.socket], Callable[[], None]], int]
"""What a worker runs: the MCP server over HTTP on the given sockets until SIGTERM or SIGINT; its exit code.
It calls the third argument once it is ready to answer."""

_RESTARTS = 5
_RESTART_WINDOW_S = 60.0
_STOP_GRACE_S = 15.0


def serve_http_workers(settings: Settings, serve: Serve) -> None:
    """Serve ``settings.workers`` processes on one port until SIGTERM or SIGINT (StartupError on failure)."""
    supervisor = _Supervisor(settings, serve)
    with supervisor.signals_caught():
        check_http_exposure(settings)
        if settings.http_auth_enabled:
            anyio.run(check_auth_setup, settings)  # its event loop and threads are gone before the fork
        with _database_held(settings), listening_socket(settings.host, settings.port) as sock:
            log.info(
                "MCP endpoint: http://%s:%d%s (%d worker processes)",
                settings.host, settings.port, MCP_PATH, settings.workers,
            )  # fmt: skip
            supervisor.run(sock)


@contextlib.contextmanager
def _database_held(settings: Settings) -> Iterator[None]:
    """Keep the embedded PostgreSQL running for as long as the workers come and go."""
    if settings.effective_backend != "local" or settings.postgres_url or settings.postgres_admin_url:
        yield
        return
    from deeplake_mcp.local._postgres import EmbeddedPostgres

    server = EmbeddedPostgres(settings.data_dir)
    server.open()
    try:
        yield
    finally:
        server.close()


class _Supervisor:
    def __init__(self, settings: Settings, serve: Serve) -> None:
        self._settings = settings
        self._serve = serve
        self._context = multiprocessing.get_context("fork")
        self._stopping = False
        self._restarts: list[float] = []
        self._wakeup = -1

    @contextlib.contextmanager
    def signals_caught(self) -> Iterator[None]:
        """SIGTERM and SIGINT stop the workers from now on (also while the database starts)."""
        wakeup_read, wakeup_write = os.pipe()
        for fd in (wakeup_read, wakeup_write):
            os.set_blocking(fd, False)
        previous_fd = signal.set_wakeup_fd(wakeup_write)
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        self._wakeup = wakeup_read
        try:
            yield
        finally:
            signal.set_wakeup_fd(previous_fd)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            os.close(wakeup_read)
            os.close(wakeup_write)

    def run(self, sock: socket.socket) -> None:
        """Start the workers on ``sock``, replace those that die, stop them all on a signal."""
        workers: dict[int, _Worker] = {}
        try:
            if not self._stopping:
                workers = {index: self._start(index, sock) for index in range(self._settings.workers)}
            while not self._stopping:
                wait([self._wakeup, *(worker.process.sentinel for worker in workers.values())])
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wakeup, 512)
                for index, worker in list(workers.items()):
                    if not self._stopping and not worker.process.is_alive():
                        self._check_restart(index, worker)
                        workers[index] = self._start(index, sock)
        finally:
            self._stop_all([worker.process for worker in workers.values()])

    def _stop(self, signum: int, _frame: Any) -> None:
        self._stopping = True

    def _start(self, index: int, sock: socket.socket) -> _Worker:
        ready = self._context.Event()
        process = self._context.Process(
            target=_worker, args=(self._settings, sock, self._serve, ready), name=f"deeplake-mcp-worker-{index}"
        )
        process.start()
        return _Worker(process, ready)

    def _check_restart(self, index: int, worker: _Worker) -> None:
        process = worker.process
        if not worker.ready.is_set():
            raise StartupError(
                f"HTTP worker {index} exited while starting (exit code {process.exitcode}); its error is above"
            )
        now = time.monotonic()
        self._restarts = [t for t in self._restarts if now - t < _RESTART_WINDOW_S] + [now]
        if len(self._restarts) > _RESTARTS:
            raise StartupError(f"HTTP workers exited {len(self._restarts)} times in a minute; stopping")
        log.warning("HTTP worker %d exited (exit code %s); starting a new one", index, process.exitcode)

    def _stop_all(self, processes: list[BaseProcess]) -> None:
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        deadline = time.monotonic() + _STOP_GRACE_S
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.warning("HTTP worker %s did not stop in time; killing it", process.name)
                process.kill()
                process.join()


@dataclass(frozen=True)
class _Worker:
    process: BaseProcess
    ready: EventType
    """Set by the worker once it can answer: a worker that dies before then failed to start."""


def _worker(settings: Settings, sock: socket.socket, serve: Serve, ready: EventType) -> None:
    """A worker process: the parent's signal handling undone, then ``serve`` on ``sock``."""
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)
    raise SystemExit(serve(settings, [sock], ready.set))
