"""Per-request access: what an authenticated caller may see and do, as an MCP server middleware.

The caller's access mode is the lower of the server's ``--access`` and the mode its token's scopes grant.
Every request runs with that :class:`Policy` (the :class:`Runtime` handed to the tools carries it, so the
SQL guard decides with it); ``tools/list`` and ``prompts/list`` show only what it allows, with the
annotations it implies (``execute_sql``'s say what this caller may do); ``tools/call`` and ``prompts/get``
of anything else are refused. Requests without a token (stdio, HTTP without authentication) run with the
server's policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, INVALID_REQUEST

from deeplake_mcp.guard import AccessMode, Policy, StatementClass
from deeplake_mcp.runtime import Runtime
from deeplake_mcp.settings import Settings
from deeplake_mcp.tools import annotations_for, visible_tools

from ._scopes import granted_mode, lower, scopes_granting

__all__ = ["CallerAccess"]


class CallerAccess:
    """An MCP ``ServerMiddleware`` (``MCPServer(middleware=[…])``) that applies the caller's access mode.

    ``prompts`` maps the prompts that need more than reads to the statement class they need. Over HTTP with
    authentication, a request without a token is refused rather than given the server's mode (the HTTP
    layer never lets one through; this keeps it so should that ever change).
    """

    def __init__(self, policy: Policy, settings: Settings, *, prompts: Mapping[str, StatementClass]) -> None:
        self._policy = policy
        self._scope_map = settings.oauth_scopes
        self._admin = settings.admin_tools
        self._cloud = settings.effective_backend == "cloud"
        self._require_token = settings.transport == "http" and settings.http_auth_enabled
        self._needs = {
            "tools/call": {spec.name: spec.needs for spec in visible_tools(policy, admin=self._admin)},
            "prompts/get": prompts,
        }

    async def __call__(self, ctx: ServerRequestContext[Runtime, Any], call_next: CallNext) -> HandlerResult:
        caller = self._caller_policy()
        if caller.mode is self._policy.mode:
            return await call_next(ctx)
        ctx = replace(ctx, lifespan_context=replace(ctx.lifespan_context, policy=caller))
        needs = self._needs.get(ctx.method, {})
        name = (ctx.params or {}).get("name")
        if isinstance(name, str) and name in needs and not caller.allows(needs[name]):
            raise MCPError(INVALID_PARAMS, self._refusal(caller, name, needs[name]))
        result = await call_next(ctx)
        if ctx.method == "tools/list" and isinstance(result, dict):
            visible = {spec.name: spec for spec in visible_tools(caller, admin=self._admin)}
            tools = [
                {**tool, "annotations": _wire(annotations_for(visible[tool["name"]], caller, cloud=self._cloud))}
                for tool in result["tools"]
                if tool["name"] in visible
            ]
            return {**result, "tools": tools}
        if ctx.method == "prompts/list" and isinstance(result, dict):
            prompts = self._needs["prompts/get"]
            listed = [p for p in result["prompts"] if caller.allows(prompts.get(p["name"], StatementClass.READ))]
            return {**result, "prompts": listed}
        return result

    def _caller_policy(self) -> Policy:
        token = get_access_token()
        if token is None:
            if self._require_token:
                raise MCPError(INVALID_REQUEST, "this request carries no access token")
            return self._policy
        granted = granted_mode(token.scopes, self._scope_map)
        if granted is None:
            scopes = ", ".join(self._scope_map)
            raise MCPError(INVALID_REQUEST, f"the access token has none of this server's scopes ({scopes})")
        mode = lower(self._policy.mode, granted)
        if mode is self._policy.mode:
            return self._policy
        return replace(self._policy, mode=mode, server_mode=self._policy.mode)

    def _refusal(self, caller: Policy, name: str, needs: StatementClass) -> str:
        needed = next(mode for mode in AccessMode if replace(caller, mode=mode).allows(needs))
        scopes = " or ".join(scopes_granting(needed, self._scope_map))
        return (
            f"{name!r} needs {needed.value} access, and this request's access token grants {caller.mode.value}; "
            f"a token with the scope {scopes} may use it"
        )


def _wire(model: Any) -> Any:
    return model.model_dump(by_alias=True, mode="json", exclude_none=True)
