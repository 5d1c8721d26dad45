"""The local Tensor Database query API: ``POST /api/query/v1`` on the real Deep Lake engine.

``"hub://ORG/NAME"`` resolves to the dataset a user made with
``deeplake.create("file://<data dir>/tensordb/ORG/NAME")``. The query must pass the TQL guard
(one SELECT; every source a quoted ``hub://`` path with plain names); each source is then
rewritten to its ``file://`` path and the engine (the optional ``deeplake`` 4.x package)
runs the query in a worker thread. Errors use the local API's envelope plus the
``description`` field the Tensor Database's own clients read.
"""

from __future__ import annotations

import functools
import importlib
import json
import math
from pathlib import Path
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from deeplake_mcp.guard import StatementClass, check_tql, hub_sources

from ._backend import LocalBackend
from ._errors import InvalidRequest, LocalAPIError, NotFound, NotImplementedHere, QueryError
from ._executor import DEFAULT_TIMEOUT_MS
from ._values import JSON, to_json

__all__ = ["INSTALL_HINT", "TENSORDB_DIR", "dataset_path", "tql_query"]

TENSORDB_DIR = "tensordb"
"""Datasets live at ``<data dir>/tensordb/ORG/NAME``."""
INSTALL_HINT = "pip install 'deeplake-mcp[tensordb]'"


async def tql_query(request: Request) -> Response:
    """``{"query": "<TQL>", "as_list": bool}`` → ``{"message", "tensors", "data"}``.

    Errors carry the Tensor Database's ``description`` field next to the usual envelope.
    """
    try:
        return await _answer(request)
    except LocalAPIError as exc:
        return exc.response(description=exc.message)


async def _answer(request: Request) -> Response:
    query, as_list = _parse_body(await request.body())
    verdict = check_tql(query)
    if verdict.cls is not StatementClass.READ:
        raise QueryError(f"query refused: {verdict.reason}; {verdict.hint}")
    engine = await anyio.to_thread.run_sync(_engine)
    if engine is None:
        raise NotImplementedHere(
            "the embedded Tensor Database needs the deeplake package (Deep Lake 4.x), which is not "
            f"installed; install the extra: {INSTALL_HINT}"
        )
    backend: LocalBackend = request.app.state.backend
    rewritten, names = _rewrite(query, backend.data_dir / TENSORDB_DIR)
    run = functools.partial(_run, engine, rewritten, as_list, names)
    with anyio.move_on_after(DEFAULT_TIMEOUT_MS / 1000) as scope:
        tensors, data = await anyio.to_thread.run_sync(run, abandon_on_cancel=True)
    if scope.cancelled_caught:
        raise QueryError(f"the TQL query did not finish within {DEFAULT_TIMEOUT_MS // 1000} s; add a LIMIT or a WHERE")
    return JSONResponse({"message": "Query successful.", "tensors": tensors, "data": data})


def dataset_path(root: Path, org: str, name: str) -> Path:
    """Where ``hub://org/name`` lives under ``root`` (``org``/``name`` are plain names)."""
    return root / org / name


def _parse_body(raw: bytes) -> tuple[str, bool]:
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise InvalidRequest("request body must be valid JSON") from exc
    if not isinstance(body, dict):
        raise InvalidRequest("request body must be a JSON object")
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        raise InvalidRequest("query is required and must be a non-empty string")
    if "\x00" in query:
        raise InvalidRequest("query cannot contain NUL characters")
    as_list = body.get("as_list", True)
    if not isinstance(as_list, bool):
        raise InvalidRequest("as_list must be true or false")
    return query, as_list


def _rewrite(query: str, root: Path) -> tuple[str, dict[str, str]]:
    """The query with each ``"hub://org/name"`` replaced by its ``"file://…"`` path.

    Returns the new text and, for error messages, each file URL and path with its hub name.
    """
    base = root.resolve()
    out: list[str] = []
    names: dict[str, str] = {}
    pos = 0
    for source in hub_sources(query):
        hub = f"hub://{source.org}/{source.name}"
        path = dataset_path(root, source.org, source.name)
        resolved = path.resolve()
        if not resolved.is_relative_to(base):
            raise InvalidRequest(f'dataset "{hub}" resolves outside {base}')
        if not path.is_dir():
            raise NotFound(
                f'dataset "{hub}" not found: the embedded Tensor Database looked for it at {path}. '
                f'Create it there with deeplake.create("file://{path.as_posix()}") '
                "(datasets live at DEEPLAKE_MCP_DATA_DIR/tensordb/ORG/NAME)"
            )
        posix = resolved.as_posix()
        if '"' in posix:
            raise InvalidRequest(f"the dataset path {posix} contains a double quote, which TQL cannot quote")
        url = f"file://{posix}"
        names[url] = hub
        names[posix] = hub
        out.append(query[pos : source.start])
        out.append(f'"{url}"')
        pos = source.end
    out.append(query[pos:])
    return "".join(out), names


@functools.cache
def _engine() -> Any:
    try:
        return importlib.import_module("deeplake")
    except ImportError:
        return None


def _run(engine: Any, query: str, as_list: bool, names: dict[str, str]) -> tuple[list[str], JSON]:
    """Run ``query`` on the engine (blocking); ``(tensors, data)`` in the requested shape."""
    try:
        view = engine.query(query)
        tensors = [str(column.name) for column in view.schema.columns]
        columns = {name: _plain(view[name][:]) for name in tensors}
    except Exception as exc:
        raise QueryError(_engine_message(exc, names)) from exc
    cells = {name: values if isinstance(values, list) else [values] for name, values in columns.items()}
    if not as_list:
        return tensors, {name: to_json(values) for name, values in cells.items()}
    height = max((len(values) for values in cells.values()), default=0)
    rows: list[JSON] = [
        {name: to_json(values[i]) if i < len(values) else None for name, values in cells.items()} for i in range(height)
    ]
    return tensors, rows


def _plain(value: Any) -> Any:
    """Engine values (numpy arrays and scalars, Dict objects) as plain Python values."""
    if value is None or isinstance(value, str | bool | int | bytes):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    tolist = getattr(value, "tolist", None)
    if callable(tolist):  # numpy arrays and scalars
        return _plain(tolist())
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):  # deeplake Dict cells
        return _plain(to_dict())
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return str(value)


def _engine_message(exc: Exception, names: dict[str, str]) -> str:
    message = str(exc).strip() or type(exc).__name__
    for local, hub in sorted(names.items(), key=lambda item: -len(item[0])):
        message = message.replace(local, hub)
    return f"TQL error: {message}"
