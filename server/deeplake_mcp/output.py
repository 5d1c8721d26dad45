"""Shape rows into results an assistant can read: bounded, compact, framed as data, honest about truncation.

A page of rows is rendered once for the model, as compact text:

* a header line: how many rows, which ones, and whether more follow (with the cursor for the next page);
* the rows between ``<untrusted-data-NONCE>`` tags (a random nonce per result, so a value cannot close the
  frame): a tab-separated table when that is unambiguous (it is then always the smaller), else JSON lines
  (one JSON array per row, the first line the column names);
* notes on what was shortened: wide cells are clipped with a ``…[+N chars]`` marker, long vectors are
  abbreviated, and a page cut by the size budget says so.

The same page is also the structured result (``RowsResult``), so applications get the values as data.
Everything here is pure: no I/O, no clock.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "CLIP_MARK",
    "Limits",
    "Page",
    "RowsResult",
    "compact_json",
    "fit_page",
    "frame",
    "render_rows",
    "shape_rows",
]

CLIP_MARK = "…[+{} chars]"
"""What ends a clipped cell: how many characters were left out."""
_VECTOR_PREVIEW = 4
_MIN_VECTOR_TO_ABBREVIATE = 17
_MIN_CELL_CHARS = 16
_JSON_START = frozenset('-0123456789tfn[{"')
_SCALARS = frozenset({int, float, bool, type(None)})
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)
"""One encoder for every call (``json.dumps`` with options builds a new one each time)."""


def _without_items(schema: dict[str, Any]) -> None:
    schema.pop("items", None)


class RowsResult(BaseModel):
    """One page of the rows of a statement, as compact as the data allows."""

    columns: list[str]
    rows: list[Any] = Field(  # no schema per row: a client checks each result against it (35 µs for 10 rows)
        description="one array per row: its cells (any JSON) in the order of `columns`",
        json_schema_extra=_without_items,
    )
    row_count: int = Field(description="rows in this page")
    truncated: bool = Field(description="true when more rows follow this page")
    cursor: str | None = Field(None, description="pass back with the same arguments for the next page")
    note: str | None = Field(None, description="what was shortened, and how to get the rest")
    changed: bool | None = Field(
        None, description="true when rows moved since the previous page: this page may repeat or miss rows"
    )


@dataclass(frozen=True)
class Limits:
    """How much one page may hold: rows, characters of text in all, characters of one cell."""

    max_rows: int
    max_chars: int
    max_cell_chars: int


@dataclass
class Page:
    """The rows of one page as shown (clipped, vectors abbreviated), and what was shortened."""

    columns: list[str]
    rows: list[list[Any]]
    originals: list[Sequence[Any]]
    """The same rows as they came from the backend (for fingerprints), parallel to ``rows``."""
    more: bool
    """Rows exist after this page."""
    lines: _Lines = field(repr=False)
    """The header and rows as the JSON and table layouts write them (made once, while the page is fitted)."""
    budget_cut: bool = False
    clipped: list[str] = field(default_factory=list)
    cell_chars: int = 0
    abbreviated: list[str] = field(default_factory=list)

    def framed_rows(self) -> str:
        """The rows laid out as :func:`render_rows` does, between untrusted-data tags ("" without rows)."""
        return frame(self.lines.layout()) if self.rows else ""

    @property
    def notes(self) -> list[str]:
        """What the reader should know about how this page was shortened."""
        notes = []
        if self.budget_cut:
            notes.append(
                f"only {len(self.rows)} rows fit the size budget; select fewer or narrower columns to see more per page"
            )
        if self.clipped:
            names = ", ".join(self.clipped)
            notes.append(
                f"cells of {names} longer than {self.cell_chars} characters are clipped (they end in "
                f"{CLIP_MARK.format('N')}); select substr(col, {self.cell_chars + 1}, {self.cell_chars}) to read on"
            )
        if self.abbreviated:
            notes.append(
                "vectors in " + ", ".join(self.abbreviated) + " are abbreviated; select array_length(col, 1) "
                "or slices like col[1:8] to inspect them"
            )
        return notes


def compact_json(value: Any) -> str:
    """JSON without indentation or ASCII escaping: the fewest tokens for the same data."""
    kind = type(value)
    if kind is int or kind is bool or (kind is float and math.isfinite(value)):  # what json.dumps writes, faster
        return "true" if value is True else "false" if value is False else repr(value)
    return _COMPACT.encode(value)


def fit_page(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    limits: Limits,
    more_rows: bool = False,
    render: Callable[[Page], str] | None = None,
    abbreviate_vectors: bool = True,
) -> tuple[Page, str]:
    """The longest prefix of ``rows`` (at most ``limits.max_rows``) whose text fits ``limits.max_chars``.

    ``render`` turns a page into the whole text the reader gets (header, framed rows, notes); the default
    is the framed rows and notes alone. ``more_rows`` says rows exist beyond ``rows``. A page always holds
    at least one row when there is one: when the first row alone is too wide, cells are clipped shorter.
    """
    render = render or _plain_render
    names = [str(c) for c in columns]
    candidates = list(rows[: limits.max_rows])
    more = more_rows or len(rows) > limits.max_rows
    cell_chars = limits.max_cell_chars
    while True:
        prepared = _prepare(names, candidates, cell_chars, abbreviate_vectors)
        page, text = _longest_fitting(names, candidates, prepared, more, limits.max_chars, cell_chars, render)
        if page.rows or not candidates or cell_chars <= _MIN_CELL_CHARS:
            return page, text
        cell_chars = max(_MIN_CELL_CHARS, cell_chars // 2)


def render_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """The rows as a tab-separated table when that is unambiguous, else as JSON lines."""
    return _Lines.of(columns, rows).layout()


def frame(body: str) -> str:
    """``body`` between ``<untrusted-data-NONCE>`` tags whose nonce does not occur in it."""
    nonce = secrets.token_hex(3)
    while nonce in body:
        nonce = secrets.token_hex(3)
    return f"<untrusted-data-{nonce}>\n{body}\n</untrusted-data-{nonce}>"


def shape_rows(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    max_rows: int,
    max_chars: int,
    more_rows: bool = False,
    abbreviate_vectors: bool = True,
    max_cell_chars: int = 2_000,
) -> RowsResult:
    """One page of ``rows`` within ``max_rows`` and about ``max_chars`` of text, as a structured result."""
    page, _ = fit_page(
        columns,
        rows,
        limits=Limits(max_rows, max_chars, max_cell_chars),
        more_rows=more_rows,
        abbreviate_vectors=abbreviate_vectors,
    )
    return RowsResult(
        columns=page.columns,
        rows=page.rows,
        row_count=len(page.rows),
        truncated=page.more,
        cursor=None,
        note="; ".join(page.notes) or None,
        changed=None,
    )


def _plain_render(page: Page) -> str:
    return "\n".join([page.framed_rows(), *page.notes])


@dataclass
class _Lines:
    """A header and rows, each as one table line (``None``: ambiguous in a table) and, when needed, as one
    JSON line.

    A table line is always shorter than the row's JSON line (no quotes, no brackets, the same numbers), so
    the table is the layout whenever none of its lines is ambiguous, and the JSON lines are written only
    when one is.
    """

    cells: list[Sequence[Any]]
    table: list[str | None]
    _json: list[str] | None = None

    @classmethod
    def of(cls, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> _Lines:
        everything = [list(columns), *rows]
        return cls(everything, [_table_line(row) for row in everything])

    @property
    def json(self) -> list[str]:
        if self._json is None:
            self._json = [compact_json(list(row)) for row in self.cells]
        return self._json

    def head(self, n: int) -> _Lines:
        """The header and the first ``n`` rows."""
        return _Lines(self.cells[: n + 1], self.table[: n + 1], None if self._json is None else self._json[: n + 1])

    def chars(self) -> int:
        """The length of :meth:`layout`'s text."""
        chosen = self.json if None in self.table else self.table
        return sum(map(len, chosen)) + len(chosen) - 1  # type: ignore[arg-type]  # no None in the table then

    def layout(self) -> str:
        """The table when it is unambiguous, else the JSON lines."""
        if None in self.table:
            return "\n".join(self.json)
        return "\n".join(self.table)  # type: ignore[arg-type]  # no None in it


