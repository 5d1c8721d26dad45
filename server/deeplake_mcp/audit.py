"""The audit trail: one JSON line per SQL/TQL statement the server sends, and a SQLCommenter tag on each SQL one.

A line (opt-in: ``DEEPLAKE_MCP_AUDIT_LOG=stderr`` or a file path)::

    {"time": "2026-11-30T09:12:03.412Z", "session": "p4711-9f2c1a", "client": "claude-code/2.1",
     "request_id": "7", "tool": "query", "access": "read-write", "backend": "local", "lang": "sql",
     "verdict": "read", "statement": "SELECT * FROM ( SELECT id FROM docs WHERE lang = ? ) AS _deeplake_mcp_q
     LIMIT ?", "duration_ms": 3.2, "rows": 10, "outcome": "ok"}

``statement`` is the statement's :func:`~deeplake_mcp.statements.shape` — literals as ``?``, comments
dropped; parameter values are never written. ``verdict`` is the guard's class of the agent's
statement (``read``, ``write``, ``destructive``, ``never``) or ``server`` for statements the server
builds itself from names and values. ``outcome`` is ``ok``, ``refused`` (the guard or the tool
refused it; nothing was sent), ``cancelled`` or the error's class name.

Who sent a statement travels in a context variable: the MCP middleware opens a :class:`Call` per
request (:func:`call_scope`), tools note the guard's verdict (:func:`guarded`), and the hook itself
sits in one place, the clients' statement methods (:class:`AuditedClient`, :class:`AuditedTensorDB`).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from deeplake_mcp.deeplake import DeepLakeClient, DeepLakeError, QueryResult, TensorDBClient, TQLResult
from deeplake_mcp.identifiers import qualified, quote_ident
from deeplake_mcp.redact import redact_value
from deeplake_mcp.statements import shape, tagged

__all__ = [
    "APPLICATION",
    "PROCESS_SESSION",
    "AuditedClient",
    "AuditedTensorDB",
    "Call",
    "Trail",
    "call_scope",
    "guarded",
    "open_trail",
    "server_statements",
]

APPLICATION = "deeplake-mcp"
PROCESS_SESSION = f"p{os.getpid()}-{secrets.token_hex(3)}"
"""The session of statements without an MCP session id (stdio, stateless HTTP, start-up): this process."""
STDERR = "stderr"


@dataclass
class Call:
    """One MCP request, as the statements it sends are attributed."""

    tool: str | None = None
    session: str = PROCESS_SESSION
    client: str | None = None
    request_id: str | None = None
    access: str | None = None
    trail: Trail | None = None
    verdict: str | None = None
    """The guard's class of the agent's statement about to be sent (set by :func:`guarded`)."""


_call: ContextVar[Call | None] = ContextVar("deeplake_mcp_call", default=None)
_server_own: ContextVar[bool] = ContextVar("deeplake_mcp_server_own", default=False)


@contextmanager
def call_scope(call: Call) -> Iterator[Call]:
    """Attribute the statements sent inside the block to ``call``."""
    token = _call.set(call)
    try:
        yield call
    finally:
        _call.reset(token)


@contextmanager
def server_statements() -> Iterator[None]:
    """Statements sent inside the block are the server's own (verdict ``server``), whatever the call noted."""
    token = _server_own.set(True)
    try:
        yield
    finally:
        _server_own.reset(token)


def guarded(statement: str, verdict: str, *, allowed: bool, lang: str = "sql") -> None:
    """Note the guard's verdict on the agent's statement (or filter) in the current call.

    An allowed one labels the next statement the call sends; a refused one is written at once, with
    outcome ``refused``, since it is never sent.
    """
    call = _call.get()
    if call is None:
        return
    if allowed:
        call.verdict = verdict
    elif call.trail is not None:
        call.trail.write(call, lang, statement, verdict=verdict, outcome="refused")


@dataclass
class Sent:
    """A statement on its way: the text to send, and the rows it touched once known."""

    sql: str
    rows: int | None = None


