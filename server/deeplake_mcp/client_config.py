"""``deeplake-mcp client-config``: ready-to-paste MCP client settings for this installation.

Everything points at this installation, with absolute paths computed when the command runs: the
URL ``serve --transport http`` answers on, ``claude mcp add`` lines for Claude Code, and
``mcpServers`` blocks for Claude Desktop and Cursor. No entry carries a secret: when the HTTP server
needs a token, the entries refer to ``DEEPLAKE_MCP_HTTP_TOKEN`` in the client's environment.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deeplake_mcp import __version__
from deeplake_mcp.http import MCP_PATH
from deeplake_mcp.settings import ENV_NAMES, Settings

__all__ = ["ClientConfig", "launch_command", "render"]

STDIO_NAME = "deeplake"
HTTP_NAME = "deeplake-http"
_WILDCARD_HOSTS = ("0.0.0.0", "::", "")
_TOKEN_ENV = ENV_NAMES["http_token"]


def launch_command() -> list[str]:
    """How a client starts this installation over stdio: the ``deeplake-mcp`` script next to this
    interpreter (a venv's ``bin``, or the tool environment of ``uv tool`` / ``pipx``), else
    ``python -m deeplake_mcp`` with this interpreter."""
    script = shutil.which("deeplake-mcp", path=str(Path(sys.executable).parent))
    if script is not None:
        return [str(Path(script).absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "deeplake_mcp"]


@dataclass(frozen=True)
class ClientConfig:
    """The settings a client needs: how to start the server, and where its HTTP endpoint is."""

    command: list[str]
    url: str
    token: bool
    """Whether the HTTP endpoint wants ``Authorization: Bearer $DEEPLAKE_MCP_HTTP_TOKEN``."""

    @classmethod
    def of(cls, settings: Settings) -> ClientConfig:
        host = "127.0.0.1" if settings.host in _WILDCARD_HOSTS else settings.host
        if ":" in host:
            host = f"[{host}]"
        return cls(launch_command(), f"http://{host}:{settings.port}{MCP_PATH}", settings.http_token is not None)

    def claude_code_lines(self) -> list[str]:
        header = f'--header "Authorization: Bearer ${_TOKEN_ENV}" ' if self.token else ""
        return [
            f"claude mcp add --transport http {header}{HTTP_NAME} {self.url}",
            f"claude mcp add --transport stdio {STDIO_NAME} -- {shlex.join(self.command)}",
        ]

    def claude_desktop(self) -> dict[str, Any]:
        return {"mcpServers": {STDIO_NAME: self._stdio_entry()}}

    def cursor(self) -> dict[str, Any]:
        http: dict[str, Any] = {"url": self.url}
        if self.token:
            http["headers"] = {"Authorization": f"Bearer ${{env:{_TOKEN_ENV}}}"}
        return {"mcpServers": {STDIO_NAME: self._stdio_entry(), HTTP_NAME: http}}

    def _stdio_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"command": self.command[0]}
        if self.command[1:]:
            entry["args"] = self.command[1:]
        return entry


def render(settings: Settings) -> str:
    """The text ``client-config`` prints: each client's settings under a line saying where they go."""
    config = ClientConfig.of(settings)
    token_note = f" (send the token in {_TOKEN_ENV})" if config.token else ""
    sections = [
        f"deeplake-mcp {__version__}: connect an MCP client to this installation.",
        "A stdio entry starts a server of its own, on the same default data dir as `make run`.",
        "",
        f"MCP endpoint, while `make run` (deeplake-mcp serve --transport http) runs{token_note}:",
        f"  {config.url}",
        "",
        "Claude Code (the running HTTP server, or a server of its own over stdio):",
        *(f"  {line}" for line in config.claude_code_lines()),
        "",
        "Claude Desktop: claude_desktop_config.json (macOS ~/Library/Application Support/Claude/,",
        "Linux ~/.config/Claude/):",
        json.dumps(config.claude_desktop(), indent=2),
        "",
        "Cursor: ~/.cursor/mcp.json or .cursor/mcp.json in a project:",
        json.dumps(config.cursor(), indent=2),
    ]
    return "\n".join(sections) + "\n"
