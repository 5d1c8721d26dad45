"""The error for authentication that cannot start."""

from __future__ import annotations

from deeplake_mcp.settings import SettingsError

__all__ = ["AuthSetupError"]


class AuthSetupError(SettingsError):
    """HTTP authentication cannot start (token file unreadable, issuer unreachable …); one line says why."""
