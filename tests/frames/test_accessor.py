"""``df.orthanc``: the link survives pandas operations; bulk actions act on exactly the selection.

Every test that changes a server uses its own fresh server (``empty_server``)
holding a small synthetic cohort: 2 patients x 1 study x 3 series x 2 instances.
"""

from __future__ import annotations

import gc
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from helpers import PASSWORD, USERNAME, load_into

import orthanc_frames as of
from orthanc_frames.frames import accessor, attach
from orthanc_frames.frames.accessor import OrthancLinkError
from orthanc_frames.frames.container import Frames
from orthanc_frames.synthetic import write_cohort

ROUTES = {
    "patient": "/patients",
    "study": "/studies",
    "series": "/series",
    "instance": "/instances",
}
RESULT_DTYPE = pd.ArrowDtype(pa.string())


def labels_on_server(client: of.Orthanc, level: str) -> dict[str, list[str]]:
    return {row["ID"]: row["Labels"] for row in client.GET(ROUTES[level], params={"expand": True})}


def instance_count(client: of.Orthanc, level: str, identifier: str) -> int:
    return int(client.GET(f"{ROUTES[level]}/{identifier}/statistics")["CountInstances"])


@pytest.fixture
def mutable_client(empty_server: Any, small_cohort: Any) -> Iterator[of.Orthanc]:
    load_into(empty_server, small_cohort.outdir)
    with of.Orthanc(empty_server.url, username=USERNAME, password=PASSWORD) as client:
        yield client


def assert_result_frame(result: pd.DataFrame, level: str, ids: list[str], new_id: bool) -> None:
    assert result.index.name == level
    assert list(result.index) == ids
    expected = ["status", "error", "new_id"] if new_id else ["status", "error"]
    assert list(result.columns) == expected
    assert all(result[column].dtype == RESULT_DTYPE for column in expected)


# -- the link ------------------------------------------------------------------


def test_importing_the_package_registers_the_accessor() -> None:
    code = (
        "import pandas as pd, orthanc_frames; "
        "print(pd.DataFrame.orthanc.__module__, pd.DataFrame.orthanc.__name__)"
    )
    answer = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert answer == [accessor.__name__, "OrthancAccessor"]


@pytest.mark.parametrize(
    "derive",
    [
        pytest.param(lambda df: df[df["Modality"] == "CT"], id="mask"),
        pytest.param(lambda df: df.query("Modality == 'MR'"), id="query"),
        pytest.param(lambda df: df.loc[df.index[:2]], id="loc"),
        pytest.param(lambda df: df.head(3), id="head"),
        pytest.param(lambda df: df.sort_values("SeriesNumber"), id="sort_values"),
        pytest.param(lambda df: df.copy(), id="copy"),
        pytest.param(lambda df: pickle.loads(pickle.dumps(df)), id="pickle"),
    ],
)
def test_link_survives_pandas_operations(client: of.Orthanc, derive: Any) -> None:
    frames = Frames.load(client)
    series = frames.series
    selection = derive(series)
    assert selection.orthanc.level == "series"
    assert selection.orthanc.client is client
    assert selection.orthanc.ids == list(dict.fromkeys(selection.index))


def test_after_merge_the_error_says_how_to_reattach(client: of.Orthanc) -> None:
    frames = Frames.load(client)
    series = frames.series
    merged = series.reset_index().merge(
        pd.DataFrame({"study": series["study"].unique(), "x": 1}), on="study"
    )
    with pytest.raises(OrthancLinkError, match=r"attach\(") as caught:
        merged.orthanc  # noqa: B018 - the access is what fails
    assert isinstance(caught.value, AttributeError)
    assert not hasattr(merged, "orthanc")
    reattached = attach(merged.set_index("series"), client, "series")
    assert reattached.orthanc.ids == list(series.index)


def test_a_frame_outlives_its_frames_object(client: of.Orthanc) -> None:
    series = Frames.load(client, levels=("series",)).series
    gc.collect()
    assert series.orthanc.ids == list(series.index)


def test_an_index_that_is_not_the_level_ids_is_refused(client: of.Orthanc) -> None:
    frames = Frames.load(client)
    series = frames.series
    with pytest.raises(OrthancLinkError, match="set_index"):
        series.reset_index().orthanc  # noqa: B018


