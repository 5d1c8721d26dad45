"""Client configuration snippets read the way each client reads them, as targets a test can start.

Sources: the ``mcpServers`` files in ``config/``, the README's code blocks and what
``deeplake-mcp client-config`` prints. Placeholders become this checkout's real values: the venv
path, and the loopback port of a server the test started (in place of 8000, which may be taken).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config"
README = ROOT / "README.md"
PLACEHOLDER_VENV = "/ABSOLUTE/PATH/TO/deeplake-mcp/.venv"
DEFAULT_AUTHORITY = "127.0.0.1:8000"

Expand = Callable[[str, Mapping[str, str]], str]


@dataclass(frozen=True)
class Target:
    """One server entry: a command to start over stdio, or an HTTP URL with headers."""

    source: str
    name: str
    command: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    url: str | None = None
    headers: tuple[tuple[str, str], ...] = field(default=())

    def __str__(self) -> str:
        return f"{self.source}:{self.name}"

    @property
    def key(self) -> tuple[Any, ...]:
        """What is started: two snippets with the same key start the same thing."""
        return (self.command, self.env, self.url, self.headers)

    def localized(self, venv: Path, port: int) -> Target:
        """The placeholders replaced: this checkout's venv, and ``port`` for the default 8000."""
        command = tuple(part.replace(PLACEHOLDER_VENV, str(venv)) for part in self.command)
        url = self.url.replace(DEFAULT_AUTHORITY, f"127.0.0.1:{port}") if self.url else None
        return replace(self, command=command, url=url)


def expand_claude_code(text: str, env: Mapping[str, str]) -> str:
    """Claude Code's ``.mcp.json`` expansion: ``${VAR}`` and ``${VAR:-default}``; an unset ``${VAR}``
    without a default makes Claude Code refuse the file (its documented rule), so it raises here."""

    def one(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is None:
            raise ValueError(f"${{{name}}} is not set and has no default: Claude Code refuses the config")
        return default

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}", one, text)


def expand_cursor(text: str, env: Mapping[str, str]) -> str:
    """Cursor's ``mcp.json`` interpolation of ``${env:NAME}``."""
    return re.sub(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: env[m.group(1)], text)


def no_expansion(text: str, env: Mapping[str, str]) -> str:
    """Claude Desktop passes values as written."""
    return text


def referenced_variables(text: str) -> dict[str, str]:
    """The ``${VAR:-default}`` variables a Claude Code config mentions, with their defaults."""
    return {m.group(1): m.group(2) or "" for m in re.finditer(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}", text)}


def mcp_servers(config: Mapping[str, Any], source: str, expand: Expand, env: Mapping[str, str]) -> list[Target]:
    """The entries of an ``mcpServers`` object, with the client's expansion applied to every field it expands."""
    targets = []
    for name, entry in config["mcpServers"].items():
        if "url" in entry:
            headers = tuple((k, expand(v, env)) for k, v in entry.get("headers", {}).items())
            targets.append(Target(source, name, url=expand(entry["url"], env), headers=headers))
        else:
            command = tuple(expand(part, env) for part in [entry["command"], *entry.get("args", [])])
            entry_env = tuple((k, expand(v, env)) for k, v in entry.get("env", {}).items())
            targets.append(Target(source, name, command=command, env=entry_env))
    return targets


def claude_mcp_add(line: str, env: Mapping[str, str], source: str) -> Target:
    """A ``claude mcp add …`` shell line: split and expanded by bash itself, then read as Claude Code's
    command line does (options before ``--``; after it, the server's command)."""
    assert line.startswith("claude mcp add "), line
    done = subprocess.run(
        ["bash", "-c", 'args() { printf "%s\\0" "$@"; }; args ' + line.removeprefix("claude mcp add ")],
        env=dict(env),
        capture_output=True,
        text=True,
        check=True,
    )
    words = done.stdout.split("\0")[:-1]
    options: dict[str, list[str]] = {"transport": [], "env": [], "header": []}
    short = {"-t": "transport", "-e": "env", "-H": "header", "-s": "scope"}
    positional: list[str] = []
    command: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--":
            command = words[i + 1 :]
            break
        if word.startswith("-"):
            option = short.get(word, word.removeprefix("--"))
            assert option in (*options, "scope"), f"claude mcp add has no option {word}"
            options.setdefault(option, []).append(words[i + 1])
            i += 2
            continue
        positional.append(word)
        i += 1
    transport = (options["transport"] or ["stdio"])[-1]
    name = positional[0]
    if transport == "stdio":
        entry_env = tuple(tuple(e.split("=", 1)) for e in options["env"])
        return Target(source, name, command=tuple(command or positional[1:]), env=entry_env)  # type: ignore[arg-type]
    headers = tuple((k.strip(), v.strip()) for k, _, v in (h.partition(":") for h in options["header"]))
    return Target(source, name, url=positional[1], headers=headers)


def code_blocks(markdown: str) -> Iterator[tuple[str, str]]:
    """(language, body) of each fenced code block."""
    for match in re.finditer(r"^```(\w*)\n(.*?)^```", markdown, flags=re.S | re.M):
        yield match.group(1), match.group(2)


def readme_targets(env: Mapping[str, str]) -> list[Target]:
    """Every client snippet in the README: ``mcpServers`` JSON blocks and ``claude mcp add`` lines."""
    targets: list[Target] = []
    for language, body in code_blocks(README.read_text(encoding="utf-8")):
        if language == "json" and "mcpServers" in body:
            targets += mcp_servers(json.loads(body), "README", no_expansion, env)
        elif language == "bash":
            targets += [claude_mcp_add(line, env, "README") for line in body.splitlines() if line.startswith("claude ")]
    return targets


def printed_targets(text: str, env: Mapping[str, str]) -> tuple[str, list[Target]]:
    """The URL line and every snippet in what ``client-config`` printed."""
    lines = text.splitlines()
    url = next(line.strip() for line in lines if line.strip().startswith("http://"))
    claude = [line.strip() for line in lines if line.strip().startswith("claude mcp add ")]
    targets = [claude_mcp_add(line, env, "printed Claude Code") for line in claude]
    blocks, current = [], list[str]()
    for line in lines:
        if line == "{" or current:
            current.append(line)
        if line == "}":
            blocks.append(json.loads("\n".join(current)))
            current = []
    assert len(blocks) == 2, text  # Claude Desktop, Cursor
    targets += mcp_servers(blocks[0], "printed Claude Desktop", no_expansion, env)
    targets += mcp_servers(blocks[1], "printed Cursor", expand_cursor, env)
    return url, targets


async def tool_names(target: Target, shell: Mapping[str, str], log: Path) -> set[str]:
    """Start ``target`` as its client would (stdio: the shell's environment plus the entry's ``env``)
    and list its tools."""
    if target.url is not None:
        http = httpx2.AsyncClient(headers=dict(target.headers), timeout=60)
        async with http, Client(streamable_http_client(target.url, http_client=http)) as client:
            return {tool.name for tool in (await client.list_tools()).tools}
    params = StdioServerParameters(
        command=target.command[0], args=list(target.command[1:]), env={**shell, **dict(target.env)}
    )
    with log.open("a") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            return {tool.name for tool in (await client.list_tools()).tools}