@dataclass
class _Prepared:
    rows: list[list[Any]]
    clipped: list[AbstractSet[int]]
    abbreviated: list[AbstractSet[int]]
    lines: _Lines


_NO_CELLS: AbstractSet[int] = frozenset()


def _prepare(names: list[str], rows: list[Sequence[Any]], cell_chars: int, abbreviate: bool) -> _Prepared:
    shown: list[list[Any]] = []
    clipped: list[AbstractSet[int]] = []
    abbreviated: list[AbstractSet[int]] = []
    for row in rows:
        if _SCALARS.issuperset(map(type, row)):  # nothing to clip or abbreviate: most rows of most pages
            shown.append(list(row))
            clipped.append(_NO_CELLS)
            abbreviated.append(_NO_CELLS)
        else:
            cells, clipped_cells, abbreviated_cells = _prepared_row(row, cell_chars, abbreviate)
            shown.append(cells)
            clipped.append(clipped_cells)
            abbreviated.append(abbreviated_cells)
    return _Prepared(shown, clipped, abbreviated, _Lines.of(names, shown))


def _prepared_row(row: Sequence[Any], cell_chars: int, abbreviate: bool) -> tuple[list[Any], set[int], set[int]]:
    """A row's cells as shown, and which of them were clipped or abbreviated."""
    shown: list[Any] = []
    clipped: set[int] = set()
    abbreviated: set[int] = set()
    for i, cell in enumerate(row):
        if type(cell) in _SCALARS:
            shown.append(cell)
            continue
        if abbreviate and _is_long_vector(cell):
            cell = _vector_preview(cell)
            abbreviated.add(i)
        else:
            cell, was_clipped = _clip(cell, cell_chars)
            if was_clipped:
                clipped.add(i)
        shown.append(cell)
    return shown, clipped, abbreviated


