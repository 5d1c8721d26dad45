"""A small local OAuth issuer for tests: keys generated here, metadata and JWKS served over loopback.

It is a :class:`FaultServer` scripted with RFC 8414 metadata and a JWK set, so tests can count JWKS
fetches and change what it serves; tokens are minted with PyJWT.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from fault_server import FaultServer, Reply, running

JWKS_PATH = "/jwks"
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_jwk(kid: str, key: PrivateKey) -> dict[str, Any]:
    codec, alg = (RSAAlgorithm, "RS256") if isinstance(key, rsa.RSAPrivateKey) else (ECAlgorithm, "ES256")
    return {**json.loads(codec.to_jwk(key.public_key())), "kid": kid, "use": "sig", "alg": alg}


@dataclass
class Issuer:
    """Signs tokens with its keys; ``publish`` decides which public keys its JWKS shows."""

    server: FaultServer
    keys: dict[str, PrivateKey] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def publish(self, *kids: str) -> None:
        self.server.on("GET", JWKS_PATH, Reply(json={"keys": [public_jwk(k, self.keys[k]) for k in kids]}))

    def jwks_fetches(self) -> int:
        return self.server.count("GET", JWKS_PATH)

    def token(
        self, audience: str, *, scope: str = "deeplake:read", kid: str = "rsa-1", alg: str | None = None, **claims: Any
    ) -> str:
        """A token for ``audience``, valid for five minutes; ``claims`` override or add (None removes)."""
        now = int(time.time())
        body = {"iss": self.url, "aud": audience, "sub": "alice", "client_id": "test-client", "scope": scope}
        body |= {"iat": now, "exp": now + 300}
        body |= claims
        key = self.keys[kid]
        algorithm = alg or ("RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256")
        payload = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid})


@contextmanager
def local_issuer() -> Iterator[Issuer]:
    """An issuer on a free loopback port with an RSA key ``rsa-1`` and an EC key ``ec-1``, both published."""
    with running(FaultServer()) as server:
        issuer = Issuer(server, {"rsa-1": rsa_key(), "ec-1": ec_key()})
        metadata = {
            "issuer": server.url,
            "jwks_uri": server.url + JWKS_PATH,
            "authorization_endpoint": server.url + "/authorize",
            "token_endpoint": server.url + "/token",
            "response_types_supported": ["code"],
        }
        server.on("GET", "/.well-known/oauth-authorization-server", Reply(json=metadata))
        issuer.publish("rsa-1", "ec-1")
        yield issuer
