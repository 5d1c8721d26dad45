"""The query pool hands out the idle connection used last; a psycopg_pool that keeps them otherwise is left alone.

The behaviour itself (calls one after another share a backend) is checked on a real pool in
tests/integration/test_kept_statements.py; here, what happens when psycopg_pool's internals are not the
deque this server expects (another release): the pool works in its own order and the log says so.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from deeplake_mcp.local._executor import open_pool


def test_the_idle_connections_become_a_stack() -> None:
    pool = open_pool("dbname=none", name="t", max_size=2, options="")
    idle = pool._pool
    idle.extend(["older", "newer"])  # type: ignore[list-item]
    assert idle.popleft() == "newer"  # what psycopg_pool takes from the left is the one returned last


def test_other_internals_are_left_alone_and_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    original = AsyncConnectionPool.__init__

    def elsewhere(self: AsyncConnectionPool[Any], *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._pool = []  # type: ignore[assignment]  # as a release that kept them in a list would

    monkeypatch.setattr(AsyncConnectionPool, "__init__", elsewhere)
    with caplog.at_level(logging.WARNING, logger="deeplake_mcp.local._executor"):
        pool = open_pool("dbname=none", name="t", max_size=2, options="")
    assert pool._pool == []
    assert "handed out in the pool's order" in caplog.text
