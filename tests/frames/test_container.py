"""``Frames`` built from DataFrames in memory: levels, flat joins, reprs (no server)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from orthanc_frames import Frames


@pytest.fixture
def frames() -> Frames:
    patients = pd.DataFrame(
        {"PatientID": ["P1", "P2"], "PatientSex": ["F", "M"], "labels": [["a"], []]},
        index=["p1", "p2"],
    )
    studies = pd.DataFrame(
        {"patient": ["p1", "p1", "p2"], "PatientID": ["P1", "P1", "P2"], "labels": [[], ["b"], []]},
        index=["s1", "s2", "s3"],
    )
    return Frames(
        {"patient": patients, "study": studies},
        loaded_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
    )


def test_each_level_is_named_and_only_loaded_levels_are_held(frames: Frames) -> None:
    assert frames.patients.index.name == "patient"
    assert frames.frame("study") is frames.studies
    assert frames.loaded_levels == ("patient", "study")
    assert frames.client is None and len(frames.problems) == 0


def test_a_level_without_a_server_to_load_it_from_is_a_key_error(frames: Frames) -> None:
    with pytest.raises(KeyError, match="no series and have no server"):
        frames.series  # noqa: B018


def test_an_unknown_level_is_refused_with_its_name(frames: Frames) -> None:
    with pytest.raises(ValueError, match="'nonsense'"):
        frames.frame("nonsense")


def test_flat_joins_ancestors_and_prefixes_only_clashing_names(frames: Frames) -> None:
    flat = frames.flat("study")
    assert list(flat.index) == ["s1", "s2", "s3"] and flat.index.name == "study"
    assert list(flat["PatientSex"]) == ["F", "F", "M"]
    # PatientID is on both levels; labels is an Orthanc field: both get the prefix
    assert list(flat["patient_PatientID"]) == ["P1", "P1", "P2"]
    assert list(flat["patient_labels"]) == [["a"], ["a"], []]
    assert list(flat["labels"]) == [[], ["b"], []]
    assert "patient_PatientSex" not in flat.columns


def test_reprs_say_what_is_loaded_and_from_where(frames: Frames) -> None:
    assert repr(frames) == (
        "<Frames of local files: patients=2, studies=3, series=(lazy), instances=(lazy); "
        "problems=0; loaded 2026-01-02 03:04:05 UTC>"
    )
    html = frames._repr_html_()
    assert "<code>local files</code>" in html and html.count("not loaded yet") == 2
