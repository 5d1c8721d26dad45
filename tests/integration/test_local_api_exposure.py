"""`deeplake-mcp local-api` is safe to leave running: tokens, Host and Origin checks, body caps, loopback only."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from deeplake_mcp.local import Exposure, LocalBackend, create_app
from local_api_helpers import superuser_rows
from processes import SERVER_CMD, free_port, server_env, wait_for

pytestmark = pytest.mark.anyio

HOSTS = ["127.0.0.1:8765", "localhost:8765"]


@pytest.fixture
async def exposed(local_backend: LocalBackend) -> AsyncIterator[httpx.AsyncClient]:
    """The API as `local-api` serves it, with two valid tokens (rotation) and a 1 KiB body cap."""
    exposure = Exposure(tokens=["old-t0ken", "new-t0ken"], allowed_hosts=HOSTS, max_body_bytes=1024)
    transport = httpx.ASGITransport(app=create_app(local_backend, exposure=exposure))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8765") as client:
        yield client


def bearer(token: str, scheme: str = "Bearer") -> dict[str, str]:
    return {"Authorization": f"{scheme} {token}"}


async def test_tokens(exposed: httpx.AsyncClient) -> None:
    assert (await exposed.get("/health")).status_code == 200
    assert (await exposed.get("/ready")).status_code == 200
    refused = await exposed.get("/me")
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
    assert refused.json()["code"] == "UNAUTHORIZED"
    for headers in (bearer("wrong"), {"Authorization": "new-t0ken"}, bearer("new-t0ken", "Basic"), bearer("")):
        assert (await exposed.get("/me", headers=headers)).status_code == 401
    for headers in (
        bearer("old-t0ken"),
        bearer("new-t0ken"),
        bearer("new-t0ken", "bearer"),
        bearer("new-t0ken", "BEARER"),
    ):
        assert (await exposed.get("/me", headers=headers)).status_code == 200


async def test_host_and_origin(exposed: httpx.AsyncClient, local_backend: LocalBackend) -> None:
    auth = bearer("new-t0ken")
    rebound = await exposed.get("/me", headers={**auth, "Host": "attacker.example:8765"})
    assert rebound.status_code == 421
    assert (await exposed.get("/me", headers={**auth, "Host": "127.0.0.1:9999"})).status_code == 421
    assert (await exposed.get("/me", headers={**auth, "Host": "localhost:8765"})).status_code == 200
    assert (await exposed.get("/me", headers={**auth, "Origin": "http://127.0.0.1:8765"})).status_code == 200
    # A page elsewhere posting a "simple" cross-site request (no preflight) must not run SQL.
    cross_site = await exposed.post(
        "/workspaces/default/tables/query",
        content=b'{"query": "CREATE TABLE planted (a int)"}',
        headers={**auth, "Origin": "https://evil.example", "Content-Type": "text/plain"},
    )
    assert cross_site.status_code == 403 and cross_site.json()["code"] == "FORBIDDEN"
    for origin in ("null", "http://127.0.0.1.evil.example:8765", "file://"):
        refused = await exposed.get("/me", headers={**auth, "Origin": origin})
        assert refused.status_code == 403, origin
    assert await superuser_rows(local_backend.data_dir, "SELECT FROM pg_class WHERE relname = 'planted'") == []


async def test_bodies_are_capped(exposed: httpx.AsyncClient) -> None:
    auth = bearer("new-t0ken")
    big = b'{"query": "SELECT 1", "pad": "' + b"x" * 2000 + b'"}'
    declared = await exposed.post("/workspaces/default/tables/query", content=big, headers=auth)
    assert declared.status_code == 413 and declared.json()["code"] == "PAYLOAD_TOO_LARGE"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the cap applies while reading
        yield b'{"query": "SELECT 1", "pad": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}'

    streamed = await exposed.post("/workspaces/default/tables/query", content=chunks(), headers=auth)
    assert streamed.status_code == 413
    small = await exposed.post("/workspaces/default/tables/query", json={"query": "SELECT 1"}, headers=auth)
    assert small.status_code == 200


def test_no_network_exposure_without_a_token(new_data_dir: Path) -> None:
    done = subprocess.run(
        [*SERVER_CMD, "local-api", "--host", "0.0.0.0", "--port", "0"],
        env=server_env(new_data_dir),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr  # one line
    assert "refusing to serve HTTP on 0.0.0.0 without authentication" in done.stderr
    assert "DEEPLAKE_MCP_HTTP_TOKEN" in done.stderr and "--allow-unauthenticated" in done.stderr


def test_token_flag_works_over_real_http(new_data_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "local-api.log"
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [*SERVER_CMD, "local-api", "--port", str(port), "--token", "cl1-t0ken"],
            env=server_env(new_data_dir),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        wait_for(url, proc, log)
        assert httpx.get(f"{url}/me").status_code == 401
        assert httpx.get(f"{url}/me", headers=bearer("cl1-t0ken", "bearer")).status_code == 200
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
    assert "cl1-t0ken" not in log.read_text()