# -- labels ----------------------------------------------------------------------


@pytest.mark.needs("labels")
def test_labels_land_on_exactly_the_selected_series(mutable_client: of.Orthanc) -> None:
    frames = Frames.load(mutable_client)
    series = frames.series
    selection = series[series["Modality"] == "CT"]
    assert 0 < len(selection) < len(series)

    result = selection.orthanc.add_label("cohort-a")

    assert_result_frame(result, "series", list(selection.index), new_id=False)
    assert (result["status"] == "ok").all()
    assert result["error"].isna().all()
    labelled = {
        identifier
        for identifier, labels in labels_on_server(mutable_client, "series").items()
        if "cohort-a" in labels
    }
    assert labelled == set(selection.index)

    removed = selection.head(1).orthanc.remove_label("cohort-a")

    assert (removed["status"] == "ok").all()
    still = {
        identifier
        for identifier, labels in labels_on_server(mutable_client, "series").items()
        if "cohort-a" in labels
    }
    assert still == set(selection.index[1:])


@pytest.mark.needs("labels")
def test_one_failure_never_hides_the_others(mutable_client: of.Orthanc) -> None:
    frames = Frames.load(mutable_client)
    series = frames.series
    gone = series.index[1]
    mutable_client.DELETE(f"/series/{gone}")

    result = series.orthanc.add_label("checked")

    assert result.loc[gone, "status"] == "failed"
    assert "404" in result.loc[gone, "error"]
    others = result.drop(index=gone)
    assert (others["status"] == "ok").all()
    labelled = {
        identifier
        for identifier, labels in labels_on_server(mutable_client, "series").items()
        if "checked" in labels
    }
    assert labelled == set(others.index)


@pytest.mark.needs("labels")
def test_every_action_says_a_missing_resource_alike(
    mutable_client: of.Orthanc, tmp_path: Path
) -> None:
    series = Frames.load(mutable_client).series
    gone = series.index[0]
    mutable_client.DELETE(f"/series/{gone}")
    selection = series.loc[[gone]]
    errors = {
        "label": selection.orthanc.add_label("x").loc[gone, "error"],
        "anonymize": selection.orthanc.anonymize(progress=False).loc[gone, "error"],
        "download": selection.orthanc.download(tmp_path, progress=False).loc[gone, "error"],
        "delete": selection.orthanc.delete(confirm=True).loc[gone, "error"],
    }
    # one describer: the error's type, then its message
    assert all(text.startswith("NotFound: ") for text in errors.values()), errors


@pytest.mark.needs("labels")
def test_an_invalid_label_fails_every_row_with_orthancs_reason(
    mutable_client: of.Orthanc,
) -> None:
    frames = Frames.load(mutable_client)
    series = frames.series.head(2)
    result = series.orthanc.add_label("not valid")
    assert (result["status"] == "failed").all()
    assert result["error"].str.contains("alphanumeric").all()


# -- delete ----------------------------------------------------------------------


def test_delete_refuses_without_confirm(mutable_client: of.Orthanc) -> None:
    frames = Frames.load(mutable_client)
    series = frames.series
    selection = series.head(4)
    with pytest.raises(ValueError, match=r"4 series .*confirm=True"):
        selection.orthanc.delete()
    with pytest.raises(ValueError, match="confirm=True"):
        selection.orthanc.delete(confirm="yes")  # type: ignore[arg-type]
    assert set(mutable_client.GET("/series")) == set(series.index)


def test_delete_removes_exactly_the_selection(mutable_client: of.Orthanc) -> None:
    frames = Frames.load(mutable_client)
    series = frames.series
    selection = series[series["Modality"] == "MR"]
    already_gone = selection.index[0]
    mutable_client.DELETE(f"/series/{already_gone}")

    result = selection.orthanc.delete(confirm=True)

    assert_result_frame(result, "series", list(selection.index), new_id=False)
    assert result.loc[already_gone, "status"] == "failed"
    assert "does not exist" in result.loc[already_gone, "error"]
    assert (result.drop(index=already_gone)["status"] == "ok").all()
    assert set(mutable_client.GET("/series")) == set(series.index) - set(selection.index)


# -- anonymize / modify ------------------------------------------------------------


