"""Reading a file an agent names, only under the directories the operator allowed."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

__all__ = ["UnreadableFile", "read_under"]


class UnreadableFile(ValueError):
    """The file may not or cannot be read; the message says why and what is allowed."""


def read_under(path: str | Path, roots: Sequence[Path], *, max_bytes: int) -> bytes:
    """The bytes of a regular file whose real path (symlinks and ``..`` resolved) lies under one of ``roots``.

    The file opened is checked to be the very file that was checked (same device and inode), so a
    link swapped in between cannot redirect the read.
    """
    allowed = ", ".join(str(root) for root in roots)
    if not roots:
        raise UnreadableFile(
            "reading files by path is off: no upload directory is set (the server's working directory is / or a "
            "home directory); an operator can allow directories with DEEPLAKE_MCP_UPLOAD_DIRS, or pass `content`"
        )
    outside = UnreadableFile(
        f"{str(path)!r} is outside the upload directories ({allowed}); move the file there, or pass `content`"
    )
    real_roots = [root.resolve() for root in roots]
    written = Path(os.path.abspath(Path(path).expanduser()))  # `..` resolved as written, before any lookup
    if not any(written.is_relative_to(root) for root in [*map(_absolute, roots), *real_roots]):
        raise outside
    try:
        real = written.resolve(strict=True)
        checked = os.stat(real)
    except (OSError, RuntimeError):
        raise UnreadableFile(f"{str(path)!r} does not exist or cannot be read") from None
    if not any(real.is_relative_to(root) for root in real_roots):
        raise outside
    if not stat.S_ISREG(checked.st_mode):
        raise UnreadableFile(f"{str(path)!r} is not a regular file")
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise UnreadableFile(f"{str(path)!r} cannot be read: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as file:
        opened = os.fstat(file.fileno())
        if (opened.st_dev, opened.st_ino) != (checked.st_dev, checked.st_ino):
            raise UnreadableFile(f"{str(path)!r} changed while it was being opened; try again")
        if opened.st_size > max_bytes:
            raise UnreadableFile(f"{str(path)!r} is larger than {max_bytes // 2**20} MiB; split it")
        data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UnreadableFile(f"{str(path)!r} is larger than {max_bytes // 2**20} MiB; split it")
    return data


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path.expanduser()))
