"""A paged, sortable table of DataFrame rows in which a person picks rows.

ipywidgets has no table widget whose rows can be clicked, so a page of rows
is shown as the options of a ``SelectMultiple`` (a ``<select multiple>``)
in a monospace font, under a header aligned with it. Only one page of rows
ever reaches the page (never a whole server), sorting and paging happen in
the kernel, and the rows a person picked are kept across pages.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as W
import pandas as pd

__all__ = ["Column", "PagedTable", "format_cell"]

_SPACE = "\u00a0"  # <option> text collapses ordinary runs of spaces
_ELLIPSIS = "…"


@dataclass(frozen=True)
class Column:
    """One column of a :class:`PagedTable`.

    Parameters
    ----------
    key : str
        Column of the DataFrame (or ``"index"`` for the Orthanc ID).
    title : str
        Header text.
    width : int
        Width in characters; longer values are cut with an ellipsis.
    align : {"left", "right"}
        Numbers read best right-aligned.
    sortable : bool
        Offered in the table's "sort by" menu.
    """

    key: str
    title: str
    width: int
    align: str = "left"
    sortable: bool = True


def format_cell(value: Any) -> str:
    """Short display text of one cell: dates ISO, lists comma-joined, missing empty."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        items = value.tolist() if hasattr(value, "tolist") else list(value)
        if not isinstance(items, list):
            return format_cell(items)
        return ", ".join(format_cell(item) for item in items)
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).replace("^", " ")


def _cells(character: str) -> int:
    """Monospace cells a character takes: East Asian wide characters take two."""
    return 2 if unicodedata.east_asian_width(character) in ("W", "F") else 1


def _fit(text: str, width: int, align: str) -> str:
    """``text`` cut or padded to exactly ``width`` monospace cells."""
    text = " ".join(text.split())
    used = sum(_cells(character) for character in text)
    if used > width:
        kept, used = [], 0
        for character in text:
            if used + _cells(character) > width - 1:
                break
            kept.append(character)
            used += _cells(character)
        text = "".join(kept).rstrip() + _ELLIPSIS
        used = sum(_cells(character) for character in text)
    padding = " " * (width - used)
    padded = padding + text if align == "right" else text + padding
    return padded.replace(" ", _SPACE)


