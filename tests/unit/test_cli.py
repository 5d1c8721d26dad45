"""The command line means what it says: every flag before or after the command, or a clear refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from deeplake_mcp.cli import FLAGS, UsageError, parse_command_line

VALUES = {
    "--port": ("8123", 8123),
    "--workers": ("3", 3),
    "--max-rows": ("7", 7),
    "--config": ("c.toml", Path("c.toml")),
}


def _value(flag_name: str) -> tuple[list[str], object]:
    flag = next(f for f in FLAGS if f.name == flag_name)
    if flag.type is None:
        return [flag_name], True
    text, parsed = VALUES.get(flag_name, ("x-value", "x-value"))
    if flag.type is Path and flag_name != "--config":
        return [flag_name, "/d"], Path("/d")
    return [flag_name, text], parsed


CASES = [(flag.name, command) for flag in FLAGS for command in sorted(flag.commands)]


@pytest.mark.parametrize(("flag_name", "command"), CASES)
@pytest.mark.parametrize("position", ["before", "after"])
def test_every_flag_works_before_and_after_its_command(flag_name: str, command: str, position: str) -> None:
    words, expected = _value(flag_name)
    args = [*words, command] if position == "before" else [command, *words]
    line = parse_command_line(args)
    dest = next(f.dest for f in FLAGS if f.name == flag_name)
    assert line.command == command
    given = line.config if dest == "config" else line.flags[dest]
    assert given == expected


def test_serve_is_the_default_command_and_flags_without_a_command_go_to_it() -> None:
    line = parse_command_line(["--access", "read-only", "--data-dir", "/d"])
    assert line.command == "serve"
    assert line.flags == {"access": "read-only", "data_dir": Path("/d")}


def test_the_flag_after_the_command_wins() -> None:
    assert parse_command_line(["--access", "read-only", "serve", "--access", "destructive"]).flags == {
        "access": "destructive"
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--transport", "http", "local-api"], "--transport does not apply to local-api"),
        (["local-api", "--access", "read-only"], None),  # argparse: the sub-command does not know the flag
        (["--token", "t"], "--token does not apply to serve"),
        (["--access", "read-only", "check-sql", "SELECT 1"], "--access does not apply to check-sql"),
        (["--max-rows", "many"], None),
        (["--nonsense"], None),
    ],
)
def test_flags_a_command_does_not_take_are_refused(args: list[str], message: str | None) -> None:
    with pytest.raises(UsageError) as caught:
        parse_command_line(args)
    if message is not None:
        assert message in str(caught.value) and "it takes:" in str(caught.value)


def test_check_sql_keeps_its_own_arguments() -> None:
    line = parse_command_line(["check-sql", "--mode", "read-only", "--jsonl"])
    assert (line.command, line.rest, line.flags) == ("check-sql", ["--mode", "read-only", "--jsonl"], {})
