"""Data directories for the embedded server that the tests create."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def reachable(path: Path) -> Path:
    """``path``, which the tests own, made enterable by PostgreSQL's system user when the tests run as root.

    The server never changes the parents of a data directory; pytest makes its temporary directories
    private (0700), so the tests open them for traversal (o+x) themselves, up to pytest's own root.
    """
    if os.geteuid() == 0:
        for directory in (path, *path.parents):
            if directory == Path(tempfile.gettempdir()):
                break
            directory.chmod(directory.stat().st_mode | 0o001)
            if directory.name.startswith("pytest-of-"):
                break
    return path