def _longest_fitting(
    names: list[str],
    originals: list[Sequence[Any]],
    prepared: _Prepared,
    more: bool,
    budget: int,
    cell_chars: int,
    render: Callable[[Page], str],
) -> tuple[Page, str]:
    """The page of the first n prepared rows, n as large as the budget allows (the rendered text decides)."""

    def page_of(n: int) -> Page:
        def columns_of(marks: list[AbstractSet[int]]) -> list[str]:
            if not any(marks[:n]):  # nothing shortened: most pages
                return []
            return sorted({names[i] if i < len(names) else str(i) for k in range(n) for i in marks[k]})

        return Page(
            columns=names,
            rows=prepared.rows[:n],
            originals=originals[:n],
            more=more or n < len(originals),
            budget_cut=n < len(originals),
            clipped=columns_of(prepared.clipped),
            abbreviated=columns_of(prepared.abbreviated),
            cell_chars=cell_chars,
            lines=prepared.lines.head(n),
        )

    lines = prepared.lines
    if lines.chars() < budget:  # the rows alone fit: most pages, rendered once (else the last rows' turn below)
        page = page_of(len(originals))
        text = render(page)
        if len(text) <= budget:
            return page, text
    overhead = len(render(page_of(0)))
    n, used, as_table = 0, 0, True
    while n < len(prepared.rows):
        line = lines.table[n + 1]
        if as_table and line is None:  # from this row on the page is JSON lines: count those of the rows so far
            as_table = False
            used = sum(len(text) + 1 for text in lines.json[1 : n + 1])
        used += len(line) + 1 if as_table and line is not None else len(lines.json[n + 1]) + 1
        if overhead + used > budget:
            break
        n += 1
    while True:
        page = page_of(n)
        text = render(page)
        if len(text) <= budget or n == 0:
            return page, text
        excess = len(text) - budget
        average = max(1, (len(text) - overhead) // max(n, 1))
        n = max(0, n - max(1, excess // average))


def _clip(cell: Any, limit: int) -> tuple[Any, bool]:
    if isinstance(cell, str):
        text = cell
    elif isinstance(cell, dict | list):
        text = compact_json(cell)
        if len(text) <= limit:
            return cell, False
    else:
        return cell, False
    if len(text) <= limit:
        return cell, False
    return text[:limit] + CLIP_MARK.format(len(text) - limit), True


def _is_long_vector(cell: Any) -> bool:
    return (
        isinstance(cell, list)
        and len(cell) >= _MIN_VECTOR_TO_ABBREVIATE
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in cell[:_MIN_VECTOR_TO_ABBREVIATE])
    )


def _vector_preview(cell: list[Any]) -> str:
    head = ", ".join(f"{x:.4g}" if isinstance(x, float) else str(x) for x in cell[:_VECTOR_PREVIEW])
    return f"<vector dim={len(cell)}: {head}, …>"


def _table_line(row: Sequence[Any]) -> str | None:
    """One row as a table line, or None when a cell would be ambiguous in a table."""
    cells = [  # ints and finite floats, most cells of most rows, as _table_cell writes them
        repr(cell) if type(cell) is int or (type(cell) is float and math.isfinite(cell)) else _table_cell(cell)
        for cell in row
    ]
    if None in cells:
        return None
    return "\t".join(cells)  # type: ignore[arg-type]  # no None in it


def _table_cell(cell: Any) -> str | None:
    """A cell as a table shows it, or None when the table would make it ambiguous (JSON lines then)."""
    kind = type(cell)
    if kind is int or (kind is float and math.isfinite(cell)):  # most cells: as compact_json writes them
        return repr(cell)
    if cell is None:
        return "NULL"
    if isinstance(cell, bool | int | float | dict | list):
        return compact_json(cell)
    text = cell if isinstance(cell, str) else str(cell)
    if text == "NULL" or text != text.strip() or _reads_as_json(text):
        return None
    if any(ord(c) < 32 and c not in "\t\n\r" for c in text):
        return None
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _reads_as_json(text: str) -> bool:
    if not text or text[0] not in _JSON_START:
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
