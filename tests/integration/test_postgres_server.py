"""The PostgreSQL server behind the local API: private socket, untouched parents, kill -9 recovery, your own server."""

from __future__ import annotations

import ctypes
import os
import pwd
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import anyio
import httpx
import psutil
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from data_dirs import reachable
from deeplake_mcp.local import LocalBackend, PostgresSetupError, create_app
from deeplake_mcp.local._postgres import SYSTEM_USER, EmbeddedPostgres, shared_buffers_mb, socket_dir_for
from local_api_helpers import query_error, rows, run, superuser_rows
from mcp_helpers import run_in_new_loop

pytestmark = pytest.mark.anyio

ROOT = os.geteuid() == 0


def server_uid() -> int:
    return pwd.getpwnam(SYSTEM_USER).pw_uid if ROOT else os.geteuid()


def running_socket_dir(data_dir: Path) -> Path:
    return Path((data_dir / "pg" / "postmaster.pid").read_text().splitlines()[4])


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "pg" / "postmaster.pid").read_text().splitlines()[0])


def wait_gone(pid: int, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


async def test_socket_is_private_also_for_a_long_data_dir(tmp_path: Path) -> None:
    long_dir = reachable(tmp_path) / ("d" * 110)
    async with LocalBackend(long_dir):
        socket_dir = running_socket_dir(long_dir)
        assert socket_dir == socket_dir_for(long_dir / "pg", server_uid()) != long_dir / "pg"
        info = socket_dir.lstat()
        assert stat.S_ISDIR(info.st_mode) and info.st_uid == server_uid() and not info.st_mode & 0o077
        assert (socket_dir / ".s.PGSQL.5432").is_socket()
        # No TCP listener: the server's only door is that socket.
        listening = {c.laddr.port for c in psutil.net_connections("tcp") if c.pid == postmaster_pid(long_dir)}
        assert listening == set()
    assert not socket_dir.exists()  # stopping the server removes the directory made for its socket


async def test_the_page_cache_is_sized_from_the_ram(new_data_dir: Path) -> None:
    async with LocalBackend(new_data_dir):
        ((shown,),) = await superuser_rows(
            new_data_dir, "SELECT setting::bigint * 8 / 1024 FROM pg_settings WHERE name = 'shared_buffers'"
        )
    ram_mb = psutil.virtual_memory().total // 2**20
    assert shown == shared_buffers_mb() == max(128, min(2048, ram_mb // 8))


async def test_socket_falls_back_to_tmp_when_the_temp_dir_is_too_long(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_temp = reachable(tmp_path) / ("t" * 90)
    long_temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(long_temp))
    long_dir = tmp_path / ("d" * 110)
    async with LocalBackend(long_dir) as backend:
        socket_dir = running_socket_dir(long_dir)
        assert socket_dir.parent == Path("/tmp") and (socket_dir / ".s.PGSQL.5432").is_socket()
        assert backend.created_at is not None
    assert not socket_dir.exists()


async def test_a_squatted_socket_dir_is_refused(tmp_path: Path) -> None:
    long_dir = reachable(tmp_path) / ("s" * 110)
    squatted = socket_dir_for(long_dir / "pg", server_uid())
    squatted.mkdir(mode=0o777)
    squatted.chmod(0o777)
    try:
        with pytest.raises(PostgresSetupError, match="not a private directory"):
            async with LocalBackend(long_dir):
                pass
    finally:
        squatted.rmdir()


async def test_parents_of_the_data_dir_are_left_alone(tmp_path: Path) -> None:
    parent = reachable(tmp_path) / "parent"
    parent.mkdir(mode=0o751)
    parent.chmod(0o751)
    async with LocalBackend(parent / "data"):
        pass
    assert stat.S_IMODE(parent.stat().st_mode) == 0o751


@pytest.mark.skipif(not ROOT, reason="only root runs PostgreSQL as another user")
async def test_as_root_an_unreachable_data_dir_is_one_clear_error(tmp_path: Path) -> None:
    private = reachable(tmp_path) / "private"
    private.mkdir(mode=0o700)
    with pytest.raises(PostgresSetupError, match=f"{SYSTEM_USER}.*cannot enter {private}"):
        async with LocalBackend(private / "data"):
            pass
    assert stat.S_IMODE(private.stat().st_mode) == 0o700


def test_kill_9_then_the_next_start_and_stop_leave_no_postmaster(new_data_dir: Path) -> None:
    script = textwrap.dedent(
        """
        import asyncio, sys
        from pathlib import Path
        from deeplake_mcp.local import LocalBackend

        async def main() -> None:
            async with LocalBackend(Path(sys.argv[1])):
                print("ready", flush=True)
                await asyncio.sleep(120)

        asyncio.run(main())
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(new_data_dir)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    pid = postmaster_pid(new_data_dir)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert psutil.pid_exists(pid)  # nobody stopped it: the process that would have is gone

    async def start_and_stop() -> None:
        async with LocalBackend(new_data_dir) as backend:
            assert backend.ready

    run_in_new_loop(start_and_stop)
    assert wait_gone(pid)
    assert not (new_data_dir / "pg" / "postmaster.pid").exists()


# Your own PostgreSQL (DEEPLAKE_MCP_POSTGRES_URL / _ADMIN_URL), here a second embedded server


@pytest.fixture
async def other_server(tmp_path: Path) -> object:
    server = EmbeddedPostgres(reachable(tmp_path) / "other-server")
    endpoints = await anyio.to_thread.run_sync(server.open)
    try:
        yield endpoints
    finally:
        await anyio.to_thread.run_sync(server.close)


def as_role(conninfo: str, role: str) -> str:
    return make_conninfo(conninfo, user=role)


async def operator_sql(admin: str, *statements: str) -> None:
    async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as conn:
        for statement in statements:
            await conn.execute(statement)


async def test_your_own_postgres_with_the_two_roles(other_server: object, tmp_path: Path) -> None:
    admin = other_server.admin  # type: ignore[attr-defined]
    # What the README tells the operator to create (trust auth here; a password in real life).
    await operator_sql(admin, "CREATE ROLE deeplake_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
    query_url = as_role(admin, "deeplake_app")
    async with LocalBackend(tmp_path / "tql-only", postgres_url=query_url, postgres_admin_url=admin) as backend:
        transport = httpx.ASGITransport(app=create_app(backend))
        async with httpx.AsyncClient(transport=transport, base_url="http://deeplake.local") as client:
            assert await rows(client, "default", "SELECT current_user") == [["deeplake_app"]]
            await run(client, "default", "CREATE TABLE docs (id INT, e FLOAT4[]) USING deeplake")
            await run(client, "default", "INSERT INTO docs VALUES (1, '{1,0}'), (2, '{0,1}')")
            await run(client, "default", "CREATE INDEX idx ON docs USING deeplake_index (e DESC)")
            found = await rows(
                client, "default", "SELECT id FROM docs ORDER BY e <#> ARRAY[0,1]::float4[] DESC LIMIT 1"
            )
            assert found == [[2]]
            assert "permission denied" in await query_error(client, "default", "SELECT pg_read_file('/etc/hostname')")
            assert not (tmp_path / "tql-only" / "pg").exists()  # no embedded server was started


@pytest.mark.parametrize(
    ("attributes", "problem"),
    [
        ("SUPERUSER", "SUPERUSER"),
        ("CREATEDB", "CREATEDB"),
        ("CREATEROLE", "CREATEROLE"),
        ("BYPASSRLS", "BYPASSRLS"),
        ("IN ROLE pg_read_server_files", "member of pg_read_server_files"),
    ],
)
async def test_your_own_postgres_refuses_a_privileged_query_role(
    other_server: object, tmp_path: Path, attributes: str, problem: str
) -> None:
    admin = other_server.admin  # type: ignore[attr-defined]
    await operator_sql(admin, f"CREATE ROLE risky LOGIN {attributes}")
    with pytest.raises(PostgresSetupError, match=problem) as caught:
        async with LocalBackend(tmp_path, postgres_url=as_role(admin, "risky"), postgres_admin_url=admin):
            pass
    assert "ordinary role" in str(caught.value)


async def test_your_own_postgres_needs_two_different_roles(other_server: object, tmp_path: Path) -> None:
    admin = other_server.admin  # type: ignore[attr-defined]
    assert conninfo_to_dict(admin)["user"] == "postgres"
    with pytest.raises(PostgresSetupError, match="same role"):
        async with LocalBackend(tmp_path, postgres_url=admin, postgres_admin_url=admin):
            pass
    with pytest.raises(PostgresSetupError, match="does not exist"):
        async with LocalBackend(tmp_path, postgres_url=as_role(admin, "nobody"), postgres_admin_url=admin):
            pass


async def test_your_own_postgres_unreachable_is_one_clear_error(tmp_path: Path) -> None:
    nowhere = make_conninfo(host=str(tmp_path / "no-such-socket-dir"), dbname="postgres", user="postgres")
    with pytest.raises(PostgresSetupError, match="cannot connect to DEEPLAKE_MCP_POSTGRES_ADMIN_URL"):
        async with LocalBackend(tmp_path, postgres_url=as_role(nowhere, "app"), postgres_admin_url=nowhere):
            pass


@pytest.mark.skipif(os.geteuid() != 0, reason="as root only: as a regular user nothing changes user, so no fork")
@pytest.mark.skipif(not hasattr(ctypes.CDLL(None), "__register_atfork"), reason="glibc's atfork registration")
def test_as_root_the_server_programs_start_without_a_fork(new_data_dir: Path) -> None:
    """fork() runs the atfork handlers of every library loaded in the process, and one (the deeplake package's,
    loaded for TQL) can wait forever in them: initdb and pg_ctl start without one. Counted by an atfork
    handler of the test's own, in a fresh process (so that nothing else forks meanwhile)."""
    script = textwrap.dedent(
        f"""
        import ctypes
        from pathlib import Path

        forks = []
        prepare = ctypes.CFUNCTYPE(None)(lambda: forks.append(1))
        assert ctypes.CDLL(None).__register_atfork(prepare, None, None, None) == 0  # glibc's pthread_atfork
        from deeplake_mcp.local._postgres import EmbeddedPostgres

        server = EmbeddedPostgres(Path({str(new_data_dir)!r}))
        server.open()
        server.close()
        print(len(forks))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "0", done.stderr
    assert not (new_data_dir / "pg" / "postmaster.pid").exists()  # started, then stopped: it ran
