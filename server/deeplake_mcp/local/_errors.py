"""Errors of the local API, each rendered as Deep Lake's envelope.

LocalAPIError               500 INTERNAL_ERROR
├── InvalidRequest          400 INVALID_REQUEST  malformed body or parameters
├── QueryError              400 QUERY_ERROR      PostgreSQL rejected the SQL (its message)
├── NotFound                404 NOT_FOUND
├── Conflict                409 CONFLICT
├── NotImplementedHere      501 NOT_IMPLEMENTED  an optional part is not installed
└── Unavailable             503 UNAVAILABLE      the backend is not open
"""

from __future__ import annotations

import uuid

from starlette.responses import JSONResponse


class LocalAPIError(Exception):
    """Base class: an error with an HTTP status and an envelope code."""

    status_code = 500
    code = "INTERNAL_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def response(self, **extra: str) -> JSONResponse:
        return error_response(self.status_code, self.code, self.message, **extra)

    def envelope(self) -> dict[str, str]:
        """The body of :meth:`response`."""
        return envelope(self.code, self.message)


class InvalidRequest(LocalAPIError):
    status_code = 400
    code = "INVALID_REQUEST"


class QueryError(LocalAPIError):
    status_code = 400
    code = "QUERY_ERROR"


class NotFound(LocalAPIError):
    status_code = 404
    code = "NOT_FOUND"


class Conflict(LocalAPIError):
    status_code = 409
    code = "CONFLICT"


class NotImplementedHere(LocalAPIError):
    status_code = 501
    code = "NOT_IMPLEMENTED"


class Unavailable(LocalAPIError):
    status_code = 503
    code = "UNAVAILABLE"


def error_response(
    status_code: int, code: str, message: str, *, request_id: str | None = None, **extra: str
) -> JSONResponse:
    """`{"error", "code", "request_id"}` with the given request id or a fresh uuid4 (plus any ``extra`` fields)."""
    return JSONResponse(envelope(code, message, request_id=request_id, **extra), status_code=status_code)


def envelope(code: str, message: str, *, request_id: str | None = None, **extra: str) -> dict[str, str]:
    """Deep Lake's error body: `{"error", "code", "request_id"}` (a fresh uuid4 unless given), plus ``extra``."""
    return {"error": message, "code": code, "request_id": request_id or str(uuid.uuid4()), **extra}
