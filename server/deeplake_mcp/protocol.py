"""The rest of the protocol: logging, completions, resource subscriptions and change notifications, icons.

* ``logging/setLevel`` (handshake-era clients) sets the least level of the log notifications this
  connection gets; :func:`forward_logs` sends what the server logs while it answers a request as
  ``notifications/message`` on that request's stream (on 2026-07-28, only what the request opted into).
* ``completion/complete`` offers workspace and table names for the ``explore_table`` prompt and the
  ``deeplake://{workspace}/{table}/schema`` template.
* ``resources/list`` also lists the schema resource of each table of the default workspace; when a tool
  creates, drops or changes a table, :func:`notify_changes` says so: ``notifications/resources/list_changed``
  and ``notifications/resources/updated`` (for subscribed URIs) to handshake-era clients, and the same
  events to 2026-07-28 ``subscriptions/listen`` streams of this process.

``MCPServer`` has no public API for ``logging/setLevel`` or ``resources/subscribe``; they are registered
on its low-level server, as the SDK's own conformance server does, and per-connection state is kept in
the connection's ``state`` (see :func:`_connection_state`).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from mcp.server.connection import allowed_log_levels
from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.subscriptions import ResourcesListChanged, ResourceUpdated, SubscriptionBus
from mcp.types import (
    CompleteRequestParams,
    CompleteResult,
    Completion,
    CompletionArgument,
    CompletionContext,
    EmptyResult,
    Icon,
    LoggingLevel,
    LoggingMessageNotification,
    LoggingMessageNotificationParams,
    PromptReference,
    ResourceListChangedNotification,
    ResourceTemplateReference,
    ResourceUpdatedNotification,
    ResourceUpdatedNotificationParams,
    SetLevelRequestParams,
    SubscribeRequestParams,
    UnsubscribeRequestParams,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pglast import ast, parse_sql
from pglast.enums import ObjectType
from pglast.parser import ParseError
from pydantic import BaseModel

from deeplake_mcp.deeplake import DeepLakeError
from deeplake_mcp.redact import redact
from deeplake_mcp.runtime import Runtime

__all__ = [
    "ICONS",
    "add_protocol_handlers",
    "advertise_changes",
    "changes",
    "forward_logs",
    "notify_changes",
    "schema_uri",
    "table_resources",
]

log = logging.getLogger(__name__)

_LEVELS: tuple[LoggingLevel, ...] = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
_DEFAULT_LEVEL: LoggingLevel = "info"
_LEVEL_KEY = "deeplake_mcp.log_level"
_SUBSCRIPTIONS_KEY = "deeplake_mcp.subscriptions"
_MAX_COMPLETIONS = 100
_MAX_LISTED_TABLES = 100
_LOGGED_METHODS = frozenset({"tools/call", "resources/read", "prompts/get"})

_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" '
    'fill="#0b3d91"/><path d="M10 40c8-6 14-6 22 0s14 6 22 0v10c-8 6-14 6-22 0s-14-6-22 0z" fill="#5fb3ff"/>'
    '<path d="M10 26c8-6 14-6 22 0s14 6 22 0v8c-8 6-14 6-22 0s-14-6-22 0z" fill="#bfe1ff"/></svg>'
)
ICONS = [
    Icon(
        src="data:image/svg+xml;base64," + base64.b64encode(_SVG.encode()).decode(),
        mime_type="image/svg+xml",
        sizes=["any"],
    )
]
"""The server's icon (a data URI, so clients need no network to show it)."""


def schema_uri(workspace: str, table: str) -> str:
    """The URI of a table's schema resource."""
    return f"deeplake://{workspace}/{table}/schema"


def add_protocol_handlers(mcp: MCPServer[Runtime], current: Callable[[], Runtime]) -> None:
    """Register ``logging/setLevel``, ``resources/subscribe``/``unsubscribe`` and ``completion/complete``."""
    low = mcp._lowlevel_server  # no public API for these yet (mcp 2.3); the SDK's conformance server does the same
    low.add_request_handler("logging/setLevel", SetLevelRequestParams, _set_level)
    low.add_request_handler("resources/subscribe", SubscribeRequestParams, _subscribe)
    low.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, _unsubscribe)

    async def complete(ctx: ServerRequestContext[Any, Any], params: CompleteRequestParams) -> CompleteResult:
        values = await _names(current(), params.ref, params.argument, params.context)
        shown = values[:_MAX_COMPLETIONS]
        return CompleteResult(completion=Completion(values=shown, total=len(values), has_more=len(values) > len(shown)))

    low.add_request_handler("completion/complete", CompleteRequestParams, complete)


