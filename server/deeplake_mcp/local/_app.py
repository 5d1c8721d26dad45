"""The local Deep Lake REST API: routes, bearer auth and the error envelope.

The app owns nothing and runs no lifespan (httpx.ASGITransport sends none): the LocalBackend
passed to `create_app` must be open while requests arrive.
"""

from __future__ import annotations

import hmac
import json
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ._backend import DEFAULT_TIMEOUT_MS, ORG_ID, LocalBackend
from ._errors import InvalidRequest, LocalAPIError, Unauthorized, Unavailable, error_response

USER_ID = "local-user"
USER_NAME = "Local User"
_PUBLIC_PATHS = frozenset({"/health", "/ready"})
_HTTP_ERROR_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


def create_app(backend: LocalBackend, *, token: str | None = None) -> Starlette:
    """Build the API over `backend`; with `token`, every route but /health and /ready needs it."""
    app = Starlette(
        routes=[
            Route("/health", health),
            Route("/ready", ready),
            Route("/me", me),
            Route("/organizations", organizations),
            Route("/workspaces", list_workspaces, methods=["GET"]),
            Route("/workspaces", create_workspace, methods=["POST"]),
            Route("/workspaces/{workspace}", get_workspace),
            Route("/workspaces/{workspace}/tables", list_tables),
            Route("/workspaces/{workspace}/tables/query", query, methods=["POST"]),
            Route("/workspaces/{workspace}/tables/query/batch", query_batch, methods=["POST"]),
            Route("/workspaces/{workspace}/tables/{table}", get_table, methods=["GET"]),
            Route("/workspaces/{workspace}/tables/{table}", drop_table, methods=["DELETE"]),
        ],
        middleware=[Middleware(BearerAuth, token=token)] if token else [],
        exception_handlers={
            LocalAPIError: _api_error,
            HTTPException: _http_error,
            Exception: _unexpected_error,
        },
    )
    app.state.backend = backend
    return app


# Health and identity


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> Response:
    if not _backend(request).ready:
        return Unavailable("the local database is not open").response()
    return JSONResponse({"status": "ready"})


async def me(request: Request) -> Response:
    return JSONResponse(
        {
            "id": USER_ID,
            "email": "local@localhost",
            "name": USER_NAME,
            "verified": True,
            "organizations": [ORG_ID],
            "display_name": USER_NAME,
            "date_joined": int(_backend(request).created_at.timestamp()),
        }
    )


async def organizations(request: Request) -> Response:
    created_at = _backend(request).created_at.isoformat()
    return JSONResponse(
        [{"id": ORG_ID, "name": "Local Organization", "creator": USER_ID, "created_at": created_at}]
    )


# Workspaces


async def list_workspaces(request: Request) -> Response:
    return JSONResponse({"data": await _backend(request).list_workspaces()})


async def get_workspace(request: Request) -> Response:
    return JSONResponse(await _backend(request).get_workspace(request.path_params["workspace"]))


async def create_workspace(request: Request) -> Response:
    body = await _json_object(request)
    workspace_id = body.get("id")
    if not isinstance(workspace_id, str) or not workspace_id:
        raise InvalidRequest("workspace ID is required")
    name = body.get("name") or workspace_id
    if not isinstance(name, str):
        raise InvalidRequest("name must be a string")
    workspace = await _backend(request).create_workspace(workspace_id, name)
    return JSONResponse(workspace, status_code=201)


# Tables


async def list_tables(request: Request) -> Response:
    return JSONResponse({"tables": await _backend(request).list_tables(request.path_params["workspace"])})


async def get_table(request: Request) -> Response:
    workspace, table = request.path_params["workspace"], request.path_params["table"]
    return JSONResponse(await _backend(request).describe_table(workspace, table))


async def drop_table(request: Request) -> Response:
    await _backend(request).drop_table(request.path_params["workspace"], request.path_params["table"])
    return Response(status_code=204)


# SQL


async def query(request: Request) -> Response:
    body = await _json_object(request)
    params = body.get("params")
    if params is None:
        params = []
    elif not isinstance(params, list):
        raise InvalidRequest("params must be an array")
    result = await _backend(request).query(
        request.path_params["workspace"], _query_text(body), params, _timeout_ms(body)
    )
    return JSONResponse(result)


async def query_batch(request: Request) -> Response:
    body = await _json_object(request)
    params_batch = body.get("params_batch")
    if not isinstance(params_batch, list) or not all(isinstance(params, list) for params in params_batch):
        raise InvalidRequest("params_batch is required and must be an array of arrays")
    row_count = await _backend(request).query_batch(
        request.path_params["workspace"], _query_text(body), params_batch, _timeout_ms(body)
    )
    return JSONResponse({"columns": [], "rows": [], "row_count": row_count})


# Request parsing


def _backend(request: Request) -> LocalBackend:
    backend: LocalBackend = request.app.state.backend
    return backend


async def _json_object(request: Request) -> dict[str, Any]:
    """The JSON object body, with floats as Decimal: params reach PostgreSQL digit for digit."""
    try:
        body = json.loads(await request.body(), parse_float=Decimal)
    except ValueError as exc:
        raise InvalidRequest("request body must be valid JSON") from exc
    if not isinstance(body, dict):
        raise InvalidRequest("request body must be a JSON object")
    return body


def _query_text(body: dict[str, Any]) -> str:
    text = body.get("query")
    if not isinstance(text, str) or not text.strip():
        raise InvalidRequest("query is required and must be a non-empty string")
    if "\x00" in text:
        raise InvalidRequest("query cannot contain NUL characters")
    return text


def _timeout_ms(body: dict[str, Any]) -> int:
    value = body.get("timeout_ms")
    if value is None:
        return DEFAULT_TIMEOUT_MS
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidRequest("timeout_ms must be a positive integer")
    return value


# Auth and errors


class BearerAuth:
    """Pure ASGI middleware: `Authorization: Bearer <token>` on every route but /health and /ready."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _PUBLIC_PATHS or self._authorized(scope):
            await self.app(scope, receive, send)
            return
        await Unauthorized("missing or invalid bearer token").response()(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        scheme, _, credentials = Headers(scope=scope).get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(credentials.strip().encode(), self._token)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LocalAPIError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_ERROR_CODES.get(exc.status_code, "INVALID_REQUEST")
    return error_response(exc.status_code, code, f"{exc.detail}: {request.method} {request.url.path}")


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    return error_response(500, "INTERNAL_ERROR", "internal error in the local Deep Lake API")
