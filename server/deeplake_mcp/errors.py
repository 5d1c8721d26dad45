"""Errors that stop the server from starting."""

from __future__ import annotations

__all__ = ["StartupError"]


class StartupError(RuntimeError):
    """The server cannot start; the message is one line that says what is wrong, where, and how to fix it."""
