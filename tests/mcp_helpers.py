"""Helpers for tests that talk to the MCP server through a real client."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from mcp.types import CallToolResult

from deeplake_mcp.settings import Settings, load_settings


def settings_for(data_dir: Path, **flags: Any) -> Settings:
    """Settings for the embedded backend on ``data_dir``, ignoring the developer's environment."""
    return load_settings({"data_dir": data_dir, "backend": "local", **flags}, environ={})


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def payload(result: CallToolResult) -> Any:
    """The structured result of a successful call (asserting it succeeded)."""
    assert not result.is_error, error_text(result)
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(result.content[0].text)  # type: ignore[union-attr]


def error_text(result: CallToolResult) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)
