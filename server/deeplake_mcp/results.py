"""Tool results made of rows: one page, its text for the model, its structured form, and its cursor.

Every list-like tool (``query``, ``execute_sql`` reads, ``semantic_search``, ``tql_query``, ``list_tables``)
answers with a :class:`~mcp.types.CallToolResult` whose text is compact (see :mod:`deeplake_mcp.output`)
and whose ``structuredContent`` holds the same page as data, with ``truncated`` and ``cursor``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel

from deeplake_mcp.output import Limits, Page, fit_page
from deeplake_mcp.paging import Cursor, CursorError, Window, args_digest, fingerprint, make_cursor, read_cursor
from deeplake_mcp.settings import Settings

__all__ = ["Paging", "Shown", "limits_for", "page_result", "position", "rows_page", "tool_result"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shown:
    """A page as shown: the page, its whole text, its cursor (``None`` on the last page) and its notes."""

    page: Page
    text: str
    cursor: str | None
    notes: list[str]

    @property
    def note(self) -> str | None:
        return "; ".join(self.notes) or None


@dataclass(frozen=True)
class Paging:
    """Which call a page belongs to: the tool, its cursor kind and its arguments (JSON-serialisable values)."""

    tool: str
    kind: str
    arguments: tuple[Any, ...]

    @cached_property
    def digest(self) -> bytes:
        """The digest a cursor carries of the arguments: worked out only for a call that reads or makes one."""
        return args_digest(*self.arguments)


def limits_for(settings: Settings, max_rows: int | None = None) -> Limits:
    """The page limits of a call: its own row cap, else the server's, and the server's size budgets."""
    return Limits(max_rows or settings.max_rows, settings.max_result_chars, settings.max_cell_chars)


def position(cursor: str | None, paging: Paging) -> Cursor | None:
    """Where the cursor passed to a call says to continue (``None``: from the start), or a tool error."""
    if cursor is None or not cursor.strip():
        return None
    try:
        return read_cursor(cursor, paging.kind, paging.digest, tool=paging.tool)
    except CursorError as exc:
        raise ToolError(f"Cannot continue: {exc}.") from None


def rows_page(
    window: Window,
    *,
    limits: Limits,
    paging: Paging | None,
    lead: str = "",
    no_cursor_why: str = "",
) -> Shown:
    """The page of ``window`` that fits ``limits``, with its text, cursor and notes.

    ``paging`` is ``None`` for rows that cannot be fetched again (a write's RETURNING rows): a cut page then
    says ``no_cursor_why``. ``lead`` starts the header line (e.g. the statement kind).
    """
    cursors: dict[int, str | None] = {}

    def cursor_of(page: Page) -> str | None:
        n = len(page.rows)
        if paging is None or not page.more or n == 0:
            return None
        if n not in cursors:
            last = fingerprint(page.originals[-1])
            cursors[n] = make_cursor(paging.kind, paging.digest, Cursor(window.start + n, last))
        return cursors[n]

    def notes_of(page: Page) -> list[str]:
        notes = [window.notice] if window.notice else []
        notes += page.notes
        if page.more and paging is None and no_cursor_why:
            notes.append(no_cursor_why)
        return notes

    def render(page: Page) -> str:
        notes = notes_of(page)
        header = lead + _header(page, window.start, cursor_of(page))
        body = [header]
        if page.rows or not page.more:
            body.append(page.framed_rows())
        return "\n".join([line for line in body if line] + [f"note: {n}" for n in notes])

    page, text = fit_page(window.columns, window.rows, limits=limits, render=render)
    shown = Shown(page, text, cursor_of(page), notes_of(page))
    if paging is not None:
        n, more = len(page.rows), ", more follow" if page.more else ""
        first, last = window.start + 1, window.start + n
        if n:
            log.info("%s: rows %d-%d (%d characters)%s", paging.tool, first, last, len(text), more)
        else:
            log.info("%s: no rows%s", paging.tool, more)
    if window.notice:
        log.log(logging.WARNING if window.changed else logging.INFO, "%s", window.notice)
    return shown


def page_result(window: Window, *, limits: Limits, paging: Paging | None) -> CallToolResult:
    """A rows page as a tool result: compact framed text, and the same page as structured content, in the shape of
    :class:`~deeplake_mcp.output.RowsResult` (the tools' output schema; built as a dict, without the model)."""
    shown = rows_page(window, limits=limits, paging=paging)
    page = shown.page
    structured: dict[str, Any] = {
        "columns": page.columns,
        "rows": page.rows,
        "row_count": len(page.rows),
        "truncated": page.more,
    }
    optional = {"cursor": shown.cursor, "note": shown.note, "changed": True if window.changed else None}
    structured.update((name, value) for name, value in optional.items() if value is not None)
    return CallToolResult(content=[TextContent(type="text", text=shown.text)], structured_content=structured)


def tool_result(model: BaseModel, text: str) -> CallToolResult:
    """``text`` for the model, ``model`` (without its unset optional fields) as structured content."""
    data: dict[str, Any] = model.model_dump(mode="json")
    structured = {key: value for key, value in data.items() if value is not None}
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


def _header(page: Page, start: int, cursor: str | None) -> str:
    n = len(page.rows)
    if n == 0:
        return "no more rows" if start else "no rows"
    span = f"rows {start + 1}-{start + n}"
    if not page.more:
        return f"{_rows(n)}" if start == 0 else f"{span} (last page)"
    if cursor is not None:
        return f'{span}, truncated; next page: the same call with cursor="{cursor}"'
    return f"{span}, truncated"


def _rows(n: int) -> str:
    return "1 row" if n == 1 else f"{n} rows"
