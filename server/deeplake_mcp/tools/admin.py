"""Opt-in administration tools (``--admin-tools``): workspaces and organisation members."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from deeplake_mcp.deeplake import DeepLakeError
from deeplake_mcp.guard import StatementClass
from deeplake_mcp.runtime import Runtime
from deeplake_mcp.tools._common import Ctx, runtime, tool_error

__all__ = ["manage_members", "manage_workspaces"]


async def manage_workspaces(
    ctx: Ctx,
    action: Annotated[Literal["list", "get", "create", "rename", "delete"], Field(description="what to do")],
    workspace: Annotated[str | None, Field(description="workspace id (all actions but list)")] = None,
    name: Annotated[str | None, Field(description="display name (create, rename)")] = None,
) -> dict[str, Any]:
    """Manage workspaces: list, get, create, rename; delete (all its tables!) needs destructive access."""
    rt = runtime(ctx)
    client = rt.client
    if action == "list":
        return await _call(rt, "", lambda: _workspaces(rt))
    ws = _required(workspace, "workspace", action)
    if action == "get":
        return await _call(rt, ws, lambda: _dump(client.get_workspace(ws)))
    if action == "create":
        return await _call(rt, ws, lambda: _dump(client.create_workspace(ws, name)))
    if action == "rename":
        new_name = _required(name, "name", action)
        return await _call(rt, ws, lambda: _dump(client.update_workspace(ws, new_name)))
    _require_destructive(rt, f"deleting workspace {ws!r} (and every table in it)")
    return await _call(rt, ws, lambda: _done(client.delete_workspace(ws), deleted=ws))


async def manage_members(
    ctx: Ctx,
    action: Annotated[Literal["list", "invite", "set_role", "remove"], Field(description="what to do")],
    email: Annotated[str | None, Field(description="e-mail to invite")] = None,
    role: Annotated[Literal["admin", "member"] | None, Field(description="role (invite, set_role)")] = None,
    user_id: Annotated[str | None, Field(description="member's user id (set_role, remove)")] = None,
    org_id: Annotated[str | None, Field(description="organisation; the key's own when omitted")] = None,
) -> dict[str, Any]:
    """Manage organisation members: list, invite; set_role and remove need destructive access."""
    rt = runtime(ctx)
    client = rt.client
    org = org_id or await _own_org(rt)
    if action == "list":
        return await _call(rt, "", lambda: _members(rt, org))
    if action == "invite":
        address = _required(email, "email", action)
        return await _call(rt, "", lambda: _dump(client.invite_member(org, address, role or "member")))
    uid = _required(user_id, "user_id", action)
    if action == "set_role":
        new_role = _required(role, "role", action)
        _require_destructive(rt, f"changing the role of member {uid!r}")
        return await _call(rt, "", lambda: _dump(client.update_member_role(org, uid, new_role)))
    _require_destructive(rt, f"removing member {uid!r}")
    return await _call(rt, "", lambda: _done(client.remove_member(org, uid), removed=uid))


async def _call(rt: Runtime, workspace: str, make: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """Run one client call, turning client errors into actionable tool errors."""
    try:
        return await make()
    except DeepLakeError as exc:
        raise await tool_error(rt, exc, workspace=workspace or rt.settings.workspace) from exc


async def _dump(awaitable: Awaitable[BaseModel]) -> dict[str, Any]:
    return (await awaitable).model_dump()


async def _done(awaitable: Awaitable[None], **what: str) -> dict[str, Any]:
    await awaitable
    return dict(what)


async def _workspaces(rt: Runtime) -> dict[str, Any]:
    return {"workspaces": [w.model_dump() for w in await rt.client.list_workspaces()]}


async def _members(rt: Runtime, org: str) -> dict[str, Any]:
    return {"org_id": org, "members": [m.model_dump() for m in await rt.client.list_members(org)]}


async def _own_org(rt: Runtime) -> str:
    if rt.client.org_id:
        return rt.client.org_id
    try:
        me = await rt.client.me()
    except DeepLakeError as exc:
        raise await tool_error(rt, exc, workspace=rt.settings.workspace) from exc
    if not me.organizations:
        raise ToolError("The key belongs to no organisation; pass `org_id` (or set DEEPLAKE_ORG_ID).")
    return me.organizations[0]


def _required(value: str | None, arg: str, action: str) -> str:
    if not value:
        raise ToolError(f"`{arg}` is required for action {action!r}.")
    return value


def _require_destructive(rt: Runtime, what: str) -> None:
    if not rt.policy.allows(StatementClass.DESTRUCTIVE):
        raise ToolError(
            f"Refused: {what} is destructive, and this call has {rt.policy.mode.value} access; it needs destructive "
            "access (the server's --access destructive, and a token that grants it)."
        )
