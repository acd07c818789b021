"""The server's own main DICOM tags: a tag added with ``ExtraMainDicomTags`` is a main tag.

Orthanc keeps the tags of ``ExtraMainDicomTags`` in its index and lists
them in ``/system`` (1.11+); the frames and finds read that list, so such a
tag can be a server-side ``query=``, is loaded as a column without reading
files, and is typed by its VR like any other.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from helpers import PASSWORD, USERNAME, load_into
from transports import RecordingTransport

import orthanc_frames as of
from orthanc_frames.dicom_tags import MAIN_TAGS

EXTRA = {"ExtraMainDicomTags": {"Series": ["SliceThickness"], "Instance": ["PixelSpacing"]}}


@pytest.fixture(scope="module")
def extra_client(make_server: Any, cohort_dir: Any) -> Iterator[of.Orthanc]:
    server = make_server("EXTRAMAIN", extra=EXTRA)  # a fresh database, as Orthanc wants
    load_into(server, cohort_dir.outdir)
    with of.Orthanc(server.url, username=USERNAME, password=PASSWORD) as client:
        yield client


def test_capabilities_list_the_servers_main_tags(extra_client: of.Orthanc) -> None:
    main = extra_client.capabilities.main_tags
    assert "SliceThickness" in main.of("series")
    assert "PixelSpacing" in main.of("instance")
    assert "SliceThickness" not in MAIN_TAGS.of("series")
    assert main.level_of("SliceThickness") == "series"
    assert set(MAIN_TAGS.of("study")) <= set(main.of("study"))


def test_a_query_on_an_extra_main_tag_runs_on_the_server(
    extra_client: of.Orthanc, cohort_dir: Any
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ExtraTagsCostWarning: the tag is in the index
        f = extra_client.frames(query={"SliceThickness": "2.5"}, progress=False)
        everything = extra_client.frames(tags={"series": ["SliceThickness"]}, progress=False)
    thickness = everything.series["SliceThickness"]
    assert f.series["SliceThickness"].dtype == pd.ArrowDtype(pa.float64())
    assert len(f.series) == (thickness == 2.5).sum() > 0
    assert set(f.series["SliceThickness"]) == {2.5}
    assert set(f.instances["series"]) == set(f.series.index)
    # Loaded as a column from the index, typed by its VR; "thick" is a problem.
    assert thickness.notna().sum() == len(everything.series) - 1
    problems = everything.problems
    thick = problems[problems["column"] == "SliceThickness"]
    assert thick["value"].tolist() == ["thick"]
    assert (
        everything.series.loc[thick["id"].iloc[0], "SeriesInstanceUID"]
        == cohort_dir.invalid_slice_thickness_series_uid
    )
    assert f.spec.main_tags == extra_client.capabilities.main_tags
    assert f.refresh().series.index.equals(f.series.index)


def test_the_resource_types_the_extra_main_tag_like_the_frame(extra_client: of.Orthanc) -> None:
    f = extra_client.frames(levels=["series"], progress=False)
    for series in of.find_series(extra_client):
        cell = f.series.loc[series.id, "SliceThickness"]
        typed = series.typed_main_dicom_tags["SliceThickness"]
        if pd.isna(cell):
            assert typed == "thick"  # the resource keeps the text that does not parse
        else:
            assert typed == cell


@contextlib.contextmanager
def _recorded(url: str) -> Iterator[tuple[of.Orthanc, RecordingTransport]]:
    transport = RecordingTransport()
    with of.Orthanc(url, username=USERNAME, password=PASSWORD, transport=transport) as client:
        yield client, transport


def test_a_default_server_refuses_the_query_after_reading_its_list(cohort_server: Any) -> None:
    with _recorded(cohort_server.url) as (client, transport):
        with pytest.raises(ValueError, match=r"query on 'SliceThickness'.*ExtraMainDicomTags"):
            client.frames(query={"SliceThickness": "2.5"})
        assert transport.requests == [("GET", "/system")]
        transport.clear()
        with pytest.raises(ValueError, match="labels_constraint"):
            client.frames(query={"SliceThickness": "2.5"}, labels_constraint="Some")
        assert transport.requests == []  # bad arguments still fail before any request


def test_found_instances_know_their_series_extra_main_tag(extra_client: of.Orthanc) -> None:
    with _recorded(extra_client.url) as (client, transport):
        instances = of.find_instances(client)
        transport.clear()
        thickness = {i.parent_series.main_dicom_tags.get("SliceThickness") for i in instances}
        assert transport.requests == []  # the find's rows carried the parents' main tags
    assert thickness >= {"2.5", "thick"}
