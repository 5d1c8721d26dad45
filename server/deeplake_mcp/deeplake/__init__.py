"""The Deep Lake REST client: one async ``httpx`` client, typed models, typed errors."""

from deeplake_mcp.deeplake._client import DeepLakeClient
from deeplake_mcp.deeplake._config import (
    DEFAULT_API_URL,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUTS,
    NO_RETRIES,
    RetryPolicy,
    Timeouts,
)
from deeplake_mcp.deeplake._errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DeepLakeAPIError,
    DeepLakeConnectionError,
    DeepLakeError,
    DeepLakeTimeoutError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from deeplake_mcp.deeplake._models import (
    Column,
    Member,
    Organization,
    QueryResult,
    TableDetails,
    TableSummary,
    User,
    Workspace,
)
from deeplake_mcp.deeplake._tensordb import DEFAULT_TENSORDB_URL, TensorDBClient, TQLResult

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_RETRIES",
    "DEFAULT_TENSORDB_URL",
    "DEFAULT_TIMEOUTS",
    "NO_RETRIES",
    "AuthenticationError",
    "BadRequestError",
    "Column",
    "ConflictError",
    "DeepLakeAPIError",
    "DeepLakeClient",
    "DeepLakeConnectionError",
    "DeepLakeError",
    "DeepLakeTimeoutError",
    "Member",
    "NotFoundError",
    "Organization",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "QueryResult",
    "RateLimitError",
    "RetryPolicy",
    "ServerError",
    "TQLResult",
    "TableDetails",
    "TableSummary",
    "TensorDBClient",
    "Timeouts",
    "User",
    "Workspace",
]