class PagedTable(W.VBox):
    """A titled, paged, sortable table whose rows can be picked (several with Ctrl/Shift).

    Parameters
    ----------
    title : str
        Shown above the table with the row count, e.g. ``"Patients"``.
    columns : sequence of Column
        What to show, in order.
    page_size : int
        Rows per page (the height of the list).
    sort_by : str, optional
        Key of the initial sort column.
    descending : bool
        Initial sort direction.
    css_class : str, optional
        Extra CSS class (also a stable hook for browser tests).

    Attributes
    ----------
    picked : list of str
        IDs of the picked rows, on every page, in the order they were picked.
    page : int
        Current page, from 0.
    """

    def __init__(
        self,
        title: str,
        columns: Sequence[Column],
        *,
        page_size: int = 10,
        sort_by: str | None = None,
        descending: bool = False,
        css_class: str | None = None,
    ) -> None:
        self.title = title
        self.columns = list(columns)
        self.page_size = page_size
        self.page = 0
        self.picked: list[str] = []
        self._rows = pd.DataFrame()
        self._order: pd.Index = pd.Index([])
        self._pick_callbacks: list[Callable[[list[str]], None]] = []
        self._quiet = False

        sortable = [(column.title, column.key) for column in self.columns if column.sortable]
        initial = sort_by if sort_by in {key for _, key in sortable} else None
        self.caption = W.HTML(layout=W.Layout(flex="1 1 auto"))
        self.sort_by = W.Dropdown(
            options=[("(unsorted)", None), *sortable],
            value=initial,
            description="sort",
            layout=W.Layout(width="170px"),
            style={"description_width": "30px"},
        )
        self.descending = W.ToggleButton(
            value=descending,
            icon="sort-amount-desc" if descending else "sort-amount-asc",
            tooltip="Reverse the sort order",
            layout=W.Layout(width="36px"),
        )
        self.header = W.HTML(self._header_html())
        self.list = W.SelectMultiple(
            options=[], rows=page_size, layout=W.Layout(width="auto", flex="1 1 auto")
        )
        self.previous_page = W.Button(icon="chevron-left", layout=W.Layout(width="34px"))
        self.next_page = W.Button(icon="chevron-right", layout=W.Layout(width="34px"))
        self.page_label = W.Label(layout=W.Layout(flex="1 1 auto"))
        self.clear_button = W.Button(
            description="clear", tooltip="Unpick every row", layout=W.Layout(width="60px")
        )

        self.sort_by.observe(self._on_sort, names="value")
        self.descending.observe(self._on_sort, names="value")
        self.list.observe(self._on_list, names="value")
        self.previous_page.on_click(lambda _: self.show_page(self.page - 1))
        self.next_page.on_click(lambda _: self.show_page(self.page + 1))
        self.clear_button.on_click(lambda _: self.set_picked([]))

        super().__init__(
            [
                W.HBox(
                    [self.caption, self.sort_by, self.descending], layout=W.Layout(width="100%")
                ),
                self.header,
                self.list,
                W.HBox(
                    [self.previous_page, self.page_label, self.next_page, self.clear_button],
                    layout=W.Layout(width="100%", align_items="center"),
                ),
            ]
        )
        self.add_class("of-table")
        self.list.add_class("of-table-rows")
        self.header.add_class("of-table-header")
        if css_class:
            self.add_class(css_class)
            self.list.add_class(f"{css_class}-rows")
        self._refresh_caption()

    # -- data ----------------------------------------------------------------

    @property
    def rows(self) -> pd.DataFrame:
        """All rows the table holds (every page), in display order."""
        return self._rows.loc[self._order] if len(self._order) else self._rows.iloc[:0]

    @property
    def page_ids(self) -> list[str]:
        """IDs of the rows on the current page, top to bottom."""
        return [str(value) for _, value in self.list.options]

    @property
    def num_pages(self) -> int:
        """Number of pages (at least 1)."""
        return max(1, math.ceil(len(self._order) / self.page_size))

    def set_rows(self, rows: pd.DataFrame) -> None:
        """Show ``rows`` (all of them, paged); picks no longer among them are dropped.

        The current page is kept when possible. Pick callbacks run only if
        the picked rows changed.
        """
        self._rows = rows
        self._sort()
        present = set(self._order)
        kept = [identifier for identifier in self.picked if identifier in present]
        changed = kept != self.picked
        self.picked = kept
        self.show_page(min(self.page, self.num_pages - 1))
        self._refresh_caption()
        if changed:
            self._notify()

    def set_picked(self, ids: Iterable[str]) -> None:
        """Pick exactly ``ids`` (those the table holds) and go to the page of the first one."""
        present = set(self._order)
        picked = [str(identifier) for identifier in ids if str(identifier) in present]
        picked = list(dict.fromkeys(picked))
        changed = picked != self.picked
        self.picked = picked
        page = self.page
        if picked:
            page = int(self._order.get_loc(picked[0])) // self.page_size
        self.show_page(page)
        self._refresh_caption()
        if changed:
            self._notify()

    def pick(self, identifier: str) -> None:
        """Pick one row, as a click on it does (the others are unpicked)."""
        self.set_picked([identifier])

    def on_pick(self, callback: Callable[[list[str]], None]) -> None:
        """Call ``callback(picked_ids)`` whenever the picked rows change."""
        self._pick_callbacks.append(callback)

    # -- display -------------------------------------------------------------

    def show_page(self, page: int) -> None:
        """Show page ``page`` (clamped to the existing pages)."""
        self.page = max(0, min(page, self.num_pages - 1))
        start = self.page * self.page_size
        page_ids = self._order[start : start + self.page_size]
        lines = self._lines(self._rows.loc[page_ids])
        options = [
            (line, str(identifier)) for line, identifier in zip(lines, page_ids, strict=True)
        ]
        on_page = {value for _, value in options}
        self._quiet = True
        try:
            self.list.value = ()
            self.list.options = options
            self.list.value = tuple(i for i in self.picked if i in on_page)
        finally:
            self._quiet = False
        total = len(self._order)
        if total:
            self.page_label.value = (
                f"{start + 1:,}–{start + len(page_ids):,} of {total:,}"
                f"  ·  page {self.page + 1} of {self.num_pages}"
            )
        else:
            self.page_label.value = "no rows"
        self.previous_page.disabled = self.page == 0
        self.next_page.disabled = self.page >= self.num_pages - 1

    def _lines(self, rows: pd.DataFrame) -> list[str]:
        cells_by_column = []
        for column in self.columns:
            values = rows.index if column.key == "index" else rows[column.key]
            cells_by_column.append(
                [_fit(format_cell(value), column.width, column.align) for value in values]
            )
        return [_SPACE.join(cells) for cells in zip(*cells_by_column, strict=True)] or [
            "" for _ in range(len(rows))
        ]

    def _header_html(self) -> str:
        cells = [_fit(column.title, column.width, column.align) for column in self.columns]
        return f'<div class="of-table-head">{_SPACE.join(cells)}</div>'

    def _refresh_caption(self) -> None:
        picked = f" · <b>{len(self.picked):,}</b> picked" if self.picked else ""
        self.caption.value = (
            f'<span class="of-table-title">{self.title}</span> '
            f'<span class="of-table-count">{len(self._order):,}{picked}</span>'
        )

    # -- events --------------------------------------------------------------

    def _sort(self) -> None:
        rows = self._rows
        key = self.sort_by.value
        if key is None or len(rows) == 0:
            self._order = pd.Index(rows.index.astype(str))
            return
        if key == "index":
            ordered = rows.sort_index(ascending=not self.descending.value)
        else:
            ordered = rows.sort_values(
                key,
                ascending=not self.descending.value,
                na_position="last",
                kind="stable",
                key=_sort_key,
            )
        self._order = pd.Index(ordered.index.astype(str))

    def _on_sort(self, change: dict[str, Any]) -> None:
        self.descending.icon = "sort-amount-desc" if self.descending.value else "sort-amount-asc"
        self._sort()
        self.show_page(0)

    def _on_list(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        on_page = set(self.page_ids)
        chosen = [str(value) for value in change["new"]]
        others = [identifier for identifier in self.picked if identifier not in on_page]
        self.picked = others + chosen
        self._refresh_caption()
        self._notify()

    def _notify(self) -> None:
        for callback in self._pick_callbacks:
            callback(list(self.picked))


def _sort_key(values: pd.Series) -> pd.Series:
    """Case-insensitive order for text; other types as they are."""
    if pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
        return values.astype("string").str.lower()
    return values
