"""Static bearer tokens: from ``DEEPLAKE_MCP_HTTP_TOKEN`` (comma-separated) and a token file.

Several tokens are valid at once, so a token can be rotated without downtime: add the new one, move the
clients, remove the old one. The file holds one token a line (blank lines and ``#`` comments are
ignored) and is re-read when it changes, so rotating through it needs no restart.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from deeplake_mcp.redact import protect

from ._errors import AuthSetupError

__all__ = ["StaticTokens", "fingerprint", "split_tokens"]

log = logging.getLogger(__name__)


def split_tokens(value: str) -> list[str]:
    """The tokens in a comma-separated list."""
    return [token.strip() for token in value.split(",") if token.strip()]


def fingerprint(token: str) -> str:
    """A short, non-reversible name for a token, for logs (the token itself is never logged)."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()[:8]


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class StaticTokens:
    """The configured tokens, compared in constant time.

    Tokens are kept and compared as SHA-256 digests, against every configured token without stopping
    early, so neither a token's content nor its length shows in the timing. A token file that cannot be
    read at start is an :class:`AuthSetupError`; later, an unreadable file counts as empty (fail closed).
    """

    def __init__(self, listed: Iterable[str], file: Path | None) -> None:
        self._listed = [_digest(token) for token in listed]
        self._file = file
        self._stamp: tuple[int, int, int] | None = None
        self._from_file: list[bytes] = []
        if file is not None:
            try:
                self._reload(file)
            except OSError as exc:
                raise AuthSetupError(
                    f"cannot read the token file {file} (DEEPLAKE_MCP_HTTP_TOKEN_FILE): {exc.strerror or exc}"
                ) from None
        if not self._listed and not self._from_file:
            raise AuthSetupError(
                f"the token file {file} (DEEPLAKE_MCP_HTTP_TOKEN_FILE) holds no token: put one token on each line"
                if file
                else "DEEPLAKE_MCP_HTTP_TOKEN holds no token"
            )

    def matches(self, token: str) -> bool:
        """Whether ``token`` is one of the configured tokens."""
        self._refresh()
        given = _digest(token)
        found = False
        for known in (*self._listed, *self._from_file):
            found |= hmac.compare_digest(given, known)
        return found

    def _refresh(self) -> None:
        if self._file is None:
            return
        try:
            self._reload(self._file)
        except OSError as exc:
            if self._stamp is not None:
                log.error("cannot read the token file %s (%s): its tokens are refused", self._file, exc.strerror)
            self._stamp, self._from_file = None, []

    def _reload(self, file: Path) -> None:
        """Read ``file`` again if it changed since the last read."""
        st = os.stat(file)
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp == self._stamp:
            return
        lines = file.read_text(encoding="utf-8").splitlines()
        tokens = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
        protect(*tokens)  # never shown, should one come back in an error or a log
        self._stamp, self._from_file = stamp, [_digest(token) for token in tokens]
        log.info("read %d token(s) from %s", len(tokens), file)
