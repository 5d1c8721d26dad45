"""``upload_file``: create a table from a CSV or JSON file, with the schema inferred by the service."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from deeplake_mcp.deeplake import ConflictError, DeepLakeError
from deeplake_mcp.descriptions import ColumnInfo
from deeplake_mcp.files import UnreadableFile, read_under
from deeplake_mcp.tools._common import Ctx, Name, WorkspaceArg, runtime, tool_error
from deeplake_mcp.tools.catalog import describe

__all__ = ["MAX_UPLOAD_BYTES", "UploadResult", "upload_file"]

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
SUFFIXES = (".csv", ".json", ".jsonl", ".ndjson")


class UploadResult(BaseModel):
    workspace: str
    table_name: str
    row_count: int | None
    columns: list[ColumnInfo]


async def upload_file(
    ctx: Ctx,
    table: Annotated[Name, Field(description="name of the new table")],
    content: Annotated[
        str | None,
        Field(description="the file's text: CSV with a header row, a JSON array of objects, or JSONL"),
    ] = None,
    path: Annotated[
        str | None,
        Field(description="a CSV/JSON file on this machine, under the server's upload directories (stdio only)"),
    ] = None,
    filename: Annotated[
        str | None, Field(description="file name with extension (.csv, .json, .jsonl) when passing `content`")
    ] = None,
    workspace: WorkspaceArg = None,
) -> UploadResult:
    """Create a new table from a CSV or JSON file; column types are inferred from the data.

    Pass the file's text as `content` (with `filename`), or, when this server runs locally over stdio, a
    `path` under its upload directories. Fails if the table already exists.
    """
    rt = runtime(ctx)
    ws = rt.workspace(workspace)
    if path is not None and rt.settings.transport != "stdio":
        raise ToolError("`path` works only when the server runs locally over stdio; pass the text as `content`.")
    name, data = _read_source(content, path, filename, roots=rt.settings.upload_roots)
    await ctx.report_progress(0, 2, f"uploading {name} ({len(data)} bytes)")
    try:
        await rt.client.upload_table(ws, table, name, data)
    except ConflictError as exc:
        raise ToolError(
            f"Table {table!r} already exists in workspace {ws!r}; choose another name, or insert into it "
            "with insert_rows."
        ) from exc
    except DeepLakeError as exc:
        raise await tool_error(rt, exc, workspace=ws) from exc
    await ctx.report_progress(1, 2, "upload done; reading the new table")
    desc = await describe(rt, ws, table)
    await ctx.report_progress(2, 2, "done")
    return UploadResult(workspace=ws, table_name=table, row_count=desc.row_count, columns=desc.columns)


def _read_source(
    content: str | None, path: str | None, filename: str | None, *, roots: Sequence[Path]
) -> tuple[str, bytes]:
    """``(filename, bytes)`` of the upload, checked for kind and size."""
    if (content is None) == (path is None):
        raise ToolError("Give exactly one of `content` (the file's text) or `path`.")
    if path is not None:
        name = _checked_name(Path(path).name)
        try:
            data = read_under(path, roots, max_bytes=MAX_UPLOAD_BYTES)
        except UnreadableFile as exc:
            raise ToolError(f"{exc}.") from None
    else:
        assert content is not None
        name = _checked_name(filename or ("data.json" if content.lstrip()[:1] in ("[", "{") else "data.csv"))
        data = content.encode()
        if len(data) > MAX_UPLOAD_BYTES:
            raise ToolError(f"`content` is larger than {MAX_UPLOAD_BYTES // 2**20} MiB; split it.")
    if not data.strip():
        raise ToolError("The file is empty.")
    return name, data


def _checked_name(name: str) -> str:
    if not name.lower().endswith(SUFFIXES):
        raise ToolError(f"{name!r} must end with one of {', '.join(SUFFIXES)}.")
    return name