async def _names(
    rt: Runtime,
    ref: PromptReference | ResourceTemplateReference,
    argument: CompletionArgument,
    context: CompletionContext | None,
) -> list[str]:
    """Workspace or table names that start with what was typed (tables of the workspace given, or the default)."""
    if isinstance(ref, PromptReference) and ref.name != "explore_table":
        return []
    given = (context.arguments or {}) if context is not None else {}
    try:
        if argument.name == "workspace":
            names = [w.id for w in await rt.client.list_workspaces()]
        elif argument.name == "table":
            names = [t.table_name for t in await rt.client.list_tables(rt.workspace(given.get("workspace")))]
        else:
            return []
    except DeepLakeError as exc:
        log.info("no completions for %s: %s", argument.name, exc)
        return []
    return sorted(name for name in names if name.startswith(argument.value))


async def _set_level(ctx: ServerRequestContext[Any, Any], params: SetLevelRequestParams) -> EmptyResult:
    state = _connection_state(ctx)
    if state is not None:
        state[_LEVEL_KEY] = params.level
    return EmptyResult()


async def _subscribe(ctx: ServerRequestContext[Any, Any], params: SubscribeRequestParams) -> EmptyResult:
    state = _connection_state(ctx)
    if state is not None:
        state.setdefault(_SUBSCRIPTIONS_KEY, set()).add(str(params.uri))
    return EmptyResult()


async def _unsubscribe(ctx: ServerRequestContext[Any, Any], params: UnsubscribeRequestParams) -> EmptyResult:
    state = _connection_state(ctx)
    if state is not None:
        state.get(_SUBSCRIPTIONS_KEY, set()).discard(str(params.uri))
    return EmptyResult()


def _connection_state(ctx: ServerRequestContext[Any, Any]) -> dict[str, Any] | None:
    """The per-connection scratch state (``Connection.state``); the SDK keeps the connection private."""
    state = getattr(getattr(ctx.session, "_connection", None), "state", None)
    return state if isinstance(state, dict) else None


# --- log notifications ------------------------------------------------------------------------------

_captured: ContextVar[list[logging.LogRecord] | None] = ContextVar("deeplake_mcp_captured_logs", default=None)


class _Capture(logging.Handler):
    """Keeps the records logged while a request is answered, for :func:`forward_logs`."""

    def emit(self, record: logging.LogRecord) -> None:
        records = _captured.get()
        if records is not None:
            records.append(record)


_HANDLER = _Capture()
logging.getLogger("deeplake_mcp").addHandler(_HANDLER)


