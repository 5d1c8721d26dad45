"""The MCP endpoint behind bearer authentication, assembled from the SDK's auth parts.

``BearerAuthBackend`` (Starlette's ``AuthenticationMiddleware``) asks :class:`BearerVerifier` about the
``Authorization: Bearer`` header (any case of "Bearer"); ``AuthContextMiddleware`` makes the grant
available to the request's handlers (``get_access_token()``); :class:`RequireAccess` answers 401 or 403;
``create_protected_resource_routes`` serves the RFC 9728 document.

Why not ``MCPServer(token_verifier=…, auth=AuthSettings(…))``: it publishes ``required_scopes`` as
``scopes_supported`` *and* requires every one of them, while here any one mapped scope is enough (a read
scope alone must work) and the document must list them all.
"""

from __future__ import annotations

from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, BearerAuthBackend
from mcp.server.auth.routes import build_resource_metadata_url, create_protected_resource_routes
from pydantic import AnyHttpUrl, ConfigDict, TypeAdapter
from starlette.datastructures import Headers
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deeplake_mcp.errors import StartupError
from deeplake_mcp.settings import Settings

from ._errors import AuthSetupError
from ._scopes import ScopeMap, granted_mode, scopes_up_to
from ._verifier import BearerVerifier

__all__ = ["RequireAccess", "protect"]

METADATA_ROOT = "/.well-known/oauth-protected-resource"
_URL = TypeAdapter(AnyHttpUrl, config=ConfigDict(url_preserve_empty_path=True))
"""URLs as configured: issuers are compared as exact strings, so ``https://idp`` must not become ``https://idp/``."""


async def check_auth_setup(settings: Settings) -> None:
    """Start and stop the token verifier once (token file, issuer discovery, keys): what a server with several
    worker processes checks before it starts them, so a problem is one line instead of one per worker."""
    verifier = BearerVerifier(settings)
    try:
        await verifier.start()
    except AuthSetupError as exc:
        raise StartupError(f"configuration error: {exc}") from None
    await verifier.aclose()


def protect(app: ASGIApp, settings: Settings) -> ASGIApp:
    """``app`` (the streamable-HTTP app) reachable only with a valid bearer token."""
    return _Protected(app, settings)


class RequireAccess:
    """401 without a valid token, 403 when the token's scopes grant no access mode, else the app.

    ``WWW-Authenticate`` names the RFC 9728 metadata (``resource_metadata``) when OAuth is configured,
    and a 403 names the scopes worth asking for (``scope``), as MCP clients expect for a step-up.
    """

    def __init__(self, app: ASGIApp, scope_map: ScopeMap, scopes: list[str], metadata_url: str | None) -> None:
        self.app = app
        self._scope_map = scope_map
        self._scopes = scopes
        self._metadata_url = metadata_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user")
        if not isinstance(user, AuthenticatedUser):
            presented = "authorization" in Headers(scope=scope)
            response = self._refusal(401, "invalid_token", "a valid bearer token is required", presented)
        elif granted_mode(user.scopes, self._scope_map) is None:
            wanted = " or ".join(self._scopes)
            response = self._refusal(403, "insufficient_scope", f"the token needs the scope {wanted}", True)
        else:
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)

    def _refusal(self, status: int, error: str, description: str, name_error: bool) -> Response:
        params = ['realm="deeplake-mcp"']
        if name_error:  # RFC 6750 §3.1: no error code when the request carried no credentials
            params += [f'error="{error}"', f'error_description="{description}"']
        if self._metadata_url:
            params.append(f'resource_metadata="{self._metadata_url}"')
        if status == 403:
            params.append(f'scope="{" ".join(self._scopes)}"')
        return JSONResponse(
            {"error": error, "error_description": description},
            status_code=status,
            headers={"WWW-Authenticate": "Bearer " + ", ".join(params)},
        )


class _Protected:
    """Routes a request: the metadata document (public), or the app behind the SDK's bearer middleware.

    On ASGI start-up it starts the verifier first (token file, issuer discovery, keys); a problem there
    fails the start-up with one line that says what to fix.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self._app = app
        self._verifier = BearerVerifier(settings)
        scopes = scopes_up_to(settings.access, settings.oauth_scopes)
        metadata_url, routes = None, []
        if settings.oauth_issuer and settings.oauth_resource_url:
            resource = _URL.validate_python(settings.oauth_resource_url)
            metadata_url = str(build_resource_metadata_url(resource))
            [route] = create_protected_resource_routes(
                resource, [_URL.validate_python(settings.oauth_issuer)], scopes, resource_name="Deep Lake"
            )
            routes = [route, Route(METADATA_ROOT, route.app, methods=["GET", "OPTIONS"])]  # root: for older clients
        self._public_paths = {route.path for route in routes}
        self._public = Router(routes)
        gate = RequireAccess(app, settings.oauth_scopes, scopes, metadata_url)
        self._guarded = AuthenticationMiddleware(AuthContextMiddleware(gate), backend=BearerAuthBackend(self._verifier))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
        elif scope["type"] == "http" and scope["path"] in self._public_paths:
            await self._public(scope, receive, send)
        else:
            await self._guarded(scope, receive, send)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        startup = await receive()
        try:
            await self._verifier.start()
        except AuthSetupError as exc:
            await send({"type": "lifespan.startup.failed", "message": f"configuration error: {exc}"})
            return
        pending = [startup]

        async def replay() -> Message:
            return pending.pop() if pending else await receive()

        try:
            await self._app(scope, replay, send)
        finally:
            await self._verifier.aclose()
