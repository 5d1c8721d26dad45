"""`deeplake-mcp demo` runs the whole scripted session offline, shows every step's result and leaves
nothing behind: its temporary data dir goes when it ends, also on Ctrl-C; a given --data-dir stays."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
from pathlib import Path

import pytest

from data_dirs import reachable
from processes import SERVER_CMD, server_env

pytestmark = pytest.mark.slow

TEMP_PREFIX = "deeplake-mcp-demo-"


def _temp_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """The environment of a demo whose temporary files go to a directory of this test's own."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    reachable(temp)
    return server_env(tmp_path / "unused", TMPDIR=str(temp)), temp


def _leftovers(temp: Path) -> list[str]:
    return [p.name for p in temp.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_demo_runs_every_step_and_removes_its_data(tmp_path: Path) -> None:
    env, temp = _temp_env(tmp_path)
    done = subprocess.run([*SERVER_CMD, "demo"], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    for tool in ("server_info", "insert_rows", "describe_table", "semantic_search", "upload_file"):
        assert f"→ {tool}(" in out
    assert out.count("  ✗ ") == 2  # exactly the two refusals the script shows
    assert "Refused by the SQL guard: DROP TABLE is destructive" in out
    assert '"rows": [[5, "space", 2024' in out  # planet exploration → the Mars rover article
    assert out.index("→ insert_rows(") < out.index("CREATE INDEX")  # load, then index
    if importlib.util.find_spec("deeplake") is None:
        assert "tql_query skipped" in out
    else:
        assert "→ tql_query(" in out
        assert '"rows": [["Saturn", 146], ["Jupiter", 95], ["Mars", 2], ["Earth", 1]]' in out
    assert _leftovers(temp) == []


def test_ctrl_c_still_removes_the_demo_data(tmp_path: Path) -> None:
    env, temp = _temp_env(tmp_path)
    proc = subprocess.Popen(
        [*SERVER_CMD, "demo"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("[4]"):  # mid-session: the embedded PostgreSQL is running on the temporary dir
            assert len(_leftovers(temp)) == 1
            proc.send_signal(signal.SIGINT)
            break
    proc.stdout.read()
    assert proc.wait(timeout=60) == 130
    assert _leftovers(temp) == []


def test_a_given_data_dir_is_kept(new_data_dir: Path) -> None:
    done = subprocess.run(
        [*SERVER_CMD, "demo", "--data-dir", str(new_data_dir)],
        env=server_env(new_data_dir.parent / "unused"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (new_data_dir / "pg" / "PG_VERSION").exists()
