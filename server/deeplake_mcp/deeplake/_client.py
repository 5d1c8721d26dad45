"""The async REST client for Deep Lake's managed database API."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Awaitable, Mapping, Sequence
from types import TracebackType
from typing import IO, Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from deeplake_mcp import __version__
from deeplake_mcp.deeplake._config import (
    COPY_MEDIA_TYPE,
    DEFAULT_API_URL,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUTS,
    READ_ONLY_HEADER,
    CopyHandler,
    QueryHandler,
    RetryPolicy,
    Timeouts,
)
from deeplake_mcp.deeplake._errors import (
    DeepLakeAPIError,
    DeepLakeConnectionError,
    DeepLakeError,
    DeepLakeTimeoutError,
    RateLimitError,
    error_class_for,
)
from deeplake_mcp.deeplake._models import (
    Member,
    Organization,
    QueryResult,
    TableDetails,
    TableSummary,
    User,
    Workspace,
)
from deeplake_mcp.redact import redact
from deeplake_mcp.retries import Backoff, retry_after

__all__ = ["DeepLakeClient"]

log = logging.getLogger(__name__)

_ModelT = TypeVar("_ModelT", bound=BaseModel)
_MAX_ERROR_TEXT = 500
_READ_ONLY = {READ_ONLY_HEADER: "true"}
_HTML_ANSWER = "the answer was an HTML page (a proxy or rate limiter in front of the API), not JSON"


class _NotSentError(DeepLakeConnectionError):
    """The connection could not be opened, so the request was never sent: always safe to retry."""


class DeepLakeClient:
    """One pooled async connection to a Deep Lake API, with typed methods.

    ```python
    async with DeepLakeClient(api_key="...") as client:
        result = await client.query("default", "SELECT 1")
    ```

    **Parameters:**

    * **base_url** - the API root, ``https://api.deeplake.ai`` by default.
    * **api_key** - bearer token; ``None`` for an API that needs none (the embedded one).
    * **org_id** - sent as ``X-Activeloop-Org-Id``; taken from the token when not given.
    * **transport** - an ``httpx`` transport: ``ASGITransport(app)`` reaches an in-process
      API, ``MockTransport(handler)`` a test double. The network when ``None``.
    * **timeouts** - seconds per kind of request.
    * **retries** - how GETs and read-only queries are retried on 429/502/503/504 and lost
      connections. Writes are never re-sent after an ambiguous failure.
    * **query_handler** - the query route of an API in this process (the embedded one), called
      directly instead of sending ``POST …/tables/query`` through ``transport``: the hottest call
      skips HTTP and JSON; its answers and errors are the same.
    * **copy_handler** - likewise the embedded API's copy route (``POST …/tables/{table}/copy``), for
      ``copy_rows``.
    """

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_API_URL,
        api_key: str | None = None,
        org_id: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        retries: RetryPolicy = DEFAULT_RETRIES,
        query_handler: QueryHandler | None = None,
        copy_handler: CopyHandler | None = None,
    ) -> None:
        self._api_key = api_key
        self._query_handler = query_handler
        self._copy_handler = copy_handler
        self._timeouts = timeouts
        self._retries = retries
        self.org_id = org_id or _org_id_from_token(api_key)
        headers = {"Accept": "application/json", "X-Deeplake-Client": f"deeplake-mcp/{__version__}"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        if self.org_id:
            headers["X-Activeloop-Org-Id"] = self.org_id
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            transport=transport,
            timeout=httpx.Timeout(timeouts.metadata, connect=timeouts.connect),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
        )

    @property
    def base_url(self) -> str:
        return str(self._http.base_url).rstrip("/")

    async def __aenter__(self) -> DeepLakeClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- health and identity ------------------------------------------------------------

    async def health(self) -> dict[str, Any]:
        """``GET /health``: ``{"status": "ok"}`` when the service is up."""
        body = await self._request("GET", "/health")
        return body if isinstance(body, dict) else {"status": str(body)}

    async def ready(self) -> dict[str, Any]:
        """``GET /ready``: ``{"status": "ready"}`` when the service can take requests."""
        body = await self._request("GET", "/ready")
        return body if isinstance(body, dict) else {"status": str(body)}

    async def me(self) -> User:
        """``GET /me``: the user the key belongs to."""
        return self._parse(User, await self._request("GET", "/me"))

    # -- organizations ------------------------------------------------------------------

    async def list_organizations(self) -> list[Organization]:
        """``GET /organizations``."""
        return self._parse_list(Organization, await self._request("GET", "/organizations"))

    async def get_organization(self, org_id: str) -> Organization:
        """``GET /organizations/{org_id}`` (the service wraps it as ``{"organization": {...}}``)."""
        body = await self._request("GET", f"/organizations/{_seg(org_id)}")
        return self._parse(Organization, _unwrap(body, "organization"))

    async def create_organization(self, org_id: str, name: str) -> Organization:
        """``POST /organizations`` with ``{"id", "name"}``; the new organisation."""
        payload = {"id": org_id, "name": name}
        body = await self._request("POST", "/organizations", json=payload)
        return self._parse(Organization, _unwrap(body, "organization") or payload)

    async def update_organization(self, org_id: str, name: str) -> Organization:
        """``PATCH /organizations/{org_id}`` with ``{"name"}``; the renamed organisation."""
        body = await self._request("PATCH", f"/organizations/{_seg(org_id)}", json={"name": name})
        return self._parse(Organization, _unwrap(body, "organization") or {"id": org_id, "name": name})

    async def delete_organization(self, org_id: str) -> None:
        """``DELETE /organizations/{org_id}`` (204)."""
        await self._request("DELETE", f"/organizations/{_seg(org_id)}")

    # -- members ------------------------------------------------------------------------

    async def list_members(self, org_id: str) -> list[Member]:
        """``GET /organizations/{org_id}/members`` (``{"members": [...]}``)."""
        body = await self._request("GET", f"/organizations/{_seg(org_id)}/members")
        return self._parse_list(Member, body, key="members")

    async def invite_member(self, org_id: str, email: str, role: str) -> Member:
        """``POST /organizations/{org_id}/members`` with ``{"email", "role"}`` (``admin`` or ``member``)."""
        payload = {"email": email, "role": role}
        body = await self._request("POST", f"/organizations/{_seg(org_id)}/members", json=payload)
        return self._parse(Member, _unwrap(body, "member") or payload)

    async def update_member_role(self, org_id: str, user_id: str, role: str) -> Member:
        """``PATCH /organizations/{org_id}/members/{user_id}`` with ``{"role"}``."""
        body = await self._request(
            "PATCH", f"/organizations/{_seg(org_id)}/members/{_seg(user_id)}", json={"role": role}
        )
        return self._parse(Member, _unwrap(body, "member") or {"user_id": user_id, "role": role})

    async def remove_member(self, org_id: str, user_id: str) -> None:
        """``DELETE /organizations/{org_id}/members/{user_id}`` (204)."""
        await self._request("DELETE", f"/organizations/{_seg(org_id)}/members/{_seg(user_id)}")

    # -- workspaces ---------------------------------------------------------------------

    async def list_workspaces(self) -> list[Workspace]:
        """``GET /workspaces``."""
        return self._parse_list(Workspace, await self._request("GET", "/workspaces"))

    async def get_workspace(self, workspace: str) -> Workspace:
        """``GET /workspaces/{workspace}``."""
        body = await self._request("GET", f"/workspaces/{_seg(workspace)}")
        return self._parse(Workspace, _unwrap(body, "workspace"))

    async def create_workspace(self, workspace: str, name: str | None = None) -> Workspace:
        """``POST /workspaces`` with ``{"id", "name"}``; the name defaults to the id."""
        payload = {"id": workspace, "name": name or workspace}
        body = await self._request("POST", "/workspaces", json=payload)
        return self._parse(Workspace, _unwrap(body, "workspace") or payload)

    async def update_workspace(self, workspace: str, name: str) -> Workspace:
        """``PATCH /workspaces/{workspace}`` with ``{"name"}``; the renamed workspace."""
        body = await self._request("PATCH", f"/workspaces/{_seg(workspace)}", json={"name": name})
        return self._parse(Workspace, _unwrap(body, "workspace") or {"id": workspace, "name": name})

    async def delete_workspace(self, workspace: str) -> None:
        """``DELETE /workspaces/{workspace}`` (204): the workspace and all its tables are gone."""
        await self._request("DELETE", f"/workspaces/{_seg(workspace)}")

    # -- tables -------------------------------------------------------------------------

    async def list_tables(self, workspace: str) -> list[TableSummary]:
        """``GET /workspaces/{workspace}/tables``."""
        body = await self._request("GET", f"/workspaces/{_seg(workspace)}/tables")
        return self._parse_list(TableSummary, body, key="tables")

    async def get_table(self, workspace: str, table: str) -> TableDetails:
        """``GET /workspaces/{workspace}/tables/{table}``: columns, row count, size."""
        body = await self._request("GET", f"/workspaces/{_seg(workspace)}/tables/{_seg(table)}")
        return self._parse(TableDetails, body)

    async def create_table(self, workspace: str, table: str, schema: Mapping[str, str]) -> TableDetails:
        """``POST /workspaces/{workspace}/tables`` with ``{"table_name", "table_schema": {column: type}}``.

        Creates an empty ``USING deeplake`` table. Returns the table as the service describes it,
        or just its name when the service answers with an empty body. ConflictError if it exists.
        """
        payload = {"table_name": table, "table_schema": dict(schema)}
        body = await self._request(
            "POST", f"/workspaces/{_seg(workspace)}/tables", json=payload, wait=self._timeouts.upload
        )
        return self._parse(TableDetails, _unwrap(body, "table") or {"table_name": table})

    async def upload_table(self, workspace: str, table: str, filename: str, content: bytes | IO[bytes]) -> TableDetails:
        """``POST /workspaces/{workspace}/tables`` as ``multipart/form-data``: a CSV or JSON file.

        Sends the form fields ``file``, ``filename`` and ``table_name``; the service infers the
        schema from the file. A file object is read whole before sending. ConflictError if the
        table exists.
        """
        data = content if isinstance(content, bytes) else content.read()
        body = await self._request(
            "POST",
            f"/workspaces/{_seg(workspace)}/tables",
            files={"file": (filename, data, _content_type(filename))},
            data={"filename": filename, "table_name": table},
            wait=self._timeouts.upload,
        )
        return self._parse(TableDetails, _unwrap(body, "table") or {"table_name": table})

    async def drop_table(self, workspace: str, table: str) -> None:
        """``DELETE /workspaces/{workspace}/tables/{table}`` (204)."""
        await self._request("DELETE", f"/workspaces/{_seg(workspace)}/tables/{_seg(table)}")

    # -- SQL ----------------------------------------------------------------------------

    async def query(
        self,
        workspace: str,
        sql: str,
        params: Sequence[Any] | None = None,
        *,
        timeout_ms: int | None = None,
        read_only: bool = False,
    ) -> QueryResult:
        """``POST /workspaces/{workspace}/tables/query``: run one statement.

        ``read_only`` marks a statement that only reads: it is safe to re-send, so it is retried on
        429/5xx, and the request carries ``READ_ONLY_HEADER``, so that the embedded API runs it in a
        READ ONLY transaction (the managed API ignores the header).
        """
        payload: dict[str, Any] = {"query": sql}
        if params:
            payload["params"] = list(params)
        if timeout_ms is not None:
            payload["timeout_ms"] = timeout_ms
        path = f"/workspaces/{_seg(workspace)}/tables/query"
        wait = self._timeouts.query
        if timeout_ms is not None:
            wait = max(wait, timeout_ms / 1000 + 1)
        if self._query_handler is not None:
            body = await self._in_process(self._query_handler(workspace, payload, read_only), path, wait)
            return self._parse(QueryResult, body)
        headers = _READ_ONLY if read_only else None
        body = await self._request("POST", path, json=payload, wait=wait, idempotent=read_only, headers=headers)
        return self._parse(QueryResult, body or {})

    async def query_batch(self, workspace: str, sql: str, params_batch: Sequence[Sequence[Any]]) -> QueryResult:
        """``POST /workspaces/{workspace}/tables/query/batch``: one statement, many parameter sets."""
        payload = {"query": sql, "params_batch": [list(p) for p in params_batch]}
        body = await self._request(
            "POST",
            f"/workspaces/{_seg(workspace)}/tables/query/batch",
            json=payload,
            wait=self._timeouts.upload,
        )
        return self._parse(QueryResult, body or {})

    async def copy_rows(
        self, workspace: str, table: str, columns: Sequence[str], type_oids: Sequence[int], data: bytes
    ) -> int:
        """``POST /workspaces/{workspace}/tables/{table}/copy``, embedded local API only: rows in binary COPY form.

        ``data`` is one PostgreSQL binary COPY stream of ``columns``, encoded for the column types
        ``type_oids`` (the API refuses the stream if the table's types differ by then); the rows are
        written in one transaction.
        """
        path = f"/workspaces/{_seg(workspace)}/tables/{_seg(table)}/copy"
        if self._copy_handler is not None:
            answer = self._copy_handler(workspace, table, columns, type_oids, data)
            return self._parse(QueryResult, await self._in_process(answer, path, self._timeouts.upload)).row_count
        body = await self._request(
            "POST",
            path,
            content=data,
            params=[*(("column", c) for c in columns), *(("type", str(oid)) for oid in type_oids)],
            headers={"Content-Type": COPY_MEDIA_TYPE},
            wait=self._timeouts.upload,
        )
        return self._parse(QueryResult, body or {}).row_count

    # -- plumbing -----------------------------------------------------------------------

    async def _in_process(self, answer: Awaitable[tuple[int, Any]], path: str, wait: float) -> Any:
        """The decoded answer of a route of the in-process API (``POST path``), or its error as over HTTP."""
        try:
            async with asyncio.timeout(wait):  # the in-process API is asyncio's (psycopg); a third of anyio's cost
                status, body = await answer
        except TimeoutError as exc:
            raise DeepLakeTimeoutError(
                f"POST {path} got no answer from the embedded API in time; the statement may still have been "
                "carried out"
            ) from exc
        if status >= 400:
            raise self._api_error(httpx.Response(status, json=body), "POST", path)
        return body

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        files: Any = None,
        data: Any = None,
        content: bytes | None = None,
        params: Sequence[tuple[str, str]] | None = None,
        wait: float | None = None,
        idempotent: bool | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Send one request, retrying when that is safe; return the decoded JSON body.

        ``wait`` overrides the read timeout in seconds (queries and uploads take longer).
        ``idempotent`` (default: GET only) allows retries after an ambiguous failure; other
        requests are retried only when the connection could not be opened at all.
        """
        safe = method == "GET" if idempotent is None else idempotent
        parts = {"json": json, "files": files, "data": data, "content": content, "params": params, "headers": headers}
        kwargs: dict[str, Any] = {name: part for name, part in parts.items() if part is not None}
        if wait is not None:
            kwargs["timeout"] = httpx.Timeout(wait, connect=self._timeouts.connect)
        backoff = Backoff(self._retries)
        while True:
            try:
                return await self._send_once(method, path, kwargs)
            except (DeepLakeConnectionError, DeepLakeAPIError) as exc:
                if not self._retryable(exc, safe):
                    raise
                wait = exc.retry_after if isinstance(exc, RateLimitError) else None
                if not await backoff.wait(wait):
                    raise
                log.info("retried %s %s (try %d) after: %s", method, path, backoff.tries, exc)

    def _retryable(self, exc: DeepLakeError, safe: bool) -> bool:
        """A safe request after a retryable status or a lost connection; any request that was never sent."""
        if isinstance(exc, DeepLakeAPIError):
            return safe and exc.status_code in self._retries.statuses
        return safe or isinstance(exc, _NotSentError)

    async def _send_once(self, method: str, path: str, kwargs: dict[str, Any]) -> Any:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            timeout_cls = _NotSentError if isinstance(exc, httpx.ConnectTimeout) else DeepLakeTimeoutError
            raise timeout_cls(
                f"{method} {path} got no answer from {self.base_url} in time; "
                "the request may still have been carried out"
            ) from exc
        except httpx.TransportError as exc:
            error_cls = _NotSentError if isinstance(exc, httpx.ConnectError) else DeepLakeConnectionError
            raise error_cls(
                f"Could not reach the Deep Lake API at {self.base_url} ({type(exc).__name__}: "
                f"{self._redact(str(exc)) or 'no detail'})"
            ) from exc
        if response.status_code >= 400:
            raise self._api_error(response, method, path)
        return _decode_body(response)

    def _api_error(self, response: httpx.Response, method: str, path: str) -> DeepLakeError:
        status = response.status_code
        message, code, request_id = _error_fields(response)
        kwargs: dict[str, Any] = {
            "status_code": status,
            "code": code,
            "request_id": request_id,
            "method": method,
            "path": path,
        }
        cls = error_class_for(status)
        if cls is RateLimitError:
            kwargs["retry_after"] = retry_after(response)
        if status == 404 and not message:
            message = f"{method} {path}"
        return cls(self._redact(message), **kwargs)

    def _redact(self, text: str) -> str:
        return redact(text, self._api_key)

    @staticmethod
    def _parse(model: type[_ModelT], body: Any) -> _ModelT:
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            raise DeepLakeError(
                f"The Deep Lake API answered with an unexpected {model.__name__} shape: {_short(body)}"
            ) from exc

    @classmethod
    def _parse_list(cls, model: type[_ModelT], body: Any, *, key: str = "data") -> list[_ModelT]:
        """A list that may come bare, or wrapped as ``{key: [...]}`` / ``{"data": [...]}``."""
        if isinstance(body, dict):
            body = body.get(key, body.get("data", []))
        if body is None:
            return []
        if not isinstance(body, list):
            raise DeepLakeError(f"The Deep Lake API answered with an unexpected list shape: {_short(body)}")
        return [cls._parse(model, item) for item in body]


def _seg(name: str) -> str:
    """One URL path segment: every reserved character escaped, so names cannot change the route."""
    return quote(name, safe="")


def _unwrap(body: Any, key: str) -> Any:
    """The object inside ``{key: {...}}`` or ``{"data": {...}}``; anything else as it is."""
    if isinstance(body, dict):
        for wrapper in (key, "data"):
            inner = body.get(wrapper)
            if isinstance(inner, dict):
                return inner
    return body


def _content_type(filename: str) -> str:
    lowered = filename.lower()
    if lowered.endswith(".csv"):
        return "text/csv"
    if lowered.endswith((".jsonl", ".ndjson")):
        return "application/x-ndjson"
    if lowered.endswith(".json"):
        return "application/json"
    return "application/octet-stream"


def _decode_body(response: httpx.Response) -> Any:
    if not response.content.strip():
        return None
    try:
        return response.json()
    except ValueError as exc:
        raise DeepLakeError(
            f"The Deep Lake API answered HTTP {response.status_code} with a body that is not JSON: "
            f"{_short(response.text)}"
        ) from exc


def _error_fields(response: httpx.Response) -> tuple[str, str | None, str | None]:
    """``(message, code, request_id)`` from the error envelope, or a short text for non-JSON bodies."""
    request_id = response.headers.get("x-request-id")
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        message = body.get("error") or body.get("message") or body.get("detail") or body.get("description")
        if isinstance(message, dict):
            message = message.get("message") or json.dumps(message)
        code = body.get("code")
        return (
            str(message) if message else "",
            str(code) if code else None,
            str(body.get("request_id") or request_id or "") or None,
        )
    text = response.text.strip()
    content_type = response.headers.get("content-type", "")
    if "html" in content_type or text.lower().startswith(("<!doctype", "<html")):
        return _HTML_ANSWER, None, request_id
    return _short(text), None, request_id


def _org_id_from_token(api_key: str | None) -> str | None:
    """The ``OrgID``/``org_id`` claim of a JWT API key, read without verifying it."""
    if not api_key or api_key.count(".") != 2:
        return None
    payload = api_key.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return None
    if not isinstance(claims, dict):
        return None
    org = claims.get("OrgID") or claims.get("org_id")
    return str(org) if org else None


def _short(value: Any) -> str:
    text = redact(value if isinstance(value, str) else json.dumps(value, default=str))
    return text if len(text) <= _MAX_ERROR_TEXT else text[:_MAX_ERROR_TEXT] + "…"
