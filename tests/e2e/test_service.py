"""The real entry point as a service: start-up errors, protocol errors, signals, exposure and stream limits."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from processes import INITIALIZE, SERVER_CMD, free_port, http_server, quiet_env, server_env, stdio_server, wait_for

pytestmark = pytest.mark.slow

ROOT = os.geteuid() == 0
LIST_TABLES = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "list_tables", "arguments": {}}}


def run(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SERVER_CMD, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


# Start-up errors: one line, a non-zero exit, no traceback unless DEBUG


def test_unusable_data_dir_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    done = run("serve", "--data-dir", str(blocker / "data"), env=quiet_env(tmp_path / "unused"))
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert "cannot create the data directory" in done.stderr and str(blocker) in done.stderr
    debug = run("--log-level", "DEBUG", "serve", "--data-dir", str(blocker / "data"), env=quiet_env(tmp_path / "u"))
    assert debug.returncode == 1 and "Traceback" in debug.stderr


@pytest.mark.skipif(ROOT, reason="root may write anywhere")
def test_read_only_data_dir_is_one_line(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    done = run("--data-dir", str(locked), env=quiet_env(tmp_path / "unused"))
    assert done.returncode == 1 and "not writable" in done.stderr and "Traceback" not in done.stderr


def test_busy_port_unknown_setting_and_flag_are_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = run("serve", "--transport", "http", "--port", str(port), env=quiet_env(tmp_path / "d"))
    assert busy.returncode == 1 and busy.stderr.strip().count("\n") == 0, busy.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in busy.stderr and "--port" in busy.stderr
    unknown = run("serve", env=quiet_env(tmp_path / "d", DEEPLAKE_MCP_ACCES="read-only"))
    assert unknown.returncode == 2 and "unknown environment variable DEEPLAKE_MCP_ACCES" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    flag = run("serve", "--acess", "read-only", env=quiet_env(tmp_path / "d"))
    assert flag.returncode == 2 and "--acess" in flag.stderr
    misplaced = run("--transport", "http", "local-api", env=quiet_env(tmp_path / "d"))
    assert misplaced.returncode == 2 and "--transport does not apply to local-api" in misplaced.stderr


def test_unsupported_python_is_one_line(tmp_path: Path) -> None:
    script = (
        "import sys; sys.version_info = (3, 10, 12, 'final', 0); from deeplake_mcp.cli import main; sys.exit(main())"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=quiet_env(tmp_path), capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == "deeplake-mcp: deeplake-mcp needs Python 3.11 or newer, not 3.10.12; install it with a newer Python"
    )


# stdio: every line answered, signals stop the process promptly


def test_stdio_answers_lines_that_are_not_messages(data_dir: Path, tmp_path: Path) -> None:
    with stdio_server(data_dir, tmp_path / "stderr.log", DEEPLAKE_MCP_MAX_BODY_MB="1") as server:
        server.send(INITIALIZE)
        assert server.receive()["id"] == 1
        server.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        cases: list[tuple[bytes | dict[str, Any], int, Any]] = [
            (b"this is not json", -32700, None),
            (b'{"jsonrpc": "2.0", "id": 7, "method": 42}', -32600, 7),
            (
                b'{"jsonrpc": "2.0", "id": 8, "method": "ping", "params": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
                -32700,
                None,
            ),
            (b'["not", "a", "message"]', -32600, None),
            (
                b'{"jsonrpc": "2.0", "id": "big", "method": "ping", "params": {"pad": "' + b"x" * (2 << 20) + b'"}}',
                -32600,
                None,
            ),
        ]
        for number, (line, code, request_id) in enumerate(cases):
            server.send(line)
            error = server.receive()
            assert error["error"]["code"] == code and error["id"] == request_id, (line[:60], error)
            server.send({"jsonrpc": "2.0", "id": 100 + number, "method": "ping"})  # the session goes on
            assert server.receive() == {"jsonrpc": "2.0", "id": 100 + number, "result": {}}
        assert "too large" in json.dumps(error)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_stop_stdio_promptly_and_postgres_with_it(new_data_dir: Path, tmp_path: Path, sig: int) -> None:
    with stdio_server(new_data_dir, tmp_path / "stderr.log") as server:
        server.send(INITIALIZE)
        assert server.receive()["id"] == 1
        server.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        server.send(LIST_TABLES)  # answered once PostgreSQL (started in the background) is up
        assert server.receive()["id"] == 2
        pid_file = new_data_dir / "pg" / "postmaster.pid"
        assert pid_file.exists()
        started = time.monotonic()
        server.proc.send_signal(sig)
        assert server.proc.wait(timeout=20) == 0  # stdin is still open: the signal alone ends it
        assert time.monotonic() - started < 15
    assert not pid_file.exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_postgres_starts_stops_it_too(new_data_dir: Path, tmp_path: Path, sig: int) -> None:
    with stdio_server(new_data_dir, tmp_path / "stderr.log") as server:
        server.send(INITIALIZE)
        assert server.receive()["id"] == 1  # the handshake does not wait for PostgreSQL
        server.proc.send_signal(sig)
        assert server.proc.wait(timeout=60) == 0
    assert not (new_data_dir / "pg" / "postmaster.pid").exists()
    assert not [p for p in psutil.process_iter(["cmdline"]) if str(new_data_dir) in " ".join(p.info["cmdline"] or [])]


def test_sigint_stops_http_cleanly(new_data_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "http.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [*SERVER_CMD, "serve", "--transport", "http", "--port", str(port)],
            env=quiet_env(new_data_dir),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        wait_for(f"http://127.0.0.1:{port}/mcp", proc, log)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not (new_data_dir / "pg" / "postmaster.pid").exists()
    assert "Traceback" not in log.read_text()


# HTTP exposure and bounded event streams


def test_no_unauthenticated_network_exposure(tmp_path: Path) -> None:
    refused = run("serve", "--transport", "http", "--host", "0.0.0.0", "--port", "0", env=quiet_env(tmp_path / "d"))
    assert refused.returncode == 1 and refused.stderr.strip().count("\n") == 0, refused.stderr
    assert "without authentication" in refused.stderr
    assert "DEEPLAKE_MCP_HTTP_TOKEN" in refused.stderr and "--allow-unauthenticated" in refused.stderr


def test_allow_unauthenticated_is_explicit_and_loud(new_data_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "open.log"
    env = {
        "DEEPLAKE_MCP_LOG_LEVEL": "WARNING",
        "DEEPLAKE_MCP_EMBEDDER": "none",
        "DEEPLAKE_MCP_ALLOWED_HOSTS": "mcp.test",
    }
    port = free_port()
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [
                *SERVER_CMD,
                "serve",
                "--transport",
                "http",
                "--host",
                "0.0.0.0",
                "--port",
                str(port),
                "--allow-unauthenticated",
            ],
            env=server_env(new_data_dir, **env),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        wait_for(f"http://127.0.0.1:{port}/mcp", proc, log)
        # Host checks still apply: a name that is not ours is refused.
        rebound = httpx.post(f"http://127.0.0.1:{port}/mcp", headers={"Host": "evil.example"}, json={})
        assert rebound.status_code == 421
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert "WITHOUT AUTHENTICATION" in log.read_text()


def test_event_streams_are_bounded(data_dir: Path, tmp_path: Path) -> None:
    env = {
        "DEEPLAKE_MCP_HTTP_TOKEN": "str3am-t0ken",
        "DEEPLAKE_MCP_EMBEDDER": "none",
        "DEEPLAKE_MCP_HTTP_STREAMS": "3",
        "DEEPLAKE_MCP_HTTP_STREAMS_PER_CLIENT": "2",
        "DEEPLAKE_MCP_HTTP_STREAM_TIMEOUT": "2",
        "DEEPLAKE_MCP_HTTP_WORKERS": "1",  # the limits hold per worker process
    }
    log = tmp_path / "server.log"
    with http_server(data_dir, log, **env) as url:
        streams = [_open_stream(url, "str3am-t0ken") for _ in range(3)]
        assert [s.status_code for s in streams] == [200, 200, 503]  # two per client
        assert streams[2].headers["retry-after"] == "5"
        started = time.monotonic()
        for stream in streams[:2]:
            for _ in stream.iter_bytes():  # ends when the server closes it
                pass
            stream.close()
        assert time.monotonic() - started < 10  # closed by the timeout, not by us
        assert _open_stream(url, "str3am-t0ken").status_code == 200  # slots are free again
        ping = httpx.post(
            url,
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={
                "Authorization": "bearer str3am-t0ken",
                "Accept": "application/json, text/event-stream",
                "MCP-Protocol-Version": "2025-11-25",
            },
        )
        assert ping.status_code == 200
    text = log.read_text()
    assert "Traceback" not in text and "str3am-t0ken" not in text


_CLIENT = httpx.Client(timeout=30)


def _open_stream(url: str, token: str) -> httpx.Response:
    request = _CLIENT.build_request(
        "GET", url, headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    )
    return _CLIENT.send(request, stream=True)


def test_a_flood_of_connections_leaves_the_server_answering_and_its_log_small(data_dir: Path, tmp_path: Path) -> None:
    env = {
        "DEEPLAKE_MCP_HTTP_TOKEN": "f1",
        "DEEPLAKE_MCP_EMBEDDER": "none",
        "DEEPLAKE_MCP_HTTP_MAX_CONNECTIONS": "40",
        "DEEPLAKE_MCP_HTTP_STREAMS": "20",
    }
    log = tmp_path / "server.log"
    with http_server(data_dir, log, **env) as url:
        port = httpx.URL(url).port
        request = (
            f"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer f1\r\n"
            "Accept: text/event-stream\r\n\r\n"
        ).encode()
        flood = []
        for _ in range(300):
            sock = socket.create_connection(("127.0.0.1", port or 0))
            sock.sendall(request)
            flood.append(sock)
        try:
            ping = httpx.post(
                url,
                json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                headers={
                    "Authorization": "Bearer f1",
                    "Accept": "application/json, text/event-stream",
                    "MCP-Protocol-Version": "2025-11-25",
                },
                timeout=30,
            )
            assert ping.status_code in (200, 503)
        finally:
            for sock in flood:
                sock.close()
        deadline = time.monotonic() + 20
        while True:  # once the flood is gone, the server answers again
            answer = httpx.post(
                url,
                json={"jsonrpc": "2.0", "id": 2, "method": "ping"},
                headers={
                    "Authorization": "Bearer f1",
                    "Accept": "application/json, text/event-stream",
                    "MCP-Protocol-Version": "2025-11-25",
                },
                timeout=30,
            )
            if answer.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert answer.status_code == 200
    assert len(log.read_text().splitlines()) < 50
