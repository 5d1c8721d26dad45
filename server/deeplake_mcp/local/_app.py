"""The local Deep Lake REST API: routes, bearer auth and the error envelope.

The app owns nothing and runs no lifespan (httpx.ASGITransport sends none): the LocalBackend
passed to `create_app` must be open while requests arrive.

Shapes where the real API's answer is unknown (see deeplake-api.md §2, §11):

* `GET /organizations/{id}` wraps the object as `{"organization": {...}}` (as documented); POST
  (201) and PATCH (200) answer with the bare object `{"id", "name", "creator", "created_at"}`.
* members are `{"user_id", "name", "email", "role"}`; POST (201) and PATCH (200) answer with one.
  An invitation adds the member at once, under a new uuid.
* `POST /workspaces/{ws}/tables` (JSON or multipart upload) answers 201 with the same body as
  `GET /workspaces/{ws}/tables/{table}`: `{"table_name", "columns", "row_count", "size_mb"}`.
* every DELETE answers 204 with no body.
* the `X-Activeloop-Org-Id` header is accepted and ignored: workspaces belong to no organization.
* `POST /workspaces/{ws}/tables/{table}/copy?column=a&column=b&type=25&type=1021` (not in the managed
  API; deeplake-mcp's insert path uses it on the embedded backend) takes a PostgreSQL binary COPY stream
  of those columns, encoded for those type OIDs (`Content-Type: application/vnd.postgresql.copy-binary`),
  and writes its rows in one transaction as the query role, after checking under lock that the columns
  still have those types (409 otherwise); it answers like a batch: `{"columns": [], "rows": [], "row_count": n}`.
* a query, batch or copy runs in a READ ONLY transaction when the `X-Deeplake-Read-Only: true` header says
  the caller only reads (deeplake-mcp sends it for its read tools; the managed API ignores it), or
  when the SQL guard classes the statement as a read.

Exposed over HTTP (`deeplake-mcp local-api`), the app also checks `Host` and `Origin` (no DNS
rebinding, no cross-site browser requests), caps request bodies (413) and, with tokens, requires
`Authorization: Bearer …` on every route but /health and /ready.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from deeplake_mcp.asgi_security import BearerAuth, BodyLimit, HostCheck
from deeplake_mcp.deeplake import COPY_MEDIA_TYPE, READ_ONLY_HEADER, CopyHandler, QueryHandler
from deeplake_mcp.guard import StatementClass, classify

from ._backend import LocalBackend
from ._catalog import USER_EMAIL, USER_ID, USER_NAME, Catalog
from ._errors import InvalidRequest, LocalAPIError, Unavailable, envelope, error_response
from ._executor import DEFAULT_TIMEOUT_MS, QueryResult
from ._tensordb import tql_query

__all__ = ["Exposure", "create_app", "in_process_copies", "in_process_queries", "run_query"]

log = logging.getLogger(__name__)

_MAX_UPLOAD_FIELDS = 10
_PUBLIC_PATHS = frozenset({"/health", "/ready"})
_HTTP_ERROR_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
_NAME_THE_TYPES = "give the type OID the stream encodes for each column, in order: ?type=25&type=1021"


@dataclass(frozen=True)
class Exposure:
    """How the API is served over HTTP: the bearer tokens it takes, the Host names it answers, the body cap."""

    tokens: Sequence[str] = ()
    allowed_hosts: Sequence[str] = ()
    max_body_bytes: int = 64 * 1024 * 1024


def create_app(backend: LocalBackend, *, exposure: Exposure | None = None) -> Starlette:
    """Build the API over `backend`; called in-process (deeplake-mcp's own client) when ``exposure`` is None."""
    app = Starlette(
        routes=[
            Route("/health", health),
            Route("/ready", ready),
            Route("/me", me),
            Route("/organizations", list_organizations, methods=["GET"]),
            Route("/organizations", create_organization, methods=["POST"]),
            Route("/organizations/{org_id}", get_organization, methods=["GET"]),
            Route("/organizations/{org_id}", update_organization, methods=["PATCH"]),
            Route("/organizations/{org_id}", delete_organization, methods=["DELETE"]),
            Route("/organizations/{org_id}/members", list_members, methods=["GET"]),
            Route("/organizations/{org_id}/members", invite_member, methods=["POST"]),
            Route("/organizations/{org_id}/members/{user_id}", update_member, methods=["PATCH"]),
            Route("/organizations/{org_id}/members/{user_id}", remove_member, methods=["DELETE"]),
            Route("/workspaces", list_workspaces, methods=["GET"]),
            Route("/workspaces", create_workspace, methods=["POST"]),
            Route("/workspaces/{workspace}", get_workspace, methods=["GET"]),
            Route("/workspaces/{workspace}", update_workspace, methods=["PATCH"]),
            Route("/workspaces/{workspace}", delete_workspace, methods=["DELETE"]),
            Route("/workspaces/{workspace}/tables", list_tables, methods=["GET"]),
            Route("/workspaces/{workspace}/tables", create_table, methods=["POST"]),
            Route("/workspaces/{workspace}/tables/query", query, methods=["POST"]),
            Route("/workspaces/{workspace}/tables/query/batch", query_batch, methods=["POST"]),
            Route("/workspaces/{workspace}/tables/{table}", get_table, methods=["GET"]),
            Route("/workspaces/{workspace}/tables/{table}/copy", copy_rows, methods=["POST"]),
            Route("/workspaces/{workspace}/tables/{table}", drop_table, methods=["DELETE"]),
            Route("/api/query/v1", tql_query, methods=["POST"]),
        ],
        middleware=_middleware(exposure) if exposure is not None else [],
        exception_handlers={
            LocalAPIError: _api_error,
            ClientDisconnect: _client_gone,
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
    organizations = await _catalog(request).list_organizations()
    return JSONResponse(
        {
            "id": USER_ID,
            "email": USER_EMAIL,
            "name": USER_NAME,
            "verified": True,
            "organizations": [organization["id"] for organization in organizations],
            "display_name": USER_NAME,
            "date_joined": int(_backend(request).created_at.timestamp()),
        }
    )


# Organizations and members


async def list_organizations(request: Request) -> Response:
    return JSONResponse(await _catalog(request).list_organizations())


async def get_organization(request: Request) -> Response:
    organization = await _catalog(request).get_organization(request.path_params["org_id"])
    return JSONResponse({"organization": organization})


async def create_organization(request: Request) -> Response:
    body = await _json_object(request)
    org_id = _required_string(body, "id", "organization ID is required")
    name = _required_string(body, "name", "name is required")
    return JSONResponse(await _catalog(request).create_organization(org_id, name), status_code=201)


async def update_organization(request: Request) -> Response:
    body = await _json_object(request)
    name = _required_string(body, "name", "name must be a non-empty string") if "name" in body else None
    organization = await _catalog(request).update_organization(request.path_params["org_id"], name)
    return JSONResponse(organization)


async def delete_organization(request: Request) -> Response:
    await _catalog(request).delete_organization(request.path_params["org_id"])
    return Response(status_code=204)


async def list_members(request: Request) -> Response:
    members = await _catalog(request).list_members(request.path_params["org_id"])
    return JSONResponse({"members": members})


async def invite_member(request: Request) -> Response:
    body = await _json_object(request)
    email = _required_string(body, "email", "email is required")
    role = _required_string(body, "role", "role is required ('admin' or 'member')")
    member = await _catalog(request).invite_member(request.path_params["org_id"], email, role)
    return JSONResponse(member, status_code=201)


async def update_member(request: Request) -> Response:
    body = await _json_object(request)
    role = _required_string(body, "role", "role is required ('admin' or 'member')")
    params = request.path_params
    return JSONResponse(await _catalog(request).update_member_role(params["org_id"], params["user_id"], role))


async def remove_member(request: Request) -> Response:
    await _catalog(request).remove_member(request.path_params["org_id"], request.path_params["user_id"])
    return Response(status_code=204)


# Workspaces


async def list_workspaces(request: Request) -> Response:
    return JSONResponse({"data": await _catalog(request).list_workspaces()})


async def get_workspace(request: Request) -> Response:
    return JSONResponse(await _catalog(request).get_workspace(request.path_params["workspace"]))


async def create_workspace(request: Request) -> Response:
    body = await _json_object(request)
    workspace_id = body.get("id")
    if not isinstance(workspace_id, str) or not workspace_id:
        raise InvalidRequest("workspace ID is required")
    name = body.get("name") or workspace_id
    if not isinstance(name, str):
        raise InvalidRequest("name must be a string")
    workspace = await _catalog(request).create_workspace(workspace_id, name)
    return JSONResponse(workspace, status_code=201)


async def update_workspace(request: Request) -> Response:
    body = await _json_object(request)
    name = _required_string(body, "name", "name is required and must be a non-empty string")
    return JSONResponse(await _catalog(request).update_workspace(request.path_params["workspace"], name))


async def delete_workspace(request: Request) -> Response:
    await _catalog(request).delete_workspace(request.path_params["workspace"])
    return Response(status_code=204)


# Tables


async def list_tables(request: Request) -> Response:
    return JSONResponse({"tables": await _backend(request).tables.list(request.path_params["workspace"])})


async def create_table(request: Request) -> Response:
    """JSON `{"table_name", "table_schema"}` creates an empty table; multipart uploads a CSV/JSON file."""
    workspace = request.path_params["workspace"]
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("multipart/form-data"):
        table, filename, data = await _upload_form(request)
        detail = await _backend(request).tables.upload(workspace, table, filename, data)
        return JSONResponse(detail, status_code=201)
    body = await _json_object(request)
    table = _required_string(body, "table_name", "table_name is required")
    schema = body.get("table_schema") or {}
    if not isinstance(schema, dict) or not all(isinstance(value, str) for value in schema.values()):
        raise InvalidRequest("table_schema must be an object of column name to SQL type")
    detail = await _backend(request).tables.create(workspace, table, list(schema.items()))
    return JSONResponse(detail, status_code=201)


async def get_table(request: Request) -> Response:
    workspace, table = request.path_params["workspace"], request.path_params["table"]
    return JSONResponse(await _backend(request).tables.describe(workspace, table))


async def drop_table(request: Request) -> Response:
    await _backend(request).tables.drop(request.path_params["workspace"], request.path_params["table"])
    return Response(status_code=204)


# SQL


async def query(request: Request) -> Response:
    body = await _json_object(request)
    workspace = request.path_params["workspace"]
    return JSONResponse(await run_query(_backend(request), workspace, body, says_read_only=_says_read_only(request)))


async def run_query(
    backend: LocalBackend, workspace: str, body: dict[str, Any], *, says_read_only: bool
) -> QueryResult:
    """What `POST /workspaces/{workspace}/tables/query` does with its decoded body (and the read-only header)."""
    params = body.get("params")
    if params is None:
        params = []
    elif not isinstance(params, list):
        raise InvalidRequest("params must be an array")
    text = _query_text(body)
    read_only = _reads_only(says_read_only, text)
    return await backend.query(workspace, text, params, _timeout_ms(body), read_only=read_only)


def in_process_queries(backend: LocalBackend) -> QueryHandler:
    """The query route as a function, for a client in the same process: no HTTP, no JSON, the same answers."""

    async def handle(workspace: str, body: dict[str, Any], read_only: bool) -> tuple[int, Any]:
        answer = run_query(backend, workspace, body, says_read_only=read_only)
        return await _answered(answer, f"POST /workspaces/{workspace}/tables/query")

    return handle


async def _answered(work: Awaitable[QueryResult], call: str) -> tuple[int, Any]:
    """A route's status and answer, called in-process: its errors answered as the app answers them."""
    try:
        return 200, await work
    except LocalAPIError as exc:
        return exc.status_code, exc.envelope()
    except Exception as exc:  # a bug: logged, answered as the app answers one
        return 500, _internal_error(call, exc)


async def query_batch(request: Request) -> Response:
    body = await _json_object(request)
    params_batch = body.get("params_batch")
    if not isinstance(params_batch, list) or not all(isinstance(params, list) for params in params_batch):
        raise InvalidRequest("params_batch is required and must be an array of arrays")
    text = _query_text(body)
    read_only = _reads_only(_says_read_only(request), text)
    row_count = await _backend(request).query_batch(
        request.path_params["workspace"], text, params_batch, _timeout_ms(body), read_only=read_only
    )
    return JSONResponse({"columns": [], "rows": [], "row_count": row_count})


async def copy_rows(request: Request) -> Response:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != COPY_MEDIA_TYPE:
        raise InvalidRequest(f"the body must be a PostgreSQL binary COPY stream (Content-Type: {COPY_MEDIA_TYPE})")
    types = request.query_params.getlist("type")
    if not all(oid.isdigit() for oid in types):
        raise InvalidRequest(_NAME_THE_TYPES)
    answer = await run_copy(
        _backend(request),
        request.path_params["workspace"],
        request.path_params["table"],
        request.query_params.getlist("column"),
        list(map(int, types)),
        await request.body(),
        read_only=_says_read_only(request),
    )
    return JSONResponse(answer)


async def run_copy(
    backend: LocalBackend,
    workspace: str,
    table: str,
    columns: Sequence[str],
    type_oids: Sequence[int],
    data: bytes,
    *,
    read_only: bool = False,
) -> QueryResult:
    """What `POST /workspaces/{workspace}/tables/{table}/copy` does with its stream, columns and type OIDs."""
    if not columns or len(set(columns)) != len(columns) or not all(columns):
        raise InvalidRequest("name each column of the stream once, in order: ?column=a&column=b")
    if len(type_oids) != len(columns):
        raise InvalidRequest(_NAME_THE_TYPES)
    columns_types = dict(zip(columns, type_oids, strict=True))
    row_count = await backend.copy_rows(workspace, table, columns_types, data, read_only=read_only)
    return QueryResult(columns=[], rows=[], row_count=row_count)


def in_process_copies(backend: LocalBackend) -> CopyHandler:
    """The copy route as a function, for a client in the same process: no HTTP, the same answers."""

    async def handle(
        workspace: str, table: str, columns: Sequence[str], type_oids: Sequence[int], data: bytes
    ) -> tuple[int, Any]:
        path = f"POST /workspaces/{workspace}/tables/{table}/copy"
        return await _answered(run_copy(backend, workspace, table, columns, type_oids, data), path)

    return handle


# Request parsing


def _backend(request: Request) -> LocalBackend:
    backend: LocalBackend = request.app.state.backend
    return backend


def _catalog(request: Request) -> Catalog:
    return _backend(request).catalog


def _reads_only(says_read_only: bool, sql: str) -> bool:
    """Whether the statement runs READ ONLY: the caller says it reads, or the SQL guard classes it a read."""
    return says_read_only or classify(sql).cls is StatementClass.READ


def _says_read_only(request: Request) -> bool:
    return request.headers.get(READ_ONLY_HEADER, "").lower() == "true"


async def _json_object(request: Request) -> dict[str, Any]:
    """The JSON object body, with floats as Decimal: params reach PostgreSQL digit for digit."""
    try:
        body = json.loads(await request.body(), parse_float=Decimal)
    except ValueError as exc:
        raise InvalidRequest("request body must be valid JSON") from exc
    if not isinstance(body, dict):
        raise InvalidRequest("request body must be a JSON object")
    return body


def _required_string(body: dict[str, Any], key: str, message: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(message)
    return value


async def _upload_form(request: Request) -> tuple[str, str, bytes]:
    """(table_name, filename, file content) from a multipart upload."""
    try:
        form = await request.form(max_files=1, max_fields=_MAX_UPLOAD_FIELDS)
    except AssertionError as exc:  # Starlette's way of saying python-multipart is missing
        raise LocalAPIError(f"multipart uploads need the python-multipart package: {exc}") from exc
    except HTTPException as exc:  # malformed multipart body, too many parts
        raise InvalidRequest(f"could not read the multipart form: {exc.detail}") from exc
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidRequest("the form needs a file part named 'file'")
        table = form.get("table_name")
        if not isinstance(table, str) or not table.strip():
            raise InvalidRequest("table_name is required")
        filename = form.get("filename")
        if not isinstance(filename, str) or not filename.strip():
            filename = upload.filename or ""
        if not filename:
            raise InvalidRequest("filename is required")
        data = await upload.read()
    finally:
        await form.close()
    return table, filename, data


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


# Exposure and errors


def _middleware(exposure: Exposure) -> list[Middleware]:
    """Outermost first: Host/Origin, then the body cap, then (with tokens) bearer auth."""
    stack = [
        Middleware(HostCheck, allowed_hosts=exposure.allowed_hosts, reject=error_response),
        Middleware(BodyLimit, max_bytes=exposure.max_body_bytes, reject=error_response),
    ]
    if exposure.tokens:
        stack.append(Middleware(BearerAuth, tokens=exposure.tokens, reject=error_response, public_paths=_PUBLIC_PATHS))
    return stack


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LocalAPIError)
    return exc.response()


async def _client_gone(request: Request, exc: Exception) -> Response:
    """Nobody reads this answer (the client left, or the body cap answered it already)."""
    return Response(status_code=499)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_ERROR_CODES.get(exc.status_code, "INVALID_REQUEST")
    return error_response(exc.status_code, code, f"{exc.detail}: {request.method} {request.url.path}")


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    return JSONResponse(_internal_error(f"{request.method} {request.url.path}", exc), status_code=500)


def _internal_error(call: str, exc: Exception) -> dict[str, str]:
    """A bug in ``call`` (method and path): logged with its traceback under the request id the answer carries,
    and no detail in the answer."""
    request_id = str(uuid.uuid4())
    log.error("%s failed (request id %s)", call, request_id, exc_info=exc)
    return envelope("INTERNAL_ERROR", "internal error in the local Deep Lake API", request_id=request_id)
