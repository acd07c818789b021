"""ipywidgets browsers: explore and act on Orthanc frames without code.

``of.browse(f)`` (or ``f.browse()``) returns a :class:`Browser`: filters,
linked patient → study → series tables, a preview with a slider over the
instances of a series, its tags, and an action bar whose runs go through
the ``df.orthanc`` accessor. ``browser.selection`` is a linked DataFrame.

Needs the ``widgets`` extra (ipywidgets 8).
"""

from __future__ import annotations

from .actions import ACTIONS, ActionBar, result_html
from .browser import Browser, browse
from .filters import FilterPanel, FilterState
from .preview import SeriesPreview
from .tables import Column, PagedTable
from .tags import TagViewer

__all__ = [
    "ACTIONS",
    "ActionBar",
    "Browser",
    "Column",
    "FilterPanel",
    "FilterState",
    "PagedTable",
    "SeriesPreview",
    "TagViewer",
    "browse",
    "result_html",
]