def test_anonymize_stores_new_series_and_keeps_the_originals(mutable_client: of.Orthanc) -> None:
    frames = Frames.load(mutable_client)
    series = frames.series
    selection = series.head(2)

    result = selection.orthanc.anonymize(replace={"SeriesDescription": "anon"})

    assert_result_frame(result, "series", list(selection.index), new_id=True)
    assert (result["status"] == "ok").all(), result["error"].tolist()
    on_server = set(mutable_client.GET("/series"))
    assert set(result["new_id"]) <= on_server
    assert set(result["new_id"]).isdisjoint(series.index)
    assert set(series.index) <= on_server
    for new_id in result["new_id"]:
        tags = mutable_client.GET(f"/series/{new_id}")["MainDicomTags"]
        assert tags["SeriesDescription"] == "anon"
        assert instance_count(mutable_client, "series", new_id) == 2


def test_keep_source_false_replaces_the_originals(mutable_client: of.Orthanc) -> None:
    frames = Frames.load(mutable_client)
    studies = frames.studies
    selection = studies.head(1)
    source = selection.index[0]
    expected = instance_count(mutable_client, "study", source)

    result = selection.orthanc.anonymize(keep_source=False)

    assert result.loc[source, "status"] == "ok", result.loc[source, "error"]
    new_id = result.loc[source, "new_id"]
    on_server = set(mutable_client.GET("/studies"))
    assert source not in on_server
    assert new_id in on_server
    assert instance_count(mutable_client, "study", new_id) == expected
    assert set(studies.index[1:]) <= on_server


def test_keep_source_false_keeps_the_original_when_the_copy_fails(
    mutable_client: of.Orthanc,
) -> None:
    frames = Frames.load(mutable_client)
    series = frames.series.head(1)
    source = series.index[0]

    # Replacing the series' own UID without force is refused by Orthanc.
    result = series.orthanc.modify(replace={"SeriesInstanceUID": "1.2.3.4"}, keep_source=False)

    assert result.loc[source, "status"] == "failed"
    assert pd.isna(result.loc[source, "new_id"])
    assert source in mutable_client.GET("/series")


def test_modify_instances_stores_the_modified_copies(mutable_client: of.Orthanc) -> None:
    frames = Frames.load(mutable_client)
    instances = frames.instances.head(3)

    result = instances.orthanc.modify(replace={"InstanceNumber": "99"}, keep_source=False)

    assert_result_frame(result, "instance", list(instances.index), new_id=True)
    assert (result["status"] == "ok").all(), result["error"].tolist()
    on_server = set(mutable_client.GET("/instances"))
    assert set(result["new_id"]) <= on_server
    assert on_server.isdisjoint(instances.index)
    for new_id in result["new_id"]:
        assert mutable_client.GET(f"/instances/{new_id}")["MainDicomTags"]["InstanceNumber"] == "99"


def test_frames_without_a_server_refuse_server_actions() -> None:
    class LocalFrames:
        client = None

    local = LocalFrames()
    df = attach(pd.DataFrame(index=pd.Index(["x"], name="series")), local, "series")
    with pytest.raises(ValueError, match=r"upload\(client\)"):
        df.orthanc.add_label("a")


def test_parallel_anonymize_outlives_a_short_job_history(
    make_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Eight jobs at once on a server that remembers two finished jobs: most
    # jobs leave the history before their end is read (this failed 17 of 24
    # rows before the copies were looked up from their AnonymizedFrom metadata).
    folder = tmp_path_factory.mktemp("history-cohort")
    write_cohort(folder, patients=4, studies=1, series=6, instances=1, size=8)
    server = make_server("HISTORY", extra={"ConcurrentJobs": 8, "JobsHistorySize": 2})
    load_into(server, folder)
    try:
        with of.Orthanc(server.url, username=USERNAME, password=PASSWORD) as client:
            series = client.frames(levels=["series"]).series
            result = series.orthanc.anonymize(workers=8, progress=False)
            assert result["status"].tolist() == ["ok"] * 24, result["error"].dropna().tolist()
            assert result["new_id"].nunique() == 24
            for source, copy in result["new_id"].items():
                assert client.GET(f"/series/{copy}/metadata/AnonymizedFrom") == source
            assert len(client.GET("/series")) == 48
    finally:
        server.signal_stop()
