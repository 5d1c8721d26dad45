"""JWT access tokens (RFC 9068) checked against the issuer's keys with PyJWT."""

from __future__ import annotations

from typing import Any

import jwt
from mcp.server.auth.provider import AccessToken

from ._jwks import KeySet

__all__ = ["ALGORITHMS", "LEEWAY_S", "JwtVerifier", "TokenRejected"]

ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})
"""Asymmetric algorithms only: never ``none``, never HMAC (a public key must not work as a shared secret)."""

LEEWAY_S = 30
"""Clock skew tolerated on ``exp``, ``nbf`` and ``iat``, in seconds."""


class TokenRejected(Exception):
    """A JWT failed a check; the message says which (it never contains the token)."""


class JwtVerifier:
    """Checks signature, ``alg``, ``iss`` (exact), ``aud`` (must contain ``audience``), ``exp`` (required),
    ``nbf`` and ``iat``; the key is the issuer's key named by the token's ``kid``."""

    def __init__(self, keys: KeySet, *, issuer: str, audience: str) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience

    async def verify(self, token: str) -> AccessToken:
        """The token's grant; :class:`TokenRejected` if any check fails."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRejected("not a JWT") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALGORITHMS:
            raise TokenRejected(f"algorithm {alg!r} is not accepted")
        jwk = await self._keys.get(kid if isinstance(kid, str) else None)
        if jwk is None:
            raise TokenRejected(f"the issuer has no signing key {kid!r}")
        if jwk.get("alg", alg) != alg:
            raise TokenRejected(f"key {kid!r} is for {jwk.get('alg')!r}, the token says {alg!r}")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                jwt.PyJWK(jwk, algorithm=alg),
                algorithms=[alg],
                issuer=self._issuer,
                audience=self._audience,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise TokenRejected(str(exc)) from None
        return AccessToken(
            token=token,
            client_id=str(claims.get("client_id") or claims.get("azp") or claims.get("sub") or "unknown"),
            scopes=_scopes(claims),
            expires_at=int(claims["exp"]),
            resource=self._audience,
            subject=str(claims["sub"]) if "sub" in claims else None,
            claims=claims,
        )


def _scopes(claims: dict[str, Any]) -> list[str]:
    """``scope`` (RFC 9068: space-separated) and ``scp`` (some identity providers; a string or a list)."""
    found: list[str] = []
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            found += value.split()
        elif isinstance(value, list):
            found += [item for item in value if isinstance(item, str)]
    return list(dict.fromkeys(found))
