"""Authentication for the HTTP transport, and the per-request access it implies.

- :func:`protect` puts the streamable-HTTP app behind bearer tokens: static tokens
  (``DEEPLAKE_MCP_HTTP_TOKEN``, ``DEEPLAKE_MCP_HTTP_TOKEN_FILE``) and, with ``DEEPLAKE_MCP_OAUTH_ISSUER``,
  JWT access tokens from that issuer, as an OAuth 2.1 resource server with RFC 9728 metadata.
- :class:`CallerAccess` gives each request the lower of the server's ``--access`` and what its token's
  scopes grant (``DEEPLAKE_MCP_OAUTH_SCOPES``).

stdio is unaffected: no token, the server's own mode.
"""

from typing import TYPE_CHECKING, Any

from ._access import CallerAccess
from ._errors import AuthSetupError
from ._static import split_tokens

if TYPE_CHECKING:
    from ._http import check_auth_setup, protect

__all__ = ["AuthSetupError", "CallerAccess", "check_auth_setup", "protect", "split_tokens"]


def __getattr__(name: str) -> Any:
    """The HTTP parts (and with them JWT and cryptography) load only when HTTP needs them: stdio starts faster."""
    if name in ("protect", "check_auth_setup"):
        from . import _http

        return getattr(_http, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