async def forward_logs(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Answer the request, then send what the server logged meanwhile as log notifications (redacted)."""
    if ctx.method not in _LOGGED_METHODS or ctx.request_id is None:
        return await call_next(ctx)
    records: list[logging.LogRecord] = []
    token = _captured.set(records)
    try:
        return await call_next(ctx)
    finally:
        _captured.reset(token)
        for level, record in _deliverable(ctx, records):
            params = LoggingMessageNotificationParams(level=level, data=redact(record.getMessage()), logger=record.name)
            try:
                await ctx.session.send_notification(
                    LoggingMessageNotification(params=params), related_request_id=ctx.request_id
                )
            except Exception as exc:  # a client that went away; the answer matters more
                log.debug("log notification not sent: %s", exc)


def _deliverable(
    ctx: ServerRequestContext[Any, Any], records: list[logging.LogRecord]
) -> Iterator[tuple[LoggingLevel, logging.LogRecord]]:
    if not records:  # the common case: nothing logged, nothing to look up
        return
    allowed = allowed_log_levels(ctx.protocol_version, ctx.meta)  # type: ignore[arg-type]
    state = _connection_state(ctx) or {}
    least = _LEVELS.index(state.get(_LEVEL_KEY, _DEFAULT_LEVEL))
    for record in records:
        level = _mcp_level(record.levelno)
        if level in allowed and _LEVELS.index(level) >= least:
            yield level, record


def _mcp_level(levelno: int) -> LoggingLevel:
    if levelno >= logging.CRITICAL:
        return "critical"
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warning"
    return "info" if levelno >= logging.INFO else "debug"


# --- resources that change ---------------------------------------------------------------------------


async def table_resources(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """``resources/list`` with the schema resource of each table of the default workspace (up to 100)."""
    result = await call_next(ctx)
    rt = ctx.lifespan_context
    if ctx.method != "resources/list" or not isinstance(rt, Runtime):
        return result
    data = result.model_dump(by_alias=True, mode="json", exclude_none=True) if isinstance(result, BaseModel) else result
    if not isinstance(data, dict):
        return result
    workspace = rt.settings.workspace
    try:
        tables = sorted(t.table_name for t in await rt.client.list_tables(workspace))
    except DeepLakeError as exc:
        log.info("resources/list without tables: %s", exc)
        return result
    listed = [
        {
            "uri": schema_uri(workspace, name),
            "name": f"{name} schema",
            "description": f"columns, row count, indexes and vector dimensions of {workspace}.{name}",
            "mimeType": "application/json",
        }
        for name in tables[:_MAX_LISTED_TABLES]
    ]
    return {**data, "resources": [*data.get("resources", []), *listed]}


async def advertise_changes(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """``initialize`` (handshake era) says the resource list changes: :func:`notify_changes` tells when."""
    result = await call_next(ctx)
    if ctx.method != "initialize":
        return result
    data = result.model_dump(by_alias=True, mode="json", exclude_none=True) if isinstance(result, BaseModel) else result
    resources = data.get("capabilities", {}).get("resources") if isinstance(data, dict) else None
    if not isinstance(resources, dict):
        return result
    resources["listChanged"] = True
    return data


def notify_changes(bus: SubscriptionBus) -> ServerMiddleware[Any]:
    """Middleware: after a tool call that changed tables, tell clients (see the module docstring)."""

    async def middleware(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        rt = ctx.lifespan_context
        if ctx.method != "tools/call" or not isinstance(rt, Runtime) or _failed(result):
            return result
        params = ctx.params or {}
        listing, updated = changes(str(params.get("name")), params.get("arguments") or {}, rt.settings.workspace)
        legacy = ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS
        subscribed = (_connection_state(ctx) or {}).get(_SUBSCRIPTIONS_KEY, set())
        try:
            if listing:
                await bus.publish(ResourcesListChanged())
                if legacy:
                    await ctx.session.send_notification(
                        ResourceListChangedNotification(), related_request_id=ctx.request_id
                    )
            for uri in updated:
                await bus.publish(ResourceUpdated(uri=uri))
                if legacy and uri in subscribed:
                    notice = ResourceUpdatedNotification(params=ResourceUpdatedNotificationParams(uri=uri))
                    await ctx.session.send_notification(notice, related_request_id=ctx.request_id)
        except Exception as exc:  # a client that went away; the answer matters more
            log.debug("change notification not sent: %s", exc)
        return result

    return middleware


def changes(tool: str, arguments: dict[str, Any], default_workspace: str) -> tuple[bool, list[str]]:
    """What a successful call of ``tool`` changed: whether the table list did, and which schema resources."""
    workspace = arguments.get("workspace") or default_workspace
    table = arguments.get("table")
    if tool == "insert_rows" and isinstance(table, str):
        return False, [schema_uri(workspace, table)]
    if tool == "upload_file" and isinstance(table, str):
        return True, [schema_uri(workspace, table)]
    if tool == "manage_workspaces":
        return False, ["deeplake://workspaces"]
    sql = arguments.get("sql")
    if tool != "execute_sql" or not isinstance(sql, str):
        return False, []
    try:
        statements = parse_sql(sql)
    except ParseError:
        return False, []
    listing, updated = False, []
    for raw in statements:
        relations, creates_or_drops = _touched(raw.stmt)
        listing = listing or creates_or_drops
        updated += [schema_uri(r.schemaname or workspace, r.relname) for r in relations if r.relname]
    return listing, updated


def _touched(stmt: Any) -> tuple[list[ast.RangeVar], bool]:
    """The tables a statement writes to, and whether it creates, drops or renames one."""
    relations, listing = _targets(stmt)
    return [r for r in relations if isinstance(r, ast.RangeVar)], listing


def _targets(stmt: Any) -> tuple[list[Any], bool]:
    match stmt:
        case ast.CreateStmt(relation=relation) | ast.CreateTableAsStmt(into=ast.IntoClause(rel=relation)):
            return [relation], True
        case ast.SelectStmt(intoClause=ast.IntoClause(rel=relation)):
            return [relation], True
        case ast.DropStmt(removeType=ObjectType.OBJECT_TABLE):
            return [], True
        case ast.RenameStmt(renameType=ObjectType.OBJECT_TABLE):
            return [], True
        case ast.RenameStmt(relation=ast.RangeVar() as r):
            return [r], False
        case ast.InsertStmt(relation=r) | ast.UpdateStmt(relation=r) | ast.DeleteStmt(relation=r):
            return [r], False
        case ast.AlterTableStmt(relation=r) | ast.IndexStmt(relation=r):
            return [r], False
        case ast.TruncateStmt(relations=relations):
            return list(relations or ()), False
    return [], False


def _failed(result: Any) -> bool:
    if isinstance(result, BaseModel):
        return bool(getattr(result, "is_error", False))
    return isinstance(result, dict) and bool(result.get("isError"))
