"""The check-sql command: arguments, stdin, JSON lines and exit codes."""

from __future__ import annotations

import io
import json

import pytest

from deeplake_mcp.guard import DEFAULT_ACCESS, AccessMode, run_check_sql
from deeplake_mcp.settings import Settings


def _run(argv: list[str], stdin: str = "") -> tuple[int, list[dict[str, object]]]:
    out = io.StringIO()
    code = run_check_sql(argv, io.StringIO(stdin), out)
    return code, [json.loads(line) for line in out.getvalue().splitlines()]


def test_argument_allowed() -> None:
    code, verdicts = _run(["SELECT 1"])
    assert code == 0
    assert verdicts == [{"allowed": True, "class": "read", "reason": "read (SELECT)"}]


def test_default_mode_is_the_servers() -> None:
    """Like ``serve``, check-sql defaults to read-write: writes pass, destructive statements do not."""
    assert DEFAULT_ACCESS is AccessMode.READ_WRITE
    assert Settings().access is DEFAULT_ACCESS
    assert _run(["INSERT INTO t VALUES (1)"])[0] == 0
    code, verdicts = _run(["DELETE FROM t"])
    assert code == 1
    assert verdicts[0]["class"] == "destructive" and verdicts[0]["allowed"] is False
    assert "--access read-write" in str(verdicts[0]["reason"])


def test_help_states_the_default() -> None:
    out = io.StringIO()
    assert run_check_sql(["--help"], io.StringIO(), out) == 0
    assert "default: read-write, the same as `deeplake-mcp serve`" in " ".join(out.getvalue().split())


def test_read_functions_flag() -> None:
    sql = "SELECT pg_total_relation_size('docs')"
    code, verdicts = _run([sql])
    assert code == 1 and verdicts[0]["class"] == "destructive"
    assert "DEEPLAKE_MCP_READ_FUNCTIONS=pg_total_relation_size" in str(verdicts[0]["reason"])
    assert _run(["--read-functions", "pg_total_relation_size, other_fn", sql]) == (
        0,
        [{"allowed": True, "class": "read", "reason": "read (SELECT)"}],
    )


@pytest.mark.parametrize("names", ["setseed", "deeplake_compat.f", "not a name"])
def test_read_functions_flag_refuses_what_can_never_be_a_read(names: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["--read-functions", names, "SELECT 1"]) == (2, [])
    assert "cannot be declared a read function" in capsys.readouterr().err


@pytest.mark.parametrize(("mode", "code"), [("read-only", 1), ("read-write", 1), ("destructive", 0)])
def test_mode_flag(mode: str, code: int) -> None:
    assert _run(["--mode", mode, "DELETE FROM t"])[0] == code


def test_stdin() -> None:
    code, verdicts = _run(["--mode", "read-only"], "SELECT 1\n")
    assert code == 0
    assert verdicts == [{"allowed": True, "class": "read", "reason": "read (SELECT)"}]


def test_empty_stdin_is_blocked() -> None:
    code, verdicts = _run([], "")
    assert code == 1 and verdicts[0]["class"] == "never"


def test_jsonl_keeps_order_and_skips_blank_lines() -> None:
    lines = [
        json.dumps({"id": "a", "sql": "SELECT 1"}),
        "",
        json.dumps({"sql": "DELETE FROM t"}),
        "   ",
        json.dumps({"sql": "COMMIT"}),
        json.dumps({"sql": "SELECT 2", "mode": "ignored"}),
    ]
    code, verdicts = _run(["--jsonl"], "\n".join(lines) + "\n")
    assert code == 1
    assert [v["class"] for v in verdicts] == ["read", "destructive", "never", "read"]
    assert [v["allowed"] for v in verdicts] == [True, False, False, True]


def test_jsonl_all_allowed() -> None:
    code, verdicts = _run(["--jsonl"], json.dumps({"sql": "SELECT 1"}) + "\n" + json.dumps({"sql": "VALUES (1)"}))
    assert code == 0 and len(verdicts) == 2


@pytest.mark.parametrize("line", ["not json", "[1, 2]", '{"sql": 5}', '{"query": "SELECT 1"}', '"SELECT 1"', "{"])
def test_jsonl_bad_line(line: str) -> None:
    code, verdicts = _run(["--jsonl"], json.dumps({"sql": "SELECT 1"}) + "\n" + line + "\n")
    assert code == 1
    assert verdicts[0]["allowed"] is True
    assert verdicts[1]["allowed"] is False and verdicts[1]["class"] == "never"
    assert "line 2" in str(verdicts[1]["reason"])


def test_jsonl_empty_input() -> None:
    assert _run(["--jsonl"], "") == (0, [])


@pytest.mark.parametrize(
    "argv",
    [
        ["--mode", "write", "SELECT 1"],
        ["--mode"],
        ["--bogus"],
        ["--jsonl", "SELECT 1"],
        ["SELECT 1", "SELECT 2"],
    ],
)
def test_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, verdicts = _run(argv)
    assert code == 2
    assert verdicts == []
    assert "usage: deeplake-mcp check-sql" in capsys.readouterr().err


def test_help_goes_to_stdout() -> None:
    out = io.StringIO()
    assert run_check_sql(["--help"], io.StringIO(), out) == 0
    assert "usage: deeplake-mcp check-sql" in out.getvalue()
