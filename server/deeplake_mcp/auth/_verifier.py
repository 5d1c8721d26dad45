"""The one bearer-token verifier of the HTTP transport: static tokens and OAuth JWTs, the SDK's way."""

from __future__ import annotations

import logging

import httpx
from mcp.server.auth.provider import AccessToken

from deeplake_mcp.settings import Settings

from ._jwks import KeySet, discover_jwks_url
from ._jwt import JwtVerifier, TokenRejected
from ._static import StaticTokens, fingerprint, split_tokens

__all__ = ["BearerVerifier"]

log = logging.getLogger(__name__)

STATIC_CLIENT_ID = "static-token"


class BearerVerifier:
    """The SDK's ``TokenVerifier`` for this server's settings.

    A configured static token is tried first (it is cheap); it grants the server's own access mode, as
    an :class:`AccessToken` carrying the scopes mapped to that mode. Otherwise, with an OAuth issuer, the
    token must be a valid JWT from it. Either is enough. Rejections are logged with a fingerprint of the
    token, never the token. Call :meth:`start` before use and :meth:`aclose` after.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._static: StaticTokens | None = None
        self._jwt: JwtVerifier | None = None
        self._http: httpx.AsyncClient | None = None
        self._static_scopes = [scope for scope, mode in settings.oauth_scopes.items() if mode is settings.access]

    async def start(self) -> None:
        """Read the tokens and, with OAuth, the issuer's keys; :class:`AuthSetupError` when that fails."""
        s = self._settings
        if s.http_token or s.http_token_file:
            listed = split_tokens(s.http_token.get_secret_value()) if s.http_token else []
            self._static = StaticTokens(listed, s.http_token_file)
        if s.oauth_issuer:
            assert s.oauth_resource_url is not None  # load_settings requires it with an issuer
            self._http = httpx.AsyncClient(timeout=10.0)
            jwks_url = s.oauth_jwks_url or await discover_jwks_url(self._http, s.oauth_issuer)
            keys = KeySet(self._http, jwks_url)
            await keys.load()
            self._jwt = JwtVerifier(keys, issuer=s.oauth_issuer, audience=s.oauth_audience or s.oauth_resource_url)
            log.info("accepting OAuth access tokens from %s (keys: %s)", s.oauth_issuer, jwks_url)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    async def verify_token(self, token: str) -> AccessToken | None:
        """The grant of ``token``, or ``None`` (the transport then answers 401)."""
        if self._static is not None and self._static.matches(token):
            log.debug("bearer token %s accepted: a static token", fingerprint(token))
            return AccessToken(token=token, client_id=STATIC_CLIENT_ID, scopes=self._static_scopes)
        if self._jwt is None or token.count(".") != 2:
            log.info("bearer token %s refused: not a configured token", fingerprint(token))
            return None
        try:
            grant = await self._jwt.verify(token)
        except TokenRejected as exc:
            log.info("bearer token %s refused: %s", fingerprint(token), exc)
            return None
        log.debug(
            "bearer token %s accepted: client %r, subject %r, scopes %s",
            fingerprint(token),
            grant.client_id,
            grant.subject,
            grant.scopes,
        )
        return grant
