"""The DICOM tags of one instance, searchable."""

from __future__ import annotations

import html
from collections import OrderedDict
from typing import Any

import ipywidgets as W

from ..client import OrthancError, route

__all__ = ["TagRow", "TagViewer", "tag_rows"]

TagRow = tuple[str, str, str]
"""``(tag "gggg,eeee", keyword, value text)``."""

_MAX_VALUE_CHARS = 160
_MAX_ROWS_SHOWN = 400
_CACHE_SIZE = 32


def _value_text(entry: dict[str, Any]) -> str:
    kind = entry.get("Type")
    value = entry.get("Value")
    if kind == "Sequence":
        items = value or []
        return f"[sequence of {len(items)} item{'s' if len(items) != 1 else ''}]"
    if kind == "Null" or value is None:
        return ""
    if kind in ("TooLong", "Binary"):
        return f"[{kind.lower()} value not shown]"
    return str(value)


def tag_rows(tags: dict[str, Any]) -> list[TagRow]:
    """Rows of Orthanc's ``/instances/{id}/tags`` answer, in tag order.

    Parameters
    ----------
    tags : dict
        ``{"0010,0010": {"Name": "PatientName", "Type": "String", "Value": ...}, ...}``.

    Returns
    -------
    list of (tag, keyword, value text)
        Sequences are summarised, binary and too-long values named, not shown.
    """
    return [
        (tag, str(entry.get("Name", "")), _value_text(entry))
        for tag, entry in sorted(tags.items())
        if isinstance(entry, dict)
    ]


class TagViewer(W.VBox):
    """Tags of the shown instance with a search box (tag, keyword or value).

    Parameters
    ----------
    client : Orthanc
        Reads the tags (one request per instance shown, cached).

    Attributes
    ----------
    instance_id : str or None
        The instance whose tags are shown.
    all_rows : list of TagRow
        Every tag of it.
    rows : list of TagRow
        The tags that match the search.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self._cache: OrderedDict[str, list[TagRow]] = OrderedDict()
        self.instance_id: str | None = None
        self.all_rows: list[TagRow] = []
        self.rows: list[TagRow] = []
        self.search = W.Text(
            placeholder="search tags (keyword, gggg,eeee or value)",
            continuous_update=True,
            layout=W.Layout(width="100%"),
        )
        self.search.add_class("of-tags-search")
        self.table = W.HTML(layout=W.Layout(width="100%"))
        self.table.add_class("of-tags")
        self.search.observe(lambda _: self._render(), names="value")
        super().__init__(
            [W.HTML('<span class="of-panel-title">Tags</span>'), self.search, self.table],
            layout=W.Layout(flex="1 1 auto", min_width="320px"),
        )
        self.add_class("of-tag-viewer")
        self._render()

    def show_instance(self, instance_id: str | None) -> None:
        """Show the tags of ``instance_id`` (None clears)."""
        self.instance_id = instance_id
        self._error = ""
        if instance_id is None:
            self.all_rows = []
        elif self._client is None:
            self.all_rows = []
            self._error = "These frames have no server to read tags from."
        elif instance_id in self._cache:
            self.all_rows = self._cache[instance_id]
            self._cache.move_to_end(instance_id)
        else:
            try:
                answer = self._client.GET(route("instances", instance_id, "tags"))
            except OrthancError as error:
                self.all_rows = []
                self._error = f"Could not read the tags of instance {instance_id}: {error}"
            else:
                self.all_rows = tag_rows(answer)
                self._cache[instance_id] = self.all_rows
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
        self._render()

    def _render(self) -> None:
        words = (self.search.value or "").lower().split()
        self.rows = [
            row for row in self.all_rows if all(word in " ".join(row).lower() for word in words)
        ]
        if getattr(self, "_error", ""):
            self.table.value = f'<div class="of-error">{html.escape(self._error)}</div>'
            return
        if self.instance_id is None:
            self.table.value = '<div class="of-muted">Pick a series: the tags of the shown instance appear here.</div>'
            return
        shown = self.rows[:_MAX_ROWS_SHOWN]
        body = "".join(
            f"<tr><td class='of-tag'>{html.escape(tag)}</td><td>{html.escape(name)}</td>"
            f"<td>{html.escape(_cut(value))}</td></tr>"
            for tag, name, value in shown
        )
        more = (
            f"<div class='of-muted'>{len(self.rows) - len(shown)} more: refine the search.</div>"
            if len(self.rows) > len(shown)
            else ""
        )
        self.table.value = (
            f"<div class='of-muted'>{len(self.rows)} of {len(self.all_rows)} tags of instance "
            f"{html.escape(self.instance_id)}</div>"
            "<div class='of-tags-scroll'><table class='of-tag-table'>"
            "<thead><tr><th>tag</th><th>keyword</th><th>value</th></tr></thead>"
            f"<tbody>{body}</tbody></table></div>{more}"
        )


def _cut(text: str) -> str:
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 1] + "…"
