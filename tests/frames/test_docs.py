"""help() on Frames answers: numpydoc Parameters/Returns for every public entry point."""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest

import orthanc_frames as of

DOCUMENTED = (
    "load",
    "attach",
    "frame",
    "from_folder",
    "read_parquet",
    "to_parquet",
    "flat",
    "refresh",
    "browse",
)


def _section(doc: str, title: str) -> str:
    """The text of one numpydoc section (up to the next underlined title)."""
    match = re.search(rf"^{title}\n-+\n(.*?)(?=^\w[\w ]*\n-+\n|\Z)", doc, re.M | re.S)
    return match.group(1) if match else ""


@pytest.mark.parametrize("name", DOCUMENTED)
def test_every_parameter_and_the_result_are_documented(name: str) -> None:
    method = getattr(of.Frames, name)
    doc = inspect.cleandoc(method.__doc__ or "")
    parameters = [
        p for p in inspect.signature(method).parameters.values() if p.name not in ("self", "cls")
    ]
    documented = _section(doc, "Parameters")
    for parameter in parameters:
        shown = f"**{parameter.name}" if parameter.kind is parameter.VAR_KEYWORD else parameter.name
        assert re.search(rf"^{re.escape(shown)}\b", documented, re.M), (name, parameter.name)
    assert _section(doc, "Returns").strip(), name


def test_the_class_docstring_has_examples() -> None:
    doc = inspect.cleandoc(of.Frames.__doc__ or "")
    examples = _section(doc, "Examples")
    assert "c.frames(" in examples
    assert ".orthanc." in examples


def test_browse_opens_the_widget_browser_on_these_frames(client: Any) -> None:
    pytest.importorskip("ipywidgets")
    from orthanc_frames.widgets import Browser

    f = client.frames(levels=["patient", "study", "series"])
    browser = f.browse()
    assert isinstance(browser, Browser)
    assert browser.frames is f
