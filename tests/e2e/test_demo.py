"""`deeplake-mcp demo` runs the whole scripted session offline and shows every step's result."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from processes import SERVER_CMD, server_env

pytestmark = pytest.mark.slow


def test_demo_runs_every_step(new_data_dir: Path) -> None:
    done = subprocess.run(
        [*SERVER_CMD, "demo", "--data-dir", str(new_data_dir)],
        env=server_env(new_data_dir.parent / "unused"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    for tool in ("server_info", "insert_rows", "describe_table", "semantic_search", "upload_file"):
        assert f"→ {tool}(" in out
    assert out.count("  ✗ ") == 2  # exactly the two refusals the script shows
    assert "Refused by the SQL guard: DROP TABLE is destructive" in out
    assert '"rows": [[5, "space", 2024' in out  # planet exploration → the Mars rover article
