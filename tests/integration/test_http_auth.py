"""HTTP authentication through the real transport: the ASGI app served by uvicorn in this process, a
local OAuth issuer, the cloud backend replaced by a fake that records the SQL it is sent."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from mcp.shared.exceptions import MCPError

from deeplake_mcp.app import build_server
from deeplake_mcp.http import mcp_http_app
from deeplake_mcp.settings import Settings, load_settings
from fault_server import serving
from mcp_helpers import bearer_client, error_text, payload, post_initialize
from oauth_issuer import Issuer, local_issuer, rsa_key

pytestmark = pytest.mark.anyio

WRITE_TOOLS = {"insert_rows", "upload_file", "execute_sql"}
STATIC = ("first-static-token", "second-static-token")
AUD = "http://127.0.0.1:8000/mcp"


class FakeDeepLake:
    """The managed API, in memory: every statement it is sent is recorded."""

    def __init__(self) -> None:
        self.sql: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(("/tables/query", "/tables/query/batch")):
            self.sql.append(json.loads(request.content)["query"].rsplit("\n/*", 1)[0])  # without the SQLCommenter tag
            return httpx.Response(200, json={"columns": [], "rows": [], "row_count": 1})
        if request.url.path == "/workspaces/default/tables/docs":
            return httpx.Response(200, json={"table_name": "docs", "columns": [{"name": "n", "type": "int4"}]})
        return httpx.Response(200, json={"status": "ok"})


@contextmanager
def mcp_server(settings: Settings, backend: FakeDeepLake) -> Iterator[str]:
    """The MCP endpoint for ``settings`` on a free loopback port; yields its URL."""
    app = mcp_http_app(build_server(settings, transport=httpx.MockTransport(backend)), settings)
    with serving(app, lifespan="on") as base:
        yield base + "/mcp"


def settings_with(env: dict[str, str], **flags: Any) -> Settings:
    return load_settings(
        {"transport": "http", "api_url": "http://deeplake.test", **flags}, environ={"DEEPLAKE_API_KEY": "k", **env}
    )


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with local_issuer() as found:
        yield found


@pytest.fixture(scope="module")
def shared_backend() -> FakeDeepLake:
    return FakeDeepLake()


@pytest.fixture
def backend(shared_backend: FakeDeepLake) -> FakeDeepLake:
    shared_backend.sql.clear()
    return shared_backend


@contextmanager
def oauth_and_static(issuer: Issuer, backend: FakeDeepLake, token_file: Path) -> Iterator[str]:
    """A read-write server that takes OAuth tokens from ``issuer`` and the static tokens (env and file)."""
    token_file.write_text(f"# rotated monthly\n{STATIC[1]}\n\n")
    env = {
        "DEEPLAKE_MCP_OAUTH_ISSUER": issuer.url,
        "DEEPLAKE_MCP_OAUTH_RESOURCE_URL": AUD,  # the public URL: the port it binds is another
        "DEEPLAKE_MCP_HTTP_TOKEN": STATIC[0],
        "DEEPLAKE_MCP_HTTP_TOKEN_FILE": str(token_file),
    }
    with mcp_server(settings_with(env, access="read-write"), backend) as url:
        yield url


@pytest.fixture(scope="module")
def oauth_server(
    issuer: Issuer, shared_backend: FakeDeepLake, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with oauth_and_static(issuer, shared_backend, tmp_path_factory.mktemp("tokens") / "tokens") as url:
        yield url


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    return tmp_path / "tokens"


@pytest.fixture
def fresh_server(issuer: Issuer, backend: FakeDeepLake, token_file: Path) -> Iterator[str]:
    """Like ``oauth_server``, for a test that changes its keys or token file."""
    with oauth_and_static(issuer, backend, token_file) as url:
        yield url


async def test_no_token_is_401_naming_the_resource_metadata(oauth_server: str) -> None:
    response = await post_initialize(oauth_server, None)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'resource_metadata="http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp"' in challenge
    assert "error=" not in challenge  # RFC 6750: no error code when no credentials were sent


async def test_protected_resource_metadata(oauth_server: str, issuer: Issuer) -> None:
    base = oauth_server.removesuffix("/mcp")
    async with httpx.AsyncClient() as http:
        for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"):
            document = (await http.get(base + path)).json()
            assert document == {
                "resource": AUD,
                "authorization_servers": [issuer.url],
                "scopes_supported": ["deeplake:read", "deeplake:write"],  # admin is no use on read-write
                "bearer_methods_supported": ["header"],
                "resource_name": "Deep Lake",
            }


@pytest.mark.parametrize(
    ("why", "mint"),
    [
        ("wrong signature", lambda i: i.token(AUD)[:-8] + "AAAAAAAA"),
        ("wrong issuer", lambda i: i.token(AUD, iss="http://127.0.0.1:1/other")),
        ("wrong audience", lambda i: i.token("http://127.0.0.1:8000/other")),
        ("expired", lambda i: i.token(AUD, exp=1_000_000)),
        ("no exp", lambda i: i.token(AUD, exp=None)),
        ("nbf in the future", lambda i: i.token(AUD, nbf=4_000_000_000)),
        ("iat in the future", lambda i: i.token(AUD, iat=4_000_000_000)),
        ("alg none", lambda i: jwt.encode({"iss": i.url, "aud": AUD, "exp": 4_000_000_000}, None, algorithm="none")),
        ("HS256 with the public key", lambda i: hs256_with_public_key(i)),
        ("alg not the key's", lambda i: i.token(AUD, kid="rsa-1", alg="PS256")),
        ("unknown signer", lambda i: Issuer(i.server, {"rsa-1": rsa_key()}).token(AUD)),
    ],
)
async def test_bad_jwts_are_401(oauth_server: str, issuer: Issuer, why: str, mint: Any) -> None:
    response = await post_initialize(oauth_server, mint(issuer))
    assert response.status_code == 401, why
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def hs256_with_public_key(issuer: Issuer) -> str:
    """The key-confusion attack: HMAC-sign with the issuer's public key (PEM) as the shared secret.

    Built by hand, since PyJWT refuses to sign with a public key as an HMAC secret."""
    pem = issuer.keys["rsa-1"].public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}
    body = {"iss": issuer.url, "aud": AUD, "exp": 4_000_000_000, "scope": "deeplake:write"}
    signing_input = b".".join(_b64(json.dumps(part).encode()) for part in (header, body))
    return (signing_input + b"." + _b64(hmac.new(pem, signing_input, hashlib.sha256).digest())).decode()


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


@pytest.mark.parametrize("kid", ["rsa-1", "ec-1"])
async def test_rsa_and_ec_tokens_work(oauth_server: str, issuer: Issuer, kid: str) -> None:
    response = await post_initialize(oauth_server, issuer.token(AUD, kid=kid), scheme="bearer")
    assert response.status_code == 200


async def test_unknown_kid_refetches_the_keys_once(fresh_server: str, issuer: Issuer) -> None:
    issuer.keys["rsa-9"] = rsa_key()  # never published
    before = issuer.jwks_fetches()
    assert (await post_initialize(fresh_server, issuer.token(AUD, kid="rsa-9"))).status_code == 401
    assert issuer.jwks_fetches() == before + 1
    assert (await post_initialize(fresh_server, issuer.token(AUD, kid="rsa-9"))).status_code == 401
    assert issuer.jwks_fetches() == before + 1  # rate-limited: made-up key ids cannot hammer the issuer


async def test_a_rotated_in_key_is_fetched(fresh_server: str, issuer: Issuer) -> None:
    issuer.keys["rsa-2"] = rsa_key()
    issuer.publish("rsa-1", "ec-1", "rsa-2")  # the issuer rotates in a key after the server started
    try:
        assert (await post_initialize(fresh_server, issuer.token(AUD, kid="rsa-2"))).status_code == 200
    finally:
        issuer.publish("rsa-1", "ec-1")


async def test_a_token_without_a_known_scope_is_403(oauth_server: str, issuer: Issuer) -> None:
    response = await post_initialize(oauth_server, issuer.token(AUD, scope="openid profile"))
    assert response.status_code == 403
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="deeplake:read deeplake:write"' in challenge


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_read_scope_never_gets_write_tools(
    oauth_server: str, issuer: Issuer, backend: FakeDeepLake, mode: str
) -> None:
    async with bearer_client(oauth_server, issuer.token(AUD, scope="deeplake:read"), mode) as c:
        names = {t.name for t in (await c.list_tools()).tools}
        assert "query" in names and not names & WRITE_TOOLS
        assert "build_rag_table" not in {p.name for p in (await c.list_prompts()).prompts}
        for tool, args in [
            ("execute_sql", {"sql": "INSERT INTO docs VALUES (1)"}),
            ("insert_rows", {"table": "docs", "rows": [{"n": 1}]}),
        ]:
            with pytest.raises(MCPError) as refused:
                await c.call_tool(tool, args)
            assert "needs read-write access" in refused.value.error.message
            assert "deeplake:write" in refused.value.error.message
        blocked = await c.call_tool("query", {"sql": "INSERT INTO docs VALUES (1)"})
        assert blocked.is_error  # the guard decides with the caller's mode too, and says why
        assert "this request's access token grants read-only access; a token that grants read-write may" in (
            error_text(blocked)
        )
        info = payload(await c.call_tool("server_info", {}))
        assert info["allowed_statement_classes"] == ["read"]
    assert not [sql for sql in backend.sql if "INSERT" in sql]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_write_scope_sees_and_runs_write_tools(
    oauth_server: str, issuer: Issuer, backend: FakeDeepLake, mode: str
) -> None:
    async with bearer_client(oauth_server, issuer.token(AUD, scope="openid deeplake:write", kid="ec-1"), mode) as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
        assert set(tools) >= WRITE_TOOLS
        annotations = tools["execute_sql"].annotations
        assert annotations is not None and annotations.destructive_hint is False
        result = payload(await c.call_tool("execute_sql", {"sql": "INSERT INTO docs VALUES (1)"}))
        assert result["statement_class"] == "write"
        assert payload(await c.call_tool("insert_rows", {"table": "docs", "rows": [{"n": 2}]}))["inserted"] == 1
    assert [sql for sql in backend.sql if "INSERT" in sql][:1] == ["INSERT INTO docs VALUES (1)"]


async def test_admin_scope_on_a_destructive_server_and_write_scope_below_it(
    issuer: Issuer, backend: FakeDeepLake
) -> None:
    env = {"DEEPLAKE_MCP_OAUTH_ISSUER": issuer.url, "DEEPLAKE_MCP_OAUTH_RESOURCE_URL": AUD}
    with mcp_server(settings_with(env, access="destructive"), backend) as url:
        async with bearer_client(url, issuer.token(AUD, scope="deeplake:admin"), "auto") as c:
            tools = {t.name: t for t in (await c.list_tools()).tools}
            assert tools["execute_sql"].annotations.destructive_hint is True  # type: ignore[union-attr]
            assert not (await c.call_tool("execute_sql", {"sql": "DELETE FROM docs"})).is_error
        async with bearer_client(url, issuer.token(AUD, scope="deeplake:write"), "auto") as c:
            tools = {t.name: t for t in (await c.list_tools()).tools}
            assert tools["execute_sql"].annotations.destructive_hint is False  # type: ignore[union-attr]
            refused = await c.call_tool("execute_sql", {"sql": "DROP TABLE docs"})
            assert refused.is_error and "destructive" in refused.content[0].text  # type: ignore[union-attr]
    assert backend.sql.count("DELETE FROM docs") == 1 and "DROP TABLE docs" not in backend.sql


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_static_tokens_from_env_and_file_both_work(oauth_server: str, mode: str) -> None:
    for token in STATIC:
        async with bearer_client(oauth_server, token, mode) as c:
            assert {t.name for t in (await c.list_tools()).tools} >= WRITE_TOOLS  # the server's own mode


async def test_static_tokens_rotate_through_the_file(fresh_server: str, token_file: Path) -> None:
    assert (await post_initialize(fresh_server, STATIC[1], scheme="bearer")).status_code == 200
    assert (await post_initialize(fresh_server, "third-static-token")).status_code == 401
    await anyio.Path(token_file).write_text("third-static-token\n")  # the file changed: re-read on the next request
    assert (await post_initialize(fresh_server, "third-static-token", scheme="BEARER")).status_code == 200
    assert (await post_initialize(fresh_server, STATIC[1])).status_code == 401
    assert (await post_initialize(fresh_server, STATIC[0])).status_code == 200  # the env token stays


async def test_static_tokens_alone(backend: FakeDeepLake) -> None:
    settings = settings_with({"DEEPLAKE_MCP_HTTP_TOKEN": ",".join(STATIC)}, access="read-only")
    with mcp_server(settings, backend) as url:
        for token in STATIC:
            assert (await post_initialize(url, token, scheme="bearer")).status_code == 200
        wrong = await post_initialize(url, "not-" + STATIC[0])
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"].startswith('Bearer realm="deeplake-mcp", error="invalid_token"')
        assert "resource_metadata" not in wrong.headers["www-authenticate"]  # no OAuth: no metadata document
        async with httpx.AsyncClient() as http:
            assert (
                await http.get(url.removesuffix("/mcp") + "/.well-known/oauth-protected-resource")
            ).status_code == 401
