"""PostgreSQL's own scanner and parser (libpg_query, through pglast), or None without pglast."""

from __future__ import annotations

import importlib
from typing import Any

from . import _hints
from ._classes import Finding, never

__all__ = ["AVAILABLE", "parser", "syntax_error"]

parser: Any
try:
    parser = importlib.import_module("pglast.parser")
except ImportError:  # pragma: no cover - exercised by a subprocess test
    parser = None

AVAILABLE: bool = parser is not None
"""Whether pglast is importable; without it the guard refuses everything (it fails closed)."""


def syntax_error(exc: Exception) -> Finding:
    """The NEVER finding for text that PostgreSQL's scanner or parser rejects."""
    message = str(exc.args[0]) if exc.args else type(exc).__name__
    return never(f"not valid PostgreSQL ({message})", _hints.SYNTAX, subject="text that is not valid PostgreSQL")
