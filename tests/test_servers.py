"""The same cohort on each kind of server gives the same frames.

An Orthanc 1.12.7 on SQLite (the reference) and a server of another kind
(PostgreSQL index, Orthanc 1.10) are started in the same run and loaded
with the same files. Their frames must be equal, but for the documented
differences:

- ``last_update`` is the time each server stored the files: it differs
  from server to server, and is checked to be set on both;
- Orthanc 1.10 has no labels: its ``labels`` column holds an empty list
  for every row, where the reference holds the labels that were set;
  labelling raises ``UnsupportedByServer`` there.

Run by default against both other kinds; with
``ORTHANC_FRAMES_SERVER=postgres`` (or ``1.10``) against that kind only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import SERVER_KIND, MakeServer, load_into, missing_feature

import orthanc_frames as of
from orthanc_frames.synthetic import CohortSummary, write_cohort

LEVELS = ("patient", "study", "series", "instance")
OTHER_KINDS = [SERVER_KIND] if SERVER_KIND != "sqlite" else ["postgres", "1.10"]


def _client(server: Any) -> of.Orthanc:
    return of.Orthanc(server.url, username="orthanc", password="orthanc")


def _label_some(client: of.Orthanc) -> None:
    client.PUT(f"/studies/{sorted(client.GET('/studies'))[0]}/labels/reviewed")
    client.PUT(f"/series/{sorted(client.GET('/series'))[1]}/labels/qc-ok")
    client.PUT(f"/instances/{sorted(client.GET('/instances'))[2]}/labels/key-image")


def _without_storage_times(frame: pd.DataFrame) -> pd.DataFrame:
    assert "last_update" not in frame or frame["last_update"].notna().all()
    return frame.drop(columns=["last_update"], errors="ignore").sort_index()


def assert_same_frames(reference: of.Frames, other: of.Frames, *, has_labels: bool) -> None:
    """Equal frames but for ``last_update``, and for ``labels`` without labels."""
    for level in LEVELS:
        expected = _without_storage_times(reference.frame(level))
        got = _without_storage_times(other.frame(level))
        if not has_labels:
            # The documented difference: no labels on the server, an empty list per row.
            assert got["labels"].map(list).map(len).eq(0).all(), level
            expected = expected.drop(columns="labels")
            got = got.drop(columns="labels")
        pd.testing.assert_frame_equal(expected, got, obj=f"{level} frame")


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> CohortSummary:
    return write_cohort(tmp_path_factory.mktemp("servers-cohort"), invalid_values=True, seed=21)


@pytest.fixture(scope="module")
def reference(make_server: MakeServer, cohort: CohortSummary) -> Any:
    server = make_server("REF_SQLITE", kind="sqlite")
    load_into(server, cohort.outdir)
    with _client(server) as client:
        _label_some(client)
    return server


@pytest.mark.parametrize("kind", OTHER_KINDS)
def test_frames_equal_those_of_the_reference_server(
    make_server: MakeServer, cohort: CohortSummary, reference: Any, kind: str
) -> None:
    other = make_server(f"OTHER_{kind.replace('.', '_').upper()}", kind=kind)
    load_into(other, cohort.outdir)
    with _client(reference) as ref_client, _client(other) as client:
        has_labels = client.capabilities.has_labels
        assert has_labels is (missing_feature("labels", kind) is None)
        if has_labels:
            _label_some(client)
        else:
            with pytest.raises(of.UnsupportedByServer, match="labels"):
                client.frames(labels=["reviewed"])
        frames = client.frames(progress=False)
        assert len(frames.instances) == cohort.instances
        expected = ref_client.frames(progress=False)
        for level in ("study", "series", "instance"):  # labels the other server may lack
            assert expected.frame(level)["labels"].map(list).map(len).sum() == 1
        assert_same_frames(expected, frames, has_labels=has_labels)
        assert (
            frames.problems.sort_values(["level", "id", "column"])
            .reset_index(drop=True)
            .equals(
                ref_client.frames(progress=False)
                .problems.sort_values(["level", "id", "column"])
                .reset_index(drop=True)
            )
        )


@pytest.mark.parametrize("kind", OTHER_KINDS)
def test_filtered_frames_equal_those_of_the_reference_server(
    make_server: MakeServer, cohort: CohortSummary, reference: Any, kind: str
) -> None:
    other = make_server(f"FILTER_{kind.replace('.', '_').upper()}", kind=kind)
    load_into(other, cohort.outdir)
    with _client(reference) as ref_client, _client(other) as client:
        if client.capabilities.has_labels:
            _label_some(client)
        for query in ({"Modality": "MR"}, {"PatientID": cohort.patient_ids[1]}):
            expected = ref_client.frames(query=query, progress=False)
            got = client.frames(query=query, progress=False)
            assert len(got.instances) and len(got.instances) < cohort.instances
            assert_same_frames(expected, got, has_labels=client.capabilities.has_labels)


@pytest.mark.parametrize("kind", ["sqlite", *OTHER_KINDS])
def test_refresh_equals_a_fresh_load(make_server: MakeServer, tmp_path: Path, kind: str) -> None:
    server = make_server(f"REFRESH_{kind.replace('.', '_').upper()}", kind=kind)
    first = write_cohort(tmp_path / "first", patients=2, studies=2, series=2, instances=5, seed=31)
    load_into(server, first.outdir)
    with _client(server) as client:
        frames = client.frames(progress=False)
        assert len(frames.instances) == first.instances
        more = write_cohort(
            tmp_path / "more", patients=1, studies=1, series=2, instances=4, seed=32
        )
        load_into(server, more.outdir)
        instances = sorted(client.GET("/instances"))
        client.DELETE(f"/instances/{instances[0]}")
        client.DELETE(f"/series/{sorted(client.GET('/series'))[-1]}")
        if client.capabilities.has_labels:
            _label_some(client)
        frames.refresh()
        fresh = client.frames(progress=False)
        assert 0 < len(fresh.instances) == client.get_statistics()["CountInstances"]
        for level in LEVELS:
            pd.testing.assert_frame_equal(
                frames.frame(level).sort_index(), fresh.frame(level).sort_index(), obj=level
            )


@pytest.mark.parametrize("kind", OTHER_KINDS)
def test_a_load_reads_pages_never_one_resource_at_a_time(
    make_server: MakeServer, cohort: CohortSummary, kind: str
) -> None:
    from transports import CountingTransport

    other = make_server(f"COUNT_{kind.replace('.', '_').upper()}", kind=kind)
    load_into(other, cohort.outdir)
    transport = CountingTransport()
    with of.Orthanc(other.url, username="orthanc", password="orthanc", transport=transport) as c:
        c.capabilities  # noqa: B018
        transport.clear()
        frames = c.frames(progress=False)
    assert len(frames.instances) == cohort.instances
    per_resource = [r for r in transport.routes if r.count("/") > 1]
    assert per_resource == []
    # A listing per level (with its count) and the changes' sequence number.
    assert len(transport.routes) <= 2 * len(LEVELS) + 2
