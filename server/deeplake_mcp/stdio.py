"""Serving MCP over stdio: one JSON-RPC message per line, every line answered, prompt shutdown on signals.

Unlike a plain line pump, this transport answers what is not a message: text that is not JSON gets a
``-32700`` parse error, JSON that is not a JSON-RPC message (or nests too deep to read) a ``-32700`` or
``-32600`` error, and a line longer than the size cap a ``-32600`` error (its bytes are skipped, never
held); the session then goes on. In a large ``insert_rows`` call, row values that are lists of floats
arrive packed as ``array('d')`` (the same doubles in a sixth of the memory). While it serves, file
descriptors 0 and 1 point at /dev/null and stderr, so nothing a library or child process reads or prints
can corrupt the wire. SIGTERM and SIGINT end the session at once: calls in flight are cancelled (which
cancels their queries), then the caller's resources close normally.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
from array import array
from collections.abc import AsyncIterator, Iterator
from typing import Any, BinaryIO

import anyio
import anyio.from_thread
import anyio.lowlevel
import msgspec
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.server.mcpserver import MCPServer
from mcp.shared.message import SessionMessage
from mcp_types import (
    INVALID_REQUEST,
    PARSE_ERROR,
    ErrorData,
    JSONRPCError,
    JSONRPCMessage,
    JSONRPCRequest,
    JSONRPCResponse,
    RequestId,
    jsonrpc_message_adapter,
)
from pydantic import ValidationError

__all__ = ["serve_stdio"]

log = logging.getLogger(__name__)

_EOF = object()
_JSON = msgspec.json.Decoder()
_FIELDS = msgspec.json.Decoder(dict[str, msgspec.Raw])
_ROWS = msgspec.json.Decoder(list[dict[str, msgspec.Raw]])
_PACK_FROM = 1 << 20  # lines from this size on: a large insert_rows call has its float lists packed
_MIN_PACKED = 16


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
    large = _LargeRequests()
    with _claimed_stdio() as (stdin, stdout), write_send.clone() as replies:
        token = anyio.lowlevel.current_token()
        reader = threading.Thread(
            target=_read_lines,
            args=(stdin, max_message_bytes, read_send, replies, token, large),
            name="deeplake-mcp stdin",
            daemon=True,  # a read blocked on stdin must never keep the process alive
        )
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_write_lines, write_receive, stdout, large)
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
    large: _LargeRequests,
) -> None:
    """The reader thread: each line becomes a message for the session, or an error answer."""
    try:
        while (line := _read_line(stdin, limit)) is not _EOF:
            if isinstance(line, _TooLarge):
                answer = _error(INVALID_REQUEST, f"message too large ({line.size} bytes; the limit is {limit})")
                anyio.from_thread.run(replies.send, answer, token=token)
            else:
                assert isinstance(line, bytes)
                _forward(line, messages, replies, token, large)
            del line  # waiting for the next line must not keep this one (a large insert) alive
        anyio.from_thread.run(messages.aclose, token=token)
    except (anyio.RunFinishedError, anyio.ClosedResourceError, anyio.BrokenResourceError):
        pass  # the session is over


def _forward(
    line: bytes,
    messages: MemoryObjectSendStream[SessionMessage | Exception],
    replies: MemoryObjectSendStream[SessionMessage],
    token: anyio.lowlevel.EventLoopToken,
    large: _LargeRequests,
) -> None:
    """Parse one line and hand it to the session (or answer it with an error)."""
    if not line.strip():
        return
    try:
        message = _parse(line)
    except ValidationError as exc:
        anyio.from_thread.run(replies.send, _answer_invalid(line, exc), token=token)
        return
    large.note(message, len(line))
    anyio.from_thread.run(messages.send, SessionMessage(message), token=token)


class _LargeRequests:
    """Large requests whose params the transport lets go of once their answer is written.

    The SDK's read loop holds the last message it read until the next one arrives: after a big insert,
    the whole payload would stay in memory for as long as the session sits idle.
    """

    SIZE = 1 << 20

    def __init__(self) -> None:
        self._requests: dict[RequestId, JSONRPCRequest] = {}

    def note(self, message: JSONRPCMessage, size: int) -> None:
        """Called by the reader thread for each message it forwards."""
        if size >= self.SIZE and isinstance(message, JSONRPCRequest):
            self._requests[message.id] = message

    def answered(self, message: JSONRPCMessage) -> None:
        """Called once an answer is written: its request's params are no longer needed."""
        if isinstance(message, JSONRPCResponse | JSONRPCError) and message.id is not None:
            request = self._requests.pop(message.id, None)
            if request is not None:
                request.params = None


def _parse(line: bytes) -> JSONRPCMessage:
    """One JSON-RPC message. msgspec decodes the JSON (several times faster than pydantic's JSON mode on a big
    insert, and half the memory); what it refuses goes to pydantic, whose error the client then gets."""
    try:
        data = _decode(line)
    except (msgspec.DecodeError, RecursionError):  # pydantic's JSON mode then words the client's error
        return jsonrpc_message_adapter.validate_json(line, by_name=False)
    return jsonrpc_message_adapter.validate_python(data, by_name=False)


def _decode(line: bytes) -> Any:
    if len(line) >= _PACK_FROM:
        with contextlib.suppress(msgspec.DecodeError):  # not an insert_rows call: decoded like any other line
            call = _packed_insert_call(line)
            if call is not None:
                return call
    return _JSON.decode(line)


def _packed_insert_call(line: bytes) -> dict[str, Any] | None:
    """A large ``insert_rows`` call with each row value that is a list of floats (16 or more) as ``array('d')``:
    8 bytes a number instead of a 24-byte float object and a pointer, and exactly the same doubles. The line is
    read field by field, so a row's numbers exist as Python floats only while that row is being decoded."""
    message = _FIELDS.decode(line)
    if "params" not in message or _JSON.decode(message.get("method", b"null")) != "tools/call":
        return None
    params = _FIELDS.decode(message["params"])
    if "arguments" not in params or _JSON.decode(params.get("name", b"null")) != "insert_rows":
        return None
    arguments = _FIELDS.decode(params["arguments"])
    if "rows" not in arguments:
        return None
    rows = [{column: _packed(value) for column, value in row.items()} for row in _ROWS.decode(arguments["rows"])]
    decoded = {key: rows if key == "rows" else _JSON.decode(value) for key, value in arguments.items()}
    params_out = {key: decoded if key == "arguments" else _JSON.decode(value) for key, value in params.items()}
    return {key: params_out if key == "params" else _JSON.decode(value) for key, value in message.items()}


def _packed(raw: msgspec.Raw) -> Any:
    value = _JSON.decode(raw)
    if type(value) is list and len(value) >= _MIN_PACKED and set(map(type, value)) == {float}:
        return array("d", value)
    return value


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


async def _write_lines(
    messages: MemoryObjectReceiveStream[SessionMessage], stdout: BinaryIO, large: _LargeRequests
) -> None:
    async with messages:
        async for session_message in messages:
            data = session_message.message.model_dump_json(by_alias=True, exclude_unset=True).encode() + b"\n"
            await anyio.to_thread.run_sync(_write, stdout, data)
            large.answered(session_message.message)


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
