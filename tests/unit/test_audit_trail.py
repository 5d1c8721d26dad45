"""The audit trail's setting and its writer, without a backend."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from deeplake_mcp import audit
from deeplake_mcp.settings import SettingsError, load_settings


def test_audit_log_setting(tmp_path: Path) -> None:
    assert load_settings(environ={}).audit_log is None
    assert load_settings(environ={"DEEPLAKE_MCP_AUDIT_LOG": "stderr"}).audit_log == "stderr"
    target = str(tmp_path / "audit.jsonl")
    assert load_settings(environ={"DEEPLAKE_MCP_AUDIT_LOG": target}).audit_log == target
    with pytest.raises(SettingsError, match="DEEPLAKE_MCP_AUDIT_LOG: .*stdout carries the MCP protocol"):
        load_settings(environ={"DEEPLAKE_MCP_AUDIT_LOG": "stdout"})
    with pytest.raises(SettingsError, match=r"DEEPLAKE_MCP_AUDIT_LOG: .*directory .*missing does not exist"):
        load_settings(environ={"DEEPLAKE_MCP_AUDIT_LOG": str(tmp_path / "missing" / "audit.jsonl")})


def test_file_trail_is_private_and_appends(tmp_path: Path) -> None:
    target = tmp_path / "audit.jsonl"
    for attempt in range(2):
        with audit.open_trail(str(target), backend="cloud", access="read-only") as trail:
            call = audit.Call(tool="query", request_id=str(attempt), trail=trail)
            with audit.call_scope(call):
                audit.guarded("DELETE FROM t WHERE id = 'x'", "destructive", allowed=False)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    first, second = (json.loads(line) for line in target.read_text().splitlines())
    assert (first["request_id"], second["request_id"]) == ("0", "1")
    assert first["statement"] == "DELETE FROM t WHERE id = ?"
    assert (first["access"], first["backend"], first["outcome"]) == ("read-only", "cloud", "refused")
    assert first["rows"] is None and first["duration_ms"] is None


def test_verdicts_outside_a_call_and_on_a_silent_trail_write_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    audit.guarded("DROP TABLE t", "destructive", allowed=False)  # no call: nothing to attribute it to
    with audit.open_trail(None, backend="local", access="read-write") as trail:
        with audit.call_scope(audit.Call(trail=trail)):
            audit.guarded("DROP TABLE t", "destructive", allowed=False)
        with trail.statement("SELECT 1", "sql") as sent:
            assert sent.sql.startswith("SELECT 1\n/*application='deeplake-mcp'")
    assert capsys.readouterr() == ("", "")


def test_stderr_trail_and_an_allowed_verdict_labels_the_next_statement(capsys: pytest.CaptureFixture[str]) -> None:
    with (
        audit.open_trail("stderr", backend="local", access="read-write") as trail,
        audit.call_scope(audit.Call(tool="execute_sql", trail=trail)),
    ):
        audit.guarded("INSERT INTO t VALUES (1)", "write", allowed=True)
        with trail.statement("INSERT INTO t VALUES (1)", "sql"):
            pass
        with audit.server_statements(), trail.statement("SELECT 2", "sql"):
            pass
        with pytest.raises(ValueError, match="boom"), trail.statement("SELECT 3", "sql"):
            raise ValueError("boom")
    first, second, third = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert (first["verdict"], first["outcome"], first["statement"]) == ("write", "ok", "INSERT INTO t VALUES (?)")
    assert (second["verdict"], third["verdict"]) == ("server", "server")  # the verdict labels one statement only
    assert third["outcome"] == "ValueError"
