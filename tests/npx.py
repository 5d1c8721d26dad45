"""Running official npm tools (the MCP inspector, the MCP bundle CLI) with npx, skipping cleanly without them."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence

import pytest

INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"
MCPB = "@anthropic-ai/mcpb@2.1.2"


def npx(
    package: str, *args: str, env: Mapping[str, str] | None = None, command: Sequence[str] = ("npx",)
) -> subprocess.CompletedProcess[str]:
    """``npx --yes package args…``; the test is skipped when npx is missing or the package cannot be fetched.

    ``command`` runs npx some other way (e.g. ``node npx-cli.js`` of a newer Node.js).
    """
    if shutil.which(command[0]) is None:
        pytest.skip(f"{command[0]} is not installed")
    try:
        done = subprocess.run(
            [*command, "--yes", package, *args],
            env=dict(os.environ if env is None else env),
            capture_output=True,
            text=True,
            timeout=240,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"{package} could not be fetched in time")
    if done.returncode != 0 and "ENOTFOUND" in done.stderr + done.stdout:
        pytest.skip("the npm registry is unreachable")
    return done
