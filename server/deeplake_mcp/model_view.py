"""What the model reads of this server: a lean tool list and compact tool results.

* :func:`compact_tool_list` (middleware) publishes each tool's input schema without what pydantic adds for
  its own sake — titles, ``anyOf: [X, null]`` with ``default: null`` for optional arguments, the length
  bounds every name carries — so the tool list costs fewer tokens. Arguments are still validated in full
  by the tool's own model.
* :func:`compact_results` (middleware) replaces the SDK's pretty-printed JSON text of a structured result
  with compact JSON (null fields left out), framed as data (``<untrusted-data-…>``) when the tool returns
  database values. Tools that render their own text (the row pages of :mod:`deeplake_mcp.results`) are
  left as they are.
* :func:`view_size` measures the model's view of a tool list: name, description and compact input schema.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from pydantic import BaseModel

from deeplake_mcp.output import compact_json, frame

__all__ = ["compact_results", "compact_schema", "compact_tool_list", "view_size"]

_NAME_BOUNDS = {"minLength": 1, "maxLength": 255}
_SCHEMA_MAPS = frozenset({"properties", "$defs", "definitions", "patternProperties"})


def compact_schema(schema: Any) -> Any:
    """``schema`` without titles, null arms of optional arguments, name length bounds and empty defaults."""
    if isinstance(schema, list):
        return [compact_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    node: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title":
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            node[key] = {name: compact_schema(sub) for name, sub in value.items()}
        else:
            node[key] = compact_schema(value)
    arms = node.get("anyOf")
    if isinstance(arms, list) and len(arms) == 2 and {"type": "null"} in arms:
        other = next(arm for arm in arms if arm != {"type": "null"})
        rest = {k: v for k, v in node.items() if k != "anyOf" and not (k == "default" and v is None)}
        node = {**other, **rest} if isinstance(other, dict) else node
    if all(node.get(k) == v for k, v in _NAME_BOUNDS.items()):
        node = {k: v for k, v in node.items() if k not in _NAME_BOUNDS}
    for key, empty in (("additionalProperties", True), ("items", {}), ("propertyNames", {})):
        if key in node and node[key] == empty:
            del node[key]
    return node


def view_size(tools: Iterable[Mapping[str, Any]]) -> int:
    """Characters of the model's view of ``tools``: name, description and compact JSON input schema."""
    return sum(
        len(tool["name"]) + len(tool.get("description") or "") + len(compact_json(tool.get("inputSchema") or {}))
        for tool in tools
    )


async def compact_tool_list(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """``tools/list`` with compact input schemas."""
    result = await call_next(ctx)
    if ctx.method != "tools/list" or not isinstance(result, BaseModel | Mapping):
        return result
    data = _as_dict(result)
    tools = [{**tool, "inputSchema": compact_schema(tool.get("inputSchema", {}))} for tool in data.get("tools", [])]
    return {**data, "tools": tools}


def compact_results(framed: Iterable[str]) -> ServerMiddleware[Any]:
    """Middleware: a structured tool result's text as compact JSON, framed as data for the tools in ``framed``."""
    data_tools = frozenset(framed)

    async def middleware(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        if ctx.method != "tools/call":
            return result
        data = _as_dict(result)
        structured = data.get("structuredContent")
        content = data.get("content") or []
        if structured is None or data.get("isError") or len(content) != 1 or content[0].get("type") != "text":
            return result
        text = content[0].get("text")
        if not isinstance(text, str) or not text.startswith("{"):
            return result  # the tool wrote its own text
        try:
            rendered = json.loads(text)
        except ValueError:
            return result
        if rendered != structured:
            return result
        text = compact_json(_without_nulls(structured))
        if (ctx.params or {}).get("name") in data_tools:
            text = frame(text)
        return {**data, "content": [{"type": "text", "text": text}]}

    return middleware


def _without_nulls(value: Any) -> Any:
    """``value`` without object keys whose value is null (an absent key reads the same, in fewer tokens)."""
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def _as_dict(result: Any) -> dict[str, Any]:
    if isinstance(result, BaseModel):
        return result.model_dump(by_alias=True, mode="json", exclude_none=True)
    return dict(result) if isinstance(result, Mapping) else {}