class Trail:
    """Where audit lines go: ``stderr``, a file (appended, created 0600) or nowhere (``None``)."""

    def __init__(self, target: str | None, *, backend: str, access: str) -> None:
        self.enabled = target is not None
        self.backend = backend
        self.access = access
        self._file: IO[str] | None = None
        if target is not None and target != STDERR:
            fd = os.open(Path(target).expanduser(), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self._file = open(fd, "a", encoding="utf-8")  # noqa: SIM115 (closed by close())
        self._lock = threading.Lock()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    @contextmanager
    def statement(self, sql: str, lang: str, *, batch: int | None = None) -> Iterator[Sent]:
        """Tag ``sql`` (SQL only: TQL has no comments), time it, and write its line when the block ends."""
        call = _call.get() or Call()
        sent = Sent(sql if lang != "sql" else tagged(sql, _tag_fields(call)))
        verdict = "server"
        if not _server_own.get() and call.verdict is not None:
            verdict, call.verdict = call.verdict, None
        started = time.perf_counter()
        outcome = "ok"
        try:
            yield sent
        except BaseException as exc:
            outcome = type(exc).__name__ if isinstance(exc, Exception) else "cancelled"  # cancelled, interrupted
            raise
        finally:
            if self.enabled:
                elapsed = round((time.perf_counter() - started) * 1000, 1)
                self.write(
                    call, lang, sql, verdict=verdict, outcome=outcome, duration_ms=elapsed, rows=sent.rows, batch=batch
                )

    def write(
        self,
        call: Call,
        lang: str,
        statement: str,
        *,
        verdict: str,
        outcome: str,
        duration_ms: float | None = None,
        rows: int | None = None,
        batch: int | None = None,
    ) -> None:
        """Write one line (nothing when the trail is off)."""
        if not self.enabled:
            return
        line: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "session": call.session,
            "client": call.client,
            "request_id": call.request_id,
            "tool": call.tool,
            "access": call.access or self.access,
            "backend": self.backend,
            "lang": lang,
            "verdict": verdict,
            "statement": shape(statement),
            "duration_ms": duration_ms,
            "rows": rows,
            "outcome": outcome,
        }
        if batch is not None:
            line["batch"] = batch
        text = json.dumps(redact_value(line), ensure_ascii=False, separators=(", ", ": ")) + "\n"
        with self._lock:
            stream = self._file or sys.stderr
            stream.write(text)
            stream.flush()


@contextmanager
def open_trail(target: str | None, *, backend: str, access: str) -> Iterator[Trail]:
    """A :class:`Trail` for the duration of the block."""
    trail = Trail(target, backend=backend, access=access)
    try:
        yield trail
    finally:
        trail.close()


def _tag_fields(call: Call) -> dict[str, str | None]:
    return {"application": APPLICATION, "session": call.session, "tool": call.tool, "request_id": call.request_id}


class AuditedClient(DeepLakeClient):
    """A :class:`DeepLakeClient` whose statements are tagged and audited on ``trail``."""

    def __init__(self, *, trail: Trail, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.trail = trail

    async def query(
        self,
        workspace: str,
        sql: str,
        params: Sequence[Any] | None = None,
        *,
        timeout_ms: int | None = None,
        read_only: bool = False,
    ) -> QueryResult:
        with self.trail.statement(sql, "sql") as sent:
            result = await super().query(workspace, sent.sql, params, timeout_ms=timeout_ms, read_only=read_only)
            sent.rows = result.row_count
        return result

    async def query_batch(self, workspace: str, sql: str, params_batch: Sequence[Sequence[Any]]) -> QueryResult:
        with self.trail.statement(sql, "sql", batch=len(params_batch)) as sent:
            result = await super().query_batch(workspace, sent.sql, params_batch)
            sent.rows = result.row_count
        return result

    async def copy_rows(
        self, workspace: str, table: str, columns: Sequence[str], type_oids: Sequence[int], data: bytes
    ) -> int:
        names = ", ".join(map(quote_ident, columns))
        statement = f"COPY {qualified(workspace, table)} ({names}) FROM STDIN (FORMAT binary)"
        with self.trail.statement(statement, "sql") as sent:
            sent.rows = written = await super().copy_rows(workspace, table, columns, type_oids, data)
        return written


class AuditedTensorDB(TensorDBClient):
    """A :class:`TensorDBClient` whose TQL queries are audited on ``trail`` (untagged: TQL has no comments)."""

    def __init__(self, *, trail: Trail, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.trail = trail

    async def tql_query(self, query: str, *, as_list: bool = True) -> TQLResult:
        with self.trail.statement(query, "tql") as sent:
            result = await super().tql_query(sent.sql, as_list=as_list)
            try:
                sent.rows = len(result.table()[1])
            except DeepLakeError:
                sent.rows = None
        return result
