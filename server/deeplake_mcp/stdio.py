"""Serving MCP over stdio: one JSON-RPC message per line, every line answered, prompt shutdown on signals.

Unlike a plain line pump, this transport answers what is not a message: text that is not JSON gets a
``-32700`` parse error, JSON that is not a JSON-RPC message (or nests too deep to read) a ``-32700`` or
``-32600`` error, and a line longer than the size cap a ``-32600`` error (its bytes are skipped, never
held); the session then goes on. While it serves, file descriptors 0 and 1 point at /dev/null and
stderr, so nothing a library or child process reads or prints can corrupt the wire. SIGTERM and
SIGINT end the session at once: calls in flight are cancelled (which cancels their queries), then the
caller's resources close normally.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any, BinaryIO

import anyio
import anyio.from_thread
import anyio.lowlevel
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.server.mcpserver import MCPServer
from mcp.shared.message import SessionMessage
from mcp_types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError, jsonrpc_message_adapter
from pydantic import ValidationError

__all__ = ["serve_stdio"]

log = logging.getLogger(__name__)

_EOF = object()


class _TooLarge:
    def __init__(self, size: int) -> None:
        self.size = size


async def serve_stdio(server: MCPServer[Any], *, max_message_bytes: int) -> None:
    """Serve ``server`` on this process's stdin and stdout until stdin closes or a signal arrives."""
    async with _wire(max_message_bytes) as (read_stream, write_stream), anyio.create_task_group() as tasks:
        tasks.start_soon(_stop_on_signal, tasks.cancel_scope)
        lowlevel = server._lowlevel_server  # the SDK's own runner takes the same two streams
        await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())
        tasks.cancel_scope.cancel()


async def _stop_on_signal(scope: anyio.CancelScope) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for received in signals:
            log.info("received %s: stopping", signal.Signals(received).name)
            scope.cancel()
            return


_Streams = tuple[MemoryObjectReceiveStream[SessionMessage | Exception], MemoryObjectSendStream[SessionMessage]]


@contextlib.asynccontextmanager
async def _wire(max_message_bytes: int) -> AsyncIterator[_Streams]:
    """Streams of messages read from stdin and written to stdout (see the module docstring)."""
    read_send, read_receive = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_send, write_receive = anyio.create_memory_object_stream[SessionMessage](16)
    with _claimed_stdio() as (stdin, stdout), write_send.clone() as replies:
        token = anyio.lowlevel.current_token()
        reader = threading.Thread(
            target=_read_lines,
            args=(stdin, max_message_bytes, read_send, replies, token),
            name="deeplake-mcp stdin",
            daemon=True,  # a read blocked on stdin must never keep the process alive
        )
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_write_lines, write_receive, stdout)
            reader.start()
            try:
                yield read_receive, write_send
            finally:
                tasks.cancel_scope.cancel()


def _read_lines(
    stdin: BinaryIO,
    limit: int,
    messages: MemoryObjectSendStream[SessionMessage | Exception],
    replies: MemoryObjectSendStream[SessionMessage],
    token: anyio.lowlevel.EventLoopToken,
) -> None:
    """The reader thread: each line becomes a message for the session, or an error answer."""
    try:
        while (line := _read_line(stdin, limit)) is not _EOF:
            if isinstance(line, _TooLarge):
                answer = _error(INVALID_REQUEST, f"message too large ({line.size} bytes; the limit is {limit})")
                anyio.from_thread.run(replies.send, answer, token=token)
                continue
            assert isinstance(line, bytes)
            if not line.strip():
                continue
            try:
                message = jsonrpc_message_adapter.validate_json(line, by_name=False)
            except ValidationError as exc:
                anyio.from_thread.run(replies.send, _answer_invalid(line, exc), token=token)
                continue
            anyio.from_thread.run(messages.send, SessionMessage(message), token=token)
        anyio.from_thread.run(messages.aclose, token=token)
    except (anyio.RunFinishedError, anyio.ClosedResourceError, anyio.BrokenResourceError):
        pass  # the session is over


def _read_line(stdin: BinaryIO, limit: int) -> bytes | _TooLarge | object:
    line = stdin.readline(limit + 1)
    if not line:
        return _EOF
    if line.endswith(b"\n") or len(line) <= limit:
        return line
    size = len(line)
    while line and not line.endswith(b"\n"):  # skip the rest of the line without holding it
        line = stdin.readline(1 << 20)
        size += len(line)
    return _TooLarge(size)


async def _write_lines(messages: MemoryObjectReceiveStream[SessionMessage], stdout: BinaryIO) -> None:
    async with messages:
        async for session_message in messages:
            data = session_message.message.model_dump_json(by_alias=True, exclude_unset=True).encode() + b"\n"
            await anyio.to_thread.run_sync(_write, stdout, data)


def _write(stdout: BinaryIO, data: bytes) -> None:
    stdout.write(data)
    stdout.flush()


def _answer_invalid(line: bytes, exc: ValidationError) -> SessionMessage:
    """-32700 when the line is not JSON we can read (or nests too deep), else -32600 naming the request id."""
    try:
        document = json.loads(line)
    except (ValueError, RecursionError):
        reason = exc.errors()[0].get("msg", "invalid JSON") if exc.errors() else "invalid JSON"
        return _error(PARSE_ERROR, f"Parse error: {reason}")
    request_id = document.get("id") if isinstance(document, dict) else None
    if not isinstance(request_id, str | int) or isinstance(request_id, bool):
        request_id = None
    return _error(INVALID_REQUEST, "Invalid request: not a JSON-RPC 2.0 message", request_id)


def _error(code: int, message: str, request_id: str | int | None = None) -> SessionMessage:
    error = JSONRPCError(jsonrpc="2.0", id=request_id, error=ErrorData(code=code, message=message))
    return SessionMessage(error)


@contextlib.contextmanager
def _claimed_stdio() -> Iterator[tuple[BinaryIO, BinaryIO]]:
    """Private duplicates of fds 0 and 1 for the wire; meanwhile 0 reads /dev/null and 1 writes to stderr.

    The stdin duplicate is never closed: the reader thread may still be blocked reading it.
    """
    wire_in, wire_out = os.dup(0), os.dup(1)
    saved_in, saved_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    try:
        os.dup2(devnull, 0)
        os.dup2(2, 1)
        stdin = os.fdopen(wire_in, "rb", closefd=False)
        with os.fdopen(wire_out, "wb") as stdout:
            yield stdin, stdout
    finally:
        os.close(devnull)
        os.dup2(saved_in, 0)
        os.dup2(saved_out, 1)
        os.close(saved_in)
        os.close(saved_out)
