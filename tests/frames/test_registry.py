"""The link between a DataFrame and its server: small keys in attrs, a registry."""

from __future__ import annotations

import gc

import pandas as pd
import pytest

import orthanc_frames as of
from orthanc_frames.frames import FramesLinkError, attach, lookup
from orthanc_frames.frames.registry import ATTRS_KEY


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"Modality": ["CT", "MR"]}, index=pd.Index(["a", "b"], name="series"))


def test_attrs_hold_only_small_strings() -> None:
    client = of.Orthanc("http://127.0.0.1:1")
    df = attach(_frame(), client, "series")
    link = df.attrs[ATTRS_KEY]
    assert set(link) == {"key", "level"} and all(isinstance(v, str) for v in link.values())
    found_client, level, frames = lookup(df[df["Modality"] == "CT"].copy())
    assert found_client is client and level == "series" and frames is None


def test_a_lost_link_says_how_to_reattach() -> None:
    with pytest.raises(FramesLinkError, match=r"f\.attach\(df, 'series'\)"):
        lookup(_frame())


def test_registry_keeps_the_client_but_not_the_frames() -> None:
    import weakref

    client = of.Orthanc("http://127.0.0.1:1")
    f = of.Frames({"series": _frame()}, client=client)
    frames_ref = weakref.ref(f)
    selection = f.series[f.series["Modality"] == "CT"]
    del f, client
    gc.collect()
    assert frames_ref() is None
    found_client, level, owner = lookup(selection)
    assert isinstance(found_client, of.Orthanc) and level == "series" and owner is None


def test_frames_without_server_are_linked_with_no_client() -> None:
    f = of.Frames({"series": _frame()})
    client, level, owner = lookup(f.series)
    assert client is None and level == "series" and owner is f
    merged = f.series.reset_index().merge(pd.DataFrame({"series": ["a"]}))
    merged.attrs.clear()
    with pytest.raises(FramesLinkError):
        lookup(merged.set_index("series"))
    assert lookup(f.attach(merged.set_index("series"), "series"))[2] is f
