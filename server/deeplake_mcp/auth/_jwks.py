"""The issuer's signing keys: where its JWKS is (RFC 8414 / OpenID discovery), and a cache of it."""

from __future__ import annotations

import logging
import time
from typing import Any

import anyio
import httpx
from mcp.client.auth.utils import build_oauth_authorization_server_metadata_discovery_urls

from ._errors import AuthSetupError

__all__ = ["KeySet", "discover_jwks_url"]

log = logging.getLogger(__name__)

JWK = dict[str, Any]


async def discover_jwks_url(http: httpx.AsyncClient, issuer: str) -> str:
    """The ``jwks_uri`` of ``issuer``'s authorization server metadata (RFC 8414, then OpenID Connect).

    The metadata must name exactly ``issuer`` (RFC 8414 §3.3). Raises :class:`AuthSetupError`.
    """
    failures: dict[str, list[str]] = {}  # reason -> the URLs that failed so
    for url in build_oauth_authorization_server_metadata_discovery_urls(issuer, issuer):
        try:
            response = await http.get(url)
            document = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as exc:
            failures.setdefault(_describe(exc), []).append(url)
            continue
        if not isinstance(document, dict):
            reason = f"HTTP {response.status_code}" if document is None else "not a JSON object"
            failures.setdefault(reason, []).append(url)
            continue
        if document.get("issuer") != issuer:
            raise AuthSetupError(
                f"{url} is the metadata of issuer {document.get('issuer')!r}, not {issuer!r}: set "
                "DEEPLAKE_MCP_OAUTH_ISSUER to exactly the issuer (`iss`) your tokens carry"
            )
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise AuthSetupError(f"{url} names no jwks_uri: set DEEPLAKE_MCP_OAUTH_JWKS_URL")
        return jwks_uri
    tried = "; ".join(f"{', '.join(urls)}: {reason}" for reason, urls in failures.items())
    raise AuthSetupError(
        f"cannot read the metadata of OAuth issuer {issuer} ({tried}): check DEEPLAKE_MCP_OAUTH_ISSUER, "
        "or set DEEPLAKE_MCP_OAUTH_JWKS_URL"
    )


class KeySet:
    """The JWKS at ``url``: fetched at start and again after ``ttl`` seconds; refetched at once when a token
    names a key it does not hold (the issuer rotated its keys), but at most once every ``min_interval``
    seconds, so tokens with made-up key ids cannot make the server hammer the issuer. A failed fetch
    keeps the keys it has."""

    def __init__(self, http: httpx.AsyncClient, url: str, *, ttl: float = 300.0, min_interval: float = 30.0) -> None:
        self._http = http
        self.url = url
        self._ttl = ttl
        self._min_interval = min_interval
        self._keys: list[JWK] = []
        self._fetched = self._missed = -float("inf")
        self._lock = anyio.Lock()

    async def load(self) -> None:
        """Fetch the keys now; :class:`AuthSetupError` if that fails or yields no signing key."""
        try:
            await self._fetch()
        except (httpx.HTTPError, ValueError) as exc:
            raise AuthSetupError(
                f"cannot read the OAuth signing keys at {self.url}: {_describe(exc)} "
                "(check DEEPLAKE_MCP_OAUTH_ISSUER / DEEPLAKE_MCP_OAUTH_JWKS_URL)"
            ) from None

    async def get(self, kid: str | None) -> JWK | None:
        """The signing key named ``kid`` (without a ``kid``: the only key, if there is just one)."""
        if time.monotonic() - self._fetched > self._ttl:
            await self._refresh()
        key = self._find(kid)
        if key is None and time.monotonic() - self._missed > self._min_interval:
            self._missed = time.monotonic()
            await self._refresh()
            key = self._find(kid)
        return key

    def _find(self, kid: str | None) -> JWK | None:
        if kid is None:
            return self._keys[0] if len(self._keys) == 1 else None
        return next((key for key in self._keys if key.get("kid") == kid), None)

    async def _refresh(self) -> None:
        started = time.monotonic()
        async with self._lock:
            if self._fetched >= started:
                return  # another request fetched the keys while this one waited
            try:
                await self._fetch()
            except (httpx.HTTPError, ValueError) as exc:
                self._fetched = time.monotonic()  # keep the old keys until the next ttl
                log.warning("cannot refresh the OAuth signing keys at %s: %s", self.url, _describe(exc))

    async def _fetch(self) -> None:
        response = await self._http.get(self.url)
        response.raise_for_status()
        document = response.json()
        keys = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(keys, list):
            raise ValueError("not a JWK set (no 'keys' list)")
        signing = [key for key in keys if isinstance(key, dict) and key.get("use", "sig") == "sig"]
        if not signing:
            raise ValueError("the JWK set holds no signing key")
        self._keys, self._fetched = signing, time.monotonic()
        log.info("OAuth signing keys from %s: %s", self.url, ", ".join(str(k.get("kid", "(no kid)")) for k in signing))


def _describe(exc: Exception) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    return str(exc) or type(exc).__name__
