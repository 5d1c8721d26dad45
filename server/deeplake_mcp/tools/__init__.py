"""The MCP tools, and the one place that decides which are listed and how they are annotated."""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

from deeplake_mcp.guard import Policy, StatementClass
from deeplake_mcp.tools.admin import manage_members, manage_workspaces
from deeplake_mcp.tools.catalog import describe_table, list_tables, list_workspaces
from deeplake_mcp.tools.info import server_info
from deeplake_mcp.tools.search import semantic_search
from deeplake_mcp.tools.sql import execute_sql, query
from deeplake_mcp.tools.tql import tql_query
from deeplake_mcp.tools.upload import upload_file
from deeplake_mcp.tools.write import insert_rows

__all__ = ["TOOLS", "ToolSpec", "annotations_for", "reported", "visible_tools"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ToolSpec:
    """A tool and the statement classes it can exercise.

    ``needs`` is the least class the tool requires to be useful (the tool is hidden when the
    policy does not allow it); ``open_ended`` tools run whatever SQL the policy allows, so
    they can reach the policy's highest class. ``remote`` tools talk to the Deep Lake service (the
    managed cloud, an open world, on the cloud backend); ``data`` tools return database values, which
    their results frame as data.
    """

    fn: Callable[..., Any]
    title: str
    needs: StatementClass
    open_ended: bool = False
    admin: bool = False
    remote: bool = True
    data: bool = False

    @property
    def name(self) -> str:
        return self.fn.__name__


TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(list_workspaces, "List workspaces", StatementClass.READ, data=True),
    ToolSpec(list_tables, "List tables", StatementClass.READ, data=True),
    ToolSpec(describe_table, "Describe a table", StatementClass.READ, data=True),
    ToolSpec(query, "Run a read-only SQL query", StatementClass.READ, data=True),
    ToolSpec(semantic_search, "Semantic search", StatementClass.READ, data=True),
    ToolSpec(tql_query, "Run a TQL query (Tensor Database)", StatementClass.READ, data=True),
    ToolSpec(insert_rows, "Insert rows", StatementClass.WRITE),
    ToolSpec(upload_file, "Create a table from a CSV/JSON file", StatementClass.WRITE, data=True),
    ToolSpec(execute_sql, "Execute a write statement", StatementClass.WRITE, open_ended=True, data=True),
    ToolSpec(server_info, "Server info", StatementClass.READ, remote=False),
    ToolSpec(manage_workspaces, "Manage workspaces", StatementClass.WRITE, open_ended=True, admin=True, data=True),
    ToolSpec(
        manage_members, "Manage organisation members", StatementClass.WRITE, open_ended=True, admin=True, data=True
    ),
)


def visible_tools(policy: Policy, *, admin: bool = False) -> list[ToolSpec]:
    """The tools this policy lists: a tool the mode cannot use is not shown at all.

    Administration tools are listed only when the operator opted in (``admin``).
    """
    return [spec for spec in TOOLS if policy.allows(spec.needs) and (admin or not spec.admin)]


def annotations_for(spec: ToolSpec, policy: Policy, *, cloud: bool = False) -> ToolAnnotations:
    """MCP hints derived from the same policy the SQL guard enforces.

    ``cloud``: the server talks to the managed Deep Lake service, an open world the server does not own
    (``openWorldHint``); the embedded backend is a closed one.
    """
    reach = max(policy.allowed_classes) if spec.open_ended else spec.needs
    return ToolAnnotations(
        title=spec.title,
        read_only_hint=reach is StatementClass.READ,
        destructive_hint=reach >= StatementClass.DESTRUCTIVE,
        idempotent_hint=reach is StatementClass.READ,
        open_world_hint=cloud and spec.remote,
    )


def reported(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """``fn`` with its unexpected failures logged under an incident id and answered with a short error.

    Expected failures are already ToolErrors that say what to do; anything else is a bug, which the
    agent learns about as one line with the id the operator finds in the log next to the traceback.
    """

    @functools.wraps(fn)
    async def tool(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except ToolError:
            raise
        except Exception:
            incident = uuid.uuid4().hex[:12]
            log.exception("tool %s failed unexpectedly (incident %s)", fn.__name__, incident)
            raise ToolError(
                f"internal error in {fn.__name__} (incident {incident}); the server's log has the details"
            ) from None

    return tool
