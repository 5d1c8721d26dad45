"""Exceptions raised by the Deep Lake client.

    DeepLakeError                     anything the client raises
    ├── DeepLakeConnectionError       the request did not get an answer (refused, DNS, reset)
    │   └── DeepLakeTimeoutError      no answer in time (the request may still have run)
    └── DeepLakeAPIError              the service answered with an error status
        ├── BadRequestError           400: invalid SQL, missing or wrong parameters
        ├── AuthenticationError       401: key missing, invalid or expired
        ├── PaymentRequiredError      402: the organisation is out of credits
        ├── PermissionDeniedError     403: the key may not do this (or a proxy refused)
        ├── NotFoundError             404: workspace, table or route does not exist
        ├── ConflictError             409: the object already exists
        ├── RateLimitError            429: too many requests (``retry_after`` seconds)
        └── ServerError               5xx: the service failed

Every message is a complete sentence meant for a person (or a model) to act on, and
never contains the API key.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "DeepLakeAPIError",
    "DeepLakeConnectionError",
    "DeepLakeError",
    "DeepLakeTimeoutError",
    "NotFoundError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
]


class DeepLakeError(Exception):
    """Base class of every error the client raises."""


class DeepLakeConnectionError(DeepLakeError):
    """The request got no HTTP answer."""


class DeepLakeTimeoutError(DeepLakeConnectionError):
    """The request got no answer in time; a write may or may not have happened."""


class DeepLakeAPIError(DeepLakeError):
    """The service answered with an error status.

    ``message`` is the service's own text (from the ``error`` field of its envelope),
    ``code`` its error code (e.g. ``QUERY_ERROR``) and ``request_id`` the id to quote
    when asking Activeloop support.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None = None,
        request_id: str | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.method = method
        self.path = path
        super().__init__(self._render())

    def _render(self) -> str:
        text = f"{self.summary()}: {self.message}" if self.message else self.summary()
        extras = [f"code {self.code}"] if self.code else []
        if self.request_id:
            extras.append(f"request id {self.request_id}")
        return f"{text} ({', '.join(extras)})" if extras else text

    def summary(self) -> str:
        """One line that says what kind of failure this is."""
        return f"Deep Lake API error (HTTP {self.status_code})"


class BadRequestError(DeepLakeAPIError):
    def summary(self) -> str:
        return "The Deep Lake API rejected the request (HTTP 400)"


class AuthenticationError(DeepLakeAPIError):
    def summary(self) -> str:
        return "The Deep Lake API key is invalid or expired (HTTP 401); set a valid DEEPLAKE_API_KEY"


class PaymentRequiredError(DeepLakeAPIError):
    def summary(self) -> str:
        return "The Deep Lake organisation is out of credits (HTTP 402); top up the balance at deeplake.ai"


class PermissionDeniedError(DeepLakeAPIError):
    def summary(self) -> str:
        return "The Deep Lake API refused access (HTTP 403); the key may lack permission for this workspace"


class NotFoundError(DeepLakeAPIError):
    def summary(self) -> str:
        return "Not found (HTTP 404)"


class ConflictError(DeepLakeAPIError):
    def summary(self) -> str:
        return "Conflict (HTTP 409)"


class RateLimitError(DeepLakeAPIError):
    """429; ``retry_after`` holds the server's ``Retry-After`` in seconds when it sent one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)  # type: ignore[arg-type]

    def summary(self) -> str:
        wait = f"; retry in {self.retry_after:g} s" if self.retry_after is not None else "; retry later"
        return f"The Deep Lake API is rate limiting requests (HTTP 429){wait}"


class ServerError(DeepLakeAPIError):
    def summary(self) -> str:
        return f"The Deep Lake service failed (HTTP {self.status_code})"


_BY_STATUS: dict[int, type[DeepLakeAPIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: PaymentRequiredError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def error_class_for(status_code: int) -> type[DeepLakeAPIError]:
    """The exception class for an HTTP error status."""
    if status_code >= 500:
        return ServerError
    return _BY_STATUS.get(status_code, DeepLakeAPIError)
