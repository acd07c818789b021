"""``df.orthanc`` transfers: send to a peer or modality, download, resources without requests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pydicom
import pytest
from transports import CountingTransport

import orthanc_frames as of
from orthanc_frames.frames.container import Frames
from orthanc_frames.resources import Series
from orthanc_frames.synthetic import write_cohort
from orthanc_frames.transfer import upload


def connect(server: Any, **kwargs: Any) -> of.Orthanc:
    auth = server.auth or (None, None)
    return of.Orthanc(server.url, username=auth[0], password=auth[1], **kwargs)


@pytest.fixture
def pair_with_data(
    server_pair: tuple[Any, Any], tmp_path: Path
) -> Iterator[tuple[of.Orthanc, of.Orthanc, Frames]]:
    """Server A holds a small cohort, B is empty; both are emptied afterwards."""
    a, b = server_pair
    summary = write_cohort(
        tmp_path / "cohort", patients=1, studies=1, series=3, instances=2, size=8
    )
    with connect(a) as client_a, connect(b) as client_b:
        upload(client_a, summary.outdir).raise_for_rejections()
        yield client_a, client_b, Frames.load(client_a)
        for client in (client_a, client_b):
            patients = client.GET("/patients")
            if patients:
                client.POST("/tools/bulk-delete", json={"Resources": patients})


@pytest.mark.parametrize("target", ["peer", "modality"])
def test_send_stores_exactly_the_selection_on_the_other_server(
    pair_with_data: tuple[of.Orthanc, of.Orthanc, Frames], target: str
) -> None:
    _, client_b, frames = pair_with_data
    selection = frames.series.head(2)

    result = selection.orthanc.send(**{target: "B"})

    assert result.index.name == "series"
    assert list(result.index) == list(selection.index)
    assert list(result.columns) == ["status", "error"]
    assert (result["status"] == "ok").all(), result["error"].tolist()
    assert set(client_b.GET("/series")) == set(selection.index)


def test_send_to_an_unknown_peer_fails_each_row(
    pair_with_data: tuple[of.Orthanc, of.Orthanc, Frames],
) -> None:
    _, client_b, frames = pair_with_data
    result = frames.series.head(2).orthanc.send(peer="NOWHERE")
    assert (result["status"] == "failed").all()
    assert result["error"].str.contains("NOWHERE|Unknown|404", regex=True).all()
    assert client_b.GET("/series") == []


def test_send_needs_exactly_one_target(client: of.Orthanc) -> None:
    frames = Frames.load(client, levels=("series",))
    with pytest.raises(ValueError, match="exactly one target"):
        frames.series.orthanc.send()
    with pytest.raises(ValueError, match="exactly one target"):
        frames.series.orthanc.send("A", peer="B")


def test_download_writes_the_files_of_the_selection(client: of.Orthanc, tmp_path: Path) -> None:
    frames = Frames.load(client)
    selection = frames.series[frames.series["Modality"] == "CT"].head(2)

    result = selection.orthanc.download(tmp_path / "out")

    assert result.index.name == "series"
    assert list(result.index) == list(selection.index)
    assert (result["status"] == "ok").all(), result["error"].tolist()
    files = sorted((tmp_path / "out").rglob("*.dcm"))
    expected_sops = set(
        frames.instances.loc[frames.instances["series"].isin(selection.index), "SOPInstanceUID"]
    )
    assert {pydicom.dcmread(file).SOPInstanceUID for file in files} == expected_sops

    again = selection.orthanc.download(tmp_path / "out")

    assert (again["status"] == "skipped").all()


def test_download_zip_writes_one_archive_per_resource(client: of.Orthanc, tmp_path: Path) -> None:
    frames = Frames.load(client, levels=("study",))
    selection = frames.studies.head(2)
    result = selection.orthanc.download(tmp_path, format="zip")
    assert (result["status"] == "ok").all(), result["error"].tolist()
    assert len(list(tmp_path.glob("*.zip"))) == 2


def test_resources_are_built_without_a_request(cohort_server: Any) -> None:
    transport = CountingTransport()
    with connect(cohort_server, transport=transport) as counted:
        frames = Frames.load(counted, levels=("series",))
        selection = frames.series.sort_values("SeriesNumber").head(3)
        before = len(transport.requests)

        resources = selection.orthanc.resources()

        assert len(transport.requests) == before
        assert all(isinstance(resource, Series) for resource in resources)
        assert [resource.id for resource in resources] == list(selection.index)
        assert all(resource.client is counted for resource in resources)


def test_result_frames_can_be_joined_back_to_the_selection(client: of.Orthanc) -> None:
    frames = Frames.load(client, levels=("series",))
    selection = frames.series.head(2)
    result = selection.orthanc.send(peer="NOWHERE")
    joined = selection.join(result)
    assert isinstance(joined, pd.DataFrame)
    assert list(joined.index) == list(selection.index)
    assert (joined["status"] == "failed").all()
