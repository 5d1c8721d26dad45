"""`deeplake-mcp client-config`: settings for this installation that each client reads as meant."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from client_snippets import printed_targets
from deeplake_mcp.cli import main
from deeplake_mcp.client_config import launch_command, render
from deeplake_mcp.settings import load_settings

TOKEN = "a-secret-token-0123456789"


def test_the_command_is_this_installations_script() -> None:
    command = launch_command()
    assert Path(command[0]).is_absolute()
    assert command == [str(Path(sys.executable).parent / "deeplake-mcp")]  # the venv running the tests


def test_printed_snippets_point_at_this_installation() -> None:
    text = render(load_settings({"port": 8123}, environ={}))
    url, targets = printed_targets(text, os.environ)
    assert url == "http://127.0.0.1:8123/mcp"
    assert {(t.source, t.name) for t in targets} == {
        ("printed Claude Code", "deeplake-http"),
        ("printed Claude Code", "deeplake"),
        ("printed Claude Desktop", "deeplake"),
        ("printed Cursor", "deeplake"),
        ("printed Cursor", "deeplake-http"),
    }
    stdio = {t.command for t in targets if t.url is None}
    assert stdio == {tuple(launch_command())}
    assert {t.url for t in targets if t.url is not None} == {url}
    assert all(not t.headers and not t.env for t in targets)


def test_with_a_token_the_entries_send_it_from_the_clients_environment() -> None:
    settings = load_settings({"port": 8123}, environ={"DEEPLAKE_MCP_HTTP_TOKEN": TOKEN})
    text = render(settings)
    assert TOKEN not in text
    _, targets = printed_targets(text, {**os.environ, "DEEPLAKE_MCP_HTTP_TOKEN": TOKEN})
    http = [t for t in targets if t.url is not None]
    assert len(http) == 2 and all(dict(t.headers) == {"Authorization": f"Bearer {TOKEN}"} for t in http)


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://127.0.0.1:8000/mcp"),
        ("::1", "http://[::1]:8000/mcp"),
        ("10.1.2.3", "http://10.1.2.3:8000/mcp"),
    ],
)
def test_the_url_is_one_a_client_can_reach(host: str, url: str) -> None:
    assert f"  {url}\n" in render(load_settings({"host": host}, environ={}))


def test_the_command_line_prints_it(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("DEEPLAKE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DEEPLAKE_MCP_PORT", "8124")
    assert main(["--host", "localhost", "client-config"]) == 0
    assert "http://localhost:8124/mcp" in capsys.readouterr().out
