"""Compact HTML cards for notebook reprs, the same look for every object."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["html_card"]


def html_card(
    title: str,
    ident: str | None = None,
    fields: Mapping[str, Any] | None = None,
    *,
    table: Sequence[Sequence[Any]] | None = None,
    headers: Iterable[str] = (),
    more: int = 0,
) -> str:
    """A title, an optional ID, a key/value table and an optional row table, all escaped.

    Empty field values are left out; ``more`` says how many table rows were cut.
    """
    parts = [f"<b>{html.escape(title)}</b>"]
    if ident:
        parts.append(f" <code>{html.escape(ident)}</code>")
    shown = {k: v for k, v in (fields or {}).items() if v not in (None, "", [])}
    if shown:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
            f"<td style='text-align:left'>{html.escape(str(v))}</td></tr>"
            for k, v in shown.items()
        )
        parts.append(f"<table>{rows}</table>")
    if table:
        head = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in headers)
        body = "".join(
            "<tr>"
            + "".join(f"<td style='text-align:left'>{html.escape(str(c))}</td>" for c in row)
            + "</tr>"
            for row in table
        )
        parts.append(f"<table><tr>{head}</tr>{body}</table>")
        if more:
            parts.append(f"<i>... and {more} more</i>")
    return "".join(parts)
