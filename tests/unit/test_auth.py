"""HTTP authentication parts on their own: settings, static tokens, scopes, issuer discovery, JWT checks."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from deeplake_mcp.auth import AuthSetupError
from deeplake_mcp.auth._jwks import KeySet, discover_jwks_url
from deeplake_mcp.auth._jwt import JwtVerifier, TokenRejected
from deeplake_mcp.auth._scopes import granted_mode, lower, scopes_granting, scopes_up_to
from deeplake_mcp.auth._static import StaticTokens
from deeplake_mcp.guard import AccessMode
from deeplake_mcp.settings import DEFAULT_SCOPES, SettingsError, load_settings
from oauth_issuer import public_jwk, rsa_key

pytestmark = pytest.mark.anyio

R, W, D = AccessMode.READ_ONLY, AccessMode.READ_WRITE, AccessMode.DESTRUCTIVE
ISSUER = "https://idp.example.com/realms/team"
RESOURCE = "https://mcp.example.com/mcp"
OAUTH = {"DEEPLAKE_MCP_OAUTH_ISSUER": ISSUER, "DEEPLAKE_MCP_OAUTH_RESOURCE_URL": RESOURCE}


# -- settings ---------------------------------------------------------------------------------


def test_auth_settings_from_env_and_never_shown(tmp_path: Path) -> None:
    env = {**OAUTH, "DEEPLAKE_MCP_HTTP_TOKEN": "tok-1, tok-2", "DEEPLAKE_MCP_HTTP_TOKEN_FILE": str(tmp_path / "t")}
    settings = load_settings(environ=env)
    assert settings.http_auth_enabled
    assert settings.oauth_scopes == DEFAULT_SCOPES
    assert settings.summary()["http_auth"] == "tokens+oauth"
    assert "tok-1" not in repr(settings) and "tok-1" not in str(settings.summary())
    assert not load_settings(environ={}).http_auth_enabled
    assert load_settings(environ={}).summary()["http_auth"] == "none"


def test_scope_map_from_env_and_from_a_toml_table(tmp_path: Path) -> None:
    scopes = {"mcp:read": R, "mcp:write": W, "mcp:all": D}
    env = load_settings(
        environ={"DEEPLAKE_MCP_OAUTH_SCOPES": "mcp:read=read-only, mcp:write=read-write,mcp:all=destructive"}
    )
    assert env.oauth_scopes == scopes
    config = tmp_path / "c.toml"
    config.write_text(
        'oauth_scopes = { "mcp:read" = "read-only", "mcp:write" = "read-write", "mcp:all" = "destructive" }\n'
    )
    assert load_settings(environ={}, config_file=config).oauth_scopes == scopes


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"DEEPLAKE_MCP_OAUTH_SCOPES": "a=read-only,b=read-write"}, "no scope grants destructive"),
        ({"DEEPLAKE_MCP_OAUTH_SCOPES": "a=read-only,b=read-write,c=all"}, "DEEPLAKE_MCP_OAUTH_SCOPES"),
        ({"DEEPLAKE_MCP_OAUTH_SCOPES": 'a b=read-only,"c"=read-write,d=destructive'}, "is not a scope name"),
        ({"DEEPLAKE_MCP_OAUTH_ISSUER": ISSUER}, "needs DEEPLAKE_MCP_OAUTH_RESOURCE_URL"),
        ({"DEEPLAKE_MCP_OAUTH_AUDIENCE": "api://deeplake"}, "no effect without DEEPLAKE_MCP_OAUTH_ISSUER"),
        ({**OAUTH, "DEEPLAKE_MCP_OAUTH_ISSUER": "http://idp.example.com"}, "must be an https:// URL"),
        ({**OAUTH, "DEEPLAKE_MCP_OAUTH_RESOURCE_URL": "https://mcp.example.com/mcp?x=1"}, r"without \?query"),
    ],
)
def test_bad_auth_settings_say_what_to_fix(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(SettingsError, match=fragment):
        load_settings(environ=env)


def test_plain_http_is_fine_on_loopback() -> None:
    env = {
        "DEEPLAKE_MCP_OAUTH_ISSUER": "http://127.0.0.1:9000",
        "DEEPLAKE_MCP_OAUTH_RESOURCE_URL": "http://localhost/mcp",
    }
    assert load_settings(environ=env).oauth_issuer == "http://127.0.0.1:9000"


# -- scopes -----------------------------------------------------------------------------------


def test_scopes_grant_the_highest_mode_they_name() -> None:
    assert granted_mode(["openid", "deeplake:read"], DEFAULT_SCOPES) is R
    assert granted_mode(["deeplake:write", "deeplake:read"], DEFAULT_SCOPES) is W
    assert granted_mode(["openid", "email"], DEFAULT_SCOPES) is None
    assert lower(D, R) is R and lower(W, D) is W
    assert scopes_up_to(W, DEFAULT_SCOPES) == ["deeplake:read", "deeplake:write"]
    assert scopes_granting(W, DEFAULT_SCOPES) == ["deeplake:write", "deeplake:admin"]


# -- static tokens ----------------------------------------------------------------------------


def test_static_tokens_from_the_list_and_the_file(tmp_path: Path) -> None:
    file = tmp_path / "tokens"
    file.write_text("# team tokens\n  file-token-1  \n\n#file-token-2\nfile-token-3\n")
    tokens = StaticTokens(["env-token"], file)
    for good in ("env-token", "file-token-1", "file-token-3"):
        assert tokens.matches(good)
    for bad in ("file-token-2", "# team tokens", "", "env-token ", "ENV-TOKEN"):
        assert not tokens.matches(bad)


def test_the_token_file_is_reread_when_it_changes_and_fails_closed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    file = tmp_path / "tokens"
    file.write_text("old-token\n")
    tokens = StaticTokens([], file)
    assert tokens.matches("old-token")
    file.write_text("new-token\nold-token\n")
    assert tokens.matches("new-token") and tokens.matches("old-token")
    file.write_text("new-token\n")
    assert not tokens.matches("old-token")
    caplog.set_level(logging.DEBUG)
    file.unlink()
    assert not tokens.matches("new-token")
    assert "its tokens are refused" in caplog.text and "new-token" not in caplog.text


def test_a_missing_or_empty_token_file_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(AuthSetupError, match="cannot read the token file"):
        StaticTokens(["env-token"], tmp_path / "missing")
    (tmp_path / "empty").write_text("# nothing yet\n")
    with pytest.raises(AuthSetupError, match="holds no token"):
        StaticTokens([], tmp_path / "empty")
    if os.geteuid() != 0:  # root reads anything
        (tmp_path / "secret").write_text("t\n")
        (tmp_path / "secret").chmod(0)
        with pytest.raises(AuthSetupError, match="Permission denied"):
            StaticTokens([], tmp_path / "secret")


# -- discovery and JWT checks (the issuer behind httpx.MockTransport) ------------------------------


def http_client(routes: dict[str, Any]) -> httpx.AsyncClient:
    def answer(request: httpx.Request) -> httpx.Response:
        found = routes.get(str(request.url))
        return httpx.Response(404) if found is None else httpx.Response(200, json=found)

    return httpx.AsyncClient(transport=httpx.MockTransport(answer))


async def test_discovery_falls_back_to_openid_configuration() -> None:
    oidc = ISSUER + "/.well-known/openid-configuration"
    async with http_client({oidc: {"issuer": ISSUER, "jwks_uri": ISSUER + "/certs"}}) as http:
        assert await discover_jwks_url(http, ISSUER) == ISSUER + "/certs"


async def test_discovery_errors_are_one_line() -> None:
    rfc8414 = "https://idp.example.com/.well-known/oauth-authorization-server/realms/team"
    async with http_client({rfc8414: {"issuer": ISSUER + "/", "jwks_uri": "x"}}) as http:
        with pytest.raises(AuthSetupError, match="is the metadata of issuer 'https://idp.example.com/realms/team/'"):
            await discover_jwks_url(http, ISSUER)
    async with http_client({}) as http:
        with pytest.raises(AuthSetupError) as failed:
            await discover_jwks_url(http, ISSUER)
    assert "\n" not in str(failed.value)
    assert str(failed.value).startswith(f"cannot read the metadata of OAuth issuer {ISSUER} (")
    assert "HTTP 404" in str(failed.value) and "DEEPLAKE_MCP_OAUTH_JWKS_URL" in str(failed.value)


async def test_a_jwt_without_kid_uses_the_only_key_and_scp_lists_count() -> None:
    key = rsa_key()
    jwk = {k: v for k, v in public_jwk("k1", key).items() if k != "kid"}
    async with http_client({ISSUER + "/certs": {"keys": [jwk]}}) as http:
        keys = KeySet(http, ISSUER + "/certs")
        await keys.load()
        verifier = JwtVerifier(keys, issuer=ISSUER, audience=RESOURCE)
        claims = {"iss": ISSUER, "aud": ["other", RESOURCE], "exp": 4_000_000_000, "azp": "cli", "scp": ["a", "b"]}
        grant = await verifier.verify(jwt.encode(claims, key, algorithm="RS256"))
        assert (grant.client_id, grant.scopes, grant.subject) == ("cli", ["a", "b"], None)
        with pytest.raises(TokenRejected, match="not a JWT"):
            await verifier.verify("not.a.jwt")


async def test_a_jwks_without_signing_keys_stops_the_start() -> None:
    enc_only = {"keys": [{**public_jwk("k1", rsa_key()), "use": "enc"}]}
    async with http_client({ISSUER + "/certs": enc_only}) as http:
        with pytest.raises(AuthSetupError, match="holds no signing key"):
            await KeySet(http, ISSUER + "/certs").load()
