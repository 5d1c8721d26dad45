"""MCP middleware: what every request passes through on its way in and out.

* :func:`redact_responses` is the one choke point for what leaves over MCP: every response — tool
  results and tool errors (text and ``structuredContent``), ``server_info``, resources, prompts — and
  every JSON-RPC error goes through the process-wide redactor (the server-info stamp the SDK puts in the
  ``_meta`` of every response, the same each time, once for as long as it stays the same).
* :func:`audit_calls` opens the :class:`~deeplake_mcp.audit.Call` that the statements of the request
  are attributed to: tool, MCP session (else this process), client, request id and the access mode the
  request runs with (inside :class:`~deeplake_mcp.auth.CallerAccess`, so a token's scopes count).
* :class:`TracedWhenConfigured` runs the SDK's OpenTelemetry middleware (a span per request) only while a
  tracer provider is set up: before that its spans record nothing, and making them cost about 40 µs a call.
"""

from __future__ import annotations

from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp.types import ErrorData
from opentelemetry import trace
from pydantic import BaseModel

from deeplake_mcp import audit
from deeplake_mcp.redact import Recurring, redact, redact_value
from deeplake_mcp.runtime import Runtime

__all__ = ["TracedWhenConfigured", "audit_calls", "redact_responses"]

_SESSION_HEADER = "mcp-session-id"
_META = "_meta"
_stamp = Recurring()
_NOT_SET_UP = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
"""The API's stand-in providers: their spans record nothing."""


async def redact_responses(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """The response (or the error) of every request, redacted."""
    try:
        result = await call_next(ctx)
    except MCPError as exc:
        error = exc.error
        exc.error = ErrorData(code=error.code, message=redact(error.message), data=redact_value(error.data))
        exc.args = (error.code, exc.error.message, exc.error.data)
        raise
    except Exception as exc:  # the JSON-RPC dispatcher answers other exceptions with their text
        text = str(exc)
        clean = redact(text)
        if clean != text:
            exc.args = (clean,)
        raise
    if isinstance(result, BaseModel):
        result = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    if not isinstance(result, dict) or _META not in result:
        return redact_value(result)
    redacted = redact_value({key: value for key, value in result.items() if key != _META})
    redacted[_META] = _stamp(result[_META])  # the SDK's server-info stamp, the same in every response
    return redacted


async def audit_calls(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Run the request inside an audit :class:`~deeplake_mcp.audit.Call` describing it."""
    rt = ctx.lifespan_context
    if ctx.request_id is None or not isinstance(rt, Runtime):
        return await call_next(ctx)
    name = ctx.params.get("name") if ctx.method == "tools/call" and ctx.params else None
    call = audit.Call(
        tool=name if isinstance(name, str) else ctx.method,
        session=_session_id(ctx) or audit.PROCESS_SESSION,
        client=_client(ctx),
        request_id=str(ctx.request_id),
        access=rt.policy.mode.value,
        trail=rt.trail,
    )
    with audit.call_scope(call):
        return await call_next(ctx)


class TracedWhenConfigured:
    """``traced`` (the SDK's OpenTelemetry middleware) for the requests that arrive while a tracer provider is set
    up — in code, or by ``OTEL_PYTHON_TRACER_PROVIDER`` — and a pass-through before: the API's stand-in provider
    makes spans that record nothing. Checked per request, so a provider set up after the server starts counts."""

    def __init__(self, traced: ServerMiddleware[Any]) -> None:
        self._traced = traced

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if isinstance(trace.get_tracer_provider(), _NOT_SET_UP):
            return await call_next(ctx)
        return await self._traced(ctx, call_next)


def _session_id(ctx: ServerRequestContext[Any, Any]) -> str | None:
    headers = getattr(ctx.request, "headers", None)
    value = headers.get(_SESSION_HEADER) if headers is not None else None
    return value if isinstance(value, str) else None


def _client(ctx: ServerRequestContext[Any, Any]) -> str | None:
    """Who is calling: the client's ``name/version``, the id its access token names, and its address over HTTP."""
    params = ctx.session.client_params
    parts = [f"{params.client_info.name}/{params.client_info.version}" if params is not None else "unknown"]
    token = get_access_token()
    if token is not None:
        parts.append(f"as {token.client_id}")
    peer = getattr(ctx.request, "client", None)
    if peer is not None:
        parts.append(f"from {peer.host}:{peer.port}")
    return " ".join(parts) if len(parts) > 1 or params is not None else None
