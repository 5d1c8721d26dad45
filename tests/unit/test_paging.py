"""Cursors and windows: every row once, while rows come and go before the page boundary."""

from __future__ import annotations

import random
from collections.abc import Coroutine
from typing import Any, TypeVar, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deeplake_mcp.paging import (
    REALIGN_WINDOW,
    Cursor,
    CursorError,
    Window,
    args_digest,
    fingerprint,
    make_cursor,
    read_cursor,
    window,
)
from deeplake_mcp.redact import redact

pytestmark = pytest.mark.anyio

T = TypeVar("T")


class Table:
    """A list of rows that a statement reads in order, through ``fetch(offset, limit)`` like the tools do."""

    def __init__(self, rows: list[list[Any]]) -> None:
        self.rows = rows
        self.fetches: list[tuple[int, int]] = []

    async def fetch(self, offset: int, limit: int) -> tuple[list[str], list[list[Any]]]:
        self.fetches.append((offset, limit))
        return ["id"], [list(r) for r in self.rows[offset : offset + limit]]


async def walk(table: Table, size: int, between: Any = None) -> tuple[list[Any], list[Window]]:
    """All rows, page by page, as a client with cursors gets them; ``between(page, seen)`` changes the table."""
    seen: list[Any] = []
    windows: list[Window] = []
    position: Cursor | None = None
    for number in range(10_000):
        got = await window(table.fetch, position, size)
        windows.append(got)
        page = got.rows[:size]
        seen += [row[0] for row in page]
        if len(got.rows) <= size or not page:
            return seen, windows
        position = Cursor(got.start + len(page), fingerprint(page[-1]))
        if between is not None:
            between(number, seen)
    raise AssertionError("the walk did not end")


def finished(coroutine: Coroutine[Any, Any, T]) -> T:
    """The result of a coroutine that never waits (the in-memory table's fetch never does), without a loop."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    coroutine.close()
    raise AssertionError("the coroutine waited for something")


def test_a_cursor_round_trips() -> None:
    digest = args_digest("ws", "SELECT 1", None)
    text = make_cursor("s", digest, Cursor(12_345, b"abcdef"))
    assert read_cursor(text, "s", digest, tool="query") == Cursor(12_345, b"abcdef")
    keyed = make_cursor("l", digest, Cursor(3, key="tbl_ü"))
    assert read_cursor(keyed, "l", digest, tool="list_tables").key == "tbl_ü"


def test_a_damaged_cursor_is_refused() -> None:
    digest = args_digest("x")
    text = make_cursor("s", digest, Cursor(40, b"abcdef"))
    for bad in (text[:-2], text[:5] + ("A" if text[5] != "A" else "B") + text[6:], "not a cursor", ""):
        with pytest.raises(CursorError, match="damaged"):
            read_cursor(bad, "s", digest, tool="query")


def test_a_cursor_belongs_to_its_tool_and_arguments() -> None:
    text = make_cursor("s", args_digest("a"), Cursor(1, b"abcdef"))
    with pytest.raises(CursorError, match="another tool"):
        read_cursor(text, "v", args_digest("a"), tool="semantic_search")
    with pytest.raises(CursorError, match="other arguments"):
        read_cursor(text, "s", args_digest("b"), tool="query")


@given(st.integers(0, 2**40), st.binary(min_size=6, max_size=6), st.binary(min_size=6, max_size=6))
def test_cursors_pass_the_redactor_unchanged(offset: int, digest: bytes, last: bytes) -> None:
    text = make_cursor("s", digest, Cursor(offset, last))
    assert redact(text) == text
    assert read_cursor(text, "s", digest, tool="query").offset == offset


async def test_walking_returns_every_row_once() -> None:
    table = Table([[i] for i in range(103)])
    seen, windows = await walk(table, 10)
    assert seen == list(range(103))
    assert not any(w.notice for w in windows)


async def test_rows_added_after_the_boundary_are_walked_too() -> None:
    table = Table([[i] for i in range(50)])
    seen, _ = await walk(table, 10, between=lambda n, _: table.rows.append([1000 + n]))
    assert sorted(seen) == sorted([*range(50), *(1000 + n for n in range(len(seen) - 50))])
    assert len(seen) == len(set(seen))


async def test_rows_added_before_the_boundary_do_not_repeat_any() -> None:
    table = Table([[i] for i in range(60)])
    seen, windows = await walk(table, 10, between=lambda n, _: table.rows.insert(0, [-1 - n]))
    assert seen == list(range(60))
    assert any(w.notice and "added" in w.notice for w in windows)
    assert not any(w.changed for w in windows)


async def test_rows_removed_before_the_boundary_do_not_skip_any() -> None:
    table = Table([[i] for i in range(60)])

    def remove(n: int, _: list[Any]) -> None:
        del table.rows[n]  # a row the walk has already returned

    seen, windows = await walk(table, 10, between=remove)
    assert seen == list(range(60))
    assert any(w.notice and "removed" in w.notice for w in windows)


async def test_a_vanished_boundary_row_is_reported() -> None:
    table = Table([[i] for i in range(30)])
    first = await window(table.fetch, None, 10)
    position = Cursor(10, fingerprint(first.rows[9]))
    del table.rows[9]
    got = await window(table.fetch, position, 10)
    assert got.changed and got.notice is not None and "start over" in got.notice


async def test_a_shift_beyond_the_window_is_reported() -> None:
    table = Table([[i] for i in range(30)])
    first = await window(table.fetch, None, 10)
    position = Cursor(10, fingerprint(first.rows[9]))
    table.rows[:0] = [[-i] for i in range(1, 2 * REALIGN_WINDOW + 5)]
    got = await window(table.fetch, position, 10)
    assert got.changed


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 200), st.integers(1, 25), st.randoms(use_true_random=False))
def test_exactly_once_under_random_inserts_and_deletes(rows: int, size: int, rnd: random.Random) -> None:
    """Rows present for the whole walk are returned exactly once, whatever is added or removed around them."""
    original = [[i] for i in range(rows)]
    table = Table(list(original))
    extra = iter(range(10_000, 20_000))

    def churn(_: int, seen: list[Any]) -> None:
        for _ in range(rnd.randint(0, 3)):
            table.rows.insert(rnd.randint(0, len(table.rows)), [next(extra)])
        removable = [i for i, row in enumerate(table.rows) if row[0] >= 10_000 and row[0] != seen[-1]]
        if removable and rnd.random() < 0.5:
            del table.rows[rnd.choice(removable)]

    seen, windows = finished(walk(table, size, churn))
    assert not any(w.changed for w in windows)
    assert [row for row in seen if row < 10_000] == [row[0] for row in original]
    assert len(seen) == len(set(seen))
